/*
 * allow.h — layer 8 of the audit library (audit/README.md, "Source layout"):
 * reviewed exceptions (--allow FILE), loaded into the report and matched
 * against its findings when the run finishes.
 *
 * May call: report, arena (and hp_tools' glob matcher).
 */
#ifndef HPA_ALLOW_H
#define HPA_ALLOW_H

#include <stddef.h>

#include "report.h"

/** One exception, as the report stores it (r->allow). */
struct hpa_allow {
    const char *pattern; /* name or glob */
    const char *reason;  /* required */
    size_t line;         /* 1-based */
    int used;            /* matched at least one finding */
};

/**
 * Suppress finding `x` when an exception matches it: only error findings about a named function
 * can be. Every matching exception is marked used; the first one's reason becomes the justification.
 */
void hpa_allow_apply(hp_audit_report *r, hp_audit_finding *x);

#endif /* HPA_ALLOW_H */
