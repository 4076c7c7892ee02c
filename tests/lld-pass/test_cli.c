/*
 * test_cli.c — hotpatch-link's command line as a user meets it: help, bad
 * options, missing lld, unreadable inputs, lld's failure status passed on.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lpt.h"

Test(cli, help_lists_every_option)
{
    hpt_proc p;
    cr_assert_eq(lpt_run_link((const char *[]){"--help", NULL}, &p), 0);
    const char *opts[] = {"--hotpatch-pad=N", "--hotpatch-warn-only", "--hotpatch-map=PATH|none",
                          "--hotpatch-verbose", "--lld=PATH", "--help"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        cr_expect(strstr(p.out, opts[i]) != NULL, "%s missing from --help", opts[i]);
    cr_expect_str_eq(p.err, "");
    hpt_proc_free(&p);
}

Test(cli, unknown_hotpatch_option_is_refused)
{
    hpt_proc p;
    cr_expect_eq(lpt_run_link((const char *[]){"-m", "i386pep", "x.o", "--hotpatch-frobnicate", NULL}, &p), 2);
    cr_expect_str_eq(p.err, "hotpatch-link: error: unknown option '--hotpatch-frobnicate' (see --help)\n");
    hpt_proc_free(&p);
}

Test(cli, bad_pad_is_refused)
{
    hpt_proc p;
    cr_expect_eq(lpt_run_link((const char *[]){"-m", "i386pep", "x.o", "--hotpatch-pad=0", NULL}, &p), 2);
    cr_expect_str_eq(p.err, "hotpatch-link: error: --hotpatch-pad needs a number of bytes from 1 to 64, got '0'\n");
    hpt_proc_free(&p);
    cr_expect_eq(lpt_run_link((const char *[]){"-m", "i386pep", "x.o", "--hotpatch-pad=65", NULL}, &p), 2);
    hpt_proc_free(&p);
}

Test(cli, missing_lld_is_named)
{
    const char *d = hpt_scratch("cli_missing_lld");
    hpt_proc p;
    char lld[4200];
    snprintf(lld, sizeof lld, "--lld=%s/no-such-ld.lld", d);
    cr_expect_eq(lpt_run_link((const char *[]){"-m", "i386pep", "x.o", lld, NULL}, &p), 2);
    char want[4400];
    snprintf(want, sizeof want, "hotpatch-link: error: %s is not an executable file\n", lld);
    cr_expect_str_eq(p.err, want);
    hpt_proc_free(&p);
}

Test(cli, unreadable_input_is_named)
{
    const char *d = hpt_scratch("cli_unreadable");
    char in[4200];
    snprintf(in, sizeof in, "%s/missing.o", d);
    hpt_proc p;
    cr_expect_eq(lpt_run_link((const char *[]){"-m", "i386pep", "-o", "x.exe", in, NULL}, &p), 2);
    char want[4400];
    snprintf(want, sizeof want, "hotpatch-link: error: cannot read input '%s'\n", in);
    cr_expect_str_eq(p.err, want);
    hpt_proc_free(&p);
}

Test(cli, undecidable_flavour_is_refused)
{
    hpt_proc p;
    cr_expect_eq(lpt_run_link((const char *[]){"x.o", NULL}, &p), 2);
    cr_expect(strstr(p.err, "cannot tell the linker flavour") != NULL, "%s", p.err);
    hpt_proc_free(&p);
}

Test(cli, lld_failure_status_is_returned)
{
    /* a stand-in lld that fails with status 7 after checking it got the link-side settings */
    const char *d = hpt_scratch("cli_lld_status");
    char lld[4200], arg[4300], in[4200];
    snprintf(lld, sizeof lld, "%s/fake-lld-link", d);
    snprintf(in, sizeof in, "%s/in.obj", d);
    FILE *f = fopen(lld, "w");
    cr_assert_not_null(f);
    fputs("#!/bin/sh\n"
          "case \"$*\" in *'/functionpadmin /opt:noicf /release') exit 7;; esac\n"
          "exit 3\n",
          f);
    fclose(f);
    chmod(lld, 0755);
    f = fopen(in, "w");
    cr_assert_not_null(f);
    fclose(f);
    snprintf(arg, sizeof arg, "--lld=%s", lld);
    hpt_proc p;
    cr_expect_eq(lpt_run_link((const char *[]){"/out:x.exe", in, arg, NULL}, &p), 7, "%s", p.err);
    hpt_proc_free(&p);
}

Test(cli, options_reach_the_driver_through_wl)
{
    /* clang -Wl,--hotpatch-map=none,--hotpatch-pad=8 -> no map written, padding 8 required */
    const char *d = hpt_scratch("cli_wl");
    const char *obj = lpt_path(d, "prog.o"), *exe = lpt_path(d, "prog.exe"), *map = lpt_path(d, "prog.exe.hpmap");
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("prog.c"), obj, 1, (const char *[]){"-O2", NULL});
    hpt_proc p;
    int st = lpt_link("x86_64-w64-mingw32",
                      (const char *[]){obj, "-o", exe, "-Wl,--hotpatch-map=none,--hotpatch-verbose", NULL}, &p);
    cr_assert_eq(st, 0, "%s", p.err);
    cr_expect(strstr(p.err, "-Xlink=/functionpadmin --icf=none -Xlink=/opt:noicf -Xlink=/release") != NULL, "%s",
              p.err);
    struct stat sb;
    cr_expect_neq(stat(map, &sb), 0, "a map was written despite --hotpatch-map=none");
    hpt_proc_free(&p);
    /* the plugin pads 6 on x64 and functions follow each other: requiring 64 bytes must fail */
    st = lpt_link("x86_64-w64-mingw32", (const char *[]){obj, "-o", exe, "-Wl,--hotpatch-pad=64", NULL}, &p);
    cr_expect_neq(st, 0);
    cr_expect(strstr(p.err, "'add1' at 0x") != NULL && strstr(p.err, "is not hotpatchable: padding-") != NULL, "%s",
              p.err);
    hpt_proc_free(&p);
}

Test(cli, lld_link_flavour_with_a_response_file)
{
    /* in place of lld-link: hotpatch-lld-link @file, a path with a space quoted the Windows way */
    const char *d = hpt_scratch("cli_rsp");
    const char *obj = lpt_path(d, "dll.obj"), *sp = lpt_path(d, "with space"), *rsp = lpt_path(d, "link.rsp");
    cr_assert_eq(mkdir(sp, 0755), 0);
    lpt_compile("x86_64-pc-windows-msvc", lpt_fixture("dll.c"), obj, 1, (const char *[]){"-O2", NULL});
    FILE *f = fopen(rsp, "w");
    cr_assert_not_null(f);
    fprintf(f, "/nologo /dll\r\n\"/out:%s/x.dll\" %s\r\n", sp, obj);
    fclose(f);
    char at[4200], self[4200], dll[4200], map[4200];
    snprintf(at, sizeof at, "@%s", rsp);
    snprintf(self, sizeof self, "%s/hotpatch-lld-link", LPT_LINK_DIR);
    snprintf(dll, sizeof dll, "%s/x.dll", sp);
    snprintf(map, sizeof map, "%s/x.dll.hpmap", sp);
    hpt_proc p;
    cr_assert_eq(hpt_run((const char *[]){self, at, NULL}, NULL, 120, &p), 0);
    cr_expect_eq(p.status, 0, "%s", p.err);
    cr_expect_str_eq(p.err, "");
    hpt_proc_free(&p);
    cr_expect_eq(access(dll, F_OK), 0);
    cr_expect_eq(access(map, F_OK), 0);
}
