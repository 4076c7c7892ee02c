/*
 * test_cli.c — hotpatch-link's command line as a user meets it: help,
 * version, bad options, missing lld, unreadable inputs, lld's failure status
 * passed on.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hotpatch.h"
#include "lpt.h"

/* A stand-in lld in a scratch directory: exits 7 when its arguments end with `tail` (and so got the
   link-side settings), 3 otherwise. Returns "--lld=<path>" in a static buffer; `in` receives an
   empty input file next to it. */
static const char *fake_lld(const char *scratch, const char *tail, char *in, size_t in_size)
{
    static char arg[4300];
    char lld[4200];
    const char *d = hpt_scratch(scratch);
    cr_assert_not_null(d);
    snprintf(lld, sizeof lld, "%s/fake-lld", d);
    snprintf(in, in_size, "%s/in.obj", d);
    FILE *f = fopen(lld, "w");
    cr_assert_not_null(f);
    fprintf(f, "#!/bin/sh\ncase \"$*\" in *'%s') exit 7;; esac\nexit 3\n", tail);
    fclose(f);
    chmod(lld, 0755);
    f = fopen(in, "w");
    cr_assert_not_null(f);
    fclose(f);
    snprintf(arg, sizeof arg, "--lld=%s", lld);
    return arg;
}

