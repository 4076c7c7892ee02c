/*
 * report.h — layer 3 of the audit library (audit/README.md, "Source layout"):
 * the report model behind the opaque hp_audit_report — its layout, file
 * results added to it, and the findings stored in it (per file or run-level).
 *
 * May call: arena, checks.
 */
#ifndef HPA_REPORT_H
#define HPA_REPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "attr.h"
#include "hp_audit.h"

/* Reviewed exceptions are stored here; their layout and use belong to allow.h. */
typedef struct hpa_allow hpa_allow;

struct hp_audit_report {
    hp_audit_options opt;
    hpa_arena arena;
    hp_audit_file_result *files; /* each owns (malloc) its functions and findings arrays */
    size_t file_count, file_cap;
    hp_audit_finding *findings;  /* run-level */
    size_t finding_count, finding_cap;
    hpa_allow *allow;
    size_t allow_count, allow_cap;
    hp_audit_coverage total;
    int finished;
};

/** Make room for one more file result. @return 1, or 0 when out of memory. */
int hpa_report_reserve_file(hp_audit_report *r);

/** 1 when `name` matches one of the options' exclude globs: the function is neither checked nor reported. */
int hpa_report_excluded(const hp_audit_report *r, const char *name);

/**
 * Append a file result; the report then owns its `functions` and `findings` arrays (malloc'd).
 * Cannot fail after hpa_report_reserve_file() succeeded.
 * @return HP_OK, HP_ERR_NO_MEMORY (the result is then not added and its arrays stay the caller's).
 */
hp_status hpa_report_add_file(hp_audit_report *r, const hp_audit_file_result *res);

/**
 * Append a finding of check `id` to the array `*arr` (`*count` used, `*cap` allocated), its level
 * taken from the check table and its message formatted into the report's arena. Sets `*oom` when
 * out of memory (the finding is then not added).
 */
void hpa_finding_vadd(hp_audit_report *r, hp_audit_finding **arr, size_t *count, size_t *cap, int *oom,
                      const char *id, const char *member, const char *function, int has_address, uint32_t address,
                      const char *fmt, va_list ap) HPA_PRINTF(11, 0);

/** Add a run-level finding (no file, function or address). @return 1, or 0 when out of memory. */
int hpa_report_finding(hp_audit_report *r, const char *id, const char *fmt, ...) HPA_PRINTF(3, 4);

#endif /* HPA_REPORT_H */
