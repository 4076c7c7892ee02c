/*
 * sort.c — hp_sort_by_u32(): the tools' sort of records by an address.
 */
#include "hp_tools.h"

#include <stdlib.h>
#include <string.h>

static uint32_t key_at(const unsigned char *rec, size_t key_offset)
{
    uint32_t k;
    memcpy(&k, rec + key_offset, sizeof k);
    return k;
}

int hp_sort_by_u32(void *base, size_t n, size_t size, size_t key_offset)
{
    if (n < 2)
        return 1;
    if (size == 0 || key_offset > size - sizeof(uint32_t) || n > SIZE_MAX / size)
        return 0;
    unsigned char *a = base;
    /* already in order (the common case for tables, .pdata and symbols): nothing to do */
    size_t i = 1;
    while (i < n && key_at(a + (i - 1) * size, key_offset) <= key_at(a + i * size, key_offset))
        i++;
    if (i == n)
        return 1;
    unsigned char *tmp = malloc(n * size);
    if (!tmp)
        return 0;
    /* LSD radix, 8 bits a pass, stable; a pass in which every key has the same byte is skipped */
    unsigned char *src = a, *dst = tmp;
    for (unsigned shift = 0; shift < 32; shift += 8) {
        size_t count[256] = {0};
        for (i = 0; i < n; i++)
            count[(key_at(src + i * size, key_offset) >> shift) & 0xFF]++;
        if (count[(key_at(src, key_offset) >> shift) & 0xFF] == n)
            continue;
        size_t pos = 0;
        for (unsigned b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = pos;
            pos += c;
        }
        for (i = 0; i < n; i++) {
            const unsigned char *r = src + i * size;
            memcpy(dst + count[(key_at(r, key_offset) >> shift) & 0xFF]++ * size, r, size);
        }
        unsigned char *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * size);
    free(tmp);
    return 1;
}

static void swap_bytes(unsigned char *x, unsigned char *y, size_t size)
{
    while (size--) {
        unsigned char t = *x;
        *x++ = *y;
        *y++ = t;
    }
}

int hp_sort_by_u32_then(void *base, size_t n, size_t size, size_t key_offset, int (*cmp)(const void *, const void *))
{
    if (!hp_sort_by_u32(base, n, size, key_offset))
        return 0;
    unsigned char *a = base;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        uint32_t k = key_at(a + i * size, key_offset);
        while (j < n && key_at(a + j * size, key_offset) == k)
            j++;
        /* ties are few (the aliases of one address): insertion sort, stable */
        for (size_t x = i + 1; x < j && cmp; x++)
            for (size_t y = x; y > i && cmp(a + (y - 1) * size, a + y * size) > 0; y--)
                swap_bytes(a + (y - 1) * size, a + y * size, size);
        i = j;
    }
    return 1;
}
