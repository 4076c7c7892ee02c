/*
 * test_image.c — suite image: PE images built from the fixtures, checked
 * against verdicts that follow from the fixtures' source (see the comments
 * at the top of fixtures/plain.c, patchable.c and folded.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpa_same.h"
#include "hpa_test.h"

static const char *const triples[] = {"x86_64-w64-mingw32", "i686-w64-mingw32", "x86_64-pc-windows-msvc"};

/* fixtures/plain.c: what each export is, by construction. NULL check = patchable. */
static const struct {
    const char *name;
    const char *check;
} plain_expected[] = {
    {"pad_first", "HP1001"},   {"ok_nop2", NULL},        {"entry_short", "HP1003"}, {"before_ret", NULL},
    {"after_ret", "HP1002"},   {"crosses_line", "HP1004"}, {"branch_e1", "HP1010"}, {"redirected", "HP1009"},
    {"alias_one", NULL},       {"alias_two", NULL},      {"#42", NULL},             {"endbr_short", "HP1007"},
    {"endbr_ok", NULL},        {"after_tail_jmp", "HP1012"},
};

Test(image, plain_builds_report_exactly_the_failing_functions)
{
    for (size_t t = 0; t < 3; t++) {
        char name[128];
        snprintf(name, sizeof name, "plain-%s.dll", triples[t]);
        hp_audit_report *r = hpa_audit(hpa_fixture(name), NULL);
        size_t n;
        const hp_audit_file_result *f = hp_audit_report_files(r, &n);
        cr_assert_eq(f[0].status, HP_OK, "%s: %s", name, f[0].error);
        size_t want = sizeof plain_expected / sizeof plain_expected[0];
        cr_assert_eq(f[0].function_count, want, "%s: %zu functions", name, f[0].function_count);
        size_t failing = 0;
        for (size_t i = 0; i < want; i++) {
            const hp_audit_function *fn = hpa_function(r, plain_expected[i].name);
            cr_assert_not_null(fn, "%s: %s not reported", name, plain_expected[i].name);
            if (plain_expected[i].check) {
                failing++;
                cr_assert(!fn->patchable, "%s: %s should fail", name, fn->name);
                cr_assert_str_eq(fn->check_id, plain_expected[i].check, "%s: %s", name, fn->name);
                cr_assert_eq(hpa_count_findings(r, plain_expected[i].check, fn->name), 1);
            } else {
                cr_assert(fn->patchable, "%s: %s should pass (%s)", name, fn->name, fn->check_id);
            }
        }
        cr_assert_eq(f[0].coverage.exports_checked, want);
        cr_assert_eq(f[0].coverage.exports_patchable, want - failing);
        /* folded: one finding naming both aliases */
        cr_assert_eq(hpa_count_findings(r, "HP2001", NULL), 1, "%s", name);
        cr_assert_eq(hpa_count_findings(r, "HP2003", "var_data"), 1);
        cr_assert_eq(hpa_count_findings(r, "HP2002", "fwd_sleep"), 1);
        cr_assert_eq(f[0].coverage.forwarders, 1);
        cr_assert_eq(f[0].coverage.data_exports, 1);
        cr_assert_eq(hp_audit_report_outcome(r), HP_AUDIT_FINDINGS);
        hp_audit_report_destroy(r);
    }
}

Test(image, padding_is_judged_against_the_machine_default_or_the_option)
{
    /* ok_nop2 (0x1018) follows pad_first's 4 bytes (0x1000..0x1003): lld fills 0x1004..0x100F with CC and
       its section adds 8 x CC, so exactly 20 filler bytes precede it, after pad_first's C3 */
    hp_audit_options opt = {.pad = 20};
    hp_audit_report *r = hpa_audit(hpa_fixture("plain-x86_64-pc-windows-msvc.dll"), &opt);
    const hp_audit_function *fn = hpa_function(r, "ok_nop2");
    cr_assert_not_null(fn);
    cr_assert(fn->patchable);
    cr_assert_eq(fn->site.pad_found, 20);
    hp_audit_report_destroy(r);
    opt.pad = 21;
    r = hpa_audit(hpa_fixture("plain-x86_64-pc-windows-msvc.dll"), &opt);
    fn = hpa_function(r, "ok_nop2");
    cr_assert_not_null(fn);
    cr_assert(!fn->patchable);
    cr_assert_str_eq(fn->check_id, "HP1002");
    hp_audit_report_destroy(r);
}

