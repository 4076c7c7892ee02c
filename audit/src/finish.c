/*
 * finish.c — layer 9 of the audit library (audit/README.md, "Source layout"):
 * the end of a run — exceptions applied, totals, the run-level findings
 * (unused exceptions, coverage below the minimum) — and its outcome.
 *
 * May call: allow, report.
 */
#include <stddef.h>
#include <stdint.h>

#include "allow.h"
#include "report.h"

double hp_audit_coverage_percent(uint32_t patchable, uint32_t checked)
{
    return checked ? 100.0 * (double)patchable / (double)checked : 100.0;
}

hp_status hp_audit_report_finish(hp_audit_report *r)
{
    if (!r || r->finished)
        return HP_ERR_ARGUMENT;
    int oom = 0;
    hp_audit_coverage *t = &r->total;
    for (size_t i = 0; i < r->file_count; i++) {
        hp_audit_file_result *fr = &r->files[i];
        for (size_t k = 0; k < fr->finding_count; k++)
            hpa_allow_apply(r, (hp_audit_finding *)&fr->findings[k]);
        t->exports_checked += fr->coverage.exports_checked;
        t->exports_patchable += fr->coverage.exports_patchable;
        t->all_checked += fr->coverage.all_checked;
        t->all_patchable += fr->coverage.all_patchable;
        t->forwarders += fr->coverage.forwarders;
        t->data_exports += fr->coverage.data_exports;
        t->import_members += fr->coverage.import_members;
        t->units += fr->coverage.units;
        t->units_unparsed += fr->coverage.units_unparsed;
        t->functions_defined += fr->coverage.functions_defined;
    }
    for (size_t k = 0; k < r->allow_count; k++)
        if (!r->allow[k].used && !hpa_report_finding(r, "HP3001", "exception '%s' (line %zu) matches no finding",
                                                     r->allow[k].pattern, r->allow[k].line))
            oom = 1;
    if (r->opt.min_coverage > 0) {
        uint32_t p = r->opt.all ? t->all_patchable : t->exports_patchable;
        uint32_t c = r->opt.all ? t->all_checked : t->exports_checked;
        double pct = hp_audit_coverage_percent(p, c);
        if (c == 0) {
            /* a gate that checked nothing must not pass as if everything were patchable */
            if (!hpa_report_finding(r, "HP3003",
                                    "--min-coverage %.1f%% asked for, but no %s was checked: the inputs hold no code "
                                    "this audit can judge",
                                    r->opt.min_coverage, r->opt.all ? "function" : "exported function"))
                oom = 1;
        } else if (pct < r->opt.min_coverage &&
            !hpa_report_finding(r, "HP3002", "coverage %.1f%% (%u/%u) is below the minimum of %.1f%%", pct, p, c,
                                r->opt.min_coverage))
            oom = 1;
    }
    r->finished = 1;
    return oom ? HP_ERR_NO_MEMORY : HP_OK;
}

hp_audit_outcome hp_audit_report_outcome(const hp_audit_report *r)
{
    if (!r)
        return HP_AUDIT_UNREADABLE;
    int findings = 0;
    for (size_t i = 0; i < r->file_count; i++) {
        if (r->files[i].status != HP_OK)
            return HP_AUDIT_UNREADABLE;
        for (size_t k = 0; k < r->files[i].finding_count; k++)
            if (r->files[i].findings[k].level == HP_AUDIT_ERROR && !r->files[i].findings[k].justification)
                findings = 1;
    }
    for (size_t k = 0; k < r->finding_count; k++)
        if (r->findings[k].level == HP_AUDIT_ERROR && !r->findings[k].justification)
            findings = 1;
    return findings ? HP_AUDIT_FINDINGS : HP_AUDIT_PASS;
}
