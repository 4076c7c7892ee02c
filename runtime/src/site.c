/*
 * site.c — the site rules: the one definition of "hotpatchable".
 *
 * Pure functions over bytes. Every read stays inside
 * [entry - before, entry + after); nothing is allocated or written except the
 * caller's hp_site.
 */
#include "hp_libc.h"

#include "decode.h"
#include "hotpatch.h"

/* A bounded view of the bytes around one entry: offsets are relative to the entry. */
typedef struct view {
    const uint8_t *entry;
    size_t before;
    size_t after;
    hp_machine machine;
} view;

static size_t bytes_from(const view *v, long off)
{
    if (off < 0)
        return (size_t)-off <= v->before ? v->after + (size_t)-off : 0;
    return (size_t)off <= v->after ? v->after - (size_t)off : 0;
}

static hp_decode_result decode_at(const view *v, long off, hp_insn *insn)
{
    size_t n = bytes_from(v, off);
    if (n == 0)
        return HP_DECODE_NO_DATA;
    return hp_decode(v->machine, v->entry + off, n, insn);
}

static bool is_filler_byte(uint8_t b)
{
    return b == 0xCC || b == 0x00 || b == 0x90;
}

/* Does an unconditional control transfer end exactly at `off`? (Tried by length: x86 cannot be
   decoded backwards, but an instruction that decodes to exactly the bytes before `off` and never
   returns control to `off` is what padding after a function looks like.) */
static bool transfer_ends_at(const view *v, long off)
{
    for (long len = 1; len <= 15; len++) {
        hp_insn insn;
        if ((size_t)(-(off - len)) > v->before)
            break;
        if (decode_at(v, off - len, &insn) != HP_DECODE_OK || insn.length != len)
            continue;
        if (insn.kind == HP_INSN_RET || insn.kind == HP_INSN_TRAP || insn.kind == HP_INSN_JMP_REL ||
            insn.kind == HP_INSN_JMP_MEM || insn.kind == HP_INSN_JMP_REG)
            return true;
    }
    return false;
}

/* Do [start, 0) decode as filler bytes and NOP instructions that end exactly at the entry? */
static bool nops_reach_entry(const view *v, long start)
{
    long off = start;
    while (off < 0) {
        hp_insn insn;
        if (v->entry[off] == 0xCC || v->entry[off] == 0x90) {
            off++;
            continue;
        }
        if (decode_at(v, off, &insn) != HP_DECODE_OK || insn.kind != HP_INSN_NOP)
            return false;
        off += insn.length;
    }
    return off == 0;
}

/* Filler before the entry: the longest run found, up to HP_MAX_PAD. Sets *nops when the
   run is multi-byte NOPs after an unconditional transfer. */
static uint32_t padding_found(const view *v, uint32_t pad, bool *nops)
{
    size_t limit = v->before < HP_MAX_PAD ? v->before : HP_MAX_PAD;
    uint32_t run = 0;
    *nops = false;
    while (run < limit && is_filler_byte(v->entry[-(long)run - 1]))
        run++;
    if (run >= pad)
        return run;
    /* Multi-byte NOPs: try the farthest start first so the longest padding is reported. */
    for (long start = -(long)limit; start <= -(long)pad; start++) {
        if (nops_reach_entry(v, start) && transfer_ends_at(v, start)) {
            *nops = true;
            return (uint32_t)-start;
        }
    }
    return run;
}

/* Is the instruction at `off` (inside the padding) one of this protocol's long jumps, lying wholly
   before `end`? Forms: E9 rel32; FF 25 disp32 (x64: through a slot; x86: absolute slot address);
   x64 "FF 25 00000000" followed by an 8-byte absolute address. */
static bool is_protocol_long_jump(const view *v, long off, long end, int64_t *target, long *jump_end)
{
    hp_insn insn;
    if (off >= end || decode_at(v, off, &insn) != HP_DECODE_OK)
        return false;
    if (insn.kind == HP_INSN_JMP_REL && insn.length == 5) {
        *target = off + insn.rel_target;
        *jump_end = off + 5;
    } else if (insn.kind == HP_INSN_JMP_MEM && insn.length == 6 && v->entry[off] == 0xFF &&
               v->entry[off + 1] == 0x25) {
        *target = 0;
        /* x64 "FF 25 00000000" reads its target from the 8 bytes right after it */
        *jump_end = off + (v->machine == HP_MACHINE_X64 && insn.zinsn.raw.disp.value == 0 ? 14 : 6);
    } else {
        return false;
    }
    return *jump_end <= end;
}

/* Bytes [from, 0) are all single-byte filler. */
static bool filler_to_entry(const view *v, long from)
{
    for (long off = from; off < 0; off++)
        if (!is_filler_byte(v->entry[off]))
            return false;
    return true;
}

