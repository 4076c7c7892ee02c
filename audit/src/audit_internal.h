/*
 * audit_internal.h — what the audit's modules share and do not install:
 * the report's layout, the per-file builder, and the readers' entry points.
 */
#ifndef HP_AUDIT_INTERNAL_H
#define HP_AUDIT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "hotpatch_pe.h"
#include "hp_audit.h"

#if defined(__GNUC__)
#define HPA_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HPA_PRINTF(f, a)
#endif

/* ---- strings owned by a report: one arena, freed with it ---------------- */

typedef struct hpa_arena_block hpa_arena_block;
typedef struct hpa_arena {
    hpa_arena_block *head;
} hpa_arena;

/** Copy `len` bytes of `s` plus a NUL into the arena; NULL when out of memory. */
char *hpa_strndup(hpa_arena *a, const char *s, size_t len);
char *hpa_strdup(hpa_arena *a, const char *s);
char *hpa_printf(hpa_arena *a, const char *fmt, ...) HPA_PRINTF(2, 3);
void hpa_arena_free(hpa_arena *a);

/** Grow `*array` (elements of `elem` bytes) so that one more fits; 0 when out of memory. */
int hpa_reserve(void **array, size_t *cap, size_t count, size_t elem);

/* ---- reviewed exceptions (allow.c) -------------------------------------- */

typedef struct hpa_allow {
    const char *pattern; /* name or glob */
    const char *reason;  /* required */
    size_t line;         /* 1-based */
    int used;            /* matched at least one finding */
} hpa_allow;

/** Shell-style match of `name` against `pattern` (`*`, `?`). */
int hpa_glob_match(const char *pattern, const char *name);

/* ---- the report ---------------------------------------------------------- */

struct hp_audit_report {
    hp_audit_options opt;
    hpa_arena arena;
    hp_audit_file_result *files;
    size_t file_count, file_cap;
    hp_audit_finding *findings; /* run-level */
    size_t finding_count, finding_cap;
    hpa_allow *allow;
    size_t allow_count, allow_cap;
    hp_audit_coverage total;
    int finished;
};

/** Builder for one file's result: functions and findings accumulate here. */
typedef struct hpa_file {
    hp_audit_report *report;
    hp_audit_file_result res;
    hp_audit_function *fns;
    size_t fn_cap;
    hp_audit_finding *finds;
    size_t find_cap;
    const char *member; /* archive member being read (arena string) or NULL */
    int oom;            /* set when an allocation failed: the file then ends with HP_ERR_NO_MEMORY */
} hpa_file;

/** Add a finding for check `id` (must exist). `function` may be NULL. */
void hpa_finding(hpa_file *f, const char *id, const char *function, int has_address, uint32_t address,
                 const char *fmt, ...) HPA_PRINTF(6, 7);

/** Where the bytes of one function come from, for hpa_check_site(). */
typedef struct hpa_site_request {
    const char *name;     /* function name (arena string) */
    const char *section;  /* section name (arena string) */
    uint32_t address;     /* RVA or section offset */
    unsigned from;        /* HP_AUDIT_FROM_* */
    const uint8_t *entry; /* the entry byte */
    size_t before, after; /* readable bytes around it (inside its section) */
    size_t body_size;     /* extent for the entry+1 scan (0 = unknown) */
    hp_machine machine;
    int link_time;        /* objects: padding is added by the linker (checked with synthetic filler) */
} hpa_site_request;

/**
 * Run the site rules on one function, record its verdict (and a finding
 * when it fails). @return 1 when patchable.
 */
int hpa_check_site(hpa_file *f, const hpa_site_request *req);

/** Record an already-decided verdict again under another name (aliases). */
void hpa_add_function(hpa_file *f, const hp_audit_function *fn);

/** The check ID for a failing site reason. */
const char *hpa_reason_check(hp_site_reason reason);

/* ---- readers -------------------------------------------------------------- */

/** Audit a PE image. Returns the file's status; `*detail` is a message (static or arena). */
hp_status hpa_image(hpa_file *f, hp_pe_span bytes, const char **detail);
/** Audit one COFF object (also used for archive members). */
hp_status hpa_object(hpa_file *f, hp_pe_span bytes, const char **detail);
/** Audit an archive; members are audited as objects. */
hp_status hpa_archive(hpa_file *f, hp_pe_span bytes, const char **detail);

/** 1 when `bytes` look like a COFF object of a machine we name (x86, x64, ARM...). */
int hpa_is_coff_object(hp_pe_span bytes);
/** 1 when `bytes` are a short import object (Sig1 0, Sig2 0xFFFF). */
int hpa_is_short_import(hp_pe_span bytes);

/** One decoded COFF symbol. */
typedef struct hpa_coff_symbol {
    const char *name; /* points into the file, NUL-terminated copy in `buf` for short names */
    size_t name_len;
    uint32_t value;
    int32_t section;  /* 1-based; 0 undefined, negative special */
    uint16_t type;
    uint8_t storage_class;
    uint8_t aux_count;
    char buf[9];
} hpa_coff_symbol;

typedef int (*hpa_symbol_fn)(void *ctx, const hpa_coff_symbol *sym);

/**
 * Walk a COFF symbol table at `offset` with `count` 18-byte records (aux
 * records skipped), names resolved through the string table that follows.
 * @return HP_OK; HP_ERR_FORMAT with `*detail`.
 */
hp_status hpa_coff_symbols(hp_pe_span file, uint32_t offset, uint32_t count, hpa_symbol_fn fn, void *ctx,
                           const char **detail);

/** 1 when a COFF symbol is a function definition. */
int hpa_coff_is_function(const hpa_coff_symbol *s);

/* ---- output (format.c) ---------------------------------------------------- */

typedef struct hpa_out {
    hp_audit_write_fn write;
    void *ctx;
    int failed; /* the writer failed once: everything after is dropped */
} hpa_out;

void hpa_put(hpa_out *o, const char *s);
void hpa_outf(hpa_out *o, const char *fmt, ...) HPA_PRINTF(2, 3);
/** A JSON string literal with quotes, or `null` for NULL. */
void hpa_json_str(hpa_out *o, const char *s);
/** "image", "object", "archive", "unknown". */
const char *hpa_kind_str(hp_audit_kind k);
/** "ok" or the status name. */
const char *hpa_status_name(hp_status st);

void hpa_render_text(const hp_audit_report *r, unsigned flags, hpa_out *o);
void hpa_render_json(const hp_audit_report *r, hpa_out *o);
void hpa_render_sarif(const hp_audit_report *r, hpa_out *o);

#endif /* HP_AUDIT_INTERNAL_H */
