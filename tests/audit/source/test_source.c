/*
 * test_source.c — suite source: the source audit (hp_audit_source, hotpatch-audit --source) over the
 * fixture projects of projects/ (one hazard per directory plus a clean one; their compile_commands.json
 * is made at test time by CMake, ctest fixture audit_source_projects) and suite lua: Debian's Lua sources
 * (ctest fixture audit_source_lua). The expected findings — file, line, check — are written by hand from
 * the fixtures' sources, where a comment marks each hazard.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpa_test.h"

#define DB HPS_PROJECTS_BUILD "/compile_commands.json"
#define SRC HPS_PROJECTS_SRC

typedef struct want {
    const char *file; /* relative to projects/ */
    unsigned line;    /* 0: about the whole unit */
    const char *id;
} want;

/* Audit the units of one fixture directory (with its .def, when it has one). */
static hp_audit_report *audit_fixture(const char *fixture, const char *def, unsigned jobs)
{
    char unit[256], defpath[4096];
    snprintf(unit, sizeof unit, "%s/*", fixture);
    const char *units[] = {unit};
    const char *defs[] = {defpath};
    hp_audit_source_options o = {0};
    o.units = units;
    o.unit_count = 1;
    o.base_dir = SRC;
    o.jobs = jobs;
    if (def) {
        snprintf(defpath, sizeof defpath, "%s/%s/%s", SRC, fixture, def);
        o.defs = defs;
        o.def_count = 1;
    }
    hp_audit_report *r = NULL;
    cr_assert_eq(hp_audit_report_create(NULL, &r), HP_OK);
    cr_assert_eq(hp_audit_source(r, DB, &o), HP_OK);
    cr_assert_eq(hp_audit_report_finish(r), HP_OK);
    return r;
}

