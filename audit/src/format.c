/*
 * format.c — layer 12, the top of the audit library (audit/README.md, "Source
 * layout"): the table of formats and the dispatch of a finished report to its
 * renderer.
 *
 * May call: renderers (it sets up out's writer and reads the report's layout).
 */
#include <string.h>

#include "out.h"
#include "renderers.h"
#include "report.h"

hp_status hp_audit_format_parse(const char *name, hp_audit_format *out)
{
    static const struct {
        const char *name;
        hp_audit_format format;
    } formats[] = {{"text", HP_AUDIT_FORMAT_TEXT}, {"json", HP_AUDIT_FORMAT_JSON}, {"sarif", HP_AUDIT_FORMAT_SARIF}};
    if (!name || !out)
        return HP_ERR_ARGUMENT;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(name, formats[i].name) == 0) {
            *out = formats[i].format;
            return HP_OK;
        }
    return HP_ERR_ARGUMENT;
}

hp_status hp_audit_render(const hp_audit_report *r, hp_audit_format format, unsigned flags,
                          hp_audit_write_fn write, void *ctx)
{
    if (!r || !write || !r->finished)
        return HP_ERR_ARGUMENT;
    hpa_out o = {write, ctx, 0};
    switch (format) {
    case HP_AUDIT_FORMAT_TEXT: hpa_render_text(r, flags, &o); break;
    case HP_AUDIT_FORMAT_JSON: hpa_render_json(r, &o); break;
    case HP_AUDIT_FORMAT_SARIF: hpa_render_sarif(r, &o); break;
    default: return HP_ERR_ARGUMENT;
    }
    return o.failed ? HP_ERR_IO : HP_OK;
}
