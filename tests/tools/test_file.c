/*
 * test_file.c — hp_file_read(): regular files only, never blocking.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_tools.h"

static char dir[] = "/tmp/hp_test_file_XXXXXX";

static void setup(void)
{
    cr_assert(mkdtemp(dir) != NULL);
}

static const char *at(const char *name)
{
    static char b[256];
    snprintf(b, sizeof b, "%s/%s", dir, name);
    return b;
}

Test(file, reads_a_whole_file_nul_terminated, .init = setup)
{
    FILE *f = fopen(at("a.txt"), "wb");
    cr_assert(f);
    fwrite("abc\0def", 1, 7, f);
    fclose(f);
    unsigned char *d = NULL;
    size_t n = 0;
    cr_assert_eq(hp_file_read(at("a.txt"), &d, &n, NULL, 0), HP_OK);
    cr_expect_eq(n, 7u);
    cr_expect(memcmp(d, "abc\0def", 7) == 0);
    cr_expect_eq(d[7], 0, "a NUL follows the bytes");
    free(d);
}

Test(file, empty_file, .init = setup)
{
    fclose(fopen(at("empty"), "wb"));
    unsigned char *d = NULL;
    size_t n = 1;
    cr_assert_eq(hp_file_read(at("empty"), &d, &n, NULL, 0), HP_OK);
    cr_expect_eq(n, 0u);
    free(d);
}

Test(file, missing_file_names_it, .init = setup)
{
    char msg[512];
    unsigned char *d = (unsigned char *)"x";
    size_t n = 5;
    cr_expect_eq(hp_file_read(at("nope"), &d, &n, msg, sizeof msg), HP_ERR_IO);
    cr_expect(strstr(msg, "nope") && strstr(msg, "No such file"), "%s", msg);
    cr_expect_null(d);
    cr_expect_eq(n, 0u);
}

Test(file, directory_is_refused, .init = setup)
{
    char msg[512];
    unsigned char *d;
    size_t n;
    cr_expect_eq(hp_file_read(dir, &d, &n, msg, sizeof msg), HP_ERR_IO);
    cr_expect(strstr(msg, "a directory") != NULL, "%s", msg);
}

/* A FIFO with no writer: a blocking open would hang here forever (the test's timeout catches it). */
Test(file, fifo_is_refused_without_blocking, .init = setup, .timeout = 10)
{
    cr_assert_eq(mkfifo(at("fifo"), 0600), 0);
    char msg[512];
    unsigned char *d;
    size_t n;
    cr_expect_eq(hp_file_read(at("fifo"), &d, &n, msg, sizeof msg), HP_ERR_IO);
    cr_expect(strstr(msg, "a pipe") != NULL, "%s", msg);
}

Test(file, basename)
{
    cr_expect_str_eq(hp_path_basename("/a/b/c.dll"), "c.dll");
    cr_expect_str_eq(hp_path_basename("C:\\x\\y.obj"), "y.obj");
    cr_expect_str_eq(hp_path_basename("plain"), "plain");
    cr_expect_null(hp_path_basename(NULL));
}