static const hp_audit_file_result *only_file(const hp_audit_report *r)
{
    size_t n;
    const hp_audit_file_result *f = hp_audit_report_files(r, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(f->kind, HP_AUDIT_KIND_SOURCE);
    cr_assert_eq(f->status, HP_OK, "%s", f->error ? f->error : "");
    return f;
}

/* The fixture's findings are exactly `w` (the report sorts them by file, line, column). */
static hp_audit_report *expect_findings(const char *fixture, const char *def, const want *w, size_t n)
{
    hp_audit_report *r = audit_fixture(fixture, def, 0);
    const hp_audit_file_result *f = only_file(r);
    char got[4096] = "";
    for (size_t i = 0; i < f->finding_count; i++) {
        const hp_audit_finding *x = &f->findings[i];
        size_t len = strlen(got);
        snprintf(got + len, sizeof got - len, "\n  %s %s:%u %s", x->check_id, x->file ? x->file : "(none)", x->line,
                 x->message);
    }
    cr_assert_eq(f->finding_count, n, "%s: %zu findings, expected %zu:%s", fixture, f->finding_count, n, got);
    for (size_t i = 0; i < n; i++) {
        const hp_audit_finding *x = &f->findings[i];
        cr_expect_str_eq(x->check_id, w[i].id, "%s #%zu:%s", fixture, i, got);
        cr_expect(x->file && strcmp(x->file, w[i].file) == 0, "%s #%zu: file %s, expected %s", fixture, i,
                  x->file ? x->file : "(none)", w[i].file);
        cr_expect_eq(x->line, w[i].line, "%s #%zu: line %u, expected %u", fixture, i, x->line, w[i].line);
        cr_expect_eq(x->line == 0, x->column == 0, "a column exactly when a line");
    }
    cr_expect_eq(f->coverage.units_unparsed, strcmp(fixture, "broken") == 0 ? 1u : 0u);
    return r;
}

#define EXPECT(fixture, def, ...)                                                              \
    do {                                                                                       \
        static const want w_[] = {__VA_ARGS__};                                                \
        hp_audit_report_destroy(expect_findings(fixture, def, w_, sizeof w_ / sizeof w_[0])); \
    } while (0)

static hpt_proc run(const char *const args[])
{
    hpt_proc p;
    cr_assert_eq(hpa_cli(args, &p), 0, "hotpatch-audit did not start");
    cr_assert(!p.timed_out);
    return p;
}

/* ------------------------------------------------------------------------- */
/* One hazard per fixture                                                     */
/* ------------------------------------------------------------------------- */

Test(source, clean_project_has_no_finding)
{
    hp_audit_report *r = audit_fixture("clean", "clean.def", 0);
    const hp_audit_file_result *f = only_file(r);
    for (size_t i = 0; i < f->finding_count; i++)
        cr_expect_fail("clean: %s %s:%u %s", f->findings[i].check_id, f->findings[i].file, f->findings[i].line,
                       f->findings[i].message);
    cr_expect_eq(f->coverage.units, 3, "clean.c, util.c, app.c");
    cr_expect_eq(f->coverage.units_unparsed, 0);
    cr_expect_eq(f->coverage.functions_defined, 5, "bump, clean_open, clean_close, clean_version, main");
    cr_expect_eq(hp_audit_report_outcome(r), HP_AUDIT_PASS);
    hp_audit_report_destroy(r);
}

Test(source, export_defined_inline_in_a_header)
{
    EXPECT("inline_header", "ih.def", {"inline_header/ih.h", 12, "HP4001"});
}

/* ih.h is parsed by a.c and b.c: one finding, which says so */
Test(source, a_header_seen_by_many_units_is_reported_once)
{
    hp_audit_report *r = audit_fixture("inline_header", "ih.def", 2);
    const hp_audit_file_result *f = only_file(r);
    cr_assert_eq(f->finding_count, 1);
    cr_expect(strstr(f->findings[0].message, "included by 2 translation units"), "%s", f->findings[0].message);
    cr_expect_str_eq(f->findings[0].function, "ih_scale");
    cr_expect_eq(f->findings[0].column, 12);
    hp_audit_report_destroy(r);
}

/* without ih.def nothing exports ih_scale: an inline function in a header is no hazard by itself */
Test(source, an_inline_function_that_is_not_exported_is_no_finding)
{
    hp_audit_report *r = audit_fixture("inline_header", NULL, 0);
    cr_expect_eq(only_file(r)->finding_count, 0);
    hp_audit_report_destroy(r);
}

Test(source, export_declared_inline_where_defined)
{
    EXPECT("inline_export", NULL, {"inline_export/ie.c", 5, "HP4002"});
}

Test(source, naked_function_through_a_macro)
{
    EXPECT("naked", NULL, {"naked/naked.c", 5, "HP4003"});
}

Test(source, assembly_at_the_entry_without_the_plugin)
{
    EXPECT("asm_entry", NULL, {"asm_entry/asm.c", 2, "HP4004"});
}

Test(source, exported_variables_by_dllexport_and_by_def)
{
    EXPECT("data_export", "data.def", {"data_export/data.c", 4, "HP4005"}, {"data_export/data.c", 5, "HP4005"});
}

Test(source, patchable_function_entry_the_plugin_refuses)
{
    EXPECT("entry_conflict", NULL, {"entry_conflict/pfe.c", 4, "HP4006"});
}

/* exclude= comes from hotpatch_enable(EXCLUDE "test_*") through the compile command: a note */
Test(source, excluded_by_the_plugins_option)
{
    hp_audit_report *r = audit_fixture("excluded", NULL, 0);
    const hp_audit_file_result *f = only_file(r);
    cr_assert_eq(f->finding_count, 1);
    cr_expect_str_eq(f->findings[0].check_id, "HP4007");
    cr_expect_str_eq(f->findings[0].file, "excluded/excl.c");
    cr_expect_eq(f->findings[0].line, 7);
    cr_expect_eq(f->findings[0].level, HP_AUDIT_NOTE);
    cr_expect(strstr(f->findings[0].message, "exclude='test_*'"), "%s", f->findings[0].message);
    cr_expect_eq(hp_audit_report_outcome(r), HP_AUDIT_PASS, "a note does not fail the run");
    hp_audit_report_destroy(r);
}

Test(source, def_export_left_out_by_scope_exported)
{
    EXPECT("scope", "scope.def", {"scope/scope.c", 7, "HP4008"});
}

Test(source, units_the_plugin_leaves_whole)
{
    EXPECT("unit_skipped", NULL, {"unit_skipped/arm.c", 0, "HP4009"}, {"unit_skipped/pfe_flag.c", 0, "HP4009"});
}

/* broken.c does not parse; fine.c, after it, is still audited */
Test(source, a_unit_that_does_not_parse_is_a_finding_and_the_run_goes_on)
{
    EXPECT("broken", NULL, {"broken/broken.c", 0, "HP4010"}, {"broken/fine.c", 2, "HP4003"});
    hp_audit_report *r = audit_fixture("broken", NULL, 1);
    const hp_audit_file_result *f = only_file(r);
    cr_assert_gt(f->finding_count, 0);
    cr_expect(strstr(f->findings[0].message,
                     "parse error: broken/broken.c:2:10: fatal error: 'missing.h' file not found"),
              "%s", f->findings[0].message);
    hp_audit_report_destroy(r);
}

/* every fixture at once: the same findings, none from one fixture leaking into another */
Test(source, the_whole_database)
{
    const char *defs[] = {SRC "/clean/clean.def", SRC "/inline_header/ih.def", SRC "/data_export/data.def",
                          SRC "/scope/scope.def"};
    hp_audit_source_options o = {0};
    o.defs = defs;
    o.def_count = 4;
    o.base_dir = SRC;
    hp_audit_report *r = NULL;
    cr_assert_eq(hp_audit_report_create(NULL, &r), HP_OK);
    cr_assert_eq(hp_audit_source(r, DB, &o), HP_OK);
    cr_assert_eq(hp_audit_report_finish(r), HP_OK);
    const hp_audit_file_result *f = only_file(r);
    cr_expect_eq(f->coverage.units, 16);
    cr_expect_eq(f->finding_count, 13, "0+1+1+1+1+2+1+1+1+2+2 by fixture");
    for (size_t i = 0; i < f->finding_count; i++)
        cr_expect(strncmp(f->findings[i].file, "clean/", 6) != 0, "clean: %s", f->findings[i].message);
    cr_expect_eq(hp_audit_report_outcome(r), HP_AUDIT_FINDINGS);
    hp_audit_report_destroy(r);
}

/* ------------------------------------------------------------------------- */
/* The command line                                                           */
/* ------------------------------------------------------------------------- */

/* file:line:column in every format; the source file is the SARIF location, with its region */
Test(source, locations_in_text_json_and_sarif)
{
    hpt_proc p = run((const char *[]){"--source", DB, "--unit", "naked/*", NULL});
    cr_expect_eq(p.status, 1, "%s%s", p.out, p.err);
    cr_expect(strstr(p.out, "ERROR HP4003 ") && strstr(p.out, "naked/naked.c:5:12: nk_trampoline naked-function:"),
              "%s", p.out);
    cr_expect(strstr(p.out, "compilation database, 1 translation unit\n"), "%s", p.out);
    hpt_proc_free(&p);
    p = run((const char *[]){"--source", DB, "--unit", "naked/*", "--format", "json", NULL});
    cr_expect_eq(p.status, 1);
    cr_expect(strstr(p.out, "\"kind\": \"source\""), "%s", p.out);
    cr_expect(strstr(p.out, "naked/naked.c\", \"line\": 5, \"column\": 12}"), "%s", p.out);
    cr_expect(strstr(p.out, "\"units\": 1, \"units_unparsed\": 0, \"functions_defined\": 2"), "%s", p.out);
    hpt_proc_free(&p);
    p = run((const char *[]){"--source", DB, "--unit", "naked/*", "--format", "sarif", NULL});
    cr_expect_eq(p.status, 1);
    cr_expect(strstr(p.out, "\"ruleId\": \"HP4003\""), "%s", p.out);
    cr_expect(strstr(p.out, "naked/naked.c\"}, \"region\": {\"startLine\": 5, \"startColumn\": 12}}"), "%s", p.out);
    cr_expect(strstr(p.out, "{\"id\": \"HP4010\", \"name\": \"parse-error\""), "every check is a rule");
    hpt_proc_free(&p);
}

/* a database naming a file that is not there: that file's error, and the others are audited */
Test(source, a_missing_file_is_reported_and_the_run_goes_on)
{
    const char *dir = hpt_scratch("source-missing");
    char json[8192];
    snprintf(json, sizeof json,
             "[\n"
             "{\"directory\": \"%s\", \"file\": \"gone.c\", \"arguments\": [\"clang-19\", \"-c\", \"gone.c\"]},\n"
             "{\"directory\": \"%s/naked\", \"file\": \"naked.c\", \"command\": \"clang-19 "
             "--target=x86_64-w64-mingw32 -c naked.c -o naked.o\"}\n"
             "]\n",
             dir, SRC);
    const char *db = hpa_write(dir, "compile_commands.json", json, strlen(json));
    char path[4096];
    snprintf(path, sizeof path, "%s", db);
    hpt_proc p = run((const char *[]){"--source", path, NULL});
    cr_expect_eq(p.status, 1, "findings, not an unreadable input: %s%s", p.out, p.err);
    cr_expect(strstr(p.out, "gone.c: parse error: cannot open: No such file or directory"), "%s", p.out);
    cr_expect(strstr(p.out, "naked.c:5:12: nk_trampoline"), "the next unit was audited: %s", p.out);
    cr_expect(strstr(p.out, "2 translation units (1 not parsed)"), "%s", p.out);
    hpt_proc_free(&p);
}

/* the database itself unreadable: exit 2, with the file named and what is wrong with it */
Test(source, a_database_that_cannot_be_read_exits_2)
{
    const char *dir = hpt_scratch("source-malformed");
    char bad[4096], notarray[4096], missing[4096];
    snprintf(bad, sizeof bad, "%s", hpa_write(dir, "bad.json", "[{\"directory\": ", 15));
    snprintf(notarray, sizeof notarray, "%s", hpa_write(dir, "object.json", "{}\n", 3));
    snprintf(missing, sizeof missing, "%s/none.json", dir);

    hpt_proc p = run((const char *[]){"--source", bad, NULL});
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.out, "bad.json: error: not a valid JSON compilation database"), "%s", p.out);
    hpt_proc_free(&p);
    p = run((const char *[]){"--source", notarray, "--format", "json", NULL});
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.err, "object.json: not a JSON compilation database: it does not start with '['"), "%s",
              p.err);
    cr_expect(strstr(p.out, "\"result\": \"unreadable\""), "%s", p.out);
    hpt_proc_free(&p);
    p = run((const char *[]){"--source", missing, NULL});
    cr_expect_eq(p.status, 2);
    cr_expect(strstr(p.out, "none.json: error: cannot read the compilation database: No such file or directory"),
              "%s", p.out);
    hpt_proc_free(&p);
    p = run((const char *[]){"--source", DB, "--def", missing, "--unit", "clean/*", NULL});
    cr_expect_eq(p.status, 2, "an unreadable .def is an unreadable input");
    cr_expect(strstr(p.out, "none.json: error: No such file or directory"), "%s", p.out);
    hpt_proc_free(&p);
}

