/*
 * out.c — layer 10 of the audit library (audit/README.md, "Source layout"):
 * the writer helpers every renderer shares — bounded formatted output through
 * the caller's writer, JSON strings, the names of kinds and statuses.
 *
 * May call: nothing of the audit (the caller's writer only).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "out.h"

void hpa_put(hpa_out *o, const char *s)
{
    if (!o->failed && o->write(o->ctx, s, strlen(s)) != 0)
        o->failed = 1;
}

void hpa_outf(hpa_out *o, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof buf)
        n = (int)sizeof buf - 1; /* callers pass bounded fields; long names go through hpa_json_str/hpa_put */
    if (!o->failed && o->write(o->ctx, buf, (size_t)n) != 0)
        o->failed = 1;
}

void hpa_json_str(hpa_out *o, const char *s)
{
    if (!s) {
        hpa_put(o, "null");
        return;
    }
    char buf[256];
    size_t n = 0;
    buf[n++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (n > sizeof buf - 8) {
            buf[n] = 0;
            hpa_put(o, buf);
            n = 0;
        }
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else if (c < 0x20 || c >= 0x7F) {
            /* names from hostile files may hold any byte: keep the output valid JSON (bytes as U+00XX) */
            n += (size_t)snprintf(buf + n, 7, "\\u%04x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n++] = '"';
    buf[n] = 0;
    hpa_put(o, buf);
}

const char *hpa_kind_str(hp_audit_kind k)
{
    switch (k) {
    case HP_AUDIT_KIND_IMAGE: return "image";
    case HP_AUDIT_KIND_OBJECT: return "object";
    case HP_AUDIT_KIND_ARCHIVE: return "archive";
    case HP_AUDIT_KIND_SOURCE: return "source";
    default: return "unknown";
    }
}

const char *hpa_status_name(hp_status st)
{
    switch (st) {
    case HP_OK: return "ok";
    case HP_ERR_IO: return "io-error";
    case HP_ERR_FORMAT: return "format-error";
    case HP_ERR_UNSUPPORTED: return "unsupported";
    case HP_ERR_NO_MEMORY: return "out-of-memory";
    default: return "error";
    }
}
