/*
 * report.c — the report model: ownership (one string arena per report),
 * per-file builders, exceptions applied at finish, totals and the outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

/* ---- arena ---------------------------------------------------------------- */

struct hpa_arena_block {
    hpa_arena_block *next;
    size_t used, cap;
    char data[];
};

static char *arena_alloc(hpa_arena *a, size_t n)
{
    hpa_arena_block *b = a->head;
    if (!b || n > b->cap - b->used) {
        size_t cap = n > 65536 ? n : 65536;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

char *hpa_strndup(hpa_arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = 0;
    return p;
}

char *hpa_strdup(hpa_arena *a, const char *s)
{
    return s ? hpa_strndup(a, s, strlen(s)) : NULL;
}

char *hpa_printf(hpa_arena *a, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    if ((size_t)n < sizeof small)
        return hpa_strndup(a, small, (size_t)n);
    char *p = arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void hpa_arena_free(hpa_arena *a)
{
    while (a->head) {
        hpa_arena_block *n = a->head->next;
        free(a->head);
        a->head = n;
    }
}

int hpa_reserve(void **array, size_t *cap, size_t count, size_t elem)
{
    if (count < *cap)
        return 1;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap > SIZE_MAX / elem)
        return 0;
    void *p = realloc(*array, ncap * elem);
    if (!p)
        return 0;
    *array = p;
    *cap = ncap;
    return 1;
}

/* ---- report ---------------------------------------------------------------- */

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

void hpa_add_function(hpa_file *f, const hp_audit_function *fn)
{
    if (!hpa_reserve((void **)&f->fns, &f->fn_cap, f->res.function_count, sizeof *f->fns)) {
        f->oom = 1;
        return;
    }
    f->fns[f->res.function_count++] = *fn;
}

static void finding_vadd(hp_audit_report *r, hp_audit_finding **arr, size_t *count, size_t *cap, int *oom,
                         const char *id, const char *member, const char *function, int has_address,
                         uint32_t address, const char *fmt, va_list ap)
{
    const hp_audit_check *c = hp_audit_check_find(id);
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (!hpa_reserve((void **)arr, cap, *count, sizeof **arr)) {
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
    x->message = hpa_strdup(&r->arena, buf);
    if (!x->message) {
        *oom = 1;
        return;
    }
    (*count)++;
}

void hpa_finding(hpa_file *f, const char *id, const char *function, int has_address, uint32_t address,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    finding_vadd(f->report, &f->finds, &f->res.finding_count, &f->find_cap, &f->oom, id, f->member, function,
                 has_address, address, fmt, ap);
    va_end(ap);
}

static void run_finding(hp_audit_report *r, int *oom, const char *id, const char *fmt, ...) HPA_PRINTF(4, 5);
static void run_finding(hp_audit_report *r, int *oom, const char *id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    finding_vadd(r, &r->findings, &r->finding_count, &r->finding_cap, oom, id, NULL, NULL, 0, 0, fmt, ap);
    va_end(ap);
}

/* Sniff the format and dispatch to the reader. */
static hp_status audit_bytes(hpa_file *f, hp_pe_span s, const char **detail)
{
    if (s.size == 0) {
        *detail = "empty file";
        return HP_ERR_FORMAT;
    }
    if (s.size >= 2 && s.data[0] == 'M' && s.data[1] == 'Z') {
        f->res.kind = HP_AUDIT_KIND_IMAGE;
        return hpa_image(f, s, detail);
    }
    if (s.size >= 8 && memcmp(s.data, "!<arch>\n", 8) == 0) {
        f->res.kind = HP_AUDIT_KIND_ARCHIVE;
        return hpa_archive(f, s, detail);
    }
    if (s.size >= 8 && memcmp(s.data, "!<thin>\n", 8) == 0) {
        *detail = "thin archives are not supported (their members live in other files)";
        return HP_ERR_UNSUPPORTED;
    }
    if (hpa_is_coff_object(s) || hpa_is_short_import(s)) {
        f->res.kind = HP_AUDIT_KIND_OBJECT;
        return hpa_object(f, s, detail);
    }
    *detail = "unrecognised format (not a pe image, coff object or archive)";
    return HP_ERR_FORMAT;
}

hp_status hp_audit_buffer(hp_audit_report *r, const char *path, const void *data, size_t size)
{
    if (!r || !path || (!data && size) || r->finished)
        return HP_ERR_ARGUMENT;
    if (!hpa_reserve((void **)&r->files, &r->file_cap, r->file_count, sizeof *r->files))
        return HP_ERR_NO_MEMORY;
    hpa_file f;
    memset(&f, 0, sizeof f);
    f.report = r;
    f.res.path = hpa_strdup(&r->arena, path);
    if (!f.res.path)
        return HP_ERR_NO_MEMORY;
    hp_pe_span s = {data, size};
    const char *detail = "";
    hp_status st = audit_bytes(&f, s, &detail);
    if (f.oom)
        st = HP_ERR_NO_MEMORY;
    f.res.status = st;
    if (st != HP_OK) {
        /* a file that cannot be read reports nothing but why */
        free(f.fns);
        free(f.finds);
        f.fns = NULL;
        f.finds = NULL;
        f.res.function_count = f.res.finding_count = 0;
        memset(&f.res.coverage, 0, sizeof f.res.coverage);
        f.res.error = st == HP_ERR_NO_MEMORY ? "out of memory" : hpa_strdup(&r->arena, detail);
        if (!f.res.error)
            f.res.error = "out of memory";
    }
    f.res.functions = f.fns;
    f.res.findings = f.finds;
    r->files[r->file_count++] = f.res;
    return st;
}

hp_status hp_audit_file(hp_audit_report *r, const char *path);
/* hp_audit_file() lives in input.c: it maps the file and calls hp_audit_buffer(). */

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

double hp_audit_coverage_percent(uint32_t patchable, uint32_t checked)
{
    return checked ? 100.0 * (double)patchable / (double)checked : 100.0;
}

/* Which findings an exception may suppress: those about a named function. */
static void apply_allow(hp_audit_report *r, hp_audit_finding *x)
{
    if (x->level != HP_AUDIT_ERROR || !x->function)
        return;
    for (size_t k = 0; k < r->allow_count; k++) {
        if (hpa_glob_match(r->allow[k].pattern, x->function)) {
            r->allow[k].used = 1;
            if (!x->justification)
                x->justification = r->allow[k].reason;
        }
    }
}

hp_status hp_audit_report_finish(hp_audit_report *r)
{
    if (!r || r->finished)
        return HP_ERR_ARGUMENT;
    int oom = 0;
    hp_audit_coverage *t = &r->total;
    for (size_t i = 0; i < r->file_count; i++) {
        hp_audit_file_result *fr = &r->files[i];
        for (size_t k = 0; k < fr->finding_count; k++)
            apply_allow(r, (hp_audit_finding *)&fr->findings[k]);
        t->exports_checked += fr->coverage.exports_checked;
        t->exports_patchable += fr->coverage.exports_patchable;
        t->all_checked += fr->coverage.all_checked;
        t->all_patchable += fr->coverage.all_patchable;
        t->forwarders += fr->coverage.forwarders;
        t->data_exports += fr->coverage.data_exports;
        t->import_members += fr->coverage.import_members;
    }
    for (size_t k = 0; k < r->allow_count; k++)
        if (!r->allow[k].used)
            run_finding(r, &oom, "HP3001", "exception '%s' (line %zu) matches no finding", r->allow[k].pattern,
                        r->allow[k].line);
    if (r->opt.min_coverage > 0) {
        uint32_t p = r->opt.all ? t->all_patchable : t->exports_patchable;
        uint32_t c = r->opt.all ? t->all_checked : t->exports_checked;
        double pct = hp_audit_coverage_percent(p, c);
        if (pct < r->opt.min_coverage)
            run_finding(r, &oom, "HP3002", "coverage %.1f%% (%u/%u) is below the minimum of %.1f%%", pct, p, c,
                        r->opt.min_coverage);
    }
    r->finished = 1;
    return oom ? HP_ERR_NO_MEMORY : HP_OK;
}

hp_audit_outcome hp_audit_report_outcome(const hp_audit_report *r)
{
    if (!r)
        return HP_AUDIT_UNREADABLE;
    int findings = 0;
    for (size_t i = 0; i < r->file_count; i++) {
        if (r->files[i].status != HP_OK)
            return HP_AUDIT_UNREADABLE;
        for (size_t k = 0; k < r->files[i].finding_count; k++)
            if (r->files[i].findings[k].level == HP_AUDIT_ERROR && !r->files[i].findings[k].justification)
                findings = 1;
    }
    for (size_t k = 0; k < r->finding_count; k++)
        if (r->findings[k].level == HP_AUDIT_ERROR && !r->findings[k].justification)
            findings = 1;
    return findings ? HP_AUDIT_FINDINGS : HP_AUDIT_PASS;
}
