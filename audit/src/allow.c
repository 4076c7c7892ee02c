/*
 * allow.c — reviewed exceptions (--allow FILE): `PATTERN REASON...` per line,
 * the reason required, `#` comment lines; and the glob matcher.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

int hpa_glob_match(const char *p, const char *s)
{
    /* iterative '*' backtracking: linear in practice, no recursion on hostile patterns */
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == '?' || *p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

hp_status hp_audit_allow_parse(hp_audit_report *r, const char *text, size_t len, const char **out_detail,
                               size_t *out_line)
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
            if (out_detail)
                *out_detail = "exception without a reason (expected: NAME-OR-GLOB REASON...)";
            if (out_line)
                *out_line = line;
            return HP_ERR_FORMAT;
        }
        if (!hpa_reserve((void **)&r->allow, &r->allow_cap, r->allow_count, sizeof *r->allow))
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

hp_status hp_audit_allow_load(hp_audit_report *r, const char *path, const char **out_detail, size_t *out_line)
{
    if (!r || !path)
        return HP_ERR_ARGUMENT;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (out_detail)
            *out_detail = "cannot open the exceptions file";
        return HP_ERR_IO;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (!hpa_reserve((void **)&buf, &cap, len + 4096, 1)) {
            free(buf);
            fclose(fp);
            return HP_ERR_NO_MEMORY;
        }
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (n == 0)
            break;
    }
    int err = ferror(fp);
    fclose(fp);
    if (err) {
        free(buf);
        if (out_detail)
            *out_detail = "cannot read the exceptions file";
        return HP_ERR_IO;
    }
    hp_status st = hp_audit_allow_parse(r, buf, len, out_detail, out_line);
    free(buf);
    return st;
}
