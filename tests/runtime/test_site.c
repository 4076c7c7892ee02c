/*
 * test_site.c — the site rules (runtime/src/site.c) on hand-written bytes.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "hotpatch.h"
#include "site_cases.h"

ParameterizedTestParameters(site, table)
{
    return cr_make_param_array(hpt_site_case, (void *)hpt_site_cases, hpt_site_case_count);
}

ParameterizedTest(const hpt_site_case *c, site, table)
{
    hp_site s;
    const char *why;
    int ok = hpt_site_case_run(c, &s, &why);
    cr_assert(ok, "%s: %s differs: reason=%s pad_found=%u entry_len=%u flags=%#x site_offset=%u", c->name, why,
              hp_site_reason_str(s.reason), s.pad_found, s.entry_len, s.flags, s.site_offset);
}

Test(site, every_reason_is_exercised)
{
    /* The table must cover every reason the rules can give. */
    for (int r = HP_SITE_OK; r <= HP_SITE_BAD_MACHINE; r++) {
        unsigned n = 0;
        for (unsigned i = 0; i < hpt_site_case_count; i++)
            n += hpt_site_cases[i].expect == (hp_site_reason)r;
        cr_expect(n > 0, "no case for reason %s", hp_site_reason_str((hp_site_reason)r));
    }
}

Test(site, reason_strings_are_distinct)
{
    for (int a = HP_SITE_OK; a <= HP_SITE_BAD_MACHINE; a++) {
        cr_expect_neq(strcmp(hp_site_reason_str((hp_site_reason)a), "unknown"), 0);
        cr_expect_neq(strcmp(hp_site_reason_text((hp_site_reason)a), "unknown reason"), 0);
        for (int b = a + 1; b <= HP_SITE_BAD_MACHINE; b++)
            cr_expect_neq(strcmp(hp_site_reason_str((hp_site_reason)a), hp_site_reason_str((hp_site_reason)b)), 0);
    }
    cr_expect_str_eq(hp_site_reason_str((hp_site_reason)999), "unknown");
}

Test(site, null_input_and_null_output)
{
    const uint8_t bytes[] = {0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0x66, 0x90};
    hp_site_input in = {bytes + 6, 6, 2, 0x1006, HP_MACHINE_X64, 0, 0};
    cr_expect_eq(hp_site_analyze(NULL, NULL), HP_SITE_TRUNCATED);
    cr_expect_eq(hp_site_analyze(&in, NULL), HP_SITE_OK);
    in.entry = NULL;
    in.before = 0;
    in.after = 0;
    cr_expect_eq(hp_site_analyze(&in, NULL), HP_SITE_TRUNCATED);
}

Test(site, reads_stay_in_bounds)
{
    /* Every prefix/suffix cut of every case: the rules must never read outside the window
       (ASan catches it: each window is copied into an exactly sized heap buffer). */
    for (unsigned i = 0; i < hpt_site_case_count; i++) {
        const hpt_site_case *c = &hpt_site_cases[i];
        for (unsigned lo = 0; lo <= c->entry; lo++) {
            for (unsigned hi = c->entry; hi <= c->len; hi++) {
                size_t n = hi - lo;
                uint8_t *buf = malloc(n ? n : 1);
                memcpy(buf, c->bytes + lo, n);
                hp_site_input in = {buf + (c->entry - lo), c->entry - lo, hi - c->entry, c->address,
                                    c->machine, c->pad, c->body <= hi - c->entry ? c->body : 0};
                hp_site s;
                hp_site_analyze(&in, &s);
                free(buf);
            }
        }
    }
}

Test(site, default_padding_by_machine)
{
    const uint8_t bytes[] = {0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0x66, 0x90};
    hp_site s;
    hp_site_input in = {bytes + 6, 6, 2, 0x1006, HP_MACHINE_X64, 0, 0};
    hp_site_analyze(&in, &s);
    cr_expect_eq(s.pad_required, HP_DEFAULT_PAD_X64);
    in.machine = HP_MACHINE_X86;
    hp_site_analyze(&in, &s);
    cr_expect_eq(s.pad_required, HP_DEFAULT_PAD_X86);
    in.pad = 1000;
    hp_site_analyze(&in, &s);
    cr_expect_eq(s.pad_required, HP_MAX_PAD);
}

Test(site, insn_length)
{
    const uint8_t push_rbp[] = {0x55};
    const uint8_t mov_rbp_rsp[] = {0x48, 0x89, 0xE5};
    const uint8_t movabs[] = {0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8};
    const uint8_t rex_only[] = {0x48};
    cr_expect_eq(hp_insn_length(HP_MACHINE_X64, push_rbp, sizeof push_rbp), 1);
    cr_expect_eq(hp_insn_length(HP_MACHINE_X64, mov_rbp_rsp, sizeof mov_rbp_rsp), 3);
    cr_expect_eq(hp_insn_length(HP_MACHINE_X64, movabs, sizeof movabs), 10);
    /* on x86, 0x48 is dec eax: one byte */
    cr_expect_eq(hp_insn_length(HP_MACHINE_X86, rex_only, sizeof rex_only), 1);
    cr_expect_eq(hp_insn_length(HP_MACHINE_X64, rex_only, sizeof rex_only), 0);
    cr_expect_eq(hp_insn_length(HP_MACHINE_X64, NULL, 4), 0);
    cr_expect_eq(hp_insn_length(HP_MACHINE_UNKNOWN, push_rbp, 1), 0);
}

Test(status, names)
{
    cr_expect_str_eq(hp_status_str(HP_OK), "HP_OK");
    cr_expect_str_eq(hp_status_str(HP_ERR_PROTECT), "HP_ERR_PROTECT");
    cr_expect_str_eq(hp_status_str((hp_status)-1), "HP_STATUS_UNKNOWN");
}
