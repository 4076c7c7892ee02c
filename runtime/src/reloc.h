/*
 * reloc.h — trampolines: the original behaviour of a site whose first
 * instruction is not a 2-byte NOP (internal).
 *
 * A trampoline is, in order:
 *   [endbr64 F3 0F 1E FA | endbr32 F3 0F 1E FB]   when the function starts with endbr
 *                                                  (an indirect call must land on one)
 *   [the site instruction, relocated]              unless it is a 2-byte NOP
 *   [a jump to the first byte after the site instruction]
 * Relocation keeps the instruction's meaning at its new address:
 *   - RIP-relative operands (x64) get a new disp32, refused when it does not fit;
 *   - jmp rel8/rel32 becomes a jump to the same absolute target (terminal);
 *   - jcc rel8/rel32 becomes a jcc to the same absolute target;
 *   - call rel32 becomes "push the original return address; jump to the callee"
 *     (terminal: the callee returns straight into the original function, and
 *     `call next; pop reg` PIC sequences still see their original address);
 *   - other relative forms (loop, jcxz, xbegin, 16-bit operand size) are refused
 *     with HP_ERR_RELOCATE.
 * Addresses are 64-bit so the x86 encoder can be tested on an x64 host.
 */
#ifndef HP_RELOC_H
#define HP_RELOC_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest trampoline hp_reloc_trampoline writes. */
#define HP_RELOC_MAX 64u

typedef struct hp_reloc_in {
    hp_machine machine;
    const uint8_t *code;  /**< the live bytes of the site instruction */
    size_t avail;         /**< readable bytes at `code` (decoding never reads past) */
    uint64_t address;     /**< address of `code` in the process */
    unsigned insn_len;    /**< the site instruction's length, as the site rules found it */
    int relocate;         /**< nonzero: copy (relocate) the instruction; zero: it is a NOP, skip it */
    int endbr;            /**< nonzero: start with endbr64/endbr32 */
} hp_reloc_in;

/**
 * Build the trampoline for `in` into out[0..cap), which will execute at
 * `out_address`. Stores the bytes used in *out_len.
 * @return HP_OK, HP_ERR_RELOCATE (cannot be relocated: nothing useful written),
 *         HP_ERR_ARGUMENT (cap too small, bad machine).
 */
hp_status hp_reloc_trampoline(const hp_reloc_in *in, uint8_t *out, size_t cap, uint64_t out_address,
                              size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* HP_RELOC_H */
