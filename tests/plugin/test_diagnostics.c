/*
 * test_diagnostics.c — suite "diagnostics": the plugin's warnings and remarks,
 * checked with clang's -verify against the expectations written in the
 * fixtures (fixtures/diag/), and -w / -Werror / the plugin's own switches.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "plugin_test.h"

typedef struct verify_case {
    int id;
} verify_case;

/* fixture, triple, extra arguments (NULL-terminated) */
static const struct {
    const char *fixture;
    const char *triple;
    const char *args[4];
} k_cases[] = {
    {"naked.c", "x86_64-w64-mingw32", {NULL}},
    {"naked.c", "i686-w64-mingw32", {NULL}},
    {"naked.c", "x86_64-linux-gnu", {NULL}},
    {"naked_werror.c", "x86_64-w64-mingw32", {"-Werror", NULL}},
    {"naked_silenced.c", "x86_64-w64-mingw32", {"-w", NULL}},
    {"naked_silenced.c", "x86_64-w64-mingw32", {"-fplugin-arg-hotpatch-no-warn-naked", NULL}},
    {"conflict.c", "x86_64-w64-mingw32", {NULL}},
    {"conflict.c", "x86_64-pc-windows-msvc", {NULL}},
    {"verbose.c", "x86_64-w64-mingw32", {"-fplugin-arg-hotpatch-verbose", "-fplugin-arg-hotpatch-exclude=skip_*", NULL}},
    {"pad_small.c", "x86_64-w64-mingw32", {"-fplugin-arg-hotpatch-pad=3", NULL}},
    {"unsupported.c", "aarch64-unknown-linux-gnu", {NULL}},
    {"func_sanitize.c", "x86_64-linux-gnu", {"-fsanitize=function", NULL}},
};
#define CASE_COUNT (int)(sizeof k_cases / sizeof k_cases[0])

static verify_case k_ids[CASE_COUNT];

ParameterizedTestParameters(diagnostics, fixture_expectations_hold)
{
    int i;
    for (i = 0; i < CASE_COUNT; i++)
        k_ids[i].id = i;
    return cr_make_param_array(verify_case, k_ids, CASE_COUNT);
}

ParameterizedTest(verify_case *c, diagnostics, fixture_expectations_hold)
{
    char path[1024];
    pt_args a = {{0}, 0};
    hpt_proc proc;
    int st;

    snprintf(path, sizeof path, "%s/diag/%s", HPT_PLUGIN_FIXTURES, k_cases[c->id].fixture);
    pt_args_plugin(&a);
    pt_args_add(&a, "-Xclang");
    pt_args_add(&a, "-verify");
    pt_args_add(&a, "-O0");
    pt_args_add(&a, "-c");
    pt_args_add(&a, "-o");
    pt_args_add(&a, "/dev/null");
    pt_args_addv(&a, k_cases[c->id].args);
    pt_args_add(&a, path);
    st = hpt_cc(k_cases[c->id].triple, a.v, &proc);
    cr_expect_eq(st, 0, "%s (%s): -verify failed:\n%s", k_cases[c->id].fixture, k_cases[c->id].triple, proc.err);
    hpt_proc_free(&proc);
}

/* Without -verify: what a user sees on the terminal. */
static int compile(const char *fixture, const char *const *args, hpt_proc *proc)
{
    char path[1024];
    pt_args a = {{0}, 0};

    snprintf(path, sizeof path, "%s/diag/%s", HPT_PLUGIN_FIXTURES, fixture);
    pt_args_plugin(&a);
    pt_args_add(&a, "-c");
    pt_args_add(&a, "-o");
    pt_args_add(&a, "/dev/null");
    pt_args_addv(&a, args);
    pt_args_add(&a, path);
    return hpt_cc("x86_64-w64-mingw32", a.v, proc);
}

Test(diagnostics, warning_is_reported_with_its_location)
{
    hpt_proc proc;
    cr_assert_eq(compile("naked.c", NULL, &proc), 0, "%s", proc.err);
    cr_expect(strstr(proc.err, "naked.c:2:29: warning: naked function 'naked_fn' cannot be made hotpatchable") != NULL,
              "stderr: %s", proc.err);
    hpt_proc_free(&proc);
}

Test(diagnostics, werror_fails_the_compilation)
{
    static const char *const args[] = {"-Werror", NULL};
    hpt_proc proc;
    cr_expect_neq(compile("naked.c", args, &proc), 0, "-Werror did not fail the build");
    cr_expect(strstr(proc.err, "error: naked function 'naked_fn'") != NULL, "stderr: %s", proc.err);
    hpt_proc_free(&proc);
}

Test(diagnostics, w_silences_warnings)
{
    static const char *const args[] = {"-w", NULL};
    hpt_proc proc;
    cr_expect_eq(compile("naked.c", args, &proc), 0, "%s", proc.err);
    cr_expect_eq(proc.err_len, 0, "stderr not empty with -w: %s", proc.err);
    hpt_proc_free(&proc);
}

Test(diagnostics, w_does_not_silence_option_errors)
{
    static const char *const args[] = {"-w", "-fplugin-arg-hotpatch-pad=zero", NULL};
    hpt_proc proc;
    cr_expect_neq(compile("naked_silenced.c", args, &proc), 0, "a bad option passed with -w");
    cr_expect(strstr(proc.err, "error: hotpatch plugin: invalid value 'zero' for 'pad'") != NULL, "stderr: %s",
              proc.err);
    hpt_proc_free(&proc);
}
