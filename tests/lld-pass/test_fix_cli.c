/*
 * test_fix_cli.c — hotpatch-fix's command line, inputs and exit statuses (lld-pass/README.md,
 * "hotpatch-fix"), on a release built at test time from fixtures/digest/base.c. What it finds in real
 * edits, and the modules it builds loaded live, are tests/cmake/test_fixbuilder.c's.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lpt.h"

static char release[4300], src[4300];

/* base.c as the release: compiled with the plugin, its unit named "base.c", linked by hotpatch-link */
static void build_release(const char *dir)
{
    char obj[4300], root[4400], fuse[4400];
    snprintf(obj, sizeof obj, "%s/base.o", dir);
    snprintf(root, sizeof root, "-fplugin-arg-hotpatch-source-root=%s", lpt_fixture("digest"));
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("digest/base.c"), obj, 1, (const char *[]){"-O2", root, NULL});
    snprintf(release, sizeof release, "%s/rel.dll", dir);
    snprintf(fuse, sizeof fuse, "-fuse-ld=%s", LPT_LINK);
    hpt_proc p;
    int rc = hpt_cc("x86_64-w64-mingw32", (const char *[]){"-shared", fuse, obj, "-o", release, NULL}, &p);
    cr_assert_eq(rc, 0, "linking the release failed:\n%s", p.err);
    hpt_proc_free(&p);
    snprintf(src, sizeof src, "%s", lpt_fixture("digest/base.c"));
}

static void fix(const char *const args[], hpt_proc *p)
{
    const char *argv[24] = {LPT_FIX};
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    cr_assert_eq(hpt_run(argv, NULL, 300, p), 0);
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

Test(fix_cli, help_and_usage_errors)
{
    hpt_proc p;
    fix((const char *[]){"--help", NULL}, &p);
    cr_expect_eq(p.status, 0);
    cr_expect(strstr(p.out, "usage: hotpatch-fix --for IMAGE") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "3 nothing to do") != NULL, "--help states the exit statuses:\n%s", p.out);
    hpt_proc_free(&p);
    fix((const char *[]){"--version", NULL}, &p);
    cr_expect_eq(p.status, 0);
    cr_expect(strncmp(p.out, "hotpatch-fix ", 13) == 0, "%s", p.out);
    hpt_proc_free(&p);
    fix((const char *[]){"x.c", NULL}, &p);
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "hotpatch-fix: error: --for IMAGE is required") != NULL, "%s", p.err);
    hpt_proc_free(&p);
    fix((const char *[]){"--for", "a.dll", "--bogus", "x.c", NULL}, &p);
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "unknown option '--bogus' (compiler flags go after '--')") != NULL, "%s", p.err);
    hpt_proc_free(&p);
    fix((const char *[]){"--for", "a.dll", "-o", NULL}, &p);
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "option '-o' needs a value") != NULL, "%s", p.err);
    hpt_proc_free(&p);
    fix((const char *[]){"--for", "a.dll", "--unit", "nothing", "x.c", NULL}, &p);
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "--unit takes SOURCE=PATH, got 'nothing'") != NULL, "%s", p.err);
    hpt_proc_free(&p);
    fix((const char *[]){"--for", "/nonexistent/a.dll", "x.c", NULL}, &p);
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "--for /nonexistent/a.dll: No such file or directory") != NULL, "%s", p.err);
    hpt_proc_free(&p);
}

Test(fix_cli, an_unchanged_source_is_nothing_to_do_and_a_dry_run_writes_nothing)
{
    const char *d = hpt_scratch("fix_cli_nothing");
    build_release(d);
    char out[4400], root[4400];
    snprintf(out, sizeof out, "%s/out.dll", d);
    snprintf(root, sizeof root, "%s", lpt_fixture("digest"));
    hpt_proc p;
    fix((const char *[]){"--for", release, "--source-root", root, "-o", out, src, "--", "-O2", NULL}, &p);
    cr_expect_eq(p.status, 3, "%s%s", p.out, p.err);
    cr_expect(strstr(p.out, "unchanged: 9 functions in 1 translation unit") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "hotpatch-fix: no generated code changed: nothing to patch, no module") != NULL, "%s",
              p.out);
    cr_expect(!exists(out), "a module was written");
    hpt_proc_free(&p);
    /* -O0 gives other code (for all but the most trivial functions): found changed; --dry-run writes nothing */
    fix((const char *[]){"--for", release, "--source-root", root, "-o", out, "--dry-run", src, "--", "-O0", NULL}, &p);
    cr_expect_eq(p.status, 0, "%s%s", p.out, p.err);
    cr_expect(strstr(p.out, "changed:   bump (base.c)") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "           loop (base.c)") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "unchanged: 9 functions") == NULL, "%s", p.out);
    cr_expect(!exists(out), "--dry-run wrote a module");
    hpt_proc_free(&p);
}

