/*
 * vec.c — hp_vec_reserve(): the tools' growable arrays.
 */
#include "hp_tools.h"

#include <stdint.h>
#include <stdlib.h>

int hp_vec_reserve(void **array, size_t *cap, size_t count, size_t elem)
{
    if (count < *cap)
        return 1;
    return hp_vec_reserve_total(array, cap, *cap ? *cap * 2 : 16, elem); /* doubling: appends stay linear */
}

int hp_vec_reserve_total(void **array, size_t *cap, size_t total, size_t elem)
{
    if (total <= *cap)
        return 1;
    if (elem == 0 || total > SIZE_MAX / elem)
        return 0;
    void *p = realloc(*array, total * elem);
    if (!p)
        return 0;
    *array = p;
    *cap = total;
    return 1;
}
