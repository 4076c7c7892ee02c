/*
 * hpa_same.h — two audit verdicts compared field by field (the padding between a record's fields is
 * not part of it), and the verdicts an audit hands over collected in order. The audit's unit tests and
 * its fuzz target use it to check that the verdicts handed over (hp_audit_options.on_function) are the
 * ones a report keeps. Header-only.
 */
#ifndef HPA_SAME_H
#define HPA_SAME_H

#include <stdlib.h>
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

/* The verdicts an audit hands over, in order (hpa_collect as hp_audit_options.on_function, a
   zero-initialised hpa_collected as its context; the caller frees `v`). Out of memory aborts. */
typedef struct hpa_collected {
    hp_audit_function *v;
    size_t n, cap;
} hpa_collected;

static inline void hpa_collect(void *ctx, const hp_audit_function *fn)
{
    hpa_collected *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        if (!c->v)
            abort();
    }
    c->v[c->n++] = *fn;
}

#endif /* HPA_SAME_H */
