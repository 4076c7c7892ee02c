/*
 * test_fixmode.c — suite "fixmode": the plugin compiling a translation unit as
 * part of a patch module (fix-for=, fix-functions=, plugin/README.md "Fix
 * mode") against a map written by hand (fixtures/fix/map.json): what it
 * reports (clang -verify against the fixtures' expectations) and what it emits
 * (the IR: which definitions are gone, the manifest's entries and slots, with
 * the RVAs and sizes the map gives).
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "plugin_test.h"

#define FIX_DIR HPT_PLUGIN_FIXTURES "/fix"
#define RUNTIME_INCLUDE "-I" HPT_SOURCE_DIR "/runtime/include"

/* Compile fixtures/fix/<fixture> in fix mode for x86-64 MinGW with `args` (NULL-terminated) added;
   `verify` adds -Xclang -verify. The IR goes to stdout (-S -emit-llvm -o -). */
static int fix_compile(const char *fixture, const char *triple, int verify, const char *const *args, hpt_proc *proc)
{
    static char src[1024];
    pt_args a = {{0}, 0};
    snprintf(src, sizeof src, "%s/%s", FIX_DIR, fixture);
    pt_args_plugin(&a);
    pt_args_add(&a, "-fplugin-arg-hotpatch-fix-for=" FIX_DIR "/map.json");
    pt_args_add(&a, RUNTIME_INCLUDE);
    pt_args_add(&a, "-O2");
    if (verify) {
        pt_args_add(&a, "-Xclang");
        pt_args_add(&a, "-verify");
    }
    pt_args_add(&a, "-S");
    pt_args_add(&a, "-emit-llvm");
    pt_args_add(&a, "-o");
    pt_args_add(&a, "-");
    pt_args_addv(&a, args);
    pt_args_add(&a, src);
    return hpt_cc(triple ? triple : "x86_64-w64-mingw32", a.v, proc);
}

/* The line of the IR that defines the manifest fragment. */
static char *manifest_line(const char *ir)
{
    static char line[65536];
    const char *p = strstr(ir, "@__hp_fix.manifest = ");
    cr_assert(p, "no manifest in the IR:\n%s", ir);
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    cr_assert_lt(n, sizeof line);
    memcpy(line, p, n);
    line[n] = '\0';
    return line;
}

static const char *const k_svc[] = {"-fplugin-arg-hotpatch-fix-functions=svc_quote",
                                    "-fplugin-arg-hotpatch-source-root=" FIX_DIR, NULL};

Test(fixmode, reports_what_is_replaced_and_what_is_new)
{
    hpt_proc p;
    int rc = fix_compile("svc.c", NULL, 1, k_svc, &p);
    cr_expect_eq(rc, 0, "-verify failed:\n%s", p.err);
    hpt_proc_free(&p);
}

Test(fixmode, the_release_s_definitions_become_slots_with_the_map_s_addresses)
{
    hpt_proc p;
    int rc = fix_compile("svc.c", NULL, 0, k_svc, &p);
    cr_assert_eq(rc, 0, "%s", p.err);
    /* what the release has is not emitted again */
    cr_expect(strstr(p.out, "define dso_local i32 @svc_count") == NULL && strstr(p.out, "@svc_count(") == NULL,
              "svc_count was emitted:\n%s", p.out);
    cr_expect(strstr(p.out, "@total = ") == NULL, "total was defined by the fix:\n%s", p.out);
    cr_expect(strstr(p.out, "@count = ") == NULL, "count was defined by the fix:\n%s", p.out);
    /* what the release lacks is the fix's own */
    const char *fresh = strstr(p.out, "@fresh = internal ");
    cr_expect(fresh && strstr(fresh, " global i32 5") - fresh < 40, "fresh is not the fix's own:\n%s", p.out);
    /* the replacement */
    cr_expect(strstr(p.out, "define dso_local i32 @svc_quote(") != NULL, "%s", p.out);
    const char *m = manifest_line(p.out);
    /* header: magic, version 1, flags 0 (not checked yet), 1 entry, 4 slots, PE, x64, identity of map.json */
    cr_expect(strstr(m, "c\"HPFIXMAN\", i32 1, i32 ") != NULL, "%s", m);
    cr_expect(strstr(m, ", i32 0, i32 1, i32 4, i32 1, i32 34404, i32 1700000001, i32 65536, i32 4660, i32 0, i32 0,") !=
                  NULL,
              "%s", m);
    /* the entry: svc_quote at 0x1000 with the map's hash (0x0123456789abcdef) over 24 bytes */
    cr_expect(strstr(m, "ptr @svc_quote, i32 4096, i32 24, i64 81985529216486895, i32 0, i32 0") != NULL, "%s", m);
    /* slots: svc.c's count (not sub/other.c's at 20484), total, other_count, and the previous svc_quote */
    cr_expect(strstr(m, "i32 1, i32 20480, i32 4, i32 0") != NULL, "count of svc.c: %s", m);
    cr_expect(strstr(m, "i32 20484") == NULL, "the other unit's count: %s", m);
    cr_expect(strstr(m, "i32 1, i32 20488, i32 4, i32 0") != NULL, "total: %s", m);
    cr_expect(strstr(m, "i32 1, i32 4288, i32 0, i32 0") != NULL, "other_count: %s", m);
    cr_expect(strstr(m, "i32 2, i32 4096, i32 0, i32 0") != NULL, "HP_PREVIOUS(svc_quote): %s", m);
    cr_expect(strstr(m, "section \".hpfix\", align 8") != NULL, "%s", m);
    /* the names the runtime reports: a file-static one qualified by its unit */
    cr_expect(strstr(p.out, "c\"svc.c:count\\00\"") != NULL, "%s", p.out);
    hpt_proc_free(&p);
}