/* the units are handed to the threads as they come: the report does not depend on how many */
Test(source, the_report_does_not_depend_on_jobs)
{
    hpt_proc a = run((const char *[]){"--source", DB, "--format", "json", "-j", "1", NULL});
    hpt_proc b = run((const char *[]){"--source", DB, "--format", "json", "--jobs=4", NULL});
    cr_expect_eq(a.status, 1);
    cr_expect_eq(b.status, 1);
    cr_expect_str_eq(a.out, b.out);
    hpt_proc_free(&a);
    hpt_proc_free(&b);
}

Test(source, allow_and_exclude_apply_to_source_findings)
{
    const char *dir = hpt_scratch("source-allow");
    char allow[4096];
    snprintf(allow, sizeof allow, "%s", hpa_write(dir, "allow.txt", "nk_* a trampoline, reviewed\n", 28));
    hpt_proc p = run((const char *[]){"--source", DB, "--unit", "naked/*", "--allow", allow, NULL});
    cr_expect_eq(p.status, 0, "%s", p.out);
    cr_expect(strstr(p.out, "allow HP4003") && strstr(p.out, "[allowed: a trampoline, reviewed]"), "%s", p.out);
    hpt_proc_free(&p);
    p = run((const char *[]){"--source", DB, "--unit", "naked/*", "--exclude", "nk_*", NULL});
    cr_expect_eq(p.status, 0, "%s", p.out);
    cr_expect_null(strstr(p.out, "HP4003"), "%s", p.out);
    hpt_proc_free(&p);
}

