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

Test(site, requested_padding_below_the_long_jump_is_raised)
{
    /* 3 filler bytes are not enough for any long jump: a request for 3 is judged as the minimum */
    const uint8_t bytes[] = {0x55, 0x55, 0xC3, 0xCC, 0xCC, 0xCC, 0x66, 0x90};
    hp_site s;
    hp_site_input in = {bytes + 6, 6, 2, 0x1006, HP_MACHINE_X64, 3, 0};
    cr_expect_eq(hp_site_analyze(&in, &s), HP_SITE_PADDING_NOT_FILLER);
    cr_expect_eq(s.pad_required, 6u);
    in.machine = HP_MACHINE_X86;
    cr_expect_eq(hp_site_analyze(&in, &s), HP_SITE_PADDING_NOT_FILLER);
    cr_expect_eq(s.pad_required, 5u);
}

Test(site_policy, pad)
{
    cr_expect_eq(hp_site_pad(HP_MACHINE_X86, 0), 5u, "0 = default: E9 rel32");
    cr_expect_eq(hp_site_pad(HP_MACHINE_X64, 0), 6u, "0 = default: FF 25 disp32");
    cr_expect_eq(hp_site_pad(HP_MACHINE_X64, 5), 6u, "below the x64 jump: raised");
    cr_expect_eq(hp_site_pad(HP_MACHINE_X86, 5), 5u);
    cr_expect_eq(hp_site_pad(HP_MACHINE_X64, 14), 14u);
    cr_expect_eq(hp_site_pad(HP_MACHINE_X86, 65), 64u, "clamped to what the rules look at");
    cr_expect_eq(hp_site_pad(HP_MACHINE_UNKNOWN, 6), 0u);
}

Test(site_policy, filler)
{
    int n = 0;
    for (unsigned b = 0; b < 256; b++)
        n += hp_site_is_filler((uint8_t)b) != 0;
    cr_expect_eq(n, 3, "exactly int3, zero and nop");
    cr_expect(hp_site_is_filler(0xCC) && hp_site_is_filler(0x00) && hp_site_is_filler(0x90));
    cr_expect(hp_site_is_filler(HP_FILLER_PREFERRED));
}

/* What each reason means where: written from the contexts' definitions in hotpatch.h. */
Test(site_policy, verdicts)
{
    const hp_site_context ctx[] = {HP_SITE_CONTEXT_IMAGE, HP_SITE_CONTEXT_OBJECT, HP_SITE_CONTEXT_LIVE};
    for (size_t c = 0; c < 3; c++) {
        cr_expect_eq(hp_site_verdict(ctx[c], HP_SITE_OK), HP_OK);
        for (int r = HP_SITE_PADDING_SHORT; r <= HP_SITE_BAD_MACHINE; r++) {
            hp_status want = HP_ERR_NOT_PATCHABLE;
            if (ctx[c] == HP_SITE_CONTEXT_LIVE && (r == HP_SITE_PATCHED || r == HP_SITE_REDIRECTED))
                want = HP_ERR_REDIRECTED; /* a live process tells a jump at the entry apart */
            cr_expect_eq(hp_site_verdict(ctx[c], (hp_site_reason)r), want, "context %d reason %s", (int)ctx[c],
                         hp_site_reason_str((hp_site_reason)r));
        }
        cr_expect_eq(hp_site_verdict(ctx[c], (hp_site_reason)99), HP_ERR_NOT_PATCHABLE);
    }
    /* on disk, a long jump before an intact entry is as likely the end of the function before */
    cr_expect_eq(hp_site_verdict(HP_SITE_CONTEXT_IMAGE, HP_SITE_PREVIOUSLY_PATCHED), HP_ERR_NOT_PATCHABLE);
    cr_expect_eq(hp_site_verdict((hp_site_context)7, HP_SITE_OK), HP_ERR_NOT_PATCHABLE);
}