Test(fixmode, a_file_static_is_matched_in_its_own_unit)
{
    static const char *const args[] = {"-fplugin-arg-hotpatch-fix-functions=other_count",
                                       "-fplugin-arg-hotpatch-fix-unit=sub/other.c", NULL};
    hpt_proc p;
    int rc = fix_compile("other.c", NULL, 1, args, &p);
    cr_expect_eq(rc, 0, "-verify failed:\n%s", p.err);
    hpt_proc_free(&p);
    rc = fix_compile("other.c", NULL, 0, args, &p);
    cr_assert_eq(rc, 0, "%s", p.err);
    const char *m = manifest_line(p.out);
    cr_expect(strstr(m, "i32 1, i32 20484, i32 8, i32 0") != NULL, "sub/other.c's count (8 bytes): %s", m);
    cr_expect(strstr(m, "i32 20480") == NULL, "svc.c's count: %s", m);
    cr_expect(strstr(p.out, "c\"sub/other.c:count\\00\"") != NULL, "%s", p.out);
    hpt_proc_free(&p);
}

Test(fixmode, a_variable_of_another_size_is_refused_by_name)
{
    static const char *const args[] = {"-fplugin-arg-hotpatch-fix-functions=svc_quote",
                                       "-fplugin-arg-hotpatch-fix-unit=svc.c", NULL};
    hpt_proc p;
    int rc = fix_compile("size.c", NULL, 1, args, &p);
    cr_expect_eq(rc, 0, "-verify failed:\n%s", p.err);
    hpt_proc_free(&p);
    rc = fix_compile("size.c", NULL, 0, args, &p);
    cr_expect_neq(rc, 0, "the compile succeeded");
    hpt_proc_free(&p);
}

Test(fixmode, a_variable_of_another_size_the_fix_does_not_use_is_no_error)
{
    static const char *const args[] = {"-fplugin-arg-hotpatch-fix-functions=svc_quote",
                                       "-fplugin-arg-hotpatch-fix-unit=svc.c", NULL};
    hpt_proc p;
    int rc = fix_compile("unused_size.c", NULL, 1, args, &p);
    cr_expect_eq(rc, 0, "-verify failed:\n%s", p.err);
    hpt_proc_free(&p);
    rc = fix_compile("unused_size.c", NULL, 0, args, &p);
    cr_assert_eq(rc, 0, "%s", p.err);
    cr_expect(strstr(manifest_line(p.out), "i32 20480") == NULL, "a slot for the unused count:\n%s", p.out);
    hpt_proc_free(&p);
}

Test(fixmode, a_dead_table_naming_the_release_is_dropped_not_refused)
{
    static const char *const args[] = {"-fplugin-arg-hotpatch-fix-functions=svc_quote",
                                       "-fplugin-arg-hotpatch-fix-unit=svc.c", NULL};
    hpt_proc p;
    int rc = fix_compile("dead_table.c", NULL, 1, args, &p);
    cr_expect_eq(rc, 0, "-verify failed:\n%s", p.err);
    hpt_proc_free(&p);
    rc = fix_compile("dead_table.c", NULL, 0, args, &p);
    cr_assert_eq(rc, 0, "%s", p.err);
    cr_expect(strstr(p.out, "@table") == NULL, "the dead table was kept:\n%s", p.out);
    hpt_proc_free(&p);
}

Test(fixmode, unpatchable_missing_and_unreplaced_functions_are_refused)
{
    static const char *const args[] = {"-fplugin-arg-hotpatch-fix-functions=svc_broken,svc_gone",
                                       "-fplugin-arg-hotpatch-fix-functions=svc_quote",
                                       "-fplugin-arg-hotpatch-fix-unit=svc.c", NULL};
    hpt_proc p;
    int rc = fix_compile("refused.c", NULL, 1, args, &p);
    cr_expect_eq(rc, 0, "-verify failed:\n%s", p.err);
    hpt_proc_free(&p);
}

