/*
 * test_cli.c — suite cli: hotpatch-audit's options, outputs and exit status.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hpa_test.h"

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

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
        (const char *[]){"--pad", "4", "x.dll", NULL}, /* the runtime's long jump needs 5 (x86) */
        (const char *[]){"--pad", "0", "x.dll", NULL},
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
    cr_assert(strstr(p.out, "exports 6/14 patchable (42.9%)"), "%s", p.out);
    hpt_proc_free(&p);
}

/* fixtures/plain.c: excluding every failing export leaves 6 checked, all patchable */
Test(cli, excluded_functions_are_neither_checked_nor_reported)
{
    hpt_proc p = run((const char *[]){"--exclude", "pad_first", "--exclude=*_short", "--exclude", "after_*",
                                      "--exclude", "[cr]*", "--exclude", "branch_?1", hpa_fixture("plain-x86_64-w64-mingw32.dll"), NULL});
    cr_expect_eq(p.status, 1, "alias_one/alias_two still fold: %s", p.out);
    for (const char *const *n = (const char *const[]){"pad_first", "entry_short", "endbr_short", "after_ret",
                                                      "after_tail_jmp", "crosses_line", "branch_e1", "redirected", NULL};
         *n; n++)
        cr_expect_null(strstr(p.out, *n), "%s reported:\n%s", *n, p.out);
    cr_expect(strstr(p.out, "exports 6/6 patchable (100.0%)"), "%s", p.out);
    hpt_proc_free(&p);
    p = run((const char *[]){"--exclude", NULL});
    cr_expect_eq(p.status, 2);
    hpt_proc_free(&p);
}

/* an import library holds no code: a coverage gate over it checked nothing and must not pass */
Test(cli, coverage_of_nothing_does_not_pass)
{
    hpt_proc p = run((const char *[]){"--min-coverage", "100", hpa_fixture("import-short.lib"), NULL});
    cr_expect_eq(p.status, 1, "%s", p.out);
    cr_expect(strstr(p.out, "HP3003") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "0/0 (nothing checked)") != NULL, "%s", p.out);
    cr_expect_null(strstr(p.out, "(100.0%)"), "no coverage figure for nothing: %s", p.out);
    hpt_proc_free(&p);
    p = run((const char *[]){hpa_fixture("import-short.lib"), NULL});
    cr_expect_eq(p.status, 0, "without a gate, nothing to judge is no finding: %s", p.out);
    hpt_proc_free(&p);
}

Test(cli, unreadable_inputs_exit_2_with_the_file_named)
{
    /* the text report on stdout names the file and the problem (once: see an_error_is_printed_once) */
    hpt_proc p = run((const char *[]){"/nonexistent/x.dll", NULL});
    cr_assert_eq(p.status, 2);
    cr_assert(strstr(p.out, "/nonexistent/x.dll: error: cannot open"), "%s", p.out);
    hpt_proc_free(&p);
    p = run((const char *[]){hpa_fixture("arm64.dll"), NULL});
    cr_assert_eq(p.status, 2);
    cr_assert(strstr(p.out, "architecture not yet supported"), "%s", p.out);
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
                              "alias_one   the aliases are meant to be one function\n"
                              "after_tail_jmp  the function before ends in a tail jump\n";
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
    cr_assert(strstr(p.out, "total: exports 10/18 patchable"), "%s", p.out);
    hpt_proc_free(&p);
}

/* A FIFO would block a plain open forever; a directory is no input: both refused, named, exit 2. */
Test(cli, fifo_and_directory_are_refused_without_hanging, .timeout = 30)
{
    const char *d = hpt_scratch("audit_cli_fifo");
    char fifo[4096];
    snprintf(fifo, sizeof fifo, "%s/pipe", d);
    unlink(fifo);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    hpt_proc p = run((const char *[]){fifo, d, NULL});
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.out, "not a regular file: a pipe") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "not a regular file: a directory") != NULL, "%s", p.out);
    hpt_proc_free(&p);
}

