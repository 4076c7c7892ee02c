/* b.c — another unit that includes ih.h: its calls of ih_scale may be inlined. */
#include "ih.h"

int ih_twice(void)
{
    return ih_scale(ih_get()) * 2;
}
