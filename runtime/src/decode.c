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
