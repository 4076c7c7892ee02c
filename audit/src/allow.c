/*
 * allow.c — layer 8 of the audit library (audit/README.md, "Source layout"):
 * reviewed exceptions (--allow FILE): `PATTERN REASON...` per line, the
 * reason required, `#` comment lines (patterns: hp_glob_match()); and the
 * match of a finding against them.
 *
 * May call: report, arena (and hp_tools' glob matcher).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allow.h"
#include "arena.h"
#include "hp_tools.h"
#include "report.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* `name` says where the text comes from in messages ("exceptions.txt:3: ..."). */
static hp_status parse(hp_audit_report *r, const char *name, const char *text, size_t len, char *msg, size_t msg_size)
{
    if (!r || (!text && len))
        return HP_ERR_ARGUMENT;
    size_t line = 0, pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        line++;
        size_t a = pos, b = end;
        pos = end + 1;
        while (a < b && is_space(text[a]))
            a++;
        while (b > a && is_space(text[b - 1]))
            b--;
        if (a == b || text[a] == '#')
            continue;
        size_t pe = a;
        while (pe < b && !is_space(text[pe]))
            pe++;
        size_t ra = pe;
        while (ra < b && is_space(text[ra]))
            ra++;
        if (ra == b) {
            hp_msg_set(msg, msg_size, "%s:%zu: exception without a reason (expected: NAME-OR-GLOB REASON...)", name,
                       line);
            return HP_ERR_FORMAT;
        }
        if (!hp_vec_reserve((void **)&r->allow, &r->allow_cap, r->allow_count, sizeof *r->allow))
            return HP_ERR_NO_MEMORY;
        hpa_allow *x = &r->allow[r->allow_count];
        x->pattern = hpa_strndup(&r->arena, text + a, pe - a);
        x->reason = hpa_strndup(&r->arena, text + ra, b - ra);
        x->line = line;
        x->used = 0;
        if (!x->pattern || !x->reason)
            return HP_ERR_NO_MEMORY;
        r->allow_count++;
    }
    return HP_OK;
}

hp_status hp_audit_allow_parse(hp_audit_report *r, const char *text, size_t len, char *msg, size_t msg_size)
{
    return parse(r, "exceptions", text, len, msg, msg_size);
}

hp_status hp_audit_allow_load(hp_audit_report *r, const char *path, char *msg, size_t msg_size)
{
    if (!r || !path)
        return HP_ERR_ARGUMENT;
    unsigned char *buf = NULL;
    size_t len = 0;
    hp_status st = hp_file_read(path, &buf, &len, msg, msg_size);
    if (st != HP_OK)
        return st;
    st = parse(r, path, (const char *)buf, len, msg, msg_size);
    free(buf);
    return st;
}

/* Which findings an exception may suppress: those about a named function. */
void hpa_allow_apply(hp_audit_report *r, hp_audit_finding *x)
{
    if (x->level != HP_AUDIT_ERROR || !x->function)
        return;
    for (size_t k = 0; k < r->allow_count; k++) {
        if (hp_glob_match(r->allow[k].pattern, x->function, strlen(x->function))) {
            r->allow[k].used = 1;
            if (!x->justification)
                x->justification = r->allow[k].reason;
        }
    }
}
