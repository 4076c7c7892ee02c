/*
 * report.c — layer 3 of the audit library (audit/README.md, "Source layout"):
 * the report model — ownership (one string arena per report), the public
 * accessors, file results added, findings stored.
 *
 * May call: arena, checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "checks.h"
#include "hp_tools.h"
#include "report.h"

hp_status hp_audit_report_create(const hp_audit_options *options, hp_audit_report **out_report)
{
    if (!out_report)
        return HP_ERR_ARGUMENT;
    *out_report = NULL;
    hp_audit_report *r = calloc(1, sizeof *r);
    if (!r)
        return HP_ERR_NO_MEMORY;
    if (options)
        r->opt = *options;
    if (r->opt.pad > HP_MAX_PAD)
        r->opt.pad = HP_MAX_PAD;
    *out_report = r;
    return HP_OK;
}

void hp_audit_report_destroy(hp_audit_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->file_count; i++) {
        free((void *)r->files[i].functions);
        free((void *)r->files[i].findings);
    }
    free(r->files);
    free(r->findings);
    free(r->allow);
    hpa_arena_free(&r->arena);
    free(r);
}

int hpa_report_reserve_file(hp_audit_report *r)
{
    return hp_vec_reserve((void **)&r->files, &r->file_cap, r->file_count, sizeof *r->files);
}

hp_status hpa_report_add_file(hp_audit_report *r, const hp_audit_file_result *res)
{
    if (!hpa_report_reserve_file(r))
        return HP_ERR_NO_MEMORY;
    r->files[r->file_count++] = *res;
    return HP_OK;
}

void hpa_finding_vadd(hp_audit_report *r, hp_audit_finding **arr, size_t *count, size_t *cap, int *oom,
                      const char *id, const char *member, const char *function, int has_address, uint32_t address,
                      const char *fmt, va_list ap)
{
    const hp_audit_check *c = hp_audit_check_find(id);
    if (!hp_vec_reserve((void **)arr, cap, *count, sizeof **arr)) {
        *oom = 1;
        return;
    }
    hp_audit_finding *x = &(*arr)[*count];
    memset(x, 0, sizeof *x);
    x->check_id = c ? c->id : id;
    x->level = c ? c->level : HP_AUDIT_ERROR;
    x->function = function;
    x->member = member;
    x->has_address = has_address;
    x->address = address;
    x->message = hpa_vprintf(&r->arena, fmt, ap); /* whole: a long list of folded names is not cut */
    if (!x->message) {
        *oom = 1;
        return;
    }
    (*count)++;
}

int hpa_report_finding(hp_audit_report *r, const char *id, const char *fmt, ...)
{
    int oom = 0;
    va_list ap;
    va_start(ap, fmt);
    hpa_finding_vadd(r, &r->findings, &r->finding_count, &r->finding_cap, &oom, id, NULL, NULL, 0, 0, fmt, ap);
    va_end(ap);
    return !oom;
}

const hp_audit_options *hp_audit_report_options(const hp_audit_report *r)
{
    return r ? &r->opt : NULL;
}

const hp_audit_file_result *hp_audit_report_files(const hp_audit_report *r, size_t *out_count)
{
    if (out_count)
        *out_count = r ? r->file_count : 0;
    return r ? r->files : NULL;
}

const hp_audit_finding *hp_audit_report_findings(const hp_audit_report *r, size_t *out_count)
{
    if (out_count)
        *out_count = r ? r->finding_count : 0;
    return r ? r->findings : NULL;
}

hp_audit_coverage hp_audit_report_total(const hp_audit_report *r)
{
    hp_audit_coverage zero = {0};
    return r ? r->total : zero;
}

int hpa_report_excluded(const hp_audit_report *r, const char *name)
{
    if (!name || !r->opt.exclude_count)
        return 0;
    size_t len = strlen(name);
    for (size_t i = 0; i < r->opt.exclude_count; i++)
        if (r->opt.exclude[i] && hp_glob_match(r->opt.exclude[i], name, len))
            return 1;
    return 0;
}
