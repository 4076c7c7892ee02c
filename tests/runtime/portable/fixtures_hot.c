/* Targets built with -fms-hotpatch -O2 (set by the build): a real first instruction (see fixtures.h). */
#include "fixtures.h"

#define HP_FXHOT __attribute__((patchable_function_entry(6, 6), noinline, used))

volatile int fx_hot_global;

HP_FXHOT int fx_hot_add(int x) { return x + fx_hot_global; }
HP_FXHOT int fx_hot_store(int x) { fx_hot_global = x; return 7; }
