/*
 * site_cases.h — hand-written byte sequences for the site rules, each with the
 * verdict its bytes mean. One table, run by the Criterion suite natively and
 * by the portable program on every other target.
 */
#ifndef HPT_SITE_CASES_H
#define HPT_SITE_CASES_H

#include <stdint.h>

#include "hotpatch.h"

#define HPT_ANY 0xFFFFFFFFu      /* not checked */
#define HPT_AT_LEAST 0x80000000u /* or'ed into expect_flags: "at least these flags" */

typedef struct hpt_site_case {
    const char *name;
    hp_machine machine;
    uint32_t pad;              /* 0: the machine's default */
    uint64_t address;          /* address of the entry (line check) */
    uint8_t bytes[48];
    uint8_t len;               /* bytes used in `bytes` */
    uint8_t entry;             /* offset of the entry in `bytes` */
    uint32_t body;             /* body_size given to the rules (0: none) */
    hp_site_reason expect;
    uint32_t expect_pad_found; /* HPT_ANY: not checked */
    uint32_t expect_entry_len; /* HPT_ANY: not checked */
    uint32_t expect_flags;     /* exact flags, HPT_ANY: not checked */
    uint32_t expect_site_offset;
} hpt_site_case;

extern const hpt_site_case hpt_site_cases[];
extern const unsigned hpt_site_case_count;

/* Run one case; returns 1 when every expectation holds, else 0 and a reason in *why. */
int hpt_site_case_run(const hpt_site_case *c, hp_site *out, const char **why);

#endif
