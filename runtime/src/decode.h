/*
 * decode.h — the runtime's one wrapper around the Zydis decoder (internal).
 */
#ifndef HP_DECODE_H
#define HP_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <Zydis/Decoder.h>

#include "hotpatch.h"

/** Kinds of instruction the site rules care about. */
typedef enum hp_insn_kind {
    HP_INSN_OTHER = 0,
    HP_INSN_NOP,        /**< any NOP form (90, 66 90, 0F 1F /0, …), and on x86 the register no-ops GNU as
                             pads with (mov r32,r32; lea r32,[r32+0]) */
    HP_INSN_JMP_REL,    /**< EB rel8 / E9 rel32 */
    HP_INSN_JMP_MEM,    /**< FF /4 with a memory operand (FF 25 disp32 among them) */
    HP_INSN_JMP_REG,    /**< FF /4 with a register operand */
    HP_INSN_JCC,        /**< conditional relative branch (Jcc, JrCXZ, LOOPcc) */
    HP_INSN_CALL_REL,   /**< E8 rel32 */
    HP_INSN_RET,        /**< C3 / C2 iw */
    HP_INSN_TRAP,       /**< int3 (CC), ud2 */
    HP_INSN_ENDBR,      /**< endbr32 / endbr64 */
    HP_INSN_MOV_IMM64,  /**< mov r64, imm64 (x64 "movabs") */
} hp_insn_kind;

/** One decoded instruction, as much as the site rules and the relocator need. */
typedef struct hp_insn {
    uint8_t length;          /**< 1..15 */
    hp_insn_kind kind;
    bool relative;           /**< has a relative operand (branch displacement or RIP-relative memory) */
    bool rip_memory;         /**< has a RIP-relative memory operand */
    int64_t rel_target;      /**< relative branches: target offset from the instruction's start */
    uint8_t reg;             /**< HP_INSN_JMP_REG / HP_INSN_MOV_IMM64: Zydis register id (low 8 bits) */
    ZydisDecodedInstruction zinsn; /**< the full Zydis result, for the relocator */
} hp_insn;

/** Result of hp_decode(). */
typedef enum hp_decode_result {
    HP_DECODE_OK = 0,
    HP_DECODE_INVALID,   /**< the bytes are not an instruction */
    HP_DECODE_NO_DATA,   /**< the buffer ends inside the instruction */
} hp_decode_result;

/** Decode the instruction at `code`, reading at most `len` bytes. `out` may not be NULL. */
hp_decode_result hp_decode(hp_machine machine, const uint8_t *code, size_t len, hp_insn *out);

#endif /* HP_DECODE_H */
