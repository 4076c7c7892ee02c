/*
 * out.h — layer 10 of the audit library (audit/README.md, "Source layout"):
 * the writer helpers the renderers share. Once the writer fails, everything
 * after is dropped and the render ends with HP_ERR_IO.
 *
 * May call: nothing of the audit (the caller's writer only).
 */
#ifndef HPA_OUT_H
#define HPA_OUT_H

#include "attr.h"
#include "hp_audit.h"

typedef struct hpa_out {
    hp_audit_write_fn write;
    void *ctx;
    int failed; /* the writer failed once: everything after is dropped */
} hpa_out;

/** Write a string as it is. */
void hpa_put(hpa_out *o, const char *s);
/** Write formatted output, at most 2047 bytes (long names go through hpa_put()/hpa_json_str()). */
void hpa_outf(hpa_out *o, const char *fmt, ...) HPA_PRINTF(2, 3);
/** A JSON string literal with quotes, or `null` for NULL. */
void hpa_json_str(hpa_out *o, const char *s);
/** "image", "object", "archive", "source", "unknown". */
const char *hpa_kind_str(hp_audit_kind k);
/** "ok" or the status name. */
const char *hpa_status_name(hp_status st);

#endif /* HPA_OUT_H */
