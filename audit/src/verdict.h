/*
 * verdict.h — layer 5 of the audit library (audit/README.md, "Source layout"):
 * the per-function verdict, the one place where the audit asks the site rules.
 *
 * May call: builder, checks.
 */
#ifndef HPA_VERDICT_H
#define HPA_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#include "builder.h"

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
    int anonymous;        /* the name is made up ("sub_<rva>"): nothing names the function */
} hpa_site_request;

/**
 * Run the site rules on one function, record its verdict (and a finding
 * when it fails). @return 1 when patchable.
 */
int hpa_check_site(hpa_file *f, const hpa_site_request *req);

#endif /* HPA_VERDICT_H */
