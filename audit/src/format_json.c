/*
 * format_json.c — layer 11 of the audit library (audit/README.md, "Source
 * layout"), a renderer: the documented, stable JSON report. Layout is fixed:
 * two-space indentation, one function or finding per line, keys in the
 * documented order, addresses as decimal numbers.
 *
 * May call: out, finish (outcome, coverage percent); reads the report's layout.
 */
#include "out.h"
#include "renderers.h"
#include "report.h"

/* `source`: the keys of the source audit follow (only for compilation databases, and in the total
   of a run that audited one: the report of a binary audit keeps its exact layout). */
static void coverage(hpa_out *o, const hp_audit_coverage *c, int source)
{
    hpa_outf(o,
             "{\"exports_checked\": %u, \"exports_patchable\": %u, \"exports_percent\": %.1f, "
             "\"all_checked\": %u, \"all_patchable\": %u, \"all_percent\": %.1f, "
             "\"forwarders\": %u, \"data_exports\": %u, \"import_members\": %u",
             c->exports_checked, c->exports_patchable,
             hp_audit_coverage_percent(c->exports_patchable, c->exports_checked), c->all_checked, c->all_patchable,
             hp_audit_coverage_percent(c->all_patchable, c->all_checked), c->forwarders, c->data_exports,
             c->import_members);
    if (source)
        hpa_outf(o, ", \"units\": %u, \"units_unparsed\": %u, \"functions_defined\": %u", c->units,
                 c->units_unparsed, c->functions_defined);
    hpa_put(o, "}");
}

static void sources(hpa_out *o, unsigned from)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{HP_AUDIT_FROM_EXPORT, "export"}, {HP_AUDIT_FROM_TABLE, "table"}, {HP_AUDIT_FROM_PDATA, "pdata"},
                 {HP_AUDIT_FROM_SYMBOL, "symbol"}};
    hpa_put(o, "[");
    int first = 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (from & names[i].bit) {
            hpa_outf(o, "%s\"%s\"", first ? "" : ", ", names[i].name);
            first = 0;
        }
    hpa_put(o, "]");
}

static void finding(hpa_out *o, const hp_audit_finding *x, int last)
{
    hpa_outf(o, "        {\"check\": \"%s\", \"level\": \"%s\", \"function\": ", x->check_id,
             x->level == HP_AUDIT_ERROR ? "error" : "note");
    hpa_json_str(o, x->function);
    hpa_put(o, ", \"member\": ");
    hpa_json_str(o, x->member);
    if (x->has_address)
        hpa_outf(o, ", \"address\": %u", x->address);
    else
        hpa_put(o, ", \"address\": null");
    hpa_put(o, ", \"message\": ");
    hpa_json_str(o, x->message);
    hpa_put(o, ", \"justification\": ");
    hpa_json_str(o, x->justification);
    if (x->file) { /* the source audit's location: keys added after the binary audit's */
        hpa_put(o, ", \"file\": ");
        hpa_json_str(o, x->file);
        hpa_outf(o, ", \"line\": %u, \"column\": %u", x->line, x->column);
    }
    hpa_put(o, last ? "}\n" : "},\n");
}

void hpa_render_json(const hp_audit_report *r, hpa_out *o)
{
    const hp_audit_options *opt = &r->opt;
    hpa_put(o, "{\n");
    hpa_outf(o, "  \"tool\": \"hotpatch-audit\",\n  \"version\": \"%s\",\n  \"format_version\": 1,\n",
             HP_AUDIT_VERSION_STRING);
    hpa_outf(o, "  \"options\": {\"pad\": %u, \"all\": %s, \"min_coverage\": %.1f},\n", opt->pad,
             opt->all ? "true" : "false", opt->min_coverage);
    hpa_put(o, "  \"files\": [");
    for (size_t i = 0; i < r->file_count; i++) {
        const hp_audit_file_result *f = &r->files[i];
        hpa_put(o, i ? ",\n    {\n" : "\n    {\n");
        hpa_put(o, "      \"path\": ");
        hpa_json_str(o, f->path);
        hpa_outf(o, ",\n      \"kind\": \"%s\",\n      \"machine\": ", hpa_kind_str(f->kind));
        hpa_json_str(o, f->machine);
        hpa_outf(o, ",\n      \"status\": \"%s\",\n      \"error\": ", hpa_status_name(f->status));
        hpa_json_str(o, f->error);
        hpa_outf(o,
                 ",\n      \"time_date_stamp\": %u,\n      \"size_of_image\": %u,\n      \"checksum\": %u,\n"
                 "      \"table\": %s,\n      \"coverage\": ",
                 f->time_date_stamp, f->size_of_image, f->checksum, f->has_table ? "true" : "false");
        coverage(o, &f->coverage, f->kind == HP_AUDIT_KIND_SOURCE);
        hpa_put(o, ",\n      \"functions\": [");
        for (size_t k = 0; k < f->function_count; k++) {
            const hp_audit_function *fn = &f->functions[k];
            hpa_put(o, k ? ",\n        {\"name\": " : "\n        {\"name\": ");
            hpa_json_str(o, fn->name);
            hpa_put(o, ", \"member\": ");
            hpa_json_str(o, fn->member);
            hpa_outf(o, ", \"address\": %u, \"section\": ", fn->address);
            hpa_json_str(o, fn->section);
            hpa_put(o, ", \"sources\": ");
            sources(o, fn->from);
            hpa_outf(o, ", \"patchable\": %s, \"check\": ", fn->patchable ? "true" : "false");
            hpa_json_str(o, fn->check_id);
            hpa_outf(o,
                     ", \"reason\": \"%s\", \"padding_found\": %u, \"entry_length\": %u, \"link_time\": %s}",
                     hp_site_reason_str(fn->site.reason), fn->site.pad_found, fn->site.entry_len,
                     fn->link_time ? "true" : "false");
        }
        hpa_put(o, f->function_count ? "\n      ],\n      \"findings\": [" : "],\n      \"findings\": [");
        if (f->finding_count)
            hpa_put(o, "\n");
        for (size_t k = 0; k < f->finding_count; k++)
            finding(o, &f->findings[k], k + 1 == f->finding_count);
        hpa_put(o, f->finding_count ? "      ]\n    }" : "]\n    }");
    }
    hpa_put(o, r->file_count ? "\n  ],\n" : "],\n");
    hpa_put(o, "  \"findings\": [");
    if (r->finding_count)
        hpa_put(o, "\n");
    for (size_t k = 0; k < r->finding_count; k++) {
        hpa_put(o, "  ");
        finding(o, &r->findings[k], k + 1 == r->finding_count);
    }
    hpa_put(o, r->finding_count ? "    ],\n" : "],\n");
    int any_source = 0;
    for (size_t i = 0; i < r->file_count; i++)
        any_source |= r->files[i].kind == HP_AUDIT_KIND_SOURCE;
    hpa_put(o, "  \"total\": ");
    coverage(o, &r->total, any_source);
    static const char *const results[] = {"pass", "findings", "unreadable"};
    hpa_outf(o, ",\n  \"result\": \"%s\"\n}\n", results[hp_audit_report_outcome(r)]);
}