Test(site_policy, one_vocabulary)
{
    cr_expect_str_eq(hp_site_reason_str(HP_SITE_TRUNCATED), "truncated");
    cr_expect_str_eq(hp_site_reason_str(HP_SITE_PATCHED), "patched");
    cr_expect_str_eq(hp_site_reason_str(HP_SITE_BRANCH_TO_ENTRY_1), "branch-to-entry-1");
    cr_expect_str_eq(hp_site_reason_str(HP_SITE_PREVIOUSLY_PATCHED), HP_SITE_ID_PREVIOUSLY_PATCHED);
    cr_expect_str_eq(hp_site_reason_str((hp_site_reason)99), "unknown");
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
    cr_expect_str_eq(hp_status_str(HP_ERR_USAGE), "HP_ERR_USAGE");
    cr_expect_str_eq(hp_status_str(HP_ERR_TOOL), "HP_ERR_TOOL");
    cr_expect_str_eq(hp_status_str((hp_status)-1), "HP_STATUS_UNKNOWN");
}

/* GNU as pads i386 code after ret/jmp with register no-ops (no multi-byte NOP there): dead bytes that no
   code falls into, filler like the multi-byte NOPs after an unconditional transfer. */
Test(site, gas_i386_dead_padding_after_ret_is_filler)
{
    /* ret; lea esi,[esi+eiz*1+0] (8D B4 26 00000000); then mov edi,edi (8B FF) at the entry */
    const uint8_t lea7[] = {0xC3, 0x8D, 0xB4, 0x26, 0x00, 0x00, 0x00, 0x00, 0x8B, 0xFF, 0x55};
    hp_site s;
    hp_site_input in = {lea7 + 8, 8, 3, 0x1008, HP_MACHINE_X86, 0, 0};
    cr_expect_eq(hp_site_analyze(&in, &s), HP_SITE_OK, "%s", hp_site_reason_str(s.reason));
    cr_expect(s.flags & HP_SITE_F_PADDING_NOPS);
    /* ret; lea esi,[esi+0] (8D 76 00); mov esi,esi (89 F6): 5 bytes of padding */
    const uint8_t mixed[] = {0xC3, 0x8D, 0x76, 0x00, 0x89, 0xF6, 0x8B, 0xFF, 0x55};
    hp_site_input in2 = {mixed + 6, 6, 3, 0x1006, HP_MACHINE_X86, 0, 0};
    cr_expect_eq(hp_site_analyze(&in2, &s), HP_SITE_OK, "%s", hp_site_reason_str(s.reason));
    /* the same bytes after a plain instruction (not a transfer) are live code: refused */
    const uint8_t live[] = {0x40, 0x8D, 0x76, 0x00, 0x89, 0xF6, 0x8B, 0xFF, 0x55};
    hp_site_input in3 = {live + 6, 6, 3, 0x1006, HP_MACHINE_X86, 0, 0};
    cr_expect_eq(hp_site_analyze(&in3, &s), HP_SITE_PADDING_NOT_FILLER);
    /* a displacement that is not zero changes esi: not filler */
    const uint8_t disp[] = {0xC3, 0x8D, 0x76, 0x04, 0x89, 0xF6, 0x8B, 0xFF, 0x55};
    hp_site_input in4 = {disp + 6, 6, 3, 0x1006, HP_MACHINE_X86, 0, 0};
    cr_expect_eq(hp_site_analyze(&in4, &s), HP_SITE_PADDING_NOT_FILLER);
    /* mov esi,edi is not a no-op */
    const uint8_t movd[] = {0xC3, 0x8D, 0x76, 0x00, 0x89, 0xFE, 0x8B, 0xFF, 0x55};
    hp_site_input in5 = {movd + 6, 6, 3, 0x1006, HP_MACHINE_X86, 0, 0};
    cr_expect_eq(hp_site_analyze(&in5, &s), HP_SITE_PADDING_NOT_FILLER);
    /* x64 code is padded with real NOPs by every assembler: the rule is x86's */
    hp_site_input in6 = {mixed + 6, 6, 3, 0x1006, HP_MACHINE_X64, 5, 0};
    cr_expect_neq(hp_site_analyze(&in6, &s), HP_SITE_OK);
}

