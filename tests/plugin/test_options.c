/*
 * test_options.c — suite "options": -fplugin-arg-hotpatch-NAME=VALUE, on
 * linked DLLs of fixtures/sites.c (9 exports, 12 functions in a DLL).
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "plugin_test.h"

static const char *const k_exports[] = {
    "first_in_section", "bare_ret", "keeps_values", "frame_o0", "jump_table",
    "variadic_sum", "fib", "get_static_helper", "loop_to_entry",
};
#define EXPORT_COUNT 9
#define SITES_FUNCTIONS 12

/* ------------------------------------------------------------------------- */
/* Bad options: the plugin's own message, and the compilation fails          */
/* ------------------------------------------------------------------------- */

typedef struct bad_case {
    int id;
} bad_case;

static const struct {
    const char *arg;
    const char *message; /* after "error: hotpatch plugin: " */
} k_bad[] = {
    {"bogus", "unknown option 'bogus' (in '-fplugin-arg-hotpatch-bogus')"},
    {"pad=abc", "invalid value 'abc' for 'pad': expected a number of bytes from 1 to 64"},
    {"pad=0", "invalid value '0' for 'pad': expected a number of bytes from 1 to 64"},
    {"pad=65", "invalid value '65' for 'pad': expected a number of bytes from 1 to 64"},
    {"pad=", "invalid value '' for 'pad'"},
    {"pad=63", "invalid value '63' for 'pad': the entry would straddle a 64-byte line; use 62 or 64"},
    {"scope=some", "invalid value 'some' for 'scope': expected 'all' or 'exported'"},
    {"entry=jmp", "invalid value 'jmp' for 'entry': expected 'nop' or 'widen'"},
    {"cet=maybe", "invalid value 'maybe' for 'cet': expected 'auto', 'on' or 'off'"},
    {"table=yes", "invalid value 'yes' for 'table': expected 'on' or 'off'"},
    {"exclude", "option 'exclude' needs a value ('exclude=...')"},
    {"exclude=", "invalid value '' for 'exclude': expected a glob of function names"},
    {"verbose=1", "option 'verbose' takes no value"},
    {"no-warn-naked=yes", "option 'no-warn-naked' takes no value"},
};
#define BAD_COUNT (int)(sizeof k_bad / sizeof k_bad[0])
static bad_case k_bad_ids[BAD_COUNT];

ParameterizedTestParameters(options, bad_option_fails_with_the_plugins_message)
{
    int i;
    for (i = 0; i < BAD_COUNT; i++)
        k_bad_ids[i].id = i;
    return cr_make_param_array(bad_case, k_bad_ids, BAD_COUNT);
}

ParameterizedTest(bad_case *c, options, bad_option_fails_with_the_plugins_message)
{
    char arg[160], expected[300], out[1024], tag[64];
    const char *dir;
    pt_args a = {{0}, 0};
    hpt_proc proc;
    int st;
    FILE *f;

    snprintf(tag, sizeof tag, "plugin-options-bad-%d", c->id);
    dir = hpt_scratch(tag);
    cr_assert(dir);
    snprintf(arg, sizeof arg, "-fplugin-arg-hotpatch-%s", k_bad[c->id].arg);
    snprintf(expected, sizeof expected, "error: hotpatch plugin: %s", k_bad[c->id].message);
    snprintf(out, sizeof out, "%s/bad-%d.o", dir, c->id);
    pt_args_plugin(&a);
    pt_args_add(&a, arg);
    pt_args_add(&a, "-c");
    pt_args_add(&a, pt_fixture("sites.c"));
    pt_args_add(&a, "-o");
    pt_args_add(&a, out);
    st = hpt_cc("x86_64-w64-mingw32", a.v, &proc);
    cr_expect_neq(st, 0, "'%s' was accepted", k_bad[c->id].arg);
    cr_expect(strstr(proc.err, expected) != NULL, "expected '%s' in:\n%s", expected, proc.err);
    f = fopen(out, "rb");
    cr_expect(f == NULL, "an object was written despite the error");
    if (f)
        fclose(f);
    hpt_proc_free(&proc);
}

/* ------------------------------------------------------------------------- */
/* Options on linked DLLs                                                     */
/* ------------------------------------------------------------------------- */

