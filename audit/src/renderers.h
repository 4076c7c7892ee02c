/*
 * renderers.h — layer 11 of the audit library (audit/README.md, "Source
 * layout"): one renderer per output format — format_text.c, format_json.c,
 * format_sarif.c — each writing a finished report through out.h.
 *
 * May call: out, finish (outcome, coverage percent), checks (the rules of SARIF); they read
 * the report's layout.
 */
#ifndef HPA_RENDERERS_H
#define HPA_RENDERERS_H

#include "hp_audit.h"
#include "out.h"

void hpa_render_text(const hp_audit_report *r, unsigned flags, hpa_out *o);
void hpa_render_json(const hp_audit_report *r, hpa_out *o);
void hpa_render_sarif(const hp_audit_report *r, hpa_out *o);

#endif /* HPA_RENDERERS_H */
