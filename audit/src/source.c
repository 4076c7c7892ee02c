/*
 * source.c — layer 15, the top of the audit library's source audit
 * (audit/README.md, "Source layout"): hp_audit_source(). Reads the database
 * and the .def files, parses the units on worker threads (one libclang index
 * each; the units are handed out one at a time, so a slow unit does not hold
 * up the others), then judges the facts of every unit together — a name is
 * exported when any unit or .def says so, a header's function is one finding
 * however many units include it — and adds the findings, sorted by place, as
 * one file result of the report.
 *
 * May call: source_tu, source_db, builder, report, arena (and pthreads, hp_tools).
 */
#define _XOPEN_SOURCE 700 /* realpath, mkdtemp */
#include <clang-c/Index.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "builder.h"
#include "hp_tools.h"
#include "report.h"
#include "source_db.h"
#include "source_tu.h"

/* ------------------------------------------------------------------------- */
/* Parsing the units in parallel                                              */
/* ------------------------------------------------------------------------- */

typedef struct run {
    const hpa_src_db *db;
    const size_t *todo;        /* indices of the units to audit, in database order */
    size_t todo_count;
    const hpa_src_names *defs;
    const char *const *shown;  /* each unit's file as reported (for progress) */
    pthread_mutex_t lock;      /* next, done, and the progress callback */
    size_t next, done;
    hp_audit_progress_fn progress;
    void *progress_ctx;
} run;

typedef struct worker {
    run *run;
    CXIndex index;
    hpa_src_scan scan;
    pthread_t thread;
    int started;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    run *r = w->run;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        size_t k = r->next < r->todo_count ? r->next++ : SIZE_MAX;
        pthread_mutex_unlock(&r->lock);
        if (k == SIZE_MAX)
            break;
        hpa_src_scan_unit(w->index, &r->db->units[r->todo[k]], (uint32_t)k, r->defs, &w->scan);
        pthread_mutex_lock(&r->lock);
        r->done++;
        if (r->progress)
            r->progress(r->progress_ctx, r->done, r->todo_count, r->shown[k]);
        pthread_mutex_unlock(&r->lock);
    }
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* Paths                                                                      */
/* ------------------------------------------------------------------------- */

/* A path as reported: relative to the base directory when under it. */
static const char *shown_path(const char *base, const char *path)
{
    size_t n = base ? strlen(base) : 0;
    while (n > 1 && base[n - 1] == '/')
        n--;
    if (n && strncmp(path, base, n) == 0 && path[n] == '/' && path[n + 1])
        return path + n + 1;
    return path;
}

