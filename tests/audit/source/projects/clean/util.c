/* util.c — more of the DLL: a function with inline assembly after its first statement. */
#include "clean.h"

int clean_version(void)
{
    int v = 3;
    __asm__ volatile("" : "+r"(v));   /* not at the entry, and the plugin's NOP comes first anyway */
    return clean_clamp(v, 1, 9);
}