Test(cli, help_lists_every_option)
{
    hpt_proc p;
    cr_assert_eq(lpt_run_link((const char *[]){"--help", NULL}, &p), 0);
    const char *opts[] = {"--hotpatch-pad=N", "--hotpatch-warn-only", "--hotpatch-map=PATH|none",
                          "--hotpatch-verbose", "--hotpatch-fix-for=IMAGE", "--hotpatch-exclude=GLOB", "--lld=PATH", "--help",
                          "--version"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        cr_expect(strstr(p.out, opts[i]) != NULL, "%s missing from --help", opts[i]);
    cr_expect_str_eq(p.err, "");
    hpt_proc_free(&p);
}

Test(cli, version_is_printed_and_nothing_linked)
{
    hpt_proc p;
    cr_assert_eq(lpt_run_link((const char *[]){"--version", NULL}, &p), 0);
    cr_expect_str_eq(p.out, "hotpatch-link " HP_VERSION_STRING "\n");
    cr_expect_str_eq(p.err, "");
    hpt_proc_free(&p);
}

/* Through the compiler (-Wl,--version) the flavour is known: lld's own version follows ours, as build
   systems that look for "LLD" in the linker's version expect. */
Test(cli, version_with_a_flavour_adds_lld_version)
{
    hpt_proc p;
    cr_assert_eq(lpt_run_link((const char *[]){"-m", "i386pep", "--version", NULL}, &p), 0, "%s", p.err);
    cr_expect(strncmp(p.out, "hotpatch-link " HP_VERSION_STRING "\n", strlen("hotpatch-link " HP_VERSION_STRING "\n")) == 0,
              "%s", p.out);
    cr_expect(strstr(p.out, "LLD ") != NULL, "%s", p.out);
    hpt_proc_free(&p);
}

/* The MSVC-ABI clang line of --help, and the spelling of -fuse-ld= in it. */
static char *msvc_fuse_ld(const char *text, const char *what)
{
    const char *line = strstr(text, "clang --target=x86_64-pc-windows-msvc");
    cr_assert_not_null(line, "%s has no MSVC-ABI clang line", what);
    const char *end = strchr(line, '\n');
    const char *f = strstr(line, "-fuse-ld=");
    cr_assert(f && (!end || f < end), "%s: no -fuse-ld= on the MSVC-ABI line", what);
    size_t n = strcspn(f, " `\n");
    char *r = malloc(n + 1);
    cr_assert_not_null(r);
    memcpy(r, f, n);
    r[n] = 0;
    return r;
}

Test(cli, help_and_readme_agree_on_the_msvc_abi_linker_name)
{
    /* clang's MSVC driver finds the linker by name through -B or PATH: the name that says MSVC */
    hpt_proc p;
    cr_assert_eq(lpt_run_link((const char *[]){"--help", NULL}, &p), 0);
    size_t size = 0;
    unsigned char *bytes = hpt_read_file(LPT_README, &size);
    cr_assert_not_null(bytes, "%s", LPT_README);
    char *readme = malloc(size + 1); /* as a string */
    cr_assert_not_null(readme);
    memcpy(readme, bytes, size);
    readme[size] = 0;
    free(bytes);
    char *help = msvc_fuse_ld(p.out, "--help");
    char *doc = msvc_fuse_ld(readme, "lld-pass/README.md");
    cr_expect_str_eq(help, "-fuse-ld=hotpatch-lld-link");
    cr_expect_str_eq(doc, help);
    free(help);
    free(doc);
    free(readme);
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
    /* below 5 bytes the runtime's long jump does not fit (5 on x86, 6 on x64); above 64 is no pad */
    static const struct {
        const char *arg, *err;
    } bad[] = {
        {"--hotpatch-pad=0", "hotpatch-link: error: --hotpatch-pad: 0 bytes cannot hold the runtime's long jump: "
                             "padding must be at least 5 (x86) or 6 (x64), at most 64\n"},
        {"--hotpatch-pad=3", "hotpatch-link: error: --hotpatch-pad: 3 bytes cannot hold the runtime's long jump: "
                             "padding must be at least 5 (x86) or 6 (x64), at most 64\n"},
        {"--hotpatch-pad=4", "hotpatch-link: error: --hotpatch-pad: 4 bytes cannot hold the runtime's long jump: "
                             "padding must be at least 5 (x86) or 6 (x64), at most 64\n"},
        {"--hotpatch-pad=65", "hotpatch-link: error: --hotpatch-pad: '65' is not a number from 5 to 64\n"},
        {"--hotpatch-pad=x", "hotpatch-link: error: --hotpatch-pad: 'x' is not a number from 5 to 64\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hpt_proc p;
        cr_expect_eq(lpt_run_link((const char *[]){"-m", "i386pep", "x.o", bad[i].arg, NULL}, &p), 2, "%s",
                     bad[i].arg);
        cr_expect_str_eq(p.err, bad[i].err);
        hpt_proc_free(&p);
    }
}

Test(cli, pad_5_is_accepted_and_reaches_lld)
{
    char in[4200];
    const char *lld = fake_lld("cli_pad5", "-Xlink=/functionpadmin:5 --icf=none -Xlink=/opt:noicf",
                               in, sizeof in);
    hpt_proc p;
    cr_expect_eq(lpt_run_link((const char *[]){"-m", "i386pep", "-o", "x.exe", in, "--hotpatch-pad=5", lld, NULL}, &p),
                 7, "%s", p.err);
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
    char in[4200];
    const char *lld = fake_lld("cli_lld_status", "/functionpadmin /opt:noicf /debug:symtab", in, sizeof in);
    hpt_proc p;
    cr_expect_eq(lpt_run_link((const char *[]){"/out:x.exe", in, lld, NULL}, &p), 7, "%s", p.err);
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
    cr_expect(strstr(p.err, "-Xlink=/functionpadmin --icf=none -Xlink=/opt:noicf") != NULL, "%s",
              p.err);
    /* what each step cost: lld (a child that ran), then hotpatch-link's own steps, each a number */
    double lld_ms = -1, own = -1, inputs = -1, heap = -1, post = -1, map_ms = -1, code = -1;
    const char *cpu = strstr(p.err, "hotpatch-link: CPU time: ");
    cr_assert_not_null(cpu, "%s", p.err);
    cr_expect_eq(sscanf(cpu,
                        "hotpatch-link: CPU time: lld %lf ms; hotpatch-link %lf ms: inputs %lf, heap %lf, post-link "
                        "checks %lf, map %lf, code digests %lf",
                        &lld_ms, &own, &inputs, &heap, &post, &map_ms, &code),
                 7, "%s", cpu);
    cr_expect(lld_ms > 0, "lld ran: %s", cpu);
    cr_expect(own + 0.3 >= inputs + heap + post && inputs >= 0 && heap >= 0 && post >= 0 && map_ms == 0 && code == 0,
              "the steps within the whole (to the printed 0.1 ms); no map asked for, so neither map nor digests: %s",
              cpu);
    /* the plugin's image is judged by the pass's table walk (and, as ctest runs the suites with
       HOTPATCH_LINK_CHECK_WALK=1, by the audit's walk too, with the same outcome) */
    const char *check = getenv("HOTPATCH_LINK_CHECK_WALK");
    cr_expect(strstr(p.err, check && strcmp(check, "1") == 0
                                ? "checked by the table walk and by the audit's walk: the same functions"
                                : "checked by the table walk\n") != NULL,
              "%s", p.err);
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