/* Every encoding of a relative branch to entry+1 is found, whatever its form (each body is 66 90, two
   NOPs, then the branch back to entry+1 at offset 4); aimed one byte further, it is no finding. */
Test(site, branch_to_entry_1_in_every_encoding)
{
    static const struct {
        const char *what;
        hp_machine m;
        uint8_t code[12];
        size_t len;
        size_t disp; /* offset of the displacement's low byte */
    } cases[] = {
        /* target 1 = offset of the instruction + its length + displacement */
        {"jne rel8", HP_MACHINE_X64, {0x66, 0x90, 0x90, 0x90, 0x75, 0xFB, 0xC3}, 7, 5},
        {"jmp rel8", HP_MACHINE_X64, {0x66, 0x90, 0x90, 0x90, 0xEB, 0xFB, 0xC3}, 7, 5},
        {"jne rel32", HP_MACHINE_X64, {0x66, 0x90, 0x90, 0x90, 0x0F, 0x85, 0xF7, 0xFF, 0xFF, 0xFF, 0xC3}, 11, 6},
        {"call rel32", HP_MACHINE_X64, {0x66, 0x90, 0x90, 0x90, 0xE8, 0xF8, 0xFF, 0xFF, 0xFF, 0xC3}, 10, 5},
        {"jmp rel32", HP_MACHINE_X86, {0x66, 0x90, 0x90, 0x90, 0xE9, 0xF8, 0xFF, 0xFF, 0xFF, 0xC3}, 10, 5},
        /* a branch-hint prefix before the opcode: the target counts from the whole instruction */
        {"ds jne rel8", HP_MACHINE_X64, {0x66, 0x90, 0x90, 0x90, 0x3E, 0x75, 0xFA, 0xC3}, 8, 6},
        {"loop rel8", HP_MACHINE_X86, {0x66, 0x90, 0x90, 0x90, 0xE2, 0xFB, 0xC3}, 7, 5},
        /* 32-bit code, operand-size prefix: jmp rel16 */
        {"jmp rel16", HP_MACHINE_X86, {0x66, 0x90, 0x90, 0x90, 0x66, 0xE9, 0xF9, 0xFF, 0xC3}, 9, 6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[6 + 12];
        memset(buf, 0xCC, 6);
        memcpy(buf + 6, cases[i].code, cases[i].len);
        hp_site s;
        hp_site_input in = {buf + 6, 6, cases[i].len, 0x1006, cases[i].m, 0, cases[i].len};
        cr_expect_eq(hp_site_analyze(&in, &s), HP_SITE_BRANCH_TO_ENTRY_1, "%s: %s", cases[i].what,
                     hp_site_reason_str(s.reason));
        buf[6 + cases[i].disp]++; /* now it aims at entry+2, where the original continues */
        cr_expect_eq(hp_site_analyze(&in, &s), HP_SITE_OK, "%s, one further: %s", cases[i].what,
                     hp_site_reason_str(s.reason));
    }
}

/* The same branches at every offset of a long body (one-byte NOPs around them, so that every offset
   is an instruction): the raw-byte scan that decides whether the body is decoded at all looks at
   sixteen bytes at a time, leaves out rel8 opcodes where they cannot reach back to the entry and 0F
   not followed by 80..8F, and must never leave out a branch that reaches entry+1 — at the start of a
   block, inside it, across two, in its last bytes and in the body's last bytes. */
Test(site, branch_to_entry_1_at_every_offset_of_a_long_body)
{
    static const struct {
        const char *what;
        hp_machine m;
        uint8_t op[3];
        size_t oplen;  /* opcode bytes (prefix included) */
        size_t dsize;  /* displacement bytes */
    } forms[] = {
        {"jne rel8", HP_MACHINE_X64, {0x75}, 1, 1},
        {"jmp rel8", HP_MACHINE_X64, {0xEB}, 1, 1},
        {"loop rel8", HP_MACHINE_X86, {0xE2}, 1, 1},
        {"jrcxz rel8", HP_MACHINE_X64, {0xE3}, 1, 1},
        {"jne rel32", HP_MACHINE_X64, {0x0F, 0x85}, 2, 4},
        {"jo rel32", HP_MACHINE_X86, {0x0F, 0x80}, 2, 4},
        {"call rel32", HP_MACHINE_X64, {0xE8}, 1, 4},
        {"jmp rel32", HP_MACHINE_X64, {0xE9}, 1, 4},
        {"jmp rel16", HP_MACHINE_X86, {0x66, 0xE9}, 2, 2},
        {"jg rel16", HP_MACHINE_X86, {0x66, 0x0F, 0x8F}, 3, 2},
    };
    enum { PAD = 6, BODY = 300 };
    uint8_t buf[PAD + BODY];
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
        size_t len = forms[f].oplen + forms[f].dsize;
        for (size_t at = 2; at + len <= BODY; at++) {
            long disp = 1 - (long)(at + len); /* to entry+1 */
            if (forms[f].dsize == 1 && disp < -128)
                break; /* a rel8 cannot reach back that far */
            memset(buf, 0xCC, PAD);
            memset(buf + PAD, 0x90, BODY);
            buf[PAD] = 0x66; /* the plugin's 2-byte entry */
            buf[PAD + 1] = 0x90;
            for (int aim = 0; aim < 2; aim++) {
                long d = disp + aim; /* aim 1: entry+2, where the entry instruction ends: no finding */
                memcpy(buf + PAD + at, forms[f].op, forms[f].oplen);
                for (size_t k = 0; k < forms[f].dsize; k++)
                    buf[PAD + at + forms[f].oplen + k] = (uint8_t)((unsigned long)d >> (8 * k));
                hp_site_input in = {buf + PAD, PAD, BODY, 0x1000 + PAD, forms[f].m, 0, BODY};
                hp_site s;
                hp_site_reason want = aim ? HP_SITE_OK : HP_SITE_BRANCH_TO_ENTRY_1;
                cr_assert_eq(hp_site_analyze(&in, &s), want, "%s at offset %zu of %d, aimed at entry+%d: %s",
                             forms[f].what, at, BODY, 1 + aim, hp_site_reason_str(s.reason));
            }
        }
    }
}

