/*
 * fixtures.h — target functions for the runtime tests. Their meaning (and so
 * every expected value) is fixed here, by hand:
 *
 * fixtures_nop.c (patchable_function_entry: NOP padding + a 2-byte NOP entry `66 90`)
 *   fx_nop6_N(x)  = x + N        (N = 1..4)    6 bytes of padding: x64 slot form, x86 absolute form
 *   fx_nop16(x)   = x * 2                      16 bytes of padding, entry 16-aligned: x64 inline form
 *   fx_stress(x)  = x + 1                      the stress test's target
 *   fx_plain_1(x) = x + 1                      fx_nop6_1 without the site (benchmark baseline)
 * fixtures_hot.c (-fms-hotpatch -O2: a real first instruction of >= 2 bytes, 6 bytes of padding)
 *   fx_hot_add(x)   = x + fx_hot_global       first instruction `mov` (copied into the trampoline)
 *   fx_hot_store(x) : fx_hot_global = x; returns 7   x64: first instruction RIP-relative (re-encoded)
 * fixtures_asm.c (exact bytes, written by hand in assembly; see the comments there)
 *   fx_short()      = 42   first instruction 1 byte (push)            -> not patchable
 *   fx_nopad()      = 43   no filler before the entry                  -> not patchable
 *   fx_redirected() = 43   entry is `E9 rel32` to fx_nopad             -> redirected by someone else
 *   fx_foreign()    = 44   this protocol's padding jump + `EB F8`, not ours -> redirected
 *   fx_jrcxz()      = 45   first instruction jrcxz/jecxz (no long form) -> cannot relocate
 *   fx_callnext()   = the address of fx_callnext + 5 (`call next; pop; ret`): relocation of a call
 *   fx_endbr()      = 46   endbr + `66 90`: the site follows endbr
 *   fx_endbr_hot()  = 49   endbr + `mov eax, 49`: site after endbr, relocated
 *   fx_cross()      = 47   entry at offset 63 of a 64-byte line         -> not patchable
 *   fx_pad5()       = 48   exactly 5 bytes of padding: x86 thunk form; x64 not patchable
 *   fx_ilt_a(), fx_ilt_b()  a table of two `E9 rel32` (an incremental-link jump table): they lead to
 *   fx_ilt_fn_a()   = 50, fx_ilt_fn_b() = 51   (66 90 entries with 16 bytes of int3 padding)
 */
#ifndef HP_TEST_FIXTURES_H
#define HP_TEST_FIXTURES_H

#include <stdint.h>

int fx_nop6_1(int x);
int fx_nop6_2(int x);
int fx_nop6_3(int x);
int fx_nop6_4(int x);
int fx_nop16(int x);
int fx_stress(int x);
int fx_plain_1(int x);

extern volatile int fx_hot_global;
int fx_hot_add(int x);
int fx_hot_store(int x);

int fx_short(void);
int fx_nopad(void);
int fx_redirected(void);
int fx_foreign(void);
int fx_jrcxz(void);
uintptr_t fx_callnext(void);
int fx_endbr(void);
int fx_endbr_hot(void);
int fx_cross(void);
int fx_pad5(void);
int fx_ilt_a(void);
int fx_ilt_b(void);
int fx_ilt_fn_a(void);
int fx_ilt_fn_b(void);

#endif
