/*
 * reloc.c — trampoline construction and first-instruction relocation, over
 * the runtime's one decoder wrapper (decode.h; only the raw fields of the
 * Zydis result are read: prefixes, ModRM, displacement, immediate). See reloc.h.
 */
#include "reloc.h"

#include "os.h"

#include "decode.h"

typedef struct emitter {
    uint8_t *buf;
    size_t cap, len;
    uint64_t base; /* address of buf[0] at run time */
    int x64;
    int overflow;
} emitter;

static uint64_t here(const emitter *e)
{
    return e->base + e->len;
}

static void put8(emitter *e, uint8_t b)
{
    if (e->len >= e->cap) {
        e->overflow = 1;
        return;
    }
    e->buf[e->len++] = b;
}

static void put32(emitter *e, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put8(e, (uint8_t)(v >> (8 * i)));
}

static void put64(emitter *e, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        put8(e, (uint8_t)(v >> (8 * i)));
}

/* rel32 from the end of an instruction ending at `end` to `target`; 0 when it does not fit (x64). */
static int rel32(const emitter *e, uint64_t end, uint64_t target, uint32_t *out)
{
    if (!e->x64) {
        /* 32-bit: the offset wraps modulo 2^32, every target is reachable */
        *out = (uint32_t)(target - end);
        return 1;
    }
    int64_t d = (int64_t)(target - end);
    if (d < INT32_MIN || d > INT32_MAX)
        return 0;
    *out = (uint32_t)(int32_t)d;
    return 1;
}

/* Unconditional jump to `target`. */
static void emit_jmp(emitter *e, uint64_t target)
{
    uint32_t r;
    if (rel32(e, here(e) + 5, target, &r)) {
        put8(e, 0xE9); /* E9 rel32: jmp target */
        put32(e, r);
        return;
    }
    put8(e, 0xFF); /* FF 25 00000000: jmp qword ptr [rip+0] ... */
    put8(e, 0x25);
    put32(e, 0);
    put64(e, target); /* ... which reads this absolute target */
}

/* Conditional jump (condition code cc, 0..15) to `target`. */
static void emit_jcc(emitter *e, unsigned cc, uint64_t target)
{
    uint32_t r;
    if (rel32(e, here(e) + 6, target, &r)) {
        put8(e, 0x0F); /* 0F 8cc rel32: jcc target */
        put8(e, (uint8_t)(0x80 | cc));
        put32(e, r);
        return;
    }
    put8(e, (uint8_t)(0x70 | (cc ^ 1))); /* 7(!cc) 0E: skip the 14-byte absolute jump when !cc */
    put8(e, 0x0E);
    put8(e, 0xFF); /* FF 25 00000000 + abs64: jmp target */
    put8(e, 0x25);
    put32(e, 0);
    put64(e, target);
}

/* "call target" whose return lands at `ret` (the original next instruction). */
static void emit_call_as_push_jmp(emitter *e, uint64_t ret, uint64_t target)
{
    if (!e->x64) {
        put8(e, 0x68); /* 68 imm32: push ret */
        put32(e, (uint32_t)ret);
        emit_jmp(e, target);
        return;
    }
    put8(e, 0xFF); /* FF 35 06000000: push qword ptr [rip+6] -> the ret literal below */
    put8(e, 0x35);
    put32(e, 6);
    put8(e, 0xFF); /* FF 25 08000000: jmp qword ptr [rip+8] -> the target literal below */
    put8(e, 0x25);
    put32(e, 8);
    put64(e, ret);    /* literal: original return address */
    put64(e, target); /* literal: callee */
}

/* Copy of the instruction with a RIP-relative disp32 (at disp_off) re-aimed at the same target. */
static hp_status emit_riprel(emitter *e, const uint8_t *code, unsigned len, unsigned disp_off,
                             uint64_t target)
{
    uint32_t r;
    if (!rel32(e, here(e) + len, target, &r))
        return HP_ERR_RELOCATE;
    size_t at = e->len;
    for (unsigned i = 0; i < len; i++)
        put8(e, code[i]);
    if (!e->overflow) {
        for (int i = 0; i < 4; i++)
            e->buf[at + disp_off + (unsigned)i] = (uint8_t)(r >> (8 * i));
    }
    return HP_OK;
}

