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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/*
 * The entry forms that nearly every site has: the plugin's 66 90, MSVC's 8B FF (x86), endbr64/endbr32.
 * They are recognised from their bytes, without the decoder (whose work is about a thousand
 * instructions a call: a link of 60,000 functions asks for each of them). Zydis decodes exactly these
 * lengths and kinds for them; only the fields the site rules read are set.
 */
static bool decode_common_entry(const view *v, long off, hp_insn *insn)
{
    size_t n = bytes_from(v, off);
    const uint8_t *p = v->entry + off;
    if (n >= 2 && p[0] == 0x66 && p[1] == 0x90) {
        insn->kind = HP_INSN_NOP; /* 66 90: xchg ax, ax */
        insn->length = 2;
    } else if (n >= 2 && p[0] == 0x8B && p[1] == 0xFF && v->machine == HP_MACHINE_X86) {
        insn->kind = HP_INSN_OTHER; /* 8B FF: mov edi, edi */
        insn->length = 2;
    } else if (n >= 4 && p[0] == 0xF3 && p[1] == 0x0F && p[2] == 0x1E &&
               p[3] == (v->machine == HP_MACHINE_X64 ? 0xFA : 0xFB)) {
        insn->kind = HP_INSN_ENDBR; /* F3 0F 1E FA / FB: endbr64 / endbr32 */
        insn->length = 4;
    } else {
        return false;
    }
    insn->relative = false;
    insn->rip_memory = false;
    insn->rel_target = 0;
    insn->reg = 0;
    return true;
}

static hp_decode_result decode_entry_at(const view *v, long off, hp_insn *insn)
{
    return decode_common_entry(v, off, insn) ? HP_DECODE_OK : decode_at(v, off, insn);
}

static int32_t le32s(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

/*
 * Could a relative branch in the first `body` bytes reach `target`? A test over raw bytes that is true
 * for every branch the decoder could find there (and for some bytes that are no branch at all): at
 * every offset whose byte is a relative branch opcode — EB, 70..7F, E0..E3 (rel8); E8, E9 (rel32, or
 * rel16 under an operand-size prefix); 0F 80..8F (rel32 / rel16) — the target is computed from the
 * opcode's position, which prefixes do not change. Offsets run past `body` by an instruction's
 * length, since a branch that starts inside the body may have its opcode after prefixes.
 */
/* 1 for the first byte of a relative branch: EB, 70..7F, E0..E3, E8, E9, and 0F (of 0F 8x) */
static const uint8_t branch_opcode[256] = {
    [0x0F] = 1, [0x70] = 1, [0x71] = 1, [0x72] = 1, [0x73] = 1, [0x74] = 1, [0x75] = 1, [0x76] = 1,
    [0x77] = 1, [0x78] = 1, [0x79] = 1, [0x7A] = 1, [0x7B] = 1, [0x7C] = 1, [0x7D] = 1, [0x7E] = 1,
    [0x7F] = 1, [0xE0] = 1, [0xE1] = 1, [0xE2] = 1, [0xE3] = 1, [0xE8] = 1, [0xE9] = 1, [0xEB] = 1,
};

/* Does the branch whose opcode byte is at `i` reach `target`? (branch_opcode[p[i]] is 1) */
static bool branch_at_reaches(const view *v, size_t i, long target)
{
    const uint8_t *p = v->entry;
    long at = (long)i;
    size_t n = v->after - i;
    uint8_t b = p[i];
    if (b == 0xEB || (b >= 0x70 && b <= 0x7F) || (b >= 0xE0 && b <= 0xE3))
        return n >= 2 && at + 2 + (int8_t)p[i + 1] == target;
    if (b == 0xE8 || b == 0xE9)
        return (n >= 5 && at + 5 + le32s(p + i + 1) == target) ||
               (n >= 3 && at + 3 + (int16_t)(p[i + 1] | p[i + 2] << 8) == target);
    if (b == 0x0F && n >= 2 && (p[i + 1] & 0xF0) == 0x80)
        return (n >= 6 && at + 6 + le32s(p + i + 2) == target) ||
               (n >= 4 && at + 4 + (int16_t)(p[i + 2] | p[i + 3] << 8) == target);
    return false;
}

static bool branch_may_reach(const view *v, size_t body, long target)
{
    size_t end = body + 15 < v->after ? body + 15 : v->after;
    const uint8_t *p = v->entry;
    size_t i = 0;
#if defined(__SSE2__)
    /* sixteen bytes at a time: the offsets of branch opcodes as a bit mask (every function of an
       image comes here; most bytes are no branch) */
    const __m128i f0 = _mm_set1_epi8((char)0xF0), fc = _mm_set1_epi8((char)0xFC);
    const __m128i jcc = _mm_set1_epi8(0x70), loop = _mm_set1_epi8((char)0xE0), two = _mm_set1_epi8(0x0F);
    const __m128i call = _mm_set1_epi8((char)0xE8), jmp = _mm_set1_epi8((char)0xE9), jmp8 = _mm_set1_epi8((char)0xEB);
    const __m128i jcc32 = _mm_set1_epi8((char)0x80);
    const __m128i lane = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; i + 16 <= end; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, call), _mm_cmpeq_epi8(x, jmp));
        __m128i esc = _mm_cmpeq_epi8(x, two);
        if (i + 18 <= v->after) {
            /* A branch at offset o that reaches the target has a displacement of target - o - (its
               length): E8/E9 rel32 target - o - 5, rel16 target - o - 3; 0F 8x rel32 target - o - 6,
               rel16 target - o - 4. The displacement's low byte, one value per lane, must be there. */
            __m128i n1 = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 1));
            __m128i n2 = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 2));
