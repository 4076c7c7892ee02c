/*
 * test_cmdline.c — the command-line model: flavours, response files expanded
 * (their quoting: test_rsp.c), our options taken out, everything else passed
 * through in order.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_link_cmdline.h"
#include "hpt.h"

Test(cmdline, flavour_from_name)
{
    cr_expect_eq(hp_link_flavor_from_name("/opt/bin/hotpatch-ld.lld"), HP_LINK_FLAVOR_MINGW);
    cr_expect_eq(hp_link_flavor_from_name("hotpatch-lld-link"), HP_LINK_FLAVOR_MSVC);
    cr_expect_eq(hp_link_flavor_from_name("/x/hotpatch-link"), HP_LINK_FLAVOR_UNKNOWN);
}

static int no_file(const char *p)
{
    (void)p;
    return 0;
}

static int is_obj(const char *p)
{
    return strstr(p, ".obj") != NULL;
}

Test(cmdline, mingw_options_are_taken_out_and_the_rest_kept_in_order)
{
    const char *argv[] = {"hotpatch-link", "-m", "i386pep", "-o", "out.exe", "--hotpatch-pad=8", "a.o", "-L",
                          "/lib", "--hotpatch-map", "m.json", "-lfoo", "--lld=/x/ld.lld", "--icf=all",
                          "--hotpatch-warn-only", "b.a"};
    hp_link_cmdline *cl = NULL;
    char msg[256];
    cr_assert_eq(hp_link_cmdline_parse(16, argv, no_file, &cl, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect_eq(cl->flavor, HP_LINK_FLAVOR_MINGW);
    const char *want[] = {"-m", "i386pep", "-o", "out.exe", "a.o", "-L", "/lib", "-lfoo", "--icf=all", "b.a"};
    cr_assert_eq(cl->arg_count, 10);
    for (size_t i = 0; i < 10; i++)
        cr_expect_str_eq(cl->args[i], want[i]);
    cr_expect_eq(cl->pad, 8u);
    cr_expect_str_eq(cl->map_path, "m.json");
    cr_expect_str_eq(cl->lld_path, "/x/ld.lld");
    cr_expect_eq(cl->warn_only, 1);
    cr_expect_str_eq(cl->output, "out.exe");
    cr_expect_str_eq(cl->icf_arg, "--icf=all");
    cr_assert_eq(cl->input_count, 2); /* -L's value and -lfoo are no inputs */
    cr_expect_str_eq(cl->args[cl->inputs[0]], "a.o");
    cr_expect_str_eq(cl->args[cl->inputs[1]], "b.a");
    hp_link_cmdline_destroy(cl);
}

Test(cmdline, msvc_flavour_output_icf_and_paths)
{
    const char *argv[] = {"hotpatch-link", "-out:x.dll", "/dll", "/tmp/a.obj", "/opt:ref,icf", "/nologo",
                          "/opt:noicf", "/OPT:ICF=3", "b.lib"};
    hp_link_cmdline *cl = NULL;
    cr_assert_eq(hp_link_cmdline_parse(9, argv, is_obj, &cl, NULL, 0), HP_OK);
    cr_expect_eq(cl->flavor, HP_LINK_FLAVOR_MSVC);
    cr_expect_str_eq(cl->output, "x.dll");
    cr_expect_eq(cl->is_dll, 1);
    cr_expect_str_eq(cl->icf_arg, "/OPT:ICF=3"); /* the last word wins, as in lld */
    cr_assert_eq(cl->input_count, 2);
    cr_expect_str_eq(cl->args[cl->inputs[0]], "/tmp/a.obj");
    cr_expect_str_eq(cl->args[cl->inputs[1]], "b.lib");
    hp_link_cmdline_destroy(cl);

    const char *argv2[] = {"hotpatch-lld-link", "/dll", "dir/first.obj", "/opt:icf", "/opt:noicf"};
    cr_assert_eq(hp_link_cmdline_parse(5, argv2, is_obj, &cl, NULL, 0), HP_OK);
    cr_expect_str_eq(cl->output, "first.dll"); /* lld-link's default name */
    cr_expect_null(cl->icf_arg);
    hp_link_cmdline_destroy(cl);
}

Test(cmdline, response_files_are_expanded_with_the_flavours_rules)
{
    const char *d = hpt_scratch("cmdline_rsp");
    char rsp[4200], inner[4200], arg[4300], arg2[4300];
    snprintf(inner, sizeof inner, "%s/inner.rsp", d);
    snprintf(rsp, sizeof rsp, "%s/outer.rsp", d);
    FILE *f = fopen(inner, "w");
    cr_assert_not_null(f);
    fputs("\"c d.obj\" --hotpatch-verbose", f);
    fclose(f);
    f = fopen(rsp, "w");
    cr_assert_not_null(f);
    fprintf(f, "/out:\"o u t.exe\" a.obj @%s\r\nb.obj", inner);
    fclose(f);
    snprintf(arg, sizeof arg, "@%s", rsp);
    const char *argv[] = {"hotpatch-lld-link", arg};
    hp_link_cmdline *cl = NULL;
    cr_assert_eq(hp_link_cmdline_parse(2, argv, no_file, &cl, NULL, 0), HP_OK);
    const char *want[] = {"/out:o u t.exe", "a.obj", "c d.obj", "b.obj"};
    cr_assert_eq(cl->arg_count, 4);
    for (size_t i = 0; i < 4; i++)
        cr_expect_str_eq(cl->args[i], want[i]);
    cr_expect_eq(cl->verbose, 1);
    cr_expect_str_eq(cl->output, "o u t.exe");
    hp_link_cmdline_destroy(cl);

    snprintf(arg2, sizeof arg2, "@%s/none.rsp", d);
    const char *argv2[] = {"hotpatch-lld-link", arg2};
    char msg[256];
    cr_expect_eq(hp_link_cmdline_parse(2, argv2, no_file, &cl, msg, sizeof msg), HP_ERR_IO);
    cr_expect(strstr(msg, "cannot read response file") != NULL, "%s", msg);
}

