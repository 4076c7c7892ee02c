/*
 * Hand-written targets with exact bytes (see fixtures.h). Every byte sequence
 * carries its encoding. GNU assembler syntax (clang's integrated assembler),
 * for ELF and COFF, x86-64 and i386.
 */
#include "fixtures.h"

#define HP_STR2(x) #x
#define HP_STR(x) HP_STR2(x)
#define SYM(n) HP_STR(__USER_LABEL_PREFIX__) #n

#if defined(__ELF__)
#define FN(n) ".globl " SYM(n) "\n.type " SYM(n) ",@function\n" SYM(n) ":\n"
#else
#define FN(n) ".globl " SYM(n) "\n" SYM(n) ":\n"
#endif

#if defined(__x86_64__)
#define AX "%rax"
#define ENDBR ".byte 0xf3, 0x0f, 0x1e, 0xfa\n" /* F3 0F 1E FA: endbr64 */
#else
#define AX "%eax"
#define ENDBR ".byte 0xf3, 0x0f, 0x1e, 0xfb\n" /* F3 0F 1E FB: endbr32 */
#endif

#define PAD16 ".fill 16, 1, 0xcc\n" /* CC x16: int3 filler */

__asm__(".text\n"
        ".p2align 6\n"
        PAD16
        FN(fx_short)
        "push " AX "\n"              /* 50: push rax/eax (1 byte: entry too short) */
        "pop " AX "\n"               /* 58 */
        "movl $42, %eax\n"           /* B8 2A000000 */
        "ret\n"                      /* C3 */

        FN(fx_nopad)                 /* preceded by fx_short's C3: no filler */
        ".byte 0x66, 0x90\n"         /* 66 90: xchg ax, ax */
        "movl $43, %eax\n"           /* B8 2B000000 */
        "ret\n"                      /* C3 */

        PAD16
        FN(fx_redirected)
        ".byte 0xe9\n.long " SYM(fx_nopad) " - . - 4\n" /* E9 rel32: jmp fx_nopad (a foreign hook) */
        "ret\n"

        ".fill 8, 1, 0xcc\n"
        ".byte 0xff, 0x25, 0, 0, 0, 0\n" /* FF 25 00000000: a long jump of this protocol's shape */
        FN(fx_foreign)
        ".byte 0xeb, 0xf8\n"         /* EB F8: jmp short to it (placed by another instance) */
        "movl $44, %eax\n"
        "ret\n"

        PAD16
        FN(fx_jrcxz)
        ".byte 0xe3, 0x00\n"         /* E3 00: jrcxz/jecxz +0 (rel8 only: cannot be relocated) */
        "movl $45, %eax\n"
        "ret\n"

        PAD16
        FN(fx_callnext)
        ".byte 0xe8, 0, 0, 0, 0\n"   /* E8 00000000: call the next instruction */
        "pop " AX "\n"               /* 58: the return address = fx_callnext + 5 */
        "ret\n"

        PAD16
        FN(fx_endbr)
        ENDBR
        ".byte 0x66, 0x90\n"         /* 66 90: the site, after endbr */
        "movl $46, %eax\n"
        "ret\n"

        PAD16
        FN(fx_endbr_hot)
        ENDBR
        "movl $49, %eax\n"           /* B8 31000000: the site, a real 5-byte instruction */
        "ret\n"

        ".p2align 6\n"
        ".fill 63, 1, 0xcc\n"
        FN(fx_cross)                 /* entry at offset 63 of a 64-byte line */
        ".byte 0x66, 0x90\n"
        "movl $47, %eax\n"
        "ret\n"

        ".p2align 4\n"
        "ret\n"                      /* C3: code, so the padding below is exactly 5 bytes */
        ".fill 5, 1, 0xcc\n"
        FN(fx_pad5)
        ".byte 0x66, 0x90\n"
        "movl $48, %eax\n"
        "ret\n"

        /* A jump table as incremental linking makes one: E9 entries back to back, each the
           address a caller takes of the function it leads to. */
        ".p2align 4\n"
        FN(fx_ilt_a)
        ".byte 0xe9\n.long " SYM(fx_ilt_fn_a) " - . - 4\n" /* E9 rel32: jmp fx_ilt_fn_a */
        FN(fx_ilt_b)
        ".byte 0xe9\n.long " SYM(fx_ilt_fn_b) " - . - 4\n" /* E9 rel32: jmp fx_ilt_fn_b */
        PAD16
        FN(fx_ilt_fn_a)
        ".byte 0x66, 0x90\n"         /* 66 90 */
        "movl $50, %eax\n"           /* B8 32000000 */
        "ret\n"
        PAD16
        FN(fx_ilt_fn_b)
        ".byte 0x66, 0x90\n"
        "movl $51, %eax\n"           /* B8 33000000 */
        "ret\n");
