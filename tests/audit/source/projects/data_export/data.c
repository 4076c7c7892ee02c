/* data.c — the exported variables are defined here. */
#include "data.h"

int de_counter;                 /* HP4005: dllexport (data.h) */
const char de_table[4] = "abc"; /* HP4005: DATA in data.def */
static int de_private;

int de_next(void)
{
    return ++de_counter + de_private + de_table[0];
}
