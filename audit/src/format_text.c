/*
 * format_text.c — the report for people: per file a table of functions, the
 * findings with their messages, and coverage; colour only when asked (the
 * CLI asks only on a TTY).
 */
#include "audit_internal.h"

typedef struct palette {
    const char *red, *green, *yellow, *bold, *reset;
} palette;

static void cov_line(hpa_out *o, const char *label, const hp_audit_coverage *c, int all)
{
    hpa_outf(o, "%s: exports %u/%u patchable (%.1f%%)", label, c->exports_patchable, c->exports_checked,
             hp_audit_coverage_percent(c->exports_patchable, c->exports_checked));
    if (all)
        hpa_outf(o, ", all functions %u/%u (%.1f%%)", c->all_patchable, c->all_checked,
                 hp_audit_coverage_percent(c->all_patchable, c->all_checked));
    if (c->forwarders || c->data_exports)
        hpa_outf(o, "; %u forwarded, %u data exports not counted", c->forwarders, c->data_exports);
    if (c->import_members)
        hpa_outf(o, "; %u import members skipped", c->import_members);
    hpa_put(o, "\n");
}

static void finding_line(hpa_out *o, const palette *p, const hp_audit_finding *x)
{
    int err = x->level == HP_AUDIT_ERROR;
    const char *tag = !err ? "note " : x->justification ? "allow" : "ERROR";
    const char *col = !err ? p->yellow : x->justification ? p->yellow : p->red;
    hpa_outf(o, "  %s%s%s %s ", col, tag, p->reset, x->check_id);
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
        cov_line(o, "  coverage", &f->coverage, r->opt.all);
    }
    for (size_t k = 0; k < r->finding_count; k++)
        finding_line(o, p, &r->findings[k]);
    if (r->file_count > 1)
        cov_line(o, "total", &r->total, r->opt.all);
}
