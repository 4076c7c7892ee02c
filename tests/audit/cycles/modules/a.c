/* a.c — fixture: calls b.c, which calls back. */
#include "a.h"
#include "b.h"

int hpa_cycle_a(int n)
{
    return n > 0 ? hpa_cycle_b(n - 1) : 0;
}