/*
 * Relocate one relative branch. Sets *terminal when control never falls
 * through to the jump back.
 */
static hp_status emit_branch(emitter *e, const ZydisDecodedInstruction *insn, const uint8_t *code,
                             uint64_t address, int *terminal)
{
    if (insn->operand_width == 16)
        return HP_ERR_RELOCATE; /* 66 E9 rel16 etc. truncate IP: never compiler output */
    const uint8_t *op = code + insn->raw.prefix_count;
    unsigned avail = insn->length - insn->raw.prefix_count;
    uint64_t next = address + insn->length;
    uint64_t target = next + (uint64_t)insn->raw.imm[0].value.s;
    if (!e->x64)
        target &= 0xFFFFFFFFu;
    if (avail >= 1 && (op[0] == 0xE9 || op[0] == 0xEB)) {
        emit_jmp(e, target);
        *terminal = 1;
        return HP_OK;
    }
    if (avail >= 1 && op[0] == 0xE8) {
        emit_call_as_push_jmp(e, next, target);
        *terminal = 1;
        return HP_OK;
    }
    if (avail >= 1 && op[0] >= 0x70 && op[0] <= 0x7F) {
        emit_jcc(e, op[0] & 0x0Fu, target);
        return HP_OK;
    }
    if (avail >= 2 && op[0] == 0x0F && op[1] >= 0x80 && op[1] <= 0x8F) {
        emit_jcc(e, op[1] & 0x0Fu, target);
        return HP_OK;
    }
    return HP_ERR_RELOCATE; /* loop/jcxz/xbegin: short-only forms with no long equivalent here */
}

hp_status hp_reloc_trampoline(const hp_reloc_in *in, uint8_t *out, size_t cap, uint64_t out_address,
                              size_t *out_len)
{
    if (in == NULL || out == NULL || out_len == NULL || in->code == NULL)
        return HP_ERR_ARGUMENT;
    if (in->machine != HP_MACHINE_X64 && in->machine != HP_MACHINE_X86)
        return HP_ERR_ARGUMENT;

    emitter e = {out, cap, 0, out_address, in->machine == HP_MACHINE_X64, 0};
    uint64_t resume;
    int terminal = 0;

    if (in->endbr) {
        put8(&e, 0xF3); /* F3 0F 1E FA: endbr64 / F3 0F 1E FB: endbr32 */
        put8(&e, 0x0F);
        put8(&e, 0x1E);
        put8(&e, e.x64 ? 0xFA : 0xFB);
    }

    if (!in->relocate) {
        /* a 2-byte NOP: nothing to copy */
        resume = in->address + 2;
    } else {
        hp_insn hi;
        if (hp_decode(in->machine, in->code, in->avail, &hi) != HP_DECODE_OK)
            return HP_ERR_RELOCATE;
        const ZydisDecodedInstruction insn = hi.zinsn;
        if (insn.length != in->insn_len || insn.length > in->avail)
            return HP_ERR_RELOCATE; /* the bytes changed since the site rules looked */
        resume = in->address + insn.length;

        int riprel = e.x64 && (insn.attributes & ZYDIS_ATTRIB_HAS_MODRM) && insn.raw.modrm.mod == 0 &&
                     insn.raw.modrm.rm == 5;
        if (insn.raw.imm[0].is_relative) {
            if (riprel)
                return HP_ERR_RELOCATE;
            hp_status st = emit_branch(&e, &insn, in->code, in->address, &terminal);
            if (st != HP_OK)
                return st;
        } else if (riprel) {
            if (insn.raw.disp.size != 32 || insn.address_width != 64)
                return HP_ERR_RELOCATE;
            uint64_t target = resume + (uint64_t)insn.raw.disp.value;
            hp_status st = emit_riprel(&e, in->code, insn.length, insn.raw.disp.offset, target);
            if (st != HP_OK)
                return st;
        } else if (insn.attributes & ZYDIS_ATTRIB_IS_RELATIVE) {
            return HP_ERR_RELOCATE; /* position-dependent in a way not handled above */
        } else {
            for (unsigned i = 0; i < insn.length; i++)
                put8(&e, in->code[i]);
        }
    }

    if (!terminal)
        emit_jmp(&e, resume);
    if (e.overflow)
        return HP_ERR_ARGUMENT;
    *out_len = e.len;
    return HP_OK;
}
