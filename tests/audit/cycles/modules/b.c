/* b.c — fixture: calls a.c, which calls back. */
#include "a.h"
#include "b.h"

int hpa_cycle_b(int n)
{
    return n > 0 ? hpa_cycle_a(n - 1) : 1;
}
