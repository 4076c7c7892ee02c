/* a.c — the external definition of ih_scale (C99), and ih_get. */
#include "ih.h"

extern inline int ih_scale(int v);

int ih_get(void)
{
    return ih_scale(2);
}
