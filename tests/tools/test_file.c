/*
 * test_file.c — hp_file_read(): regular files only, never blocking; hp_file_replace_*(): a file replaced
 * whole or left as it was.
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

/* hp_file_map(): the file's bytes without copying them, private (a change in memory leaves the file
   as it was), the same refusals as hp_file_read(). */
Test(file, map_gives_the_bytes_privately, .init = setup)
{
    FILE *f = fopen(at("m.bin"), "wb");
    cr_assert(f);
    for (int i = 0; i < 10000; i++)
        fputc(i & 0xFF, f);
    fclose(f);
    unsigned char *d = NULL;
    size_t n = 0;
    cr_assert_eq(hp_file_map(at("m.bin"), &d, &n, NULL, 0), HP_OK);
    cr_assert_eq(n, 10000u);
    for (int i = 0; i < 10000; i++)
        cr_assert_eq(d[i], (unsigned char)(i & 0xFF), "byte %d", i);
    d[5000] ^= 0xFF; /* copy on write: the file keeps its byte */
    hp_file_unmap(d, n);
    unsigned char *r = NULL;
    cr_assert_eq(hp_file_read(at("m.bin"), &r, &n, NULL, 0), HP_OK);
    cr_expect_eq(r[5000], (unsigned char)(5000 & 0xFF), "the mapping wrote to the file");
    free(r);

    fclose(fopen(at("empty2"), "wb"));
    d = NULL;
    n = 1;
    cr_assert_eq(hp_file_map(at("empty2"), &d, &n, NULL, 0), HP_OK);
    cr_expect_not_null(d);
    cr_expect_eq(n, 0u);
    hp_file_unmap(d, n);
}

Test(file, map_refuses_what_read_refuses, .init = setup, .timeout = 10)
{
    char msg[512];
    unsigned char *d = (unsigned char *)"x";
    size_t n = 5;
    cr_expect_eq(hp_file_map(at("nope"), &d, &n, msg, sizeof msg), HP_ERR_IO);
    cr_expect(strstr(msg, "nope") && strstr(msg, "No such file"), "%s", msg);
    cr_expect_null(d);
    cr_expect_eq(n, 0u);
    cr_expect_eq(hp_file_map(dir, &d, &n, msg, sizeof msg), HP_ERR_IO);
    cr_expect(strstr(msg, "a directory") != NULL, "%s", msg);
    cr_assert_eq(mkfifo(at("fifo2"), 0600), 0);
    cr_expect_eq(hp_file_map(at("fifo2"), &d, &n, msg, sizeof msg), HP_ERR_IO);
    cr_expect(strstr(msg, "a pipe") != NULL, "%s", msg);
}

/* hp_file_map_whole(): the same bytes read-only (several pages: all of them mapped at once), the same
   refusals. */
Test(file, map_whole_gives_the_bytes, .init = setup, .timeout = 10)
{
    FILE *f = fopen(at("w.bin"), "wb");
    cr_assert(f);
    for (int i = 0; i < 70000; i++)
        fputc((i * 7) & 0xFF, f);
    fclose(f);
    const unsigned char *d = NULL;
    size_t n = 0;
    cr_assert_eq(hp_file_map_whole(at("w.bin"), &d, &n, NULL, 0), HP_OK);
    cr_assert_eq(n, 70000u);
    for (int i = 0; i < 70000; i++)
        cr_assert_eq(d[i], (unsigned char)((i * 7) & 0xFF), "byte %d", i);
    hp_file_unmap(d, n);
    fclose(fopen(at("empty3"), "wb"));
    n = 1;
    cr_assert_eq(hp_file_map_whole(at("empty3"), &d, &n, NULL, 0), HP_OK);
    cr_expect(d != NULL && n == 0);
    char msg[512];
    cr_expect_eq(hp_file_map_whole(at("nope"), &d, &n, msg, sizeof msg), HP_ERR_IO);
    cr_expect(strstr(msg, "nope") && strstr(msg, "No such file"), "%s", msg);
    cr_expect(d == NULL && n == 0);
    cr_expect_eq(hp_file_map_whole(dir, &d, &n, msg, sizeof msg), HP_ERR_IO);
    cr_expect(strstr(msg, "a directory") != NULL, "%s", msg);
}

/* hp_self_exe() / hp_self_dir(): this test program's own file and its directory; a buffer too small
   for the path gives 0, not a path cut short. */
Test(file, self_exe_and_dir)
{
    char exe[4096], home[4096], tiny[4];
    cr_assert(hp_self_exe(exe, sizeof exe));
    cr_expect_str_eq(hp_path_basename(exe), "test_tools");
    struct stat sb;
    cr_expect(stat(exe, &sb) == 0 && S_ISREG(sb.st_mode), "%s", exe);
    cr_assert(hp_self_dir(home, sizeof home));
    size_t n = strlen(home);
    cr_expect(strncmp(exe, home, n) == 0 && exe[n] == '/' && strcmp(exe + n + 1, "test_tools") == 0, "%s / %s", home,
              exe);
    cr_expect(!hp_self_exe(tiny, sizeof tiny));
    cr_expect(!hp_self_dir(tiny, sizeof tiny));
}

/* The file's contents as a string (static buffer), or "(none)". */
static const char *contents(const char *path)
{
    static char b[64];
    FILE *f = fopen(path, "rb");
    if (!f)
        return "(none)";
    size_t n = fread(b, 1, sizeof b - 1, f);
    b[n] = 0;
    fclose(f);
    return b;
}

/* Nothing of the temporary file is left in the directory: only `want` entries. */
static void expect_entries(int want)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq %d", dir, want);
    cr_expect_eq(system(cmd), 0, "%d entries expected in %s", want, dir);
}

Test(file, replace_whole_or_not_at_all, .init = setup)
{
    char path[256];
    snprintf(path, sizeof path, "%s", at("r.txt"));
    hp_file_replace r;
    FILE *f = hp_file_replace_begin(&r, path);
    cr_assert_not_null(f);
    fputs("first", f);
    cr_expect_str_eq(contents(path), "(none)", "nothing at the path before the end");
    cr_expect(hp_file_replace_end(&r, 1));
    cr_expect_str_eq(contents(path), "first");
    /* a replacement given up: the old contents stay, the temporary file goes */
    f = hp_file_replace_begin(&r, path);
    cr_assert_not_null(f);
    fputs("second", f);
    cr_expect(!hp_file_replace_end(&r, 0));
    cr_expect_str_eq(contents(path), "first");
    expect_entries(1);
    /* a replacement that completes */
    f = hp_file_replace_begin(&r, path);
    cr_assert_not_null(f);
    fputs("third", f);
    cr_expect(hp_file_replace_end(&r, 1));
    cr_expect_str_eq(contents(path), "third");
    expect_entries(1);
    /* no directory to put it in: refused, nothing created */
    cr_expect_null(hp_file_replace_begin(&r, at("missing/r.txt")));
    cr_expect(!hp_file_replace_end(&r, 1), "ending a replacement that never began changes nothing");
    expect_entries(1);
}