#define HP_LOW_BYTES(d) _mm_sub_epi8(_mm_set1_epi8((char)(uint8_t)(target - (long)i - (d))), lane)
            m = _mm_and_si128(m, _mm_or_si128(_mm_cmpeq_epi8(n1, HP_LOW_BYTES(5)), _mm_cmpeq_epi8(n1, HP_LOW_BYTES(3))));
            esc = _mm_and_si128(esc, _mm_cmpeq_epi8(_mm_and_si128(n1, f0), jcc32));
            esc = _mm_and_si128(esc, _mm_or_si128(_mm_cmpeq_epi8(n2, HP_LOW_BYTES(6)), _mm_cmpeq_epi8(n2, HP_LOW_BYTES(4))));
#undef HP_LOW_BYTES
        } else if (i + 17 <= v->after) {
            /* 0F is a branch only before 80..8F */
            __m128i n1 = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 1));
            esc = _mm_and_si128(esc, _mm_cmpeq_epi8(_mm_and_si128(n1, f0), jcc32));
        }
        /* rel8 (70..7F, E0..E3, EB) reaches at most 129 bytes back from its opcode: past that, only
           the rel32 / rel16 forms can reach the target (most candidates in a long body are rel8
           opcodes or bytes that look like them) */
        if ((long)i <= target + 126)
            m = _mm_or_si128(m, _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(_mm_and_si128(x, f0), jcc),
                                                          _mm_cmpeq_epi8(_mm_and_si128(x, fc), loop)),
                                             _mm_cmpeq_epi8(x, jmp8)));
        m = _mm_or_si128(m, esc);
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        while (bits) {
            unsigned k = (unsigned)__builtin_ctz(bits);
            if (branch_at_reaches(v, i + k, target))
                return true;
            bits &= bits - 1;
        }
    }
#endif
    for (; i < end; i++)
        if (branch_opcode[p[i]] && branch_at_reaches(v, i, target))
            return true;
    return false;
}

int hp_site_is_filler(uint8_t b)
{
    return b == 0xCC || b == 0x00 || b == 0x90; /* int3, the zero fill of some linkers, nop */
}

/* hp_site_is_filler(), inline for the scans */
#define is_filler_byte(b) ((b) == 0xCC || (b) == 0x00 || (b) == 0x90)

/* 0x80 in each byte of x that is zero, 0 in the others (exact: no carry crosses a byte) */
static inline uint64_t zero_bytes(uint64_t x)
{
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7Full;
    return ~(((x & low7) + low7) | x | low7);
}

/* the number of zero bits above the highest set bit of x (x != 0) */
static inline unsigned leading_zero_bits(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_clzll(x);
#else
    unsigned n = 0;
    while (!(x & 0x8000000000000000ull)) {
        x <<= 1;
        n++;
    }
    return n;
#endif
}

uint32_t hp_site_pad(hp_machine machine, uint32_t requested)
{
    uint32_t min;
    switch (machine) {
    case HP_MACHINE_X86: min = HP_MIN_PAD_X86; break;
    case HP_MACHINE_X64: min = HP_MIN_PAD_X64; break;
    default: return 0;
    }
    if (requested < min)
        return min;
    return requested > HP_MAX_PAD ? HP_MAX_PAD : requested;
}

