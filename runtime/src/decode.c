/*
 * decode.c — the one place that calls the Zydis decoder.
 */
#include "decode.h"

#include "hp_libc.h"

static bool init_decoder(hp_machine machine, ZydisDecoder *decoder)
{
    if (machine == HP_MACHINE_X64)
        return ZYAN_SUCCESS(ZydisDecoderInit(decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64));
    if (machine == HP_MACHINE_X86)
        return ZYAN_SUCCESS(ZydisDecoderInit(decoder, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32));
    return false;
}

static hp_insn_kind classify(const ZydisDecodedInstruction *z)
{
    const bool rel = z->raw.imm[0].is_relative;
    switch (z->mnemonic) {
    case ZYDIS_MNEMONIC_NOP:
        return HP_INSN_NOP;
    case ZYDIS_MNEMONIC_ENDBR32:
    case ZYDIS_MNEMONIC_ENDBR64:
        return HP_INSN_ENDBR;
    case ZYDIS_MNEMONIC_INT3:
    case ZYDIS_MNEMONIC_UD2:
        return HP_INSN_TRAP;
    case ZYDIS_MNEMONIC_MOV:
        return z->raw.imm[0].size == 64 ? HP_INSN_MOV_IMM64 : HP_INSN_OTHER;
    default:
        break;
    }
    switch (z->meta.category) {
    case ZYDIS_CATEGORY_UNCOND_BR:
        if (rel)
            return HP_INSN_JMP_REL;
        if (z->mnemonic == ZYDIS_MNEMONIC_JMP && (z->attributes & ZYDIS_ATTRIB_HAS_MODRM))
            return z->raw.modrm.mod == 3 ? HP_INSN_JMP_REG : HP_INSN_JMP_MEM;
        return HP_INSN_OTHER; /* far jumps */
    case ZYDIS_CATEGORY_COND_BR:
        return rel ? HP_INSN_JCC : HP_INSN_OTHER;
    case ZYDIS_CATEGORY_CALL:
        return rel ? HP_INSN_CALL_REL : HP_INSN_OTHER;
    case ZYDIS_CATEGORY_RET:
        return z->mnemonic == ZYDIS_MNEMONIC_RET ? HP_INSN_RET : HP_INSN_OTHER;
    default:
        return HP_INSN_OTHER;
    }
}

/* The register no-ops GNU as pads i386 code with after a ret or jmp, where it has no multi-byte NOP:
   `mov r32, r32` (89 /r or 8B /r, mod 3, same register) and `lea r32, [r32 + 0]` (8D /r with an 8- or
   32-bit zero displacement, the same register as base, no index: 8D 76 00, 8D 74 26 00,
   8D B6 00000000, 8D B4 26 00000000, ...). No prefixes: a 16-bit or address-size form is not one. */
static bool is_gas_filler_x86(const ZydisDecodedInstruction *z)
{
    if (z->raw.prefix_count != 0 || !(z->attributes & ZYDIS_ATTRIB_HAS_MODRM))
        return false;
    const unsigned mod = z->raw.modrm.mod, reg = z->raw.modrm.reg, rm = z->raw.modrm.rm;
    if ((z->opcode == 0x89 || z->opcode == 0x8B) && z->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT)
        return mod == 3 && reg == rm;
    if (z->opcode != 0x8D || z->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT || (mod != 1 && mod != 2) ||
        z->raw.disp.value != 0)
        return false;
    if (rm == 4) /* SIB: index 4 is "none" */
        return z->raw.sib.index == 4 && z->raw.sib.base == reg;
    return rm == reg;
}

hp_decode_result hp_decode(hp_machine machine, const uint8_t *code, size_t len, hp_insn *out)
{
    ZydisDecoder decoder;
    memset(out, 0, sizeof *out);
    if (!init_decoder(machine, &decoder) || len == 0)
        return len == 0 ? HP_DECODE_NO_DATA : HP_DECODE_INVALID;

    ZyanStatus st = ZydisDecoderDecodeInstruction(&decoder, NULL, code, len, &out->zinsn);
    if (st == ZYDIS_STATUS_NO_MORE_DATA)
        return HP_DECODE_NO_DATA;
    if (!ZYAN_SUCCESS(st))
        return HP_DECODE_INVALID;

    const ZydisDecodedInstruction *z = &out->zinsn;
    out->length = z->length;
    out->kind = classify(z);
    if (out->kind == HP_INSN_OTHER && machine == HP_MACHINE_X86 && is_gas_filler_x86(z))
        out->kind = HP_INSN_NOP;
    out->relative = (z->attributes & ZYDIS_ATTRIB_IS_RELATIVE) != 0;
    if (z->raw.imm[0].is_relative)
        out->rel_target = (int64_t)z->length + z->raw.imm[0].value.s;
    else if (out->relative)
        out->rip_memory = true;
    if (out->kind == HP_INSN_JMP_REG)
        out->reg = (uint8_t)(z->raw.modrm.rm | (z->raw.rex.B << 3));
    else if (out->kind == HP_INSN_MOV_IMM64)
        out->reg = (uint8_t)((z->opcode & 7) | (z->raw.rex.B << 3));
    return HP_DECODE_OK;
}

unsigned hp_insn_length(hp_machine machine, const uint8_t *code, size_t len)
{
    hp_insn insn;
    if (!code || hp_decode(machine, code, len, &insn) != HP_DECODE_OK)
        return 0;
    return insn.length;
}