Test(cmdline, hotpatch_options_validate_their_values)
{
    hp_link_cmdline *cl = NULL;
    char msg[256];
    /* a wrong name or a missing value is a usage error; a value out of range a bad value */
    const char *bad[][4] = {{"x", "-o", "a", "--hotpatch-pad=abc"},
                            {"x", "-o", "a", "--hotpatch-map="},
                            {"x", "-o", "a", "--hotpatch-flavor=elf"},
                            {"x", "-o", "a", "--hotpatch-nope"}};
    const hp_status want[] = {HP_ERR_BAD_VALUE, HP_ERR_USAGE, HP_ERR_BAD_VALUE, HP_ERR_USAGE};
    for (size_t i = 0; i < 4; i++)
        cr_expect_eq(hp_link_cmdline_parse(4, bad[i], no_file, &cl, msg, sizeof msg), want[i], "%s", bad[i][3]);
    const char *ok[] = {"x", "-o", "a", "--hotpatch-map=none", "--hotpatch-flavor=mingw"};
    cr_assert_eq(hp_link_cmdline_parse(5, ok, no_file, &cl, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect_eq(cl->map_none, 1);
    cr_expect_eq(cl->arg_count, 2);
    hp_link_cmdline_destroy(cl);
}

Test(cmdline, pad_must_hold_the_runtimes_long_jump)
{
    /* 5 bytes is the x86 long jump (E9 rel32), the least any machine needs; 64 the most a pad may be */
    static const struct {
        const char *arg;
        hp_status st;
        uint32_t pad;
    } cases[] = {{"--hotpatch-pad=3", HP_ERR_BAD_VALUE, 0},  {"--hotpatch-pad=4", HP_ERR_BAD_VALUE, 0},
                 {"--hotpatch-pad=5", HP_OK, 5},              {"--hotpatch-pad=64", HP_OK, 64},
                 {"--hotpatch-pad=65", HP_ERR_BAD_VALUE, 0}, {"--hotpatch-pad=0", HP_ERR_BAD_VALUE, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[] = {"hotpatch-ld.lld", "-o", "a.exe", "a.o", cases[i].arg};
        hp_link_cmdline *cl = NULL;
        char msg[256] = "";
        cr_expect_eq(hp_link_cmdline_parse(5, argv, no_file, &cl, msg, sizeof msg), cases[i].st, "%s: %s",
                     cases[i].arg, msg);
        if (cases[i].st == HP_OK) {
            cr_expect_eq(cl->pad, cases[i].pad, "%s", cases[i].arg);
            hp_link_cmdline_destroy(cl);
        } else {
            cr_expect_null(cl);
            cr_expect(strstr(msg, "--hotpatch-pad") != NULL, "%s: %s", cases[i].arg, msg);
        }
    }
}

Test(cmdline, help_and_version_need_no_flavour)
{
    const char *argv[] = {"hotpatch-link", "--version"};
    hp_link_cmdline *cl = NULL;
    cr_assert_eq(hp_link_cmdline_parse(2, argv, no_file, &cl, NULL, 0), HP_OK);
    cr_expect_eq(cl->want_version, 1);
    cr_expect_eq(cl->want_help, 0);
    cr_expect_eq(cl->arg_count, 0, "--version is ours, not lld's");
    cr_assert_not_null(cl->args, "args is a NULL-terminated array, also when empty");
    cr_expect_null(cl->args[0]);
    hp_link_cmdline_destroy(cl);
    argv[1] = "--help";
    cr_assert_eq(hp_link_cmdline_parse(2, argv, no_file, &cl, NULL, 0), HP_OK);
    cr_expect_eq(cl->want_help, 1);
    cr_assert_not_null(cl->args);
    cr_expect_null(cl->args[0]);
    hp_link_cmdline_destroy(cl);
}

Test(cmdline, cache_directory_or_none)
{
    hp_link_cmdline *cl = NULL;
    char msg[256] = "";
    const char *none[] = {"x", "-o", "a", "--hotpatch-cache=none", "--hotpatch-flavor=mingw"};
    cr_assert_eq(hp_link_cmdline_parse(5, none, no_file, &cl, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect_eq(cl->cache_none, 1);
    cr_expect_null(cl->cache_dir);
    cr_expect_eq(cl->arg_count, 2, "the option reached lld");
    hp_link_cmdline_destroy(cl);
    const char *dir[] = {"x", "-o", "a", "--hotpatch-cache", "/tmp/c d", "--hotpatch-flavor=mingw"};
    cr_assert_eq(hp_link_cmdline_parse(6, dir, no_file, &cl, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect_eq(cl->cache_none, 0);
    cr_expect_str_eq(cl->cache_dir, "/tmp/c d");
    hp_link_cmdline_destroy(cl);
    const char *empty[] = {"x", "-o", "a", "--hotpatch-cache="};
    cl = NULL;
    cr_expect_eq(hp_link_cmdline_parse(4, empty, no_file, &cl, msg, sizeof msg), HP_ERR_USAGE);
    cr_expect_null(cl);
    cr_expect(strstr(msg, "--hotpatch-cache needs a directory or 'none'") != NULL, "%s", msg);
}
