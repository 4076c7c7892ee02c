/*
 * test_coff.c — suite coff: COFF objects and archives (GNU, MSVC, import
 * libraries) built from the fixtures.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hpa_test.h"

Test(coff, object_with_prefix_padding_is_fully_checked)
{
    hp_audit_report *r = hpa_audit(hpa_fixture("patchable-x64.obj"), NULL);
    size_t n;
    const hp_audit_file_result *f = hp_audit_report_files(r, &n);
    cr_assert_eq(f[0].status, HP_OK, "%s", f[0].error);
    cr_assert_eq(f[0].kind, HP_AUDIT_KIND_OBJECT);
    /* the four external functions of patchable.c, each behind its NOP prefix */
    cr_assert_eq(f[0].coverage.exports_checked, 4);
    cr_assert_eq(f[0].coverage.exports_patchable, 4);
    const char *names[] = {"hp_add", "hp_sum", "hp_call", "hp_bump"};
    for (size_t i = 0; i < 4; i++) {
        const hp_audit_function *fn = hpa_function(r, names[i]);
        cr_assert_not_null(fn, "%s", names[i]);
        cr_assert(fn->patchable);
        cr_assert(!fn->link_time, "%s: the prefix is in the object", names[i]);
    }
    cr_assert_eq(hp_audit_report_outcome(r), HP_AUDIT_PASS);
    hp_audit_report_destroy(r);
}

Test(coff, function_sections_leave_padding_to_the_linker)
{
    hp_audit_report *r = hpa_audit(hpa_fixture("hotpatch-x64.obj"), NULL);
    const hp_audit_function *fn = hpa_function(r, "hp_add");
    cr_assert_not_null(fn);
    cr_assert(fn->link_time);
    cr_assert(fn->patchable, "-fms-hotpatch guarantees a 2-byte first instruction");
    cr_assert_eq(hpa_count_findings(r, "HP2004", "hp_add"), 1);
    cr_assert_eq(hp_audit_report_outcome(r), HP_AUDIT_PASS);
    hp_audit_report_destroy(r);
}

/* lld adds /functionpadmin padding only to objects whose CodeView says "hotpatch": without it the object
   verdict must be the link's, padding-short. */
Test(coff, function_sections_without_codeview_get_no_padding)
{
    hp_audit_report *r = hpa_audit(hpa_fixture("hotpatch-nocv-x64.obj"), NULL);
    const hp_audit_function *fn = hpa_function(r, "hp_add");
    cr_assert_not_null(fn);
    cr_expect(!fn->link_time);
    cr_expect(!fn->patchable);
    cr_expect_str_eq(fn->check_id, "HP1001");
    cr_expect_eq(hpa_count_findings(r, "HP2004", NULL), 0);
    cr_expect_eq(hp_audit_report_outcome(r), HP_AUDIT_FINDINGS);
    hp_audit_report_destroy(r);
}

Test(coff, plain_object_reports_the_faults_the_object_already_has)
{
    hp_audit_report *r = hpa_audit(hpa_fixture("plain-x64.obj"), NULL);
    /* by construction (fixtures/plain.c); pad_first starts its section and no CodeView asks the linker to
       pad it: padding-short, as the link will leave it */
    static const struct {
        const char *name, *check;
    } want[] = {{"pad_first", "HP1001"},          {"ok_nop2", NULL},           {"entry_short", "HP1003"},
                {"before_ret", NULL},         {"after_ret", "HP1002"},     {"crosses_line", "HP1004"},
                {"branch_e1", "HP1010"},      {"redirected", "HP1009"},    {"alias_one", NULL},
                {"alias_two", NULL},          {"by_ordinal", NULL},        {"endbr_short", "HP1007"},
                {"endbr_ok", NULL}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const hp_audit_function *fn = hpa_function(r, want[i].name);
        cr_assert_not_null(fn, "%s", want[i].name);
        if (want[i].check)
            cr_assert_str_eq(fn->check_id ? fn->check_id : "(ok)", want[i].check, "%s", want[i].name);
        else
            cr_assert(fn->patchable, "%s: %s", want[i].name, fn->check_id);
    }
    cr_assert(!hpa_function(r, "pad_first")->link_time);
    cr_assert_eq(hp_audit_report_outcome(r), HP_AUDIT_FINDINGS);
    hp_audit_report_destroy(r);
}

Test(coff, gnu_archive_members_are_audited_under_their_names)
{
    hp_audit_report *r = hpa_audit(hpa_fixture("fixtures-gnu.a"), NULL);
    size_t n;
    const hp_audit_file_result *f = hp_audit_report_files(r, &n);
    cr_assert_eq(f[0].status, HP_OK, "%s", f[0].error);
    cr_assert_eq(f[0].kind, HP_AUDIT_KIND_ARCHIVE);
    const hp_audit_function *fn = hpa_function(r, "after_ret");
    cr_assert_not_null(fn);
    cr_assert_str_eq(fn->member, "plain-x64.obj");
    cr_assert_str_eq(fn->check_id, "HP1002");
    fn = hpa_function(r, "_hp_add"); /* i386 C names carry the underscore */
    cr_assert_not_null(fn);
    cr_assert_str_eq(fn->member, "patchable-x86.o");
    cr_assert(fn->patchable);
    hp_audit_report_destroy(r);
}

Test(coff, msvc_library_is_read)
{
    hp_audit_report *r = hpa_audit(hpa_fixture("fixtures-msvc.lib"), NULL);
    size_t n;
    const hp_audit_file_result *f = hp_audit_report_files(r, &n);
    cr_assert_eq(f[0].status, HP_OK, "%s", f[0].error);
    cr_assert_eq(f[0].coverage.exports_checked, 8, "two members with four external functions each");
    cr_assert_eq(f[0].coverage.exports_patchable, 8);
    cr_assert_eq(hp_audit_report_outcome(r), HP_AUDIT_PASS);
    hp_audit_report_destroy(r);
}

Test(coff, short_import_members_are_skipped)
{
    hp_audit_report *r = hpa_audit(hpa_fixture("import-short.lib"), NULL);
    size_t n;
    const hp_audit_file_result *f = hp_audit_report_files(r, &n);
    cr_assert_eq(f[0].status, HP_OK, "%s", f[0].error);
    /* imp_one, imp_two, imp_data as short import objects, plus the descriptor objects llvm-dlltool adds */
    cr_assert_geq(f[0].coverage.import_members, 3);
    cr_assert_eq(f[0].function_count, 0);
    hp_audit_report_destroy(r);
}

Test(coff, gnu_import_members_are_skipped)
{
    hp_audit_report *r = hpa_audit(hpa_fixture("import-gnu.a"), NULL);
    size_t n;
    const hp_audit_file_result *f = hp_audit_report_files(r, &n);
    cr_assert_eq(f[0].status, HP_OK, "%s", f[0].error);
    cr_assert_geq(f[0].coverage.import_members, 3);
    cr_assert_eq(f[0].function_count, 0, "import thunks are not the library's functions");
    hp_audit_report_destroy(r);
}