Test(image, patchable_builds_report_100_percent)
{
    for (size_t t = 0; t < 3; t++) {
        char name[128];
        snprintf(name, sizeof name, "patchable-%s.dll", triples[t]);
        for (int all = 0; all <= 1; all++) {
            hp_audit_options opt = {.all = all};
            hp_audit_report *r = hpa_audit(hpa_fixture(name), &opt);
            size_t n;
            const hp_audit_file_result *f = hp_audit_report_files(r, &n);
            cr_assert_eq(f[0].status, HP_OK, "%s: %s", name, f[0].error);
            /* hp_add, hp_sum, hp_call, hp_bump; hp_counter is data */
            cr_assert_eq(f[0].coverage.exports_checked, 4, "%s", name);
            cr_assert_eq(f[0].coverage.exports_patchable, 4, "%s", name);
            cr_assert_eq(f[0].coverage.data_exports, 1);
            if (all) {
                /* the exports at least; helper too where it was not inlined and is known */
                cr_assert_geq(f[0].coverage.all_checked, 4, "%s", name);
                cr_assert_eq(f[0].coverage.all_patchable, f[0].coverage.all_checked, "%s --all", name);
            }
            cr_assert_eq(hp_audit_report_outcome(r), HP_AUDIT_PASS, "%s", name);
            hp_audit_report_destroy(r);
        }
    }
}

Test(image, folded_exports_are_reported_together)
{
    /* lld folds only COMDAT sections: the MSVC target puts -ffunction-sections functions in COMDATs */
    {
        const char *name = "folded-x86_64-pc-windows-msvc.dll";
        hp_audit_report *r = hpa_audit(hpa_fixture(name), NULL);
        const hp_audit_function *a = hpa_function(r, "same_a"), *b = hpa_function(r, "same_b"),
                                *d = hpa_function(r, "different");
        cr_assert(a && b && d, "%s", name);
        cr_assert_eq(a->address, b->address, "%s: identical code was not folded", name);
        cr_assert_neq(a->address, d->address);
        cr_assert_eq(hpa_count_findings(r, "HP2001", NULL), 1, "%s", name);
        size_t n;
        const hp_audit_file_result *f = hp_audit_report_files(r, &n);
        for (size_t i = 0; i < f[0].finding_count; i++)
            if (strcmp(f[0].findings[i].check_id, "HP2001") == 0) {
                cr_assert(strstr(f[0].findings[i].message, "same_a") && strstr(f[0].findings[i].message, "same_b"));
                cr_assert_null(strstr(f[0].findings[i].message, "different"));
            }
        hp_audit_report_destroy(r);
    }
}

Test(image, arm64_is_recognised_not_misread)
{
    hp_audit_report *r = hpa_audit(hpa_fixture("arm64.dll"), NULL);
    size_t n;
    const hp_audit_file_result *f = hp_audit_report_files(r, &n);
    cr_assert_eq(f[0].status, HP_ERR_UNSUPPORTED);
    cr_assert_str_eq(f[0].machine, "arm64");
    cr_assert(strstr(f[0].error, "architecture not yet supported"));
    cr_assert_eq(hp_audit_report_outcome(r), HP_AUDIT_UNREADABLE);
    hp_audit_report_destroy(r);
}

Test(image, all_reads_every_function_of_the_plugin_table)
{
    for (size_t t = 0; t < 3; t++) {
        char name[128];
        snprintf(name, sizeof name, "tabled-%s.dll", triples[t]);
        hp_audit_options opt = {.all = 1};
        hp_audit_report *r = hpa_audit(hpa_fixture(name), &opt);
        size_t n;
        const hp_audit_file_result *f = hp_audit_report_files(r, &n);
        cr_assert_eq(f[0].status, HP_OK, "%s: %s", name, f[0].error);
        cr_assert(f[0].has_table, "%s: no .hotp table", name);
        /* tabled_api_a, tabled_api_b, tabled_square, tabled_twice: the four functions of the source */
        size_t from_table = 0;
        for (size_t i = 0; i < f[0].function_count; i++)
            if (f[0].functions[i].from & HP_AUDIT_FROM_TABLE) {
                from_table++;
                cr_expect(f[0].functions[i].patchable, "%s: %s at %#x not patchable (%s)", name,
                          f[0].functions[i].name, f[0].functions[i].address, f[0].functions[i].check_id);
            }
        cr_expect_eq(from_table, 4, "%s: %zu functions from the table", name, from_table);
        cr_expect_eq(f[0].coverage.all_checked, 4, "%s", name);
        cr_expect_eq(f[0].coverage.all_patchable, 4, "%s", name);
        cr_expect_eq(hpa_count_findings(r, "HP2006", NULL), 0, "%s: table records out of the image", name);
        cr_expect_eq(hp_audit_report_outcome(r), HP_AUDIT_PASS, "%s", name);
        hp_audit_report_destroy(r);
    }
}