static void build(const char *tag, int target, int config, const char *const *plugin_args, pt_image *img,
                  pt_table *t)
{
    char dll[1024];
    pt_build_dll(tag, target, config, 1, plugin_args, NULL, pt_fixture("sites.c"), dll, sizeof dll);
    pt_image_load(img, dll);
    pt_table_read(img, t);
}

static void expect_exports_patchable(const pt_image *img)
{
    int i;
    for (i = 0; i < EXPORT_COUNT; i++) {
        hp_site site;
        hp_site_reason r = pt_site(img, pt_export_rva(img, k_exports[i]), &site);
        cr_expect_eq(r, HP_SITE_OK, "export %s: %s", k_exports[i], hp_site_reason_str(r));
    }
}

Test(options, scope_exported_leaves_other_functions_alone)
{
    static const char *const args[] = {"scope=exported", NULL};
    pt_image img;
    pt_table t;
    int i;

    build("plugin-options-scope", PT_X64_MINGW, PT_O2, args, &img, &t);
    cr_assert_eq(t.count, EXPORT_COUNT, "%d records; scope=exported must record the %d exports only", t.count,
                 EXPORT_COUNT);
    for (i = 0; i < EXPORT_COUNT; i++)
        cr_expect(pt_table_find(&t, pt_export_rva(&img, k_exports[i])) >= 0, "%s missing", k_exports[i]);
    for (i = 0; i < t.count; i++)
        cr_expect(t.rec[i].flags & HP_TABLE_F_EXPORTED);
    cr_expect_eq(pt_table_find(&t, img.pe.entry_point), -1, "the (non-exported) entry point was instrumented");
    expect_exports_patchable(&img);
    pt_image_free(&img);
}

Test(options, scope_exported_under_lto)
{
    static const char *const args[] = {"scope=exported", NULL};
    pt_image img;
    pt_table t;

    build("plugin-options-scope-lto", PT_X64_MSVC, PT_O2_LTO, args, &img, &t);
    cr_expect_eq(t.count, EXPORT_COUNT, "%d records under -flto", t.count);
    expect_exports_patchable(&img);
    pt_image_free(&img);
}

Test(options, exclude_globs_leave_matching_functions_alone)
{
    static const char *const args[] = {"exclude=bare_ret", "exclude=*_table", NULL};
    pt_image img;
    pt_table t;
    hp_site site;

    build("plugin-options-exclude", PT_X64_MINGW, PT_O2, args, &img, &t);
    cr_expect_eq(t.count, SITES_FUNCTIONS - 2, "%d records with two functions excluded", t.count);
    cr_expect_eq(pt_table_find(&t, pt_export_rva(&img, "bare_ret")), -1);
    cr_expect_eq(pt_table_find(&t, pt_export_rva(&img, "jump_table")), -1);
    cr_expect(pt_table_find(&t, pt_export_rva(&img, "fib")) >= 0);
    /* left alone: bare_ret is its lone 1-byte `ret` again */
    cr_expect_neq(pt_site(&img, pt_export_rva(&img, "bare_ret"), &site), HP_SITE_OK);
    pt_image_free(&img);
}

Test(options, pad_too_small_warns_and_uses_the_minimum)
{
    static const char *const args[] = {"pad=4", NULL};
    char dll[1024];
    const char *dir = hpt_scratch("plugin-options-pad-small");
    pt_args a = {{0}, 0};
    hpt_proc proc;
    pt_image img;
    pt_table t;
    int i;

    (void)args;
    snprintf(dll, sizeof dll, "%s/out.dll", dir);
    pt_args_plugin(&a);
    pt_args_add(&a, "-fplugin-arg-hotpatch-pad=4");
    pt_args_add(&a, "-DFX_DLL");
    pt_args_add(&a, "-O2");
    pt_args_add(&a, "-shared");
    pt_args_add(&a, "-nostdlib");
    pt_args_add(&a, pt_fixture("sites.c"));
    pt_args_add(&a, "-o");
    pt_args_add(&a, dll);
    cr_assert_eq(hpt_cc("i686-w64-mingw32", a.v, &proc), 0, "%s", proc.err);
    cr_expect(strstr(proc.err, "warning: pad=4 is too small for the x86 'jmp rel32' long jump (5 bytes); using pad=5") !=
                  NULL,
              "stderr: %s", proc.err);
    hpt_proc_free(&proc);
    pt_image_load(&img, dll);
    pt_table_read(&img, &t);
    cr_assert_eq(t.count, SITES_FUNCTIONS);
    for (i = 0; i < t.count; i++)
        cr_expect_eq(t.rec[i].pad, 5);
    pt_image_free(&img);
}

