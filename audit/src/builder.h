/*
 * builder.h — layer 4 of the audit library (audit/README.md, "Source layout"):
 * one file's result while it is being built — its functions and findings
 * accumulate in an hpa_file, which is then added to the report whole.
 *
 * May call: report, arena.
 */
#ifndef HPA_BUILDER_H
#define HPA_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "report.h"

/** Builder for one file's result: functions and findings accumulate here. */
typedef struct hpa_file {
    hp_audit_report *report;
    hp_audit_file_result res;
    hp_audit_function *fns;
    size_t fn_cap;
    hp_audit_finding *finds;
    size_t find_cap;
    const char *member; /* archive member being read (arena string) or NULL */
    hp_audit_function last; /* the last function recorded (kept or handed over): aliases repeat it */
    size_t recorded;        /* functions recorded so far, kept or handed over */
    int oom;            /* set when an allocation failed: the file then ends with HP_ERR_NO_MEMORY */
} hpa_file;

/**
 * Start the result of the file named `path` (room for it is made in the report first).
 * @return HP_OK, HP_ERR_NO_MEMORY.
 */
hp_status hpa_file_begin(hpa_file *f, hp_audit_report *r, const char *path);

/**
 * End the file with its reader's status `st` (HP_ERR_NO_MEMORY when an allocation failed on the
 * way) and add it to the report. A file that could not be read keeps nothing but why: `detail`.
 * @return the file's status.
 */
hp_status hpa_file_end(hpa_file *f, hp_status st, const char *detail);

/** Add a finding for check `id` (must exist). `function` may be NULL. */
void hpa_finding(hpa_file *f, const char *id, const char *function, int has_address, uint32_t address,
                 const char *fmt, ...) HPA_PRINTF(6, 7);

/**
 * As hpa_finding(), at a place in a source file (the source audit): `file` (copied into the report's
 * arena) and 1-based `line`/`column`, both 0 when the finding is about the whole file.
 */
void hpa_finding_at(hpa_file *f, const char *id, const char *function, const char *file, uint32_t line,
                    uint32_t column, const char *fmt, ...) HPA_PRINTF(7, 8);

/** Record a verdict (hpa_check_site() does; readers repeat one under another name for aliases). */
void hpa_add_function(hpa_file *f, const hp_audit_function *fn);

#endif /* HPA_BUILDER_H */
