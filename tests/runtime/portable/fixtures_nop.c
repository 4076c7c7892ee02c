/* Targets with the plugin's site, made with clang's patchable_function_entry (see fixtures.h). */
#include "fixtures.h"

#define HP_FX6 __attribute__((patchable_function_entry(8, 6), noinline, used))
/* 18 NOP bytes, 16 before the entry: the prefix starts 16-aligned, so E - 8 is 8-aligned */
#define HP_FX16 __attribute__((patchable_function_entry(18, 16), noinline, used))

HP_FX6 int fx_nop6_1(int x) { return x + 1; }
HP_FX6 int fx_nop6_2(int x) { return x + 2; }
HP_FX6 int fx_nop6_3(int x) { return x + 3; }
HP_FX6 int fx_nop6_4(int x) { return x + 4; }
HP_FX16 int fx_nop16(int x) { return x * 2; }
HP_FX6 int fx_stress(int x) { return x + 1; }

/* The same body as fx_nop6_1 without the site: the call-overhead benchmark's "plain build". */
__attribute__((noinline, used)) int fx_plain_1(int x) { return x + 1; }
