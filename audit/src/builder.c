/*
 * builder.c — layer 4 of the audit library (audit/README.md, "Source layout"):
 * one file's result being built, and handed to the report when it ends.
 *
 * May call: report, arena.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "builder.h"
#include "hp_tools.h"
#include "report.h"

hp_status hpa_file_begin(hpa_file *f, hp_audit_report *r, const char *path)
{
    memset(f, 0, sizeof *f);
    if (!hpa_report_reserve_file(r))
        return HP_ERR_NO_MEMORY;
    f->report = r;
    f->res.path = hpa_strdup(&r->arena, path);
    return f->res.path ? HP_OK : HP_ERR_NO_MEMORY;
}

hp_status hpa_file_end(hpa_file *f, hp_status st, const char *detail)
{
    if (f->oom)
        st = HP_ERR_NO_MEMORY;
    f->res.status = st;
    if (st != HP_OK) {
        /* a file that cannot be read reports nothing but why */
        free(f->fns);
        free(f->finds);
        f->fns = NULL;
        f->finds = NULL;
        f->res.function_count = f->res.finding_count = 0;
        memset(&f->res.coverage, 0, sizeof f->res.coverage);
        f->res.error = st == HP_ERR_NO_MEMORY ? "out of memory" : hpa_strdup(&f->report->arena, detail);
        if (!f->res.error)
            f->res.error = "out of memory";
    }
    f->res.functions = f->fns;
    f->res.findings = f->finds;
    if (hpa_report_add_file(f->report, &f->res) != HP_OK) {
        /* not after hpa_file_begin(), which made room */
        free(f->fns);
        free(f->finds);
        return HP_ERR_NO_MEMORY;
    }
    return st;
}

void hpa_add_function(hpa_file *f, const hp_audit_function *fn)
{
    f->last = *fn;
    f->recorded++;
    const hp_audit_options *o = &f->report->opt;
    if (o->on_function) {
        o->on_function(o->on_function_ctx, fn);
        return;
    }
    if (!hp_vec_reserve((void **)&f->fns, &f->fn_cap, f->res.function_count, sizeof *f->fns)) {
        f->oom = 1;
        return;
    }
    f->fns[f->res.function_count++] = *fn;
}

void hpa_finding(hpa_file *f, const char *id, const char *function, int has_address, uint32_t address,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hpa_finding_vadd(f->report, &f->finds, &f->res.finding_count, &f->find_cap, &f->oom, id, f->member, function,
                     has_address, address, fmt, ap);
    va_end(ap);
}

void hpa_finding_at(hpa_file *f, const char *id, const char *function, const char *file, uint32_t line,
                    uint32_t column, const char *fmt, ...)
{
    size_t before = f->res.finding_count;
    const char *copy = hpa_strdup(&f->report->arena, file);
    if (file && !copy) {
        f->oom = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    hpa_finding_vadd(f->report, &f->finds, &f->res.finding_count, &f->find_cap, &f->oom, id, f->member, function, 0,
                     0, fmt, ap);
    va_end(ap);
    if (f->res.finding_count > before) {
        hp_audit_finding *x = &f->finds[before];
        x->file = copy;
        x->line = line;
        x->column = column;
    }
}
