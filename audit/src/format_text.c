/*
 * format_text.c — layer 11 of the audit library (audit/README.md, "Source
 * layout"), a renderer: the report for people — per file a table of
 * functions, the findings with their messages, and coverage; colour only when
 * asked (the CLI asks only on a TTY).
 *
 * May call: out, finish (coverage percent); reads the report's layout.
 */
#include "out.h"
#include "renderers.h"
#include "report.h"

typedef struct palette {
    const char *red, *green, *yellow, *bold, *reset;
} palette;

/* "6/14 patchable (42.9%)", or "0/0 (nothing checked)": a percentage of nothing is no coverage */
static void cov_ratio(hpa_out *o, uint32_t patchable, uint32_t checked, const char *what)
{
    if (checked)
        hpa_outf(o, "%u/%u%s (%.1f%%)", patchable, checked, what, hp_audit_coverage_percent(patchable, checked));
    else
        hpa_outf(o, "0/0 (nothing checked)");
}

static void cov_line(hpa_out *o, const char *label, const hp_audit_coverage *c, int all)
{
    hpa_outf(o, "%s: exports ", label);
    cov_ratio(o, c->exports_patchable, c->exports_checked, " patchable");
    if (all) {
        hpa_put(o, ", all functions ");
        cov_ratio(o, c->all_patchable, c->all_checked, "");
    }
    if (c->forwarders || c->data_exports)
        hpa_outf(o, "; %u forwarded, %u data exports not counted", c->forwarders, c->data_exports);
    if (c->import_members)
        hpa_outf(o, "; %u import members skipped", c->import_members);
    if (c->units)
        hpa_outf(o, "; %u translation units audited from source", c->units);
    hpa_put(o, "\n");
}

/* A compilation database's summary: what the source audit read (there is no coverage of functions). */
static void source_line(hpa_out *o, const hp_audit_coverage *c)
{
    hpa_outf(o, "  source: %u translation unit%s", c->units, c->units == 1 ? "" : "s");
    if (c->units_unparsed)
        hpa_outf(o, " (%u not parsed)", c->units_unparsed);
    hpa_outf(o, ", %u function definition%s\n", c->functions_defined, c->functions_defined == 1 ? "" : "s");
}

static void finding_line(hpa_out *o, const palette *p, const hp_audit_finding *x)
{
    int err = x->level == HP_AUDIT_ERROR;
    const char *tag = !err ? "note " : x->justification ? "allow" : "ERROR";
    const char *col = !err ? p->yellow : x->justification ? p->yellow : p->red;
    hpa_outf(o, "  %s%s%s %s ", col, tag, p->reset, x->check_id);
    if (x->file) { /* the source audit: file:line:column, as compilers say it */
        hpa_put(o, x->file);
        if (x->line)
            hpa_outf(o, ":%u:%u", x->line, x->column);
        hpa_put(o, ": ");
    }
    if (x->member) {
        hpa_put(o, x->member);
        hpa_put(o, ": ");
    }
    if (x->function) {
        hpa_put(o, p->bold);
        hpa_put(o, x->function);
        hpa_put(o, p->reset);
        hpa_put(o, " ");
    }
    if (x->has_address)
        hpa_outf(o, "@0x%x ", x->address);
    hpa_put(o, x->message);
    if (x->justification) {
        hpa_put(o, " [allowed: ");
        hpa_put(o, x->justification);
        hpa_put(o, "]");
    }
    hpa_put(o, "\n");
}

void hpa_render_text(const hp_audit_report *r, unsigned flags, hpa_out *o)
{
    static const palette plain = {"", "", "", "", ""};
    static const palette ansi = {"\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[1m", "\x1b[0m"};
    const palette *p = (flags & HP_AUDIT_RENDER_COLOR) ? &ansi : &plain;
    int quiet = (flags & HP_AUDIT_RENDER_QUIET) != 0;
    for (size_t i = 0; i < r->file_count; i++) {
        const hp_audit_file_result *f = &r->files[i];
        hpa_put(o, p->bold);
        hpa_put(o, f->path);
        hpa_put(o, p->reset);
        if (f->status != HP_OK) {
            hpa_outf(o, ": %serror%s: ", p->red, p->reset);
            hpa_put(o, f->error ? f->error : "unreadable");
            hpa_put(o, "\n");
            continue;
        }
        if (f->kind == HP_AUDIT_KIND_SOURCE)
            hpa_outf(o, ": compilation database, %u translation unit%s\n", f->coverage.units,
                     f->coverage.units == 1 ? "" : "s");
        else
            hpa_outf(o, ": %s %s%s\n", f->machine ? f->machine : "?", hpa_kind_str(f->kind),
                     f->has_table ? ", hotpatch table present" : "");
        if (!quiet && f->function_count) {
            hpa_put(o, "  status  address     check   function\n");
            for (size_t k = 0; k < f->function_count; k++) {
                const hp_audit_function *fn = &f->functions[k];
                hpa_outf(o, "  %s%-6s%s  0x%08x  %-6s  ", fn->patchable ? p->green : p->red,
                         fn->patchable ? "ok" : "FAIL", p->reset, fn->address, fn->check_id ? fn->check_id : "");
                if (fn->member) {
                    hpa_put(o, fn->member);
                    hpa_put(o, ": ");
                }
                hpa_put(o, fn->name);
                hpa_put(o, "\n");
            }
        }
        for (size_t k = 0; k < f->finding_count; k++)
            if (!quiet || f->findings[k].level == HP_AUDIT_ERROR)
                finding_line(o, p, &f->findings[k]);
        if (f->kind == HP_AUDIT_KIND_SOURCE)
            source_line(o, &f->coverage);
        else
            cov_line(o, "  coverage", &f->coverage, r->opt.all);
    }
    for (size_t k = 0; k < r->finding_count; k++)
        finding_line(o, p, &r->findings[k]);
    if (r->file_count > 1)
        cov_line(o, "total", &r->total, r->opt.all);
}
