/*
 * hp_audit.h — the audit library behind `hotpatch-audit` (and the post-link
 * pass's verification): reads PE images, COFF objects and archives, runs the
 * site rules of hotpatch.h over every function it can find, and collects the
 * verdicts in one report model that the formatters (text, json, sarif) render.
 *
 * The library never prints, exits or reads the environment: it returns
 * statuses and writes reports only through the caller's writer callback.
 *
 * Ownership: a report is created by hp_audit_report_create() and freed by
 * hp_audit_report_destroy(); everything reachable from it (file results,
 * functions, findings, strings) is owned by it and valid until it is
 * destroyed. Input files are mapped read-only for the duration of one
 * hp_audit_file() call and never modified, loaded or executed.
 *
 * Thread-safety: different reports may be used from different threads; one
 * report must not be used by two threads at once.
 */
#ifndef HP_AUDIT_H
#define HP_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HP_AUDIT_VERSION_STRING HP_VERSION_STRING

/* ------------------------------------------------------------------------- */
/* Checks                                                                     */
/* ------------------------------------------------------------------------- */

/** How a finding weighs. Only errors make the run fail (exit status 1). */
typedef enum hp_audit_level {
    HP_AUDIT_ERROR = 0, /**< a function that cannot be hotpatched, or a policy failure */
    HP_AUDIT_NOTE = 1,  /**< information: listed, not counted (forwarders, data exports, ...) */
} hp_audit_level;

/** One check: a stable ID, a short name and a one-line explanation. */
typedef struct hp_audit_check {
    const char *id;          /**< stable identifier, e.g. "HP1001"; never reused */
    const char *name;        /**< short kebab-case name, e.g. "padding-short" */
    const char *text;        /**< one-line explanation */
    hp_audit_level level;    /**< weight of its findings */
} hp_audit_check;

/** Every check, in ID order; *out_count receives the number of entries. */
const hp_audit_check *hp_audit_checks(size_t *out_count);
/** The check with this ID, or NULL. */
const hp_audit_check *hp_audit_check_find(const char *id);

/* ------------------------------------------------------------------------- */
/* Options                                                                    */
/* ------------------------------------------------------------------------- */

/** What to audit and how. Zero-initialised options are the defaults. */
typedef struct hp_audit_options {
    uint32_t pad;          /**< required padding; 0 = machine default (5 on x86, 6 on x64) */
    int all;               /**< nonzero: every known function (table, .pdata, symbols), not only exports */
    double min_coverage;   /**< percent; coverage below it is a finding (HP3002); 0 = no minimum */
} hp_audit_options;

/* ------------------------------------------------------------------------- */
/* The report model                                                           */
/* ------------------------------------------------------------------------- */

/** What an input file turned out to be. */
typedef enum hp_audit_kind {
    HP_AUDIT_KIND_UNKNOWN = 0,
    HP_AUDIT_KIND_IMAGE = 1,   /**< PE32 / PE32+ image (.dll, .exe, .sys) */
    HP_AUDIT_KIND_OBJECT = 2,  /**< COFF object (.obj, .o) */
    HP_AUDIT_KIND_ARCHIVE = 3, /**< archive (.lib, .a) */
} hp_audit_kind;

/** Where the audit learnt about a function (bit set). */
#define HP_AUDIT_FROM_EXPORT 0x01u /**< the export table */
#define HP_AUDIT_FROM_TABLE  0x02u /**< the plugin's .hotp table */
#define HP_AUDIT_FROM_PDATA  0x04u /**< .pdata (x64 unwind data) */
#define HP_AUDIT_FROM_SYMBOL 0x08u /**< the COFF symbol table */

/** Verdict on one function. */
typedef struct hp_audit_function {
    const char *name;       /**< export or symbol name; "sub_<rva>" when none is known */
    const char *member;     /**< archive member the function comes from, or NULL */
    uint32_t address;       /**< RVA (images) or offset in its section (objects) */
    const char *section;    /**< section name */
    unsigned from;          /**< HP_AUDIT_FROM_* */
    hp_site site;           /**< what the site rules found */
    int patchable;          /**< 1 when the site rules accept it */
    int link_time;          /**< 1 (objects) when the padding is decided at link time */
    const char *check_id;   /**< the failing check's ID, or NULL when patchable */
} hp_audit_function;

/** Something the audit reports. */
typedef struct hp_audit_finding {
    const char *check_id;      /**< hp_audit_check.id */
    hp_audit_level level;      /**< copied from the check */
    const char *function;      /**< function or export name concerned, or NULL */
    const char *member;        /**< archive member, or NULL */
    uint32_t address;          /**< RVA / section offset concerned (0 when none) */
    int has_address;           /**< 1 when `address` is meaningful */
    const char *message;       /**< one-line, specific message */
    const char *justification; /**< non-NULL when an --allow exception suppresses it: the reason given */
} hp_audit_finding;

/** Counts of one file (or of the whole run). */
typedef struct hp_audit_coverage {
    uint32_t exports_checked;   /**< exported code functions checked */
    uint32_t exports_patchable; /**< of those, patchable */
    uint32_t all_checked;       /**< --all: every known function checked */
    uint32_t all_patchable;     /**< --all: of those, patchable */
    uint32_t forwarders;        /**< forwarded exports (listed, not counted) */
    uint32_t data_exports;      /**< data exports (listed, not counted) */
    uint32_t import_members;    /**< archives: import members skipped */
} hp_audit_coverage;