Test(fix_cli, missing_or_mismatched_release_files_and_failed_compiles)
{
    const char *d = hpt_scratch("fix_cli_inputs");
    build_release(d);
    char code[4400], root[4400], other[4400];
    snprintf(code, sizeof code, "%s.hpcode", release);
    snprintf(root, sizeof root, "%s", lpt_fixture("digest"));
    hpt_proc p;
    /* a compile that fails: the compiler's own output is shown */
    fix((const char *[]){"--for", release, "--source-root", root, src, "--", "-include", "no-such-header.h", NULL}, &p);
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "no-such-header.h' file not found") != NULL, "%s", p.err);
    cr_expect(strstr(p.err, "hotpatch-fix: error: compiling ") != NULL, "%s", p.err);
    hpt_proc_free(&p);
    /* the code digests of another build */
    snprintf(other, sizeof other, "%s/other.hpcode", d);
    FILE *f = fopen(other, "w");
    cr_assert(f);
    fputs("hotpatch-code 1\nimage x64 1 2 3 rel.dll\n", f);
    fclose(f);
    fix((const char *[]){"--for", release, "--code", other, "--source-root", root, src, "--", "-O2", NULL}, &p);
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "are of different builds (time stamp, size or checksum differ)") != NULL, "%s", p.err);
    hpt_proc_free(&p);
    /* no .hpcode beside the image */
    cr_assert_eq(unlink(code), 0);
    fix((const char *[]){"--for", release, "--source-root", root, src, "--", "-O2", NULL}, &p);
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, code) != NULL && strstr(p.err, "hotpatch-link writes them beside the image") != NULL,
              "%s", p.err);
    hpt_proc_free(&p);
}

/* a file that moved since the release: --unit names the release's unit, or its functions are all new */
Test(fix_cli, a_moved_source_is_matched_by_unit)
{
    const char *d = hpt_scratch("fix_cli_unit");
    build_release(d);
    char moved_dir[4400], moved_src[4500], header[4500], root[4400];
    snprintf(moved_dir, sizeof moved_dir, "%s/src/now", d);
    snprintf(root, sizeof root, "%s/src", d);
    char mk[4600];
    snprintf(mk, sizeof mk, "%s/src", d);
    mkdir(mk, 0755);
    mkdir(moved_dir, 0755);
    snprintf(moved_src, sizeof moved_src, "%s/renamed.c", moved_dir);
    snprintf(header, sizeof header, "%s/variants.h", moved_dir);
    size_t n;
    unsigned char *text = hpt_read_file(src, &n);
    cr_assert(text);
    FILE *f = fopen(moved_src, "wb");
    cr_assert(f);
    fwrite(text, 1, n, f);
    fclose(f);
    free(text);
    text = hpt_read_file(lpt_fixture("digest/variants.h"), &n);
    cr_assert(text);
    f = fopen(header, "wb");
    cr_assert(f);
    fwrite(text, 1, n, f);
    fclose(f);
    free(text);
    hpt_proc p;
    fix((const char *[]){"--for", release, "--source-root", root, "--dry-run", moved_src, "--", "-O2", NULL}, &p);
    cr_expect_eq(p.status, 3, "%s%s", p.out, p.err);
    cr_expect(strstr(p.out, "new:       bump (now/renamed.c)") != NULL, "not the release's unit: all new\n%s", p.out);
    hpt_proc_free(&p);
    char unit[4700];
    snprintf(unit, sizeof unit, "%s=base.c", moved_src);
    fix((const char *[]){"--for", release, "--source-root", root, "--unit", unit, "--dry-run", moved_src, "--", "-O2",
                         NULL},
        &p);
    cr_expect_eq(p.status, 3, "%s%s", p.out, p.err);
    cr_expect(strstr(p.out, "unchanged: 9 functions in 1 translation unit") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "new:") == NULL, "%s", p.out);
    hpt_proc_free(&p);
}