Test(options, pad_16_keeps_entries_16_byte_aligned)
{
    static const char *const args[] = {"pad=16", NULL};
    pt_image img;
    pt_table t;
    int i;

    build("plugin-options-pad16", PT_X64_MINGW, PT_O2, args, &img, &t);
    cr_assert_eq(t.count, SITES_FUNCTIONS);
    for (i = 0; i < t.count; i++) {
        hp_site site;
        cr_expect_eq(t.rec[i].pad, 16);
        /* functions are 16-byte aligned at -O2, the padding is 16 bytes: so is the entry */
        cr_expect_eq(t.rec[i].rva % 16, 0, "entry rva 0x%x", t.rec[i].rva);
        cr_expect_eq(pt_site(&img, t.rec[i].rva, &site), HP_SITE_OK);
        cr_expect_geq(site.pad_found, 16);
    }
    pt_image_free(&img);
}

Test(options, odd_pad_under_optsize_keeps_the_entry_in_one_line)
{
    /* -Oz aligns functions to 1 byte; the plugin raises the alignment so that
       entry = k*A + 7 never is 63 mod 64 (A = 16 for pad 7). */
    static const char *const args[] = {"pad=7", NULL};
    pt_image img;
    pt_table t;
    int i;

    build("plugin-options-pad7", PT_X64_MINGW, PT_OZ, args, &img, &t);
    cr_assert_eq(t.count, SITES_FUNCTIONS);
    for (i = 0; i < t.count; i++) {
        hp_site site;
        cr_expect_eq(t.rec[i].rva % 16, 7, "entry rva 0x%x", t.rec[i].rva);
        cr_expect_eq(pt_site(&img, t.rec[i].rva, &site), HP_SITE_OK);
    }
    pt_image_free(&img);
}

Test(options, entry_widen_is_patchable_without_the_nop_flag)
{
    static const char *const args[] = {"entry=widen", NULL};
    int target;

    for (target = 0; target < PT_TARGET_COUNT; target++) {
        char tag[64];
        pt_image img;
        pt_table t;
        int i;

        snprintf(tag, sizeof tag, "plugin-options-widen-%d", target);
        build(tag, target, PT_O2, args, &img, &t);
        cr_assert_eq(t.count, SITES_FUNCTIONS);
        for (i = 0; i < t.count; i++) {
            hp_site site;
            hp_site_reason r = pt_site(&img, t.rec[i].rva, &site);
            cr_expect_eq(r, HP_SITE_OK, "%s rva 0x%x: %s", pt_triples[target], t.rec[i].rva, hp_site_reason_str(r));
            cr_expect_eq(t.rec[i].flags & HP_TABLE_F_ENTRY_NOP, 0);
        }
        pt_image_free(&img);
    }
}

Test(options, table_off_writes_no_table_but_still_pads)
{
    static const char *const args[] = {"table=off", NULL};
    pt_image img;
    pt_table t;

    build("plugin-options-notable", PT_X64_MSVC, PT_O2, args, &img, &t);
    cr_expect(!t.present, "table=off left a .hotp section");
    expect_exports_patchable(&img);
    pt_image_free(&img);
}

