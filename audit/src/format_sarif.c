/*
 * format_sarif.c — layer 11 of the audit library (audit/README.md, "Source
 * layout"), a renderer: SARIF 2.1.0 for code scanning — one run, every check
 * as a rule (ID, name, descriptions, help, default level), every finding as a
 * result located at the input file with the function as a logical location;
 * unreadable inputs become tool execution notifications.
 *
 * May call: out, checks (the table of rules), finish (outcome); reads the report's layout.
 */
#include <string.h>

#include "out.h"
#include "renderers.h"
#include "report.h"

/* A relative path or a file:// URI, percent-encoding what a URI may not hold. */
static void uri(hpa_out *o, const char *path)
{
    char buf[4096];
    size_t n = 0;
    const char *prefix = path[0] == '/' ? "file://" : "";
    for (const char *q = prefix; *q; q++)
        buf[n++] = *q;
    for (const unsigned char *s = (const unsigned char *)path; *s && n < sizeof buf - 4; s++) {
        unsigned char c = *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("/._-~+", c)) {
            buf[n++] = (char)c;
        } else {
            static const char hex[] = "0123456789ABCDEF";
            buf[n++] = '%';
            buf[n++] = hex[c >> 4];
            buf[n++] = hex[c & 15];
        }
    }
    buf[n] = 0;
    hpa_json_str(o, buf);
}

static void location(hpa_out *o, const hp_audit_file_result *f, const hp_audit_finding *x)
{
    hpa_put(o, "[{\"physicalLocation\": {\"artifactLocation\": {\"uri\": ");
    if (x && x->file) { /* the source audit: the source file, and the place in it */
        uri(o, x->file);
        hpa_put(o, "}");
        if (x->line)
            hpa_outf(o, ", \"region\": {\"startLine\": %u, \"startColumn\": %u}", x->line, x->column);
        hpa_put(o, "}");
    } else {
        uri(o, f->path);
        hpa_put(o, "}}");
    }
    if (x && x->function) {
        hpa_put(o, ", \"logicalLocations\": [{\"name\": ");
        hpa_json_str(o, x->function);
        if (x->member) {
            hpa_put(o, ", \"fullyQualifiedName\": ");
            char buf[1024];
            size_t ml = strlen(x->member), fl = strlen(x->function);
            if (ml + fl + 2 < sizeof buf) {
                memcpy(buf, x->member, ml);
                buf[ml] = '!';
                memcpy(buf + ml + 1, x->function, fl + 1);
                hpa_json_str(o, buf);
            } else {
                hpa_json_str(o, x->function);
            }
        }
        /* a data export (HP2003, HP4005) names a variable; every other finding names a function */
        int variable = strcmp(x->check_id, "HP2003") == 0 || strcmp(x->check_id, "HP4005") == 0;
        hpa_put(o, variable ? ", \"kind\": \"variable\"}]" : ", \"kind\": \"function\"}]");
    }
    hpa_put(o, "}]");
}

static size_t rule_index(const char *id)
{
    size_t n;
    const hp_audit_check *c = hp_audit_checks(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].id, id) == 0)
            return i;
    return 0;
}

static void result(hpa_out *o, const hp_audit_file_result *f, const hp_audit_finding *x, int *first)
{
    hpa_put(o, *first ? "\n        {" : ",\n        {");
    *first = 0;
    hpa_outf(o, "\"ruleId\": \"%s\", \"ruleIndex\": %zu, \"level\": \"%s\", \"message\": {\"text\": ", x->check_id,
             rule_index(x->check_id), x->level == HP_AUDIT_ERROR ? "error" : "note");
    hpa_json_str(o, x->message);
    hpa_put(o, "}, \"locations\": ");
    if (f) {
        location(o, f, x);
    } else {
        hpa_put(o, "[]");
    }
    if (x->has_address)
        hpa_outf(o, ", \"properties\": {\"address\": %u}", x->address);
    if (x->justification) {
        hpa_put(o, ", \"suppressions\": [{\"kind\": \"external\", \"justification\": ");
        hpa_json_str(o, x->justification);
        hpa_put(o, "}]");
    }
    hpa_put(o, "}");
}

void hpa_render_sarif(const hp_audit_report *r, hpa_out *o)
{
    hpa_put(o, "{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n"
               "  \"version\": \"2.1.0\",\n  \"runs\": [\n    {\n");
    hpa_outf(o, "      \"tool\": {\"driver\": {\"name\": \"hotpatch-audit\", \"version\": \"%s\", "
                "\"semanticVersion\": \"%s\", \"rules\": [",
             HP_AUDIT_VERSION_STRING, HP_AUDIT_VERSION_STRING);
    size_t n;
    const hp_audit_check *c = hp_audit_checks(&n);
    for (size_t i = 0; i < n; i++) {
        hpa_outf(o,
                 "%s\n        {\"id\": \"%s\", \"name\": \"%s\", \"shortDescription\": {\"text\": ",
                 i ? "," : "", c[i].id, c[i].name);
        hpa_json_str(o, c[i].text);
        hpa_put(o, "}, \"fullDescription\": {\"text\": ");
        hpa_json_str(o, c[i].text);
        hpa_put(o, "}, \"help\": {\"text\": ");
        hpa_json_str(o, c[i].text);
        hpa_outf(o, "}, \"defaultConfiguration\": {\"level\": \"%s\"}}",
                 c[i].level == HP_AUDIT_ERROR ? "error" : "note");
    }
    hpa_put(o, "\n      ]}},\n");

    int ok = hp_audit_report_outcome(r) != HP_AUDIT_UNREADABLE;
    hpa_outf(o, "      \"invocations\": [{\"executionSuccessful\": %s, \"toolExecutionNotifications\": [",
             ok ? "true" : "false");
    int first = 1;
    for (size_t i = 0; i < r->file_count; i++) {
        const hp_audit_file_result *f = &r->files[i];
        if (f->status == HP_OK)
            continue;
        hpa_put(o, first ? "\n        {" : ",\n        {");
        first = 0;
        hpa_put(o, "\"level\": \"error\", \"message\": {\"text\": ");
        hpa_json_str(o, f->error);
        hpa_put(o, "}, \"locations\": ");
        location(o, f, NULL);
        hpa_put(o, "}");
    }
    hpa_put(o, first ? "]}],\n" : "\n      ]}],\n");

    hpa_put(o, "      \"results\": [");
    first = 1;
    for (size_t i = 0; i < r->file_count; i++)
        for (size_t k = 0; k < r->files[i].finding_count; k++)
            result(o, &r->files[i], &r->files[i].findings[k], &first);
    for (size_t k = 0; k < r->finding_count; k++)
        result(o, NULL, &r->findings[k], &first);
    hpa_put(o, first ? "]\n    }\n  ]\n}\n" : "\n      ]\n    }\n  ]\n}\n");
}
