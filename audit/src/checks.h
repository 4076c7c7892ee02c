/*
 * checks.h — layer 2 of the audit library (audit/README.md, "Source layout"):
 * the table of checks. The table itself is public (hp_audit_checks(),
 * hp_audit_check_find() in hp_audit.h); this adds what only the audit uses.
 *
 * May call: nothing of the audit (it names the site rules' reasons, hotpatch.h).
 */
#ifndef HPA_CHECKS_H
#define HPA_CHECKS_H

#include "hp_audit.h"

/** The check ID for a failing site reason (NULL for HP_SITE_OK). */
const char *hpa_reason_check(hp_site_reason reason);

#endif /* HPA_CHECKS_H */
