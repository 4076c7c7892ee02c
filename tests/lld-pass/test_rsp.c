/*
 * test_rsp.c — response files: the GNU and the Windows quoting rules, and
 * reading one from disk.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_link_rsp.h"
#include "hpt.h"

static void split_is(const char *text, hp_link_quoting q, const char *const want[], size_t n)
{
    char **a = NULL;
    size_t count = 0;
    cr_assert_eq(hp_link_rsp_split(text, strlen(text), q, &a, &count), HP_OK);
    cr_expect_eq(count, n, "'%s': %zu arguments, expected %zu", text, count, n);
    for (size_t i = 0; i < count && i < n; i++)
        cr_expect_str_eq(a[i], want[i]);
    cr_expect_null(a[count], "the array ends with NULL");
    hp_link_rsp_free(a, count);
}

Test(rsp, gnu_quoting)
{
    split_is("-o 'a b.exe'  \"c\\\"d\" e\\ f\n\tg", HP_LINK_QUOTING_GNU,
             (const char *[]){"-o", "a b.exe", "c\"d", "e f", "g"}, 5);
    split_is("''", HP_LINK_QUOTING_GNU, (const char *[]){""}, 1);
    split_is(" \n\t", HP_LINK_QUOTING_GNU, (const char *[]){NULL}, 0);
}

Test(rsp, windows_quoting)
{
    /* CommandLineToArgvW: \\" -> \ and a quote toggle; \" -> literal quote; other backslashes literal */
    split_is("/out:\"C:\\dir with space\\a.exe\" a\\\\\"b c\" x\\\"y C:\\p\\q.obj", HP_LINK_QUOTING_WINDOWS,
             (const char *[]){"/out:C:\\dir with space\\a.exe", "a\\b c", "x\"y", "C:\\p\\q.obj"}, 4);
    split_is("\"a\"\"b\"", HP_LINK_QUOTING_WINDOWS, (const char *[]){"a\"b"}, 1);
    split_is("", HP_LINK_QUOTING_WINDOWS, (const char *[]){NULL}, 0);
}

Test(rsp, a_file_is_read_without_its_byte_order_mark)
{
    const char *d = hpt_scratch("rsp_bom");
    char path[4200];
    snprintf(path, sizeof path, "%s/bom.rsp", d);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs("\xEF\xBB\xBF/dll \"a b.obj\"\r\n", f);
    fclose(f);
    char **a = NULL;
    size_t count = 0;
    char msg[256] = "";
    cr_assert_eq(hp_link_rsp_read(path, HP_LINK_QUOTING_WINDOWS, &a, &count, msg, sizeof msg), HP_OK, "%s", msg);
    cr_assert_eq(count, 2);
    cr_expect_str_eq(a[0], "/dll");
    cr_expect_str_eq(a[1], "a b.obj");
    hp_link_rsp_free(a, count);
}

Test(rsp, what_cannot_be_read_is_named)
{
    const char *d = hpt_scratch("rsp_unreadable");
    char path[4200];
    snprintf(path, sizeof path, "%s/none.rsp", d);
    char **a = NULL;
    size_t count = 0;
    char msg[4400] = "";
    cr_expect_eq(hp_link_rsp_read(path, HP_LINK_QUOTING_GNU, &a, &count, msg, sizeof msg), HP_ERR_IO);
    cr_expect(strstr(msg, "cannot read response file") && strstr(msg, path), "%s", msg);
    /* a directory is no response file (and a FIFO would not block: hp_file_read) */
    msg[0] = 0;
    cr_expect_eq(hp_link_rsp_read(d, HP_LINK_QUOTING_GNU, &a, &count, msg, sizeof msg), HP_ERR_IO);
    cr_expect(strstr(msg, "cannot read response file") && strstr(msg, "directory"), "%s", msg);
}