/* Is the unit's file one the caller asked for (hp_audit_source_options.units)? */
static int unit_selected(const hp_audit_source_options *o, const char *file)
{
    if (!o->unit_count)
        return 1;
    size_t len = strlen(file);
    for (size_t i = 0; i < o->unit_count; i++) {
        const char *p = o->units[i];
        if (!p || !*p)
            continue;
        if (p[0] == '/') {
            if (hp_glob_match(p, file, len))
                return 1;
            continue;
        }
        while (p[0] == '.' && p[1] == '/')
            p += 2;
        /* a relative pattern names the last components: try it at every component boundary */
        for (size_t k = len; k-- > 0;)
            if (file[k] == '/' && hp_glob_match(p, file + k + 1, len - k - 1))
                return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Judging the facts                                                          */
/* ------------------------------------------------------------------------- */

/* A finding before it goes into the report: sorted by place, duplicates dropped. */
typedef struct pending {
    const char *id;
    const char *function;
    const char *file;
    uint32_t line, column;
    const char *message;
} pending;

typedef struct judge {
    hp_audit_report *report;
    hpa_arena arena;           /* the messages */
    pending *out;
    size_t count, cap;
    const hpa_src_names *defs;
    hpa_src_names exported;    /* .def names and every name declared dllexport */
    const char *const *unit_paths; /* each unit's file (real path when it exists) */
    const char *base;
    int oom;
} judge;

static void add(judge *j, const char *id, const char *function, const char *path, uint32_t line, uint32_t column,
                const char *fmt, ...) HPA_PRINTF(7, 8);
static void add(judge *j, const char *id, const char *function, const char *path, uint32_t line, uint32_t column,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pending p = {id, function, path ? shown_path(j->base, path) : NULL, line, column, hpa_vprintf(&j->arena, fmt, ap)};
    va_end(ap);
    if (!p.message || !HP_VEC_PUSH(j->out, j->count, j->cap, p))
        j->oom = 1;
}

static int cmp_str0(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

/* Facts in the order that groups one declaration's facts from every unit (and makes the run's result
   independent of which thread parsed what). */
static int cmp_fact(const void *pa, const void *pb)
{
    const hpa_src_fact *a = *(const hpa_src_fact *const *)pa, *b = *(const hpa_src_fact *const *)pb;
    int c;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->kind == HPA_SRC_VARIABLE && (c = cmp_str0(a->name, b->name)) != 0)
        return c; /* one exported variable is one finding, wherever it is declared */
    if ((c = cmp_str0(a->path, b->path)) != 0)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->column != b->column)
        return a->column < b->column ? -1 : 1;
    if ((c = cmp_str0(a->name, b->name)) != 0)
        return c;
    if (a->unit != b->unit)
        return a->unit < b->unit ? -1 : 1;
    return 0;
}

static int same_decl(const hpa_src_fact *a, const hpa_src_fact *b)
{
    return a->kind == b->kind && cmp_str0(a->name, b->name) == 0 && cmp_str0(a->path, b->path) == 0 &&
           a->line == b->line && a->column == b->column;
}

static int exported(const judge *j, const char *name)
{
    return hpa_src_names_has(&j->exported, name);
}

/* How a name is exported, for messages. */
static const char *export_how(const judge *j, const char *name, unsigned flags)
{
    if (flags & HPA_SRC_F_DLLEXPORT)
        return "dllexport";
    return hpa_src_names_has(j->defs, name) ? "listed in a .def" : "declared dllexport in another unit";
}

/* One function, as every unit that saw it saw it: `f` the first fact, `flags` all units' flags, `units`
   how many units saw it. */
static void judge_function(judge *j, const hpa_src_fact *f, unsigned flags, size_t units)
{
    const char *n = f->name;
    if (hpa_report_excluded(j->report, n))
        return; /* --exclude: neither checked nor reported */
    if (flags & HPA_SRC_F_EXCLUDED) {
        add(j, "HP4007", n, f->path, f->line, f->column,
            "excluded-by-plugin: '%s' matches the plugin's exclude='%s' in its compile command: it is built without "
            "padding and cannot be hotpatched",
            n, f->detail ? f->detail : "");
        return;
    }
    if (flags & HPA_SRC_F_SCOPE_SKIP) {
        add(j, "HP4008", n, f->path, f->line, f->column,
            "scope-skips-export: '%s' is exported by a .def but not declared dllexport, and its unit is compiled "
            "with the plugin's scope=exported, which instruments dllexport functions only: it is left without "
            "padding",
            n);
        return;
    }
    if (flags & HPA_SRC_F_NAKED)
        add(j, "HP4003", n, f->path, f->line, f->column,
            "naked-function: '%s' is naked: no padding or 2-byte entry can be given to a function without a "
            "compiler-made prologue, and the plugin leaves it as written",
            n);
    if (flags & HPA_SRC_F_ASM_ENTRY)
        add(j, "HP4004", n, f->path, f->line, f->column,
            "asm-at-entry: the body of '%s' begins with inline assembly and its unit puts no 2-byte NOP before it "
            "(no plugin, or entry=widen): the first instruction is the assembly's, which LLVM cannot widen and a "
            "trampoline may not relocate",
            n);
    if (flags & HPA_SRC_F_ENTRY_CONFLICT) {
        uint32_t before = f->pfe_offset, at = f->pfe_count - f->pfe_offset;
        add(j, "HP4006", n, f->path, f->line, f->column,
            "entry-attribute-conflict: patchable_function_entry(%u, %u) on '%s' gives %u byte(s) before the entry "
            "and %u at it; hotpatching needs %u and 2, and the plugin leaves the function as written",
            f->pfe_count, f->pfe_offset, n, before, at, f->pad);
    }
    if ((flags & HPA_SRC_F_INLINE) && exported(j, n)) {
        const char *how = export_how(j, n, flags);
        if (flags & HPA_SRC_F_HEADER)
            add(j, "HP4001", n, f->path, f->line, f->column,
                "exported-inline-in-header: '%s' is exported (%s) and defined %s in a header (included by %zu "
                "translation unit%s here): a caller that includes the header may inline this body, and a patch of "
                "the export does not reach it",
                n, how, (flags & HPA_SRC_F_ALWAYS_INLINE) ? "always_inline" : "inline", units, units == 1 ? "" : "s");
        else if (!(flags & HPA_SRC_F_NOINLINE))
            add(j, "HP4002", n, f->path, f->line, f->column,
                "exported-inline: '%s' is exported (%s) and declared %s where it is defined: callers in its unit may "
                "inline it, and a patch of the export does not reach them (noinline, or the plugin's "
                "noinline-exported, keeps the calls)",
                n, how, (flags & HPA_SRC_F_ALWAYS_INLINE) ? "always_inline" : "inline");
    }
}

static void judge_facts(judge *j, hpa_src_fact **facts, size_t n, uint32_t *unparsed)
{
    for (size_t i = 0; i < n;) {
        const hpa_src_fact *f = facts[i];
        size_t k = i + 1;
        unsigned flags = f->flags;
        size_t units = 1;
        if (f->kind == HPA_SRC_VARIABLE) {
            /* one finding per exported variable: at its definition when one was seen */
            const hpa_src_fact *at = f;
            for (; k < n && facts[k]->kind == HPA_SRC_VARIABLE && cmp_str0(facts[k]->name, f->name) == 0; k++) {
                flags |= facts[k]->flags;
                if (!(at->flags & HPA_SRC_F_DEFINITION) && (facts[k]->flags & HPA_SRC_F_DEFINITION))
                    at = facts[k];
            }
            if (!hpa_report_excluded(j->report, f->name))
                add(j, "HP4005", f->name, at->path, at->line, at->column,
                    "exported-variable: '%s' is an exported variable (%s): data cannot be hotpatched, so a fix that "
                    "changes it needs a restart (export a function that returns it instead)",
                    f->name, export_how(j, f->name, flags));
        } else if (f->kind == HPA_SRC_FUNCTION) {
            for (; k < n && same_decl(facts[k], f); k++) {
                flags |= facts[k]->flags;
                if (facts[k]->unit != facts[k - 1]->unit)
                    units++;
            }
            judge_function(j, f, flags, units);
        } else if (f->kind == HPA_SRC_UNPARSED) {
            (*unparsed)++;
            if (f->path && f->line)
                add(j, "HP4010", NULL, j->unit_paths[f->unit], 0, 0, "parse error: %s:%u:%u: %s",
                    shown_path(j->base, f->path), f->line, f->column, f->detail);
            else
                add(j, "HP4010", NULL, j->unit_paths[f->unit], 0, 0, "parse error: %s", f->detail);
        } else if (f->kind == HPA_SRC_SKIPPED) {
            add(j, "HP4009", NULL, j->unit_paths[f->unit], 0, 0,
                "unit-not-instrumented: %s: the plugin leaves every function of this unit as written", f->detail);
        }
        i = k;
    }
}

static int cmp_pending(const void *pa, const void *pb)
{
    const pending *a = pa, *b = pb;
    int c;
    if ((c = cmp_str0(a->file, b->file)) != 0)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->column != b->column)
        return a->column < b->column ? -1 : 1;
    if ((c = strcmp(a->id, b->id)) != 0)
        return c;
    if ((c = cmp_str0(a->function, b->function)) != 0)
        return c;
    return strcmp(a->message, b->message);
}

