/*
 * test_behaviour.c — suite "behaviour": the plugin changes layout, not
 * meaning. fixtures/program.c + sites.c print the same text with and without
 * the plugin, under Wine (x86_64-w64-mingw32, with the MinGW CRT) and natively
 * (Linux x86-64). The expected text is worked out from the fixture by hand.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "plugin_test.h"

static const char k_expected[] = "sink=1\n"
                                 "keeps_values(5)=35\n"             /* 5 * 6 + 5 */
                                 "frame_o0(7,3)=4\n"                /* {7, 3, 10, 4}[3] */
                                 "jump_table: 11 23 37 41 59 61 79 83 -1\n"
                                 "variadic_sum=10\n"                /* 1+2+3+4 */
                                 "fib(20)=6765\n"
                                 "static_helper(4)=13\n"            /* 4 * 3 + 1 */
                                 "loop_to_entry(27)=1\n";           /* Collatz reaches 1 */

typedef struct run_case {
    int windows; /* 1: x86_64-w64-mingw32 under Wine; 0: native Linux */
    int config;  /* index into k_configs */
    int plugin;
} run_case;

static const char *const k_configs[][3] = {{"-O0", NULL, NULL}, {"-O2", NULL, NULL}, {"-Os", NULL, NULL},
                                           {"-O2", "-flto", NULL}};
#define CONFIG_COUNT 4

static run_case k_runs[2 * CONFIG_COUNT * 2];

ParameterizedTestParameters(behaviour, same_output_with_and_without_the_plugin)
{
    int w, c, p, n = 0;
    for (w = 0; w < 2; w++)
        for (c = 0; c < CONFIG_COUNT; c++)
            for (p = 0; p < 2; p++) {
                k_runs[n].windows = w;
                k_runs[n].config = c;
                k_runs[n].plugin = p;
                n++;
            }
    return cr_make_param_array(run_case, k_runs, n);
}

/* msvcrt writes "\r\n" for "\n" on a text-mode stdout */
static void drop_cr(char *s)
{
    char *d = s;
    for (; *s; s++)
        if (*s != '\r')
            *d++ = *s;
    *d = '\0';
}

ParameterizedTest(run_case *r, behaviour, same_output_with_and_without_the_plugin, .timeout = 300)
{
    char tag[64], exe[1024];
    const char *dir;
    const char *argv[2];
    pt_args a = {{0}, 0};
    hpt_proc proc;

    snprintf(tag, sizeof tag, "plugin-behaviour-%d-%d-%d", r->windows, r->config, r->plugin);
    dir = hpt_scratch(tag);
    cr_assert(dir);
    snprintf(exe, sizeof exe, "%s/program%s", dir, r->windows ? ".exe" : "");
    if (r->plugin)
        pt_args_plugin(&a);
    pt_args_addv(&a, k_configs[r->config]);
    pt_args_add(&a, "-I" HPT_PLUGIN_FIXTURES);
    pt_args_add(&a, pt_fixture("program.c"));
    pt_args_add(&a, pt_fixture("sites.c"));
    pt_args_add(&a, "-o");
    pt_args_add(&a, exe);
    cr_assert_eq(hpt_cc(r->windows ? "x86_64-w64-mingw32" : "x86_64-linux-gnu", a.v, &proc), 0, "%s", proc.err);
    hpt_proc_free(&proc);

    argv[0] = exe;
    argv[1] = NULL;
    if (r->windows)
        cr_assert_eq(hpt_run_wine(argv, 120, &proc), 0, "wine did not start");
    else
        cr_assert_eq(hpt_run(argv, NULL, 60, &proc), 0);
    cr_expect(!proc.timed_out, "timed out");
    cr_expect_eq(proc.status, 0, "exit status %d; stderr: %s", proc.status, proc.err);
    drop_cr(proc.out);
    cr_expect_str_eq(proc.out, k_expected, "%s %s %s, %s the plugin", r->windows ? "wine" : "native",
                     k_configs[r->config][0], k_configs[r->config][1] ? k_configs[r->config][1] : "",
                     r->plugin ? "with" : "without");
    hpt_proc_free(&proc);
}
