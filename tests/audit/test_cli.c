/*
 * test_cli.c — suite cli: hotpatch-audit's options, outputs and exit status.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpa_test.h"

static hpt_proc run(const char *const args[])
{
    hpt_proc p;
    cr_assert_eq(hpa_cli(args, &p), 0, "hotpatch-audit did not start");
    cr_assert(!p.timed_out);
    return p;
}

Test(cli, help_and_version)
{
    hpt_proc p = run((const char *[]){"--help", NULL});
    cr_assert_eq(p.status, 0);
    cr_assert(strstr(p.out, "usage: hotpatch-audit"));
    cr_assert(strstr(p.out, "--min-coverage"));
    hpt_proc_free(&p);
    p = run((const char *[]){"--version", NULL});
    cr_assert_eq(p.status, 0);
    cr_assert_str_eq(p.out, "hotpatch-audit " HP_VERSION_STRING "\n");
    hpt_proc_free(&p);
}

Test(cli, usage_errors_exit_2)
{
    const char *const *cases[] = {
        (const char *[]){NULL},
        (const char *[]){"--bogus", "x.dll", NULL},
        (const char *[]){"--format", "xml", "x.dll", NULL},
        (const char *[]){"--pad", "65", "x.dll", NULL},
        (const char *[]){"--min-coverage", "101", "x.dll", NULL},
        (const char *[]){"--output", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hpt_proc p = run(cases[i]);
        cr_assert_eq(p.status, 2, "case %zu: %s", i, p.err);
        cr_assert(strstr(p.err, "hotpatch-audit: "), "case %zu", i);
        hpt_proc_free(&p);
    }
}

Test(cli, patchable_image_exits_0_with_full_coverage)
{
    hpt_proc p = run((const char *[]){hpa_fixture("patchable-x86_64-pc-windows-msvc.dll"), NULL});
    cr_assert_eq(p.status, 0, "%s%s", p.out, p.err);
    cr_assert(strstr(p.out, "exports 4/4 patchable (100.0%)"), "%s", p.out);
    cr_assert_null(strstr(p.out, "\x1b["), "no colour when not a TTY");
    hpt_proc_free(&p);
}

Test(cli, findings_exit_1_and_name_the_functions)
{
    hpt_proc p = run((const char *[]){hpa_fixture("plain-i686-w64-mingw32.dll"), NULL});
    cr_assert_eq(p.status, 1);
    cr_assert(strstr(p.out, "HP1003 entry_short"), "%s", p.out);
    cr_assert(strstr(p.out, "exports 6/13 patchable (46.2%)"), "%s", p.out);
    hpt_proc_free(&p);
}

Test(cli, unreadable_inputs_exit_2_with_the_file_named)
{
    hpt_proc p = run((const char *[]){"/nonexistent/x.dll", NULL});
    cr_assert_eq(p.status, 2);
    cr_assert(strstr(p.err, "/nonexistent/x.dll: cannot open"), "%s", p.err);
    hpt_proc_free(&p);
    p = run((const char *[]){hpa_fixture("arm64.dll"), NULL});
    cr_assert_eq(p.status, 2);
    cr_assert(strstr(p.err, "architecture not yet supported"), "%s", p.err);
    hpt_proc_free(&p);
    /* an unreadable file wins over findings in another */
    p = run((const char *[]){hpa_fixture("plain-x86_64-w64-mingw32.dll"), "/nonexistent/y.dll", NULL});
    cr_assert_eq(p.status, 2);
    hpt_proc_free(&p);
}

static const char *allow_file(const char *name, const char *text)
{
    return hpa_write(hpt_scratch("audit_cli_allow"), name, text, strlen(text));
}

Test(cli, allow_suppresses_with_reasons_and_reports_unused_exceptions)
{
    static const char all[] = "# reviewed 2024\n"
                              "pad_first   first in the section by design\n"
                              "*_short     1-byte entries are asm stubs\n"
                              "after_ret   hand-written tail\n"
                              "crosses_line  test fixture\n"
                              "branch_e1   test fixture\n"
                              "redirected  thunk\n"
                              "alias_one   the aliases are meant to be one function\n";
    char path[4096];
    snprintf(path, sizeof path, "%s", allow_file("all.txt", all));
    hpt_proc p = run((const char *[]){"--allow", path, hpa_fixture("plain-x86_64-pc-windows-msvc.dll"), NULL});
    cr_assert_eq(p.status, 0, "%s", p.out);
    cr_assert(strstr(p.out, "[allowed: 1-byte entries are asm stubs]"), "%s", p.out);
    hpt_proc_free(&p);

    /* coverage stays a fact: suppressed functions are still not patchable */
    p = run((const char *[]){"--allow", path, "--min-coverage", "50", hpa_fixture("plain-x86_64-pc-windows-msvc.dll"),
                             NULL});
    cr_assert_eq(p.status, 1);
    cr_assert(strstr(p.out, "HP3002"), "%s", p.out);
    hpt_proc_free(&p);

    static const char extra[] = "pad_first reason\nnot_there stale entry\n";
    snprintf(path, sizeof path, "%s", allow_file("extra.txt", extra));
    p = run((const char *[]){"--allow", path, hpa_fixture("patchable-x86_64-pc-windows-msvc.dll"), NULL});
    cr_assert_eq(p.status, 1, "exceptions matching nothing are findings");
    cr_assert(strstr(p.out, "HP3001"), "%s", p.out);
    cr_assert(strstr(p.out, "'not_there' (line 2)"), "%s", p.out);
    hpt_proc_free(&p);

    static const char bad[] = "ok_nop2 fine\nentry_short\n";
    snprintf(path, sizeof path, "%s", allow_file("bad.txt", bad));
    p = run((const char *[]){"--allow", path, hpa_fixture("plain-x86_64-pc-windows-msvc.dll"), NULL});
    cr_assert_eq(p.status, 2);
    cr_assert(strstr(p.err, "bad.txt:2: exception without a reason"), "%s", p.err);
    hpt_proc_free(&p);
}

Test(cli, min_coverage_output_quiet_and_several_files)
{
    hpt_proc p = run((const char *[]){"--min-coverage", "100", hpa_fixture("patchable-x86_64-w64-mingw32.dll"), NULL});
    cr_assert_eq(p.status, 0, "%s", p.out);
    hpt_proc_free(&p);

    char out[4096];
    snprintf(out, sizeof out, "%s/report.json", hpt_scratch("audit_cli_output"));
    p = run((const char *[]){"--format", "json", "-o", out, hpa_fixture("plain-x86_64-w64-mingw32.dll"), NULL});
    cr_assert_eq(p.status, 1);
    cr_assert_eq(p.out_len, 0, "the report went to the file");
    size_t size;
    unsigned char *json = hpt_read_file(out, &size);
    cr_assert_not_null(json);
    json = realloc(json, size + 1); /* the harness does not terminate what it reads */
    json[size] = 0;
    cr_assert(strstr((char *)json, "\"result\": \"findings\""));
    free(json);
    hpt_proc_free(&p);

    p = run((const char *[]){"--quiet", hpa_fixture("plain-x86_64-w64-mingw32.dll"),
                             hpa_fixture("patchable-i686-w64-mingw32.dll"), NULL});
    cr_assert_eq(p.status, 1);
    cr_assert_null(strstr(p.out, "status  address"), "quiet has no function table");
    cr_assert(strstr(p.out, "total: exports 10/17 patchable"), "%s", p.out);
    hpt_proc_free(&p);
}
