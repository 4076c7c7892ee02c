/*
 * hpa_test.h — helpers shared by the audit suites: fixture paths, one-file
 * audits through the library, lookups in a report, and running the CLI.
 */
#ifndef HPA_TEST_H
#define HPA_TEST_H

#include <stddef.h>

#include "hp_audit.h"
#include "hpt.h"

/** Path of a built fixture (one of 8 static buffers, reused in turn). */
const char *hpa_fixture(const char *name);

/** Audit one file with `opt` (NULL = defaults), finish; the report is returned and must be destroyed. */
hp_audit_report *hpa_audit(const char *path, const hp_audit_options *opt);

/** The first result for `name` in file 0, or NULL. */
const hp_audit_function *hpa_function(const hp_audit_report *r, const char *name);

/** Number of findings of file 0 with this check ID (and function name, when not NULL). */
size_t hpa_count_findings(const hp_audit_report *r, const char *id, const char *function);

/** Run hotpatch-audit with args (NULL-terminated, without argv[0]). */
int hpa_cli(const char *const args[], hpt_proc *out);

/** Write `size` bytes to a new file in `dir` named `name`; returns its path (static buffer). */
const char *hpa_write(const char *dir, const char *name, const void *data, size_t size);

#endif /* HPA_TEST_H */
