/*
 * hp_audit.h — the audit library behind `hotpatch-audit` (and the post-link
 * pass's verification): reads PE images, COFF objects and archives, runs the
 * site rules of hotpatch.h over every function it can find, and collects the
 * verdicts in one report model that the formatters (text, json, sarif) render.
 * The source audit (hp_audit_source(), library hp_audit_source) adds what the
 * C sources of a compilation database show, to the same report.
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
struct hp_audit_function;
struct hp_coff_symbol;
struct hp_table_record;

typedef struct hp_audit_options {
    uint32_t pad;          /**< required padding; 0 = machine default (5 on x86, 6 on x64) */
    int all;               /**< nonzero: every known function (table, .pdata, symbols), not only exports */
    double min_coverage;   /**< percent; coverage below it is a finding (HP3002), nothing checked at all too
                                (HP3003); 0 = no minimum */
    unsigned all_sources;  /**< with `all`: check only functions known from these HP_AUDIT_FROM_* sources
                                (exports always); 0 = every source. hotpatch-link asks for the table's. */
    const char *const *exclude; /**< globs (hp_glob_match: `*`, `?`, `[..]`) of functions that are neither
                                     checked nor reported, as the plugin's exclude= skips them; the strings
                                     must outlive the report (may be NULL) */
    size_t exclude_count;
    /** Optional: each function's verdict handed over as it is made, in the order the file's `functions`
        would hold them, instead of kept: the file's result then has no `functions` (function_count 0;
        coverage and findings as always). The record is valid during the call, its strings until the
        report is destroyed. hotpatch-link takes its 60,000 verdicts this way (no 120-byte record kept
        per function). Each record is final when handed over (its `from` names every source). When the
        file then ends in error (its result's `status`), what was handed over for it is void: a report
        that keeps its records keeps none for such a file. */
    void (*on_function)(void *ctx, const struct hp_audit_function *fn);
    void *on_function_ctx;
    /** Optional: each record of an image's COFF symbol table (MinGW images keep one) as the audit reads
        it, in table order, before the audit's own use of it; never for objects and archives. The record
        (runtime/tools' hp_coff_symbol) is valid during the call. hotpatch-link reads its map's units and
        symbols this way instead of walking the table a second time. */
    void (*on_symbol)(void *ctx, const struct hp_coff_symbol *sym);
    void *on_symbol_ctx;
    /** Optional: each record of an image's hotpatch table (.hotp: hotpatch_table.h's hp_table_record,
        `where` an RVA as hp_pe_table_foreach() gives it) as the audit reads it, in table order, before
        any site of the image is judged; never for objects and archives. The callback may rewrite the
        bytes before the record's entry in the buffer the audit was given (when its caller may write
        there): the sites are judged on the rewritten bytes. hotpatch-link fills the plugin's NOP
        padding with int3 this way instead of walking the table a second time. */
    void (*on_table)(void *ctx, const struct hp_table_record *rec);
    void *on_table_ctx;
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
    HP_AUDIT_KIND_SOURCE = 4,  /**< a compilation database, audited from source (hp_audit_source()) */
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
    uint32_t extent;        /**< bytes of the function's body the rules scanned from the entry (0: unknown) */
    int anonymous;          /**< 1 when no export or symbol names it (`name` is then "sub_<rva>") */
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
    const char *file;          /**< source audit: the source file concerned (relative to the base directory
                                    when under it), or NULL (binary findings) */
    uint32_t line;             /**< 1-based line in `file`; 0 when the finding is about the whole file */
    uint32_t column;           /**< 1-based column in `file`; 0 with line 0 */
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
    uint32_t units;             /**< source audit: translation units audited */
    uint32_t units_unparsed;    /**< source audit: of those, units that did not parse (HP4010) */
    uint32_t functions_defined; /**< source audit: function definitions in the units' own files */
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
 * glob (hp_glob_match: `*`, `?`, `[..]`) and REASON is required free text; `#` starts a comment line.
 * Call before hp_audit_report_finish(). An exception that matches nothing becomes finding HP3001.
 * @param msg receives a one-line message on failure, naming the file and, for a syntax error, the line
 *            ("x.txt:2: exception without a reason ..."); caller-owned, may be NULL (the tools' one
 *            message convention, hp_tools.h).
 * @return HP_OK; HP_ERR_IO (not a readable regular file); HP_ERR_FORMAT (a line without a reason);
 *         HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_audit_allow_load(hp_audit_report *report, const char *path, char *msg, size_t msg_size);
/** As hp_audit_allow_load(), from text in memory (messages name it "exceptions"). */
hp_status hp_audit_allow_parse(hp_audit_report *report, const char *text, size_t len, char *msg, size_t msg_size);

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

/** Coverage in percent (100 when nothing was checked: callers that gate on it check `checked` first, as
    hp_audit_report_finish() does with HP3003). */
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

/* ------------------------------------------------------------------------- */
/* Source audit (static library hp_audit_source: libclang)                    */
/* ------------------------------------------------------------------------- */

/**
 * Progress of a source audit: called once after each translation unit, `done` of `total` units
 * finished, `unit` the source file just finished. Called from the worker threads, never two at a
 * time.
 */
typedef void (*hp_audit_progress_fn)(void *ctx, size_t done, size_t total, const char *unit);

/** What hp_audit_source() reads besides the database. Zero-initialised options are the defaults. */
typedef struct hp_audit_source_options {
    const char *const *defs;   /**< module-definition files (.def): the names of their EXPORTS are exported
                                    (may be NULL) */
    size_t def_count;
    const char *const *units;  /**< audit only the units whose source file matches one of these: an absolute
                                    pattern is a glob (hp_glob_match) on the file's absolute path, a relative
                                    one names its last components ("src/a.c"); NULL: every unit */
    size_t unit_count;
    unsigned jobs;             /**< translation units parsed in parallel; 0 = one per online processor */
    const char *base_dir;      /**< absolute; files under it are reported relative to it (NULL: absolute) */
    hp_audit_progress_fn progress; /**< may be NULL */
    void *progress_ctx;
} hp_audit_source_options;

/**
 * Audit the C translation units of a compilation database (`compile_commands.json`, or a directory
 * holding one) from source, with libclang: the hazards a binary audit cannot see (checks HP4001–
 * HP4010, audit/README.md). Each unit is parsed with its own command (the hotpatch plugin's options
 * in it are read, not run), `options->jobs` at a time, one libclang index per thread. Adds one file
 * result of kind HP_AUDIT_KIND_SOURCE named `database`; a finding seen from several units (a header)
 * is reported once. A unit that does not parse is finding HP4010 and the run goes on. A .def that
 * cannot be read is a file result of its own.
 * Defined in the static library hp_audit_source (which links libclang), not in hp_audit.
 * @return HP_OK (also when units did not parse); HP_ERR_IO or HP_ERR_FORMAT when the database or a .def
 *         cannot be read (the file result says why); HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_audit_source(hp_audit_report *report, const char *database, const hp_audit_source_options *options);

#ifdef __cplusplus
}
#endif

#endif /* HP_AUDIT_H */
