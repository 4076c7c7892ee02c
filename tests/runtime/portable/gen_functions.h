/* gen_functions.h — 10,000 generated targets: hp_gen_table[i](x) == x + i. */
#ifndef HP_TEST_GEN_FUNCTIONS_H
#define HP_TEST_GEN_FUNCTIONS_H

#define HP_GEN_COUNT 10000

extern int (*const hp_gen_table[HP_GEN_COUNT])(int);

#endif