/*
 * The verdict policy, one row per reason and one column per context (hotpatch.h, hp_site_context).
 * The columns differ only where the asker knows different things: a live process can tell a jump
 * at the entry from other refusals (HP_ERR_REDIRECTED), an image on disk cannot. A previously
 * patched site is refused everywhere: on disk that "long jump" is as likely the tail jump (or call
 * operand) of the function before; live, the engine re-applies only sites whose record it holds,
 * which it checks before asking this table.
 */
static const struct {
    hp_status image, object, live;
} verdicts[] = {
    [HP_SITE_OK] = {HP_OK, HP_OK, HP_OK},
    [HP_SITE_PADDING_SHORT] = {HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE},
    [HP_SITE_PADDING_NOT_FILLER] = {HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE},
    [HP_SITE_ENTRY_SHORT] = {HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE},
    [HP_SITE_ENTRY_CROSSES_LINE] = {HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE},
    [HP_SITE_ENTRY_INVALID] = {HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE},
    [HP_SITE_TRUNCATED] = {HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE},
    [HP_SITE_ENDBR_ENTRY_SHORT] = {HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE},
    [HP_SITE_PATCHED] = {HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE, HP_ERR_REDIRECTED},
    [HP_SITE_REDIRECTED] = {HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE, HP_ERR_REDIRECTED},
    [HP_SITE_BRANCH_TO_ENTRY_1] = {HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE},
    [HP_SITE_PREVIOUSLY_PATCHED] = {HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE},
    [HP_SITE_BAD_MACHINE] = {HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE, HP_ERR_NOT_PATCHABLE},
};

hp_status hp_site_verdict(hp_site_context context, hp_site_reason reason)
{
    if ((unsigned)reason >= sizeof verdicts / sizeof verdicts[0])
        return HP_ERR_NOT_PATCHABLE;
    switch (context) {
    case HP_SITE_CONTEXT_IMAGE: return verdicts[reason].image;
    case HP_SITE_CONTEXT_OBJECT: return verdicts[reason].object;
    case HP_SITE_CONTEXT_LIVE: return verdicts[reason].live;
    }
    return HP_ERR_NOT_PATCHABLE;
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
        if (is_filler_byte(v->entry[off])) {
            off++;
            continue;
        }
        if (decode_at(v, off, &insn) != HP_DECODE_OK || insn.kind != HP_INSN_NOP)
            return false;
        off += insn.length;
    }
    return off == 0;
}

/* Filler bytes right before `entry`, at most `limit`: eight at a time, the run ending at the first
   byte (going down) that is not filler. */
static uint32_t filler_run(const uint8_t *entry, size_t limit)
{
    uint32_t run = 0;
    for (; run + 8 <= limit; run += 8) {
        const uint8_t *q = entry - run - 8;
        /* little-endian: q[7], the byte nearest the entry, in the top byte (one load) */
        uint64_t x = (uint64_t)q[0] | (uint64_t)q[1] << 8 | (uint64_t)q[2] << 16 | (uint64_t)q[3] << 24 |
                     (uint64_t)q[4] << 32 | (uint64_t)q[5] << 40 | (uint64_t)q[6] << 48 | (uint64_t)q[7] << 56;
        uint64_t filler = zero_bytes(x) | zero_bytes(x ^ 0xCCCCCCCCCCCCCCCCull) | zero_bytes(x ^ 0x9090909090909090ull);
        uint64_t other = ~filler & 0x8080808080808080ull; /* 0x80 in each byte that is not filler */
        if (other)
            return run + leading_zero_bits(other) / 8;
    }
    while (run < limit && is_filler_byte(entry[-(long)run - 1]))
        run++;
    return run;
}

/* Filler before the entry: the longest run found, up to HP_MAX_PAD. Sets *nops when the
   run is multi-byte NOPs after an unconditional transfer. */
static uint32_t padding_found(const view *v, uint32_t pad, bool *nops)
{
    size_t limit = v->before < HP_MAX_PAD ? v->before : HP_MAX_PAD;
    uint32_t run = filler_run(v->entry, limit);
    *nops = false;
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
    s->pad_required = hp_site_pad(in->machine, in->pad);
    if (!in->entry || in->after == 0)
        return HP_SITE_TRUNCATED;

    dr = decode_entry_at(&v, 0, &insn);
    if (dr == HP_DECODE_OK && insn.kind == HP_INSN_ENDBR) {
        s->flags |= HP_SITE_F_ENDBR;
        site = insn.length;
        s->site_offset = (uint32_t)site;
        dr = decode_entry_at(&v, site, &insn);
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

    size_t body = in->body_size < in->after ? in->body_size : in->after;
    if (body && branch_may_reach(&v, body, site + 1) && branch_into_site(&v, body, site))
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