Test(options, noinline_exported_keeps_calls_to_exports)
{
    /* also_kept calls kept; both exported. With the option the call stays a call. */
    static const char *const src = "__declspec(dllexport) int kept(int x) { return x * 7; }\n"
                                   "__declspec(dllexport) int caller(int x) { return kept(x) + 1; }\n";
    const char *dir = hpt_scratch("plugin-options-noinline");
    char c_path[1024], ll_with[1024], ll_without[1024];
    size_t n;
    unsigned char *text;
    pt_args a = {{0}, 0}, b = {{0}, 0};
    hpt_proc proc;
    FILE *f;

    snprintf(c_path, sizeof c_path, "%s/calls.c", dir);
    snprintf(ll_with, sizeof ll_with, "%s/with.ll", dir);
    snprintf(ll_without, sizeof ll_without, "%s/without.ll", dir);
    f = fopen(c_path, "w");
    cr_assert(f);
    fputs(src, f);
    fclose(f);

    pt_args_plugin(&a);
    pt_args_add(&a, "-fplugin-arg-hotpatch-noinline-exported");
    pt_args_add(&a, "-O2");
    pt_args_add(&a, "-S");
    pt_args_add(&a, "-emit-llvm");
    pt_args_add(&a, c_path);
    pt_args_add(&a, "-o");
    pt_args_add(&a, ll_with);
    cr_assert_eq(hpt_cc("x86_64-w64-mingw32", a.v, &proc), 0, "%s", proc.err);
    hpt_proc_free(&proc);
    text = hpt_read_file(ll_with, &n);
    cr_assert(text);
    cr_expect(strstr((char *)text, "call i32 @kept(") != NULL, "the call to the export was inlined:\n%s", text);
    free(text);

    pt_args_plugin(&b);
    pt_args_add(&b, "-O2");
    pt_args_add(&b, "-S");
    pt_args_add(&b, "-emit-llvm");
    pt_args_add(&b, c_path);
    pt_args_add(&b, "-o");
    pt_args_add(&b, ll_without);
    cr_assert_eq(hpt_cc("x86_64-w64-mingw32", b.v, &proc), 0, "%s", proc.err);
    hpt_proc_free(&proc);
    text = hpt_read_file(ll_without, &n);
    cr_assert(text);
    cr_expect(strstr((char *)text, "call i32 @kept(") == NULL, "without the option -O2 inlines kept (control)");
    free(text);
}

Test(options, clang_cl_passes_the_plugin_through_slash_clang)
{
    /* clang-cl ignores a bare -fplugin=; /clang: forwards it. /O2 implies /Gy (function sections). */
    const char *dir = hpt_scratch("plugin-options-clang-cl");
    char obj[1024], fo[1100], dll[1024], out[1100];
    const char *cl[] = {HPT_CLANG, "--driver-mode=cl", "--target=x86_64-pc-windows-msvc", "/c", "/O2", "/DFX_DLL",
                        "/GS-", "/I" HPT_PLUGIN_FIXTURES, "/clang:-fplugin=" HPT_PLUGIN_PATH, NULL, "--", NULL, NULL};
    const char *link[] = {HPT_LLD_LINK, "/dll", "/nodefaultlib", NULL, NULL, NULL};
    hpt_proc proc;
    pt_image img;
    pt_table t;
    int i;

    cr_assert(dir);
    snprintf(obj, sizeof obj, "%s/sites.obj", dir);
    snprintf(fo, sizeof fo, "/Fo%s", obj);
    snprintf(dll, sizeof dll, "%s/sites.dll", dir);
    snprintf(out, sizeof out, "/out:%s", dll);
    cl[9] = fo;
    cl[11] = pt_fixture("sites.c"); /* after "--": a path starting with '/' is no option */
    cr_assert_eq(hpt_run(cl, NULL, 120, &proc), 0);
    cr_assert_eq(proc.status, 0, "clang-cl: %s", proc.err);
    hpt_proc_free(&proc);
    link[3] = obj;
    link[4] = out;
    cr_assert_eq(hpt_run(link, NULL, 120, &proc), 0);
    cr_assert_eq(proc.status, 0, "lld-link: %s", proc.err);
    hpt_proc_free(&proc);

    pt_image_load(&img, dll);
    pt_table_read(&img, &t);
    cr_expect_eq(t.markers, 2);
    cr_assert_eq(t.count, SITES_FUNCTIONS, "%d records", t.count);
    for (i = 0; i < t.count; i++) {
        hp_site site;
        cr_expect_eq(pt_site(&img, t.rec[i].rva, &site), HP_SITE_OK, "rva 0x%x", t.rec[i].rva);
    }
    pt_image_free(&img);
}