/* ------------------------------------------------------------------------- */
/* hp_audit_source                                                            */
/* ------------------------------------------------------------------------- */

/* A file that could not be read: a result of its own, saying why. */
static hp_status unreadable(hp_audit_report *r, const char *path, hp_status st, const char *why)
{
    hpa_file f;
    if (hpa_file_begin(&f, r, path) != HP_OK)
        return HP_ERR_NO_MEMORY;
    return hpa_file_end(&f, st, why);
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* Parse every unit of `todo` with `jobs` threads; the scans are left in `workers`. */
static hp_status parse_all(run *r, worker *workers, unsigned jobs)
{
    hp_status st = HP_OK;
    for (unsigned i = 0; i < jobs; i++) {
        workers[i].run = r;
        /* created here, one by one: libclang's first index sets up its process-wide state */
        workers[i].index = clang_createIndex(0, 0);
        if (!workers[i].index)
            st = HP_ERR_NO_MEMORY;
    }
    if (st == HP_OK && jobs == 1) {
        work(&workers[0]);
    } else if (st == HP_OK) {
        for (unsigned i = 0; i < jobs; i++)
            workers[i].started = pthread_create(&workers[i].thread, NULL, work, &workers[i]) == 0;
        if (!workers[0].started)
            work(&workers[0]); /* no thread at all: the calling thread does the work */
        for (unsigned i = 0; i < jobs; i++)
            if (workers[i].started)
                pthread_join(workers[i].thread, NULL);
    }
    for (unsigned i = 0; i < jobs; i++) {
        if (workers[i].index)
            clang_disposeIndex(workers[i].index);
        if (workers[i].scan.oom)
            st = HP_ERR_NO_MEMORY;
    }
    return st;
}

hp_status hp_audit_source(hp_audit_report *r, const char *database, const hp_audit_source_options *options)
{
    if (!r || !database || r->finished)
        return HP_ERR_ARGUMENT;
    hp_audit_source_options o;
    memset(&o, 0, sizeof o);
    if (options)
        o = *options;
    hp_status result = HP_OK, db_status = HP_OK; /* the run's, and the database's file result */
    unsigned jobs = 0;
    char why[1024];

    /* the .def files: an unreadable one is an input error of its own, the database is still audited */
    hpa_src_names defs;
    memset(&defs, 0, sizeof defs);
    for (size_t i = 0; i < o.def_count; i++) {
        hp_status st = o.defs[i] ? hpa_src_def_load(&defs, o.defs[i], why, sizeof why) : HP_ERR_ARGUMENT;
        if (st == HP_ERR_NO_MEMORY) {
            hpa_src_names_free(&defs);
            return st;
        }
        if (st != HP_OK) {
            const char *w = why;
            size_t pl = strlen(o.defs[i]);
            if (strncmp(why, o.defs[i], pl) == 0 && why[pl] == ':')
                w = why + pl + 2; /* the result is named after the file already */
            if (unreadable(r, o.defs[i], st, w) == HP_ERR_NO_MEMORY) {
                hpa_src_names_free(&defs);
                return HP_ERR_NO_MEMORY;
            }
            result = st;
        }
    }
    hpa_src_names_sort(&defs);

    hpa_src_db db;
    hp_status st = hpa_src_db_load(&db, database, why, sizeof why);
    if (st != HP_OK) {
        hpa_src_names_free(&defs);
        return unreadable(r, database, st, why);
    }

    hpa_file f;
    size_t *todo = calloc(db.count ? db.count : 1, sizeof *todo);
    const char **unit_paths = calloc(db.count ? db.count : 1, sizeof *unit_paths);
    const char **shown = calloc(db.count ? db.count : 1, sizeof *shown);
    hpa_arena paths = {0};
    worker *workers = NULL;
    judge j;
    memset(&j, 0, sizeof j);
    hpa_src_fact **all = NULL;
    if (hpa_file_begin(&f, r, database) != HP_OK || !todo || !unit_paths || !shown) {
        db_status = HP_ERR_NO_MEMORY;
        goto out;
    }
    f.res.kind = HP_AUDIT_KIND_SOURCE;

    /* the units asked for, named by their real path (what libclang names their files by) */
    size_t count = 0;
    for (size_t i = 0; i < db.count; i++) {
        char real[PATH_MAX];
        const char *file = realpath(db.units[i].file, real) ? real : db.units[i].file;
        if (!unit_selected(&o, file) && !unit_selected(&o, db.units[i].file))
            continue;
        const char *p = hpa_strdup(&paths, file);
        if (!p) {
            db_status = HP_ERR_NO_MEMORY;
            goto out;
        }
        todo[count] = i;
        unit_paths[count] = p;
        shown[count] = shown_path(o.base_dir, p);
        count++;
    }

    jobs = o.jobs ? o.jobs : online_cpus();
    if (jobs > count)
        jobs = count ? (unsigned)count : 1;
    workers = calloc(jobs, sizeof *workers);
    if (!workers) {
        jobs = 0;
        db_status = HP_ERR_NO_MEMORY;
        goto out;
    }
    run rn;
    memset(&rn, 0, sizeof rn);
    rn.db = &db;
    rn.todo = todo;
    rn.todo_count = count;
    rn.defs = &defs;
    rn.shown = shown;
    rn.progress = o.progress;
    rn.progress_ctx = o.progress_ctx;
    pthread_mutex_init(&rn.lock, NULL);
    st = count ? parse_all(&rn, workers, jobs) : HP_OK;
    pthread_mutex_destroy(&rn.lock);
    if (st != HP_OK) {
        db_status = st;
        goto out;
    }

    /* every unit's facts, in one order */
    size_t total = 0;
    for (unsigned i = 0; i < jobs; i++) {
        total += workers[i].scan.count;
        f.res.coverage.functions_defined += workers[i].scan.functions_defined;
    }
    all = malloc((total ? total : 1) * sizeof *all);
    if (!all) {
        db_status = HP_ERR_NO_MEMORY;
        goto out;
    }
    size_t n = 0;
    for (unsigned i = 0; i < jobs; i++)
        for (size_t k = 0; k < workers[i].scan.count; k++)
            all[n++] = &workers[i].scan.facts[k];
    if (n)
        qsort(all, n, sizeof *all, cmp_fact);

    j.report = r;
    j.defs = &defs;
    j.unit_paths = unit_paths;
    j.base = o.base_dir;
    for (size_t i = 0; i < defs.count; i++)
        if (!hpa_src_names_add(&j.exported, defs.names[i], strlen(defs.names[i])))
            j.oom = 1;
    for (size_t i = 0; i < n; i++)
        if ((all[i]->kind == HPA_SRC_EXPORT || (all[i]->flags & HPA_SRC_F_DLLEXPORT)) && all[i]->name &&
            !hpa_src_names_add(&j.exported, all[i]->name, strlen(all[i]->name)))
            j.oom = 1;
    hpa_src_names_sort(&j.exported);
    uint32_t unparsed = 0;
    judge_facts(&j, all, n, &unparsed);
    if (j.oom) {
        db_status = HP_ERR_NO_MEMORY;
        goto out;
    }
    if (j.count)
        qsort(j.out, j.count, sizeof *j.out, cmp_pending);
    for (size_t i = 0; i < j.count; i++) {
        const pending *p = &j.out[i];
        if (i && cmp_pending(p, &j.out[i - 1]) == 0)
            continue; /* the same finding from another command of the same file */
        const char *fn = p->function ? hpa_strdup(&r->arena, p->function) : NULL;
        if (p->function && !fn) {
            f.oom = 1;
            break;
        }
        hpa_finding_at(&f, p->id, fn, p->file, p->line, p->column, "%s", p->message);
    }
    f.res.coverage.units = (uint32_t)count;
    f.res.coverage.units_unparsed = unparsed;

out:
    if (f.report && hpa_file_end(&f, db_status, "out of memory") == HP_ERR_NO_MEMORY)
        result = HP_ERR_NO_MEMORY;
    free(all);
    free(j.out);
    hpa_arena_free(&j.arena);
    hpa_src_names_free(&j.exported);
    for (unsigned i = 0; i < jobs; i++)
        hpa_src_scan_free(&workers[i].scan);
    free(workers);
    free(todo);
    free(unit_paths);
    free(shown);
    hpa_arena_free(&paths);
    hpa_src_db_free(&db);
    hpa_src_names_free(&defs);
    return result;
}