/* fixtures/gccprog.c: gcc's CRT leaves untyped data labels in .text; only typed functions count. */
Test(image, all_ignores_untyped_labels_of_gcc_images)
{
    hp_audit_options o = {0};
    o.all = 1;
    hp_audit_report *r = hpa_audit(hpa_fixture("gccprog.exe"), &o);
    size_t n;
    const hp_audit_file_result *f = hp_audit_report_files(r, &n);
    cr_assert_eq(f[0].status, HP_OK, "%s", f[0].error);
    cr_expect_null(hpa_function(r, "__CTOR_LIST__"), "a data label reported as a function");
    cr_expect_null(hpa_function(r, "__DTOR_LIST__"), "a data label reported as a function");
    cr_expect_not_null(hpa_function(r, "work"), "gcc's typed function symbols are read");
    cr_expect_not_null(hpa_function(r, "main"));
    hp_audit_report_destroy(r);
}

/* hp_audit_options.on_function: the verdicts handed over one by one are the ones a report keeps, in the
   same order, and the report that hands them over keeps none (coverage and findings the same). */
Test(image, verdicts_handed_over_are_the_ones_kept)
{
    static const char *const images[] = {"plain-x86_64-w64-mingw32.dll", "plain-i686-w64-mingw32.dll",
                                         "plain-x86_64-pc-windows-msvc.dll", "tabled-x86_64-w64-mingw32.dll",
                                         "tabled-i686-w64-mingw32.dll", "tabled-x86_64-pc-windows-msvc.dll",
                                         "gccprog.exe"};
    static const unsigned sources[] = {0, HP_AUDIT_FROM_TABLE, HP_AUDIT_FROM_SYMBOL};
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
        size_t total = 0;
        for (size_t m = 0; m < 4; m++) {
            hp_audit_options kept = {0};
            kept.all = m < 3;
            kept.all_sources = m < 3 ? sources[m] : 0;
            hp_audit_options handed = kept;
            hpa_collected c = {0};
            handed.on_function = hpa_collect;
            handed.on_function_ctx = &c;
            hp_audit_report *rk = hpa_audit(hpa_fixture(images[i]), &kept);
            hp_audit_report *rh = hpa_audit(hpa_fixture(images[i]), &handed);
            size_t n;
            const hp_audit_file_result *fk = hp_audit_report_files(rk, &n);
            const hp_audit_file_result *fh = hp_audit_report_files(rh, &n);
            cr_assert_eq(fk->status, HP_OK, "%s: %s", images[i], fk->error);
            cr_assert_eq(fh->status, HP_OK, "%s: %s", images[i], fh->error);
            total += fk->function_count;
            cr_assert_eq(fh->function_count, 0, "%s: handed-over verdicts kept too", images[i]);
            cr_assert_eq(c.n, fk->function_count, "%s, mode %zu: %zu handed over, %zu kept", images[i], m, c.n,
                         fk->function_count);
            for (size_t k = 0; k < c.n; k++) {
                const hp_audit_function *a = &fk->functions[k], *b = &c.v[k];
                cr_assert(hpa_same_function(a, b), "%s, mode %zu: record %zu differs (%s at %#x from %#x / %s at %#x from %#x)",
                          images[i], m, k, a->name, a->address, a->from, b->name, b->address, b->from);
            }
            cr_assert(memcmp(&fk->coverage, &fh->coverage, sizeof fk->coverage) == 0, "%s: coverage differs",
                      images[i]);
            cr_assert_eq(fk->finding_count, fh->finding_count, "%s", images[i]);
            free(c.v);
            hp_audit_report_destroy(rk);
            hp_audit_report_destroy(rh);
        }
        cr_assert_gt(total, 0, "%s: nothing checked in any mode", images[i]);
    }
}
