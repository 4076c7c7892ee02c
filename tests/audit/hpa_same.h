/*
 * hpa_same.h — two audit verdicts compared field by field (the padding between a record's fields is
 * not part of it). The audit's unit tests and its fuzz target use it to check that the verdicts handed
 * over (hp_audit_options.on_function) are the ones a report keeps. Header-only.
 */
#ifndef HPA_SAME_H
#define HPA_SAME_H

#include <string.h>

#include "hp_audit.h"

static inline int hpa_same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static inline int hpa_same_site(const hp_site *a, const hp_site *b)
{
    return a->reason == b->reason && a->machine == b->machine && a->pad_required == b->pad_required &&
           a->pad_found == b->pad_found && a->site_offset == b->site_offset && a->entry_len == b->entry_len &&
           a->flags == b->flags && a->jump_target == b->jump_target && a->entry_bytes[0] == b->entry_bytes[0] &&
           a->entry_bytes[1] == b->entry_bytes[1];
}

static inline int hpa_same_function(const hp_audit_function *a, const hp_audit_function *b)
{
    return hpa_same_str(a->name, b->name) && hpa_same_str(a->member, b->member) && a->address == b->address &&
           hpa_same_str(a->section, b->section) && a->from == b->from && hpa_same_site(&a->site, &b->site) &&
           a->patchable == b->patchable && a->link_time == b->link_time && hpa_same_str(a->check_id, b->check_id) &&
           a->extent == b->extent && a->anonymous == b->anonymous;
}

#endif /* HPA_SAME_H */
