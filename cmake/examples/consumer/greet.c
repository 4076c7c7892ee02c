/* greet: two exported functions, built hotpatchable by hotpatch_enable(). */
#include "greet.h"

GREET_API int greet_version(void)
{
    return 1;
}

GREET_API int greet_add(int a, int b)
{
    return a + b;
}
