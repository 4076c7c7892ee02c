/* clean.c — exported functions defined out of line; helpers static. */
#include "clean.h"

static int open_count;      /* data, but not exported */

static inline int bump(int by)
{
    open_count += by;
    return open_count;
}

int clean_open(const char *name)
{
    return name ? clean_clamp(bump(1), 0, 100) : -1;
}

void clean_close(int handle)
{
    (void)handle;
    bump(-1);
}