/** The result for one input file. */
typedef struct hp_audit_file_result {
    const char *path;              /**< as given */
    hp_audit_kind kind;            /**< what it is (UNKNOWN when unreadable) */
    const char *machine;           /**< "x86", "x64", "arm64", ... or NULL */
    hp_status status;              /**< HP_OK, or why the file could not be read */
    const char *error;             /**< message when status != HP_OK */
    uint32_t time_date_stamp;      /**< images: TimeDateStamp */
    uint32_t size_of_image;        /**< images: SizeOfImage */
    uint32_t checksum;             /**< images: CheckSum */
    int has_table;                 /**< images: a .hotp section is present */
    const hp_audit_function *functions; /**< verdicts, in address order per member */
    size_t function_count;
    const hp_audit_finding *findings;   /**< findings of this file */
    size_t finding_count;
    hp_audit_coverage coverage;
} hp_audit_file_result;

/** Opaque collection of file results. */
typedef struct hp_audit_report hp_audit_report;

/** Create an empty report. @return HP_OK, HP_ERR_ARGUMENT, HP_ERR_NO_MEMORY. */
hp_status hp_audit_report_create(const hp_audit_options *options, hp_audit_report **out_report);
/** Free a report and everything it owns; NULL is a no-op. */
void hp_audit_report_destroy(hp_audit_report *report);

/**
 * Map `path` read-only, audit it and add its result to the report.
 * A file that cannot be read is still added, with its status and message.
 * @return HP_OK; the file's status (HP_ERR_IO, HP_ERR_FORMAT, HP_ERR_UNSUPPORTED) when it could not be
 *         read; HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_audit_file(hp_audit_report *report, const char *path);

/**
 * Audit bytes already in memory (file layout) under the name `path`.
 * @return as hp_audit_file().
 */
hp_status hp_audit_buffer(hp_audit_report *report, const char *path, const void *data, size_t size);

/**
 * Load reviewed exceptions: one per line, `PATTERN REASON...` where PATTERN is a function name or a
 * glob (`*`, `?`) and REASON is required free text; `#` starts a comment line. Call before
 * hp_audit_report_finish(). An exception that matches nothing becomes finding HP3001.
 * @param out_detail receives a static description of a syntax error (may be NULL);
 * @param out_line receives its 1-based line number (may be NULL).
 * @return HP_OK; HP_ERR_IO; HP_ERR_FORMAT (a line without a reason); HP_ERR_NO_MEMORY.
 */
hp_status hp_audit_allow_load(hp_audit_report *report, const char *path, const char **out_detail,
                              size_t *out_line);
/** As hp_audit_allow_load(), from text in memory. */
hp_status hp_audit_allow_parse(hp_audit_report *report, const char *text, size_t len, const char **out_detail,
                               size_t *out_line);

/**
 * Apply exceptions, add the run-level findings (unused exceptions, coverage
 * below minimum) and compute totals. Call once, after the last file.
 * @return HP_OK, HP_ERR_NO_MEMORY.
 */
hp_status hp_audit_report_finish(hp_audit_report *report);

/** File results in the order added. */
const hp_audit_file_result *hp_audit_report_files(const hp_audit_report *report, size_t *out_count);
/** Run-level findings (unused exceptions, coverage), valid after hp_audit_report_finish(). */
const hp_audit_finding *hp_audit_report_findings(const hp_audit_report *report, size_t *out_count);
/** Totals over all files, valid after hp_audit_report_finish(). */
hp_audit_coverage hp_audit_report_total(const hp_audit_report *report);
/** The options the report was created with. */
const hp_audit_options *hp_audit_report_options(const hp_audit_report *report);

/** Outcome of a finished run. */
typedef enum hp_audit_outcome {
    HP_AUDIT_PASS = 0,       /**< every checked function patchable, no unsuppressed error */
    HP_AUDIT_FINDINGS = 1,   /**< at least one unsuppressed error finding */
    HP_AUDIT_UNREADABLE = 2, /**< at least one input could not be read */
} hp_audit_outcome;

/** Outcome of a finished report (UNREADABLE wins over FINDINGS). */
hp_audit_outcome hp_audit_report_outcome(const hp_audit_report *report);

/** Coverage in percent (100 when nothing was checked). */
double hp_audit_coverage_percent(uint32_t patchable, uint32_t checked);

/* ------------------------------------------------------------------------- */
/* Formatters                                                                 */
/* ------------------------------------------------------------------------- */

/** Output formats. */
typedef enum hp_audit_format {
    HP_AUDIT_FORMAT_TEXT = 0,  /**< a table for people, ending with coverage */
    HP_AUDIT_FORMAT_JSON = 1,  /**< documented, stable (audit/README.md) */
    HP_AUDIT_FORMAT_SARIF = 2, /**< SARIF 2.1.0 for code scanning */
} hp_audit_format;

/** Parse "text", "json", "sarif". @return HP_OK or HP_ERR_ARGUMENT. */
hp_status hp_audit_format_parse(const char *name, hp_audit_format *out_format);

/** Sink for rendered output: write `len` bytes; return 0 on success, nonzero on failure. */
typedef int (*hp_audit_write_fn)(void *ctx, const char *data, size_t len);

/** hp_audit_render() flags. */
#define HP_AUDIT_RENDER_COLOR 0x01u /**< text: ANSI colours (the caller decides: only on a TTY) */
#define HP_AUDIT_RENDER_QUIET 0x02u /**< text: findings and coverage only, no per-function table */

/**
 * Render a finished report.
 * @return HP_OK; HP_ERR_IO when the writer failed; HP_ERR_ARGUMENT.
 */
hp_status hp_audit_render(const hp_audit_report *report, hp_audit_format format, unsigned flags,
                          hp_audit_write_fn write, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* HP_AUDIT_H */