/* An unreadable input is said once: in the text report on stdout, or on stderr for JSON/SARIF/-o. */
Test(cli, an_error_is_printed_once)
{
    hpt_proc p = run((const char *[]){"/nonexistent/x.dll", NULL});
    cr_expect_eq(p.status, 2);
    cr_expect_eq(count_of(p.out, "/nonexistent/x.dll") + count_of(p.err, "/nonexistent/x.dll"), 1,
                 "out:\n%s\nerr:\n%s", p.out, p.err);
    hpt_proc_free(&p);
    p = run((const char *[]){"--format", "json", "/nonexistent/x.dll", NULL});
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "/nonexistent/x.dll: cannot open") != NULL, "%s", p.err);
    hpt_proc_free(&p);
}

/* -o naming an input would destroy it: refused before anything is written. */
Test(cli, output_naming_an_input_is_refused)
{
    const char *d = hpt_scratch("audit_cli_overwrite");
    size_t size;
    unsigned char *orig = hpt_read_file(hpa_fixture("patchable-x86_64-w64-mingw32.dll"), &size);
    cr_assert_not_null(orig);
    const char *copy = hpa_write(d, "in.dll", orig, size);
    hpt_proc p = run((const char *[]){"-o", copy, copy, NULL});
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "refusing to overwrite") != NULL, "%s", p.err);
    size_t after_size;
    unsigned char *after = hpt_read_file(copy, &after_size);
    cr_expect(after && after_size == size && memcmp(after, orig, size) == 0, "the input was changed");
    free(after);
    free(orig);
    hpt_proc_free(&p);
}

/* "--format --all x.dll": the format is missing; "--all" is not taken as its value. */
Test(cli, a_missing_value_does_not_swallow_the_next_option)
{
    hpt_proc p = run((const char *[]){"--format", "--all", "x.dll", NULL});
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "--format needs a value") != NULL, "%s", p.err);
    hpt_proc_free(&p);
    p = run((const char *[]){"-o", "--quiet", "x.dll", NULL});
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "-o needs a value") != NULL, "%s", p.err);
    hpt_proc_free(&p);
}

/* failing paths of options name the option */
Test(cli, failing_option_paths_name_the_option)
{
    hpt_proc p = run((const char *[]){"-o", "/nonexistent/dir/r.txt", hpa_fixture("patchable-x86_64-w64-mingw32.dll"),
                                      NULL});
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "--output /nonexistent/dir/r.txt: ") != NULL, "%s", p.err);
    hpt_proc_free(&p);
    p = run((const char *[]){"--allow", "/nonexistent/allow.txt", hpa_fixture("patchable-x86_64-w64-mingw32.dll"),
                             NULL});
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "--allow /nonexistent/allow.txt: ") != NULL, "%s", p.err);
    hpt_proc_free(&p);
}

/* "-" reads the input from standard input */
Test(cli, dash_is_standard_input)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "exec '%s' - < '%s'", HPA_AUDIT_EXE, hpa_fixture("patchable-x86_64-w64-mingw32.dll"));
    hpt_proc p;
    cr_assert_eq(hpt_run((const char *[]){"/bin/sh", "-c", cmd, NULL}, NULL, 60, &p), 0);
    cr_expect_eq(p.status, 0, "%s%s", p.out, p.err);
    cr_expect(strstr(p.out, "(standard input)") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "100.0%") != NULL, "%s", p.out);
    hpt_proc_free(&p);
}

/* fixtures folded-long.dll: 40 long export names on one entry; the HP2001 message names every one */
Test(cli, long_messages_are_not_cut)
{
    hpt_proc p = run((const char *[]){"--format", "json", hpa_fixture("folded-long.dll"), NULL});
    cr_expect_eq(p.status, 1);
    char want[128];
    for (int i = 0; i < 40; i++) {
        snprintf(want, sizeof want, "alias_with_a_rather_long_name_number_%02d", i);
        cr_expect(strstr(p.out, want) != NULL, "%s missing", want);
    }
    hpt_proc_free(&p);
}