Test(source, usage_errors_exit_2)
{
    const char *const *cases[] = {
        (const char *[]){"--source", NULL},
        (const char *[]){"--def", "x.def", "x.dll", NULL},
        (const char *[]){"--source", DB, "-j", "0", NULL},
        (const char *[]){"--source", DB, "--jobs", "many", NULL},
        (const char *[]){"--source", DB, "--unit", NULL},
        (const char *[]){"--source", DB, "--min-coverage", "90", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hpt_proc p = run(cases[i]);
        cr_expect_eq(p.status, 2, "case %zu: %s", i, p.err);
        cr_expect(strstr(p.err, "hotpatch-audit: "), "case %zu", i);
        hpt_proc_free(&p);
    }
}

typedef struct progress_log {
    size_t calls, last_done, total;
} progress_log;

static void on_progress(void *ctx, size_t done, size_t total, const char *unit)
{
    progress_log *l = ctx;
    cr_expect_eq(done, l->last_done + 1, "one call per unit, in order of completion");
    cr_expect(unit && *unit);
    l->calls++;
    l->last_done = done;
    l->total = total;
}

Test(source, progress_once_per_unit)
{
    progress_log log = {0};
    hp_audit_source_options o = {0};
    o.progress = on_progress;
    o.progress_ctx = &log;
    o.jobs = 2;
    hp_audit_report *r = NULL;
    cr_assert_eq(hp_audit_report_create(NULL, &r), HP_OK);
    cr_assert_eq(hp_audit_source(r, DB, &o), HP_OK);
    cr_expect_eq(log.calls, 16);
    cr_expect_eq(log.total, 16);
    cr_expect_eq(log.last_done, 16);
    hp_audit_report_destroy(r);
}

/* hotpatch_enable(... SOURCE_AUDIT ON): a ctest test per target, SARIF written; notes do not fail it */
Test(source, hotpatch_enable_source_audit_is_a_ctest_test)
{
    hpt_proc p;
    const char *argv[] = {HPS_CTEST, "--test-dir", HPS_PROJECTS_BUILD, "-R", "^hotpatch_source_audit_",
                          "--output-on-failure", NULL};
    cr_assert_eq(hpt_run(argv, NULL, 300, &p), 0);
    cr_expect_eq(p.status, 0, "%s%s", p.out, p.err);
    cr_expect(strstr(p.out, "hotpatch_source_audit_clean_dll") && strstr(p.out, "hotpatch_source_audit_excluded"),
              "%s", p.out);
    hpt_proc_free(&p);
    size_t n = 0;
    char *s = (char *)hpt_read_file(HPS_PROJECTS_BUILD "/excluded/excluded.source.sarif", &n);
    cr_assert_not_null(s, "no excluded.source.sarif");
    cr_expect(strstr(s, "\"ruleId\": \"HP4007\"") && strstr(s, "test_hook"), "%s", s);
    free(s);
    s = (char *)hpt_read_file(HPS_PROJECTS_BUILD "/clean/clean_dll.source.sarif", &n);
    cr_assert_not_null(s, "no clean_dll.source.sarif");
    cr_expect(strstr(s, "\"results\": []"), "%s", s);
    free(s);
}

/* ------------------------------------------------------------------------- */
/* Lua 5.4 (Debian's lua5.4): real code, no finding                           */
/* ------------------------------------------------------------------------- */

static void expect_no_finding(const char *db)
{
    hpt_proc p = run((const char *[]){"--source", db, NULL});
    cr_expect_eq(p.status, 0, "%s%s", p.out, p.err);
    cr_expect(strstr(p.out, "compilation database, 34 translation units\n"), "%s", p.out);
    cr_expect(strstr(p.out, "  source: 34 translation units, "), "every unit parsed: %s", p.out);
    cr_expect_null(strstr(p.out, "  ERROR "), "%s", p.out);
    cr_expect_null(strstr(p.out, "  note "), "%s", p.out);
    hpt_proc_free(&p);
}

Test(lua, linux_build_has_no_finding)
{
    expect_no_finding(HPS_LUA_BUILD "/linux");
}

/* lua54.dll as `make mingw` builds it (LUA_API dllexport), with the plugin, as hotpatch_enable makes it */
Test(lua, hotpatchable_mingw_dll_has_no_finding)
{
    expect_no_finding(HPS_LUA_BUILD "/mingw/compile_commands.json");
    hpt_proc p;
    const char *argv[] = {HPS_CTEST, "--test-dir", HPS_LUA_BUILD "/mingw", "-R", "hotpatch_source_audit_lua54",
                          "--output-on-failure", NULL};
    cr_assert_eq(hpt_run(argv, NULL, 300, &p), 0);
    cr_expect_eq(p.status, 0, "%s%s", p.out, p.err);
    cr_expect(strstr(p.out, "1 tests passed") || strstr(p.out, "100% tests passed"), "%s", p.out);
    hpt_proc_free(&p);
}