/* The site instruction is a jump: ours (short jump back into a long jump in the padding) or not. */
static hp_site_reason classify_redirect(const view *v, long site, const hp_insn *insn, hp_site *s)
{
    if (insn->kind == HP_INSN_JMP_REL) {
        long t = site + (long)insn->rel_target;
        int64_t final_target = 0;
        long jump_end;
        if (insn->length == 2 && t < 0 && (size_t)-t <= v->before && -t <= (long)HP_MAX_PAD &&
            is_protocol_long_jump(v, t, 0, &final_target, &jump_end)) {
            s->jump_target = final_target;
            return HP_SITE_PATCHED;
        }
        s->jump_target = t;
        return HP_SITE_REDIRECTED;
    }
    if (insn->kind == HP_INSN_JMP_MEM || insn->kind == HP_INSN_JMP_REG) {
        s->jump_target = 0;
        return HP_SITE_REDIRECTED;
    }
    if (insn->kind == HP_INSN_MOV_IMM64) {
        /* movabs r64, imm64 ; jmp r64 — the usual absolute hook on x64 */
        hp_insn next;
        if (decode_at(v, site + insn->length, &next) == HP_DECODE_OK && next.kind == HP_INSN_JMP_REG &&
            next.reg == insn->reg) {
            s->jump_target = 0;
            return HP_SITE_REDIRECTED;
        }
    }
    return HP_SITE_OK;
}

/* Any relative branch in [0, body) whose target is site+1? Linear sweep; undecodable bytes are
   stepped over one at a time (data in code). */
static bool branch_into_site(const view *v, size_t body, long site)
{
    long off = 0;
    while ((size_t)off < body) {
        hp_insn insn;
        if (decode_at(v, off, &insn) != HP_DECODE_OK) {
            off++;
            continue;
        }
        if ((insn.kind == HP_INSN_JMP_REL || insn.kind == HP_INSN_JCC || insn.kind == HP_INSN_CALL_REL) &&
            off + insn.rel_target == site + 1)
            return true;
        off += insn.length;
    }
    return false;
}

static hp_site_reason analyze(const hp_site_input *in, hp_site *s)
{
    view v = {in->entry, in->before, in->after, in->machine};
    hp_insn insn;
    hp_decode_result dr;
    long site = 0;

    if (in->machine != HP_MACHINE_X86 && in->machine != HP_MACHINE_X64)
        return HP_SITE_BAD_MACHINE;
    s->pad_required = in->pad ? in->pad : (in->machine == HP_MACHINE_X86 ? HP_DEFAULT_PAD_X86 : HP_DEFAULT_PAD_X64);
    if (s->pad_required > HP_MAX_PAD)
        s->pad_required = HP_MAX_PAD;
    if (!in->entry || in->after == 0)
        return HP_SITE_TRUNCATED;

    dr = decode_at(&v, 0, &insn);
    if (dr == HP_DECODE_OK && insn.kind == HP_INSN_ENDBR) {
        s->flags |= HP_SITE_F_ENDBR;
        site = insn.length;
        s->site_offset = (uint32_t)site;
        dr = decode_at(&v, site, &insn);
    }
    if (dr == HP_DECODE_NO_DATA)
        return HP_SITE_TRUNCATED;
    if (dr != HP_DECODE_OK)
        return HP_SITE_ENTRY_INVALID;

    s->entry_len = insn.length;
    s->entry_bytes[0] = v.entry[site];
    if (bytes_from(&v, site) >= 2)
        s->entry_bytes[1] = v.entry[site + 1];

    hp_site_reason r = classify_redirect(&v, site, &insn, s);
    if (r != HP_SITE_OK)
        return r;

    if (insn.length == 2 && ((s->entry_bytes[0] == 0x66 && s->entry_bytes[1] == 0x90) ||
                             (in->machine == HP_MACHINE_X86 && s->entry_bytes[0] == 0x8B && s->entry_bytes[1] == 0xFF)))
        s->flags |= HP_SITE_F_ENTRY_NOP;
    if (insn.rip_memory)
        s->flags |= HP_SITE_F_RIP_RELATIVE;
    if (insn.rel_target != 0 || insn.kind == HP_INSN_JCC || insn.kind == HP_INSN_CALL_REL)
        s->flags |= HP_SITE_F_BRANCH;

    if (insn.length < 2)
        return site ? HP_SITE_ENDBR_ENTRY_SHORT : HP_SITE_ENTRY_SHORT;
    if (((in->address + (uint64_t)site) & 63u) == 63u)
        return HP_SITE_ENTRY_CROSSES_LINE;

    bool nops = false;
    s->pad_found = padding_found(&v, s->pad_required, &nops);
    if (nops)
        s->flags |= HP_SITE_F_PADDING_NOPS;
    if (s->pad_found < s->pad_required) {
        if (in->before < s->pad_required)
            return HP_SITE_PADDING_SHORT;
        /* Not filler: is it the long jump of an earlier, since removed, patch? */
        int64_t ignored;
        long jump_end;
        for (long off = -(long)(in->before < HP_MAX_PAD ? in->before : HP_MAX_PAD); off < 0; off++)
            if (is_protocol_long_jump(&v, off, 0, &ignored, &jump_end) && filler_to_entry(&v, jump_end))
                return HP_SITE_PREVIOUSLY_PATCHED;
        return HP_SITE_PADDING_NOT_FILLER;
    }

    if (in->body_size && branch_into_site(&v, in->body_size < in->after ? in->body_size : in->after, site))
        return HP_SITE_BRANCH_TO_ENTRY_1;
    return HP_SITE_OK;
}

hp_site_reason hp_site_analyze(const hp_site_input *in, hp_site *out)
{
    hp_site s;
    memset(&s, 0, sizeof s);
    s.reason = in ? analyze(in, &s) : HP_SITE_TRUNCATED;
    if (in)
        s.machine = in->machine;
    if (out)
        *out = s;
    return s.reason;
}