/* The padding count (read eight bytes at a time) against a byte-by-byte count: every filler byte
   (0xCC, 0x90, 0x00) and other bytes at every distance from the entry, windows of every length up to
   past HP_MAX_PAD. */
Test(site, padding_count_matches_a_byte_count)
{
    static const uint8_t kinds[] = {0xCC, 0x90, 0x00, 0xC3, 0x8F, 0x31, 0x10, 0xCD};
    uint8_t buf[96 + 2];
    uint32_t x = 2463534242u;
    for (unsigned round = 0; round < 20000; round++) {
        size_t before = round % 97; /* 0 .. 96 readable bytes before the entry */
        for (size_t i = 0; i < before; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            /* mostly filler, so that long runs are common; the one break at a varying distance */
            buf[i] = (x % 16 == 0) ? kinds[3 + (x >> 8) % 5] : kinds[(x >> 8) % 3];
        }
        if (round % 3 == 0 && before) /* one non-filler byte at every distance in turn */
            buf[before - 1 - (round / 3) % before] = 0xC3;
        buf[before] = 0x66; /* mov edi, edi's x64 twin: a 2-byte entry */
        buf[before + 1] = 0x90;
        size_t naive = 0;
        while (naive < before && naive < HP_MAX_PAD &&
               (buf[before - 1 - naive] == 0xCC || buf[before - 1 - naive] == 0x90 || buf[before - 1 - naive] == 0x00))
            naive++;
        hp_site_input in = {buf + before, before, 2, 0x1000, HP_MACHINE_X64, 0, 0};
        hp_site s;
        hp_site_analyze(&in, &s);
        cr_assert_eq(s.pad_found, naive, "round %u: %zu bytes before the entry, %u found, %zu counted", round,
                     before, s.pad_found, naive);
        cr_assert_eq(s.reason == HP_SITE_OK, naive >= 6, "round %u: %s", round, hp_site_reason_str(s.reason));
    }
}