Test(fixmode, a_unit_the_map_does_not_know_is_an_error_naming_it)
{
    static const char *const args[] = {"-fplugin-arg-hotpatch-fix-functions=svc_quote",
                                       "-fplugin-arg-hotpatch-source-root=/nonexistent", NULL};
    hpt_proc p;
    int rc = fix_compile("svc.c", NULL, 0, args, &p);
    cr_expect_neq(rc, 0);
    cr_expect(strstr(p.err, "error: hotpatch fix: the map of 'svc.dll' has no translation unit '/") != NULL &&
                  strstr(p.err, "fixtures/fix/svc.c' (2 units, e.g. svc.c)") != NULL &&
                  strstr(p.err, "fix-unit=") != NULL,
              "%s", p.err);
    hpt_proc_free(&p);
}

Test(fixmode, a_map_of_another_machine_is_refused)
{
    hpt_proc p;
    int rc = fix_compile("svc.c", "i686-w64-mingw32", 0, k_svc, &p);
    cr_expect_neq(rc, 0);
    cr_expect(strstr(p.err, "is of a pe x64 image; this unit is compiled for pe x86") != NULL, "%s", p.err);
    hpt_proc_free(&p);
}

Test(fixmode, an_unreadable_or_old_map_is_an_option_error)
{
    static const char *const missing[] = {"-fplugin-arg-hotpatch-fix-for=/nonexistent/x.hpmap", NULL};
    hpt_proc p;
    int rc = fix_compile("svc.c", NULL, 0, missing, &p);
    cr_expect_neq(rc, 0);
    cr_expect(strstr(p.err, "cannot use the map for 'fix-for'") != NULL && strstr(p.err, "/nonexistent/x.hpmap") != NULL,
              "%s", p.err);
    hpt_proc_free(&p);

    const char *dir = hpt_scratch("fixmode-v1");
    char v1[1200], opt[1300];
    snprintf(v1, sizeof v1, "%s/v1.hpmap", dir);
    FILE *f = fopen(v1, "w");
    cr_assert(f);
    fputs("{ \"format\": \"hotpatch-map\", \"version\": 1, \"image\": { \"name\": \"a.dll\", \"machine\": \"x64\", "
          "\"time_date_stamp\": 1, \"size_of_image\": 4096, \"checksum\": 0, \"codeview\": null }, \"functions\": [] }\n",
          f);
    fclose(f);
    snprintf(opt, sizeof opt, "-fplugin-arg-hotpatch-fix-for=%s", v1);
    const char *const old[] = {opt, NULL};
    rc = fix_compile("svc.c", NULL, 0, old, &p);
    cr_expect_neq(rc, 0);
    cr_expect(strstr(p.err, "is version 1: it names no variables") != NULL, "%s", p.err);
    hpt_proc_free(&p);
}

/* fix-functions=@FILE: a name with a unit replaces only in that unit (what hotpatch-fix writes) */
Test(fixmode, a_functions_file_names_each_function_for_its_own_unit)
{
    const char *d = hpt_scratch("fixmode_functions_file");
    char list[4200], opt[4300];
    snprintf(list, sizeof list, "%s/functions", d);
    snprintf(opt, sizeof opt, "-fplugin-arg-hotpatch-fix-functions=@%s", list);
    const char *const args[] = {opt, "-fplugin-arg-hotpatch-source-root=" FIX_DIR, NULL};

    FILE *f = fopen(list, "w");
    cr_assert(f);
    fputs("svc_quote\tsvc.c\n\nother_count\tsub/other.c\n", f);
    fclose(f);
    hpt_proc p;
    int rc = fix_compile("svc.c", NULL, 0, args, &p);
    cr_assert_eq(rc, 0, "%s", p.err);
    cr_expect(strstr(p.out, "define dso_local i32 @svc_quote(") != NULL, "svc_quote is svc.c's replacement:\n%s",
              p.out);
    hpt_proc_free(&p);

    f = fopen(list, "w");
    cr_assert(f);
    fputs("svc_quote\tsub/other.c\n", f); /* another unit's svc_quote: not a replacement here */
    fclose(f);
    rc = fix_compile("svc.c", NULL, 0, args, &p);
    /* svc.c's svc_quote calls HP_PREVIOUS(svc_quote), which only a replacement may */
    cr_expect_neq(rc, 0, "svc_quote replaced for another unit");
    cr_expect(strstr(p.err, "HP_PREVIOUS(svc_quote): 'svc_quote' is not a function this fix replaces") != NULL, "%s",
              p.err);
    hpt_proc_free(&p);

    const char *const missing[] = {"-fplugin-arg-hotpatch-fix-functions=@/nonexistent/list", NULL};
    rc = fix_compile("svc.c", NULL, 0, missing, &p);
    cr_expect_neq(rc, 0);
    cr_expect(strstr(p.err, "invalid value '@/nonexistent/list' for 'fix-functions': /nonexistent/list") != NULL,
              "%s", p.err);
    hpt_proc_free(&p);
}
