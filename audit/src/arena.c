/*
 * arena.c — layer 1 of the audit library (audit/README.md, "Source layout"):
 * the string arena, blocks of 64 KiB (or one string's size) chained and
 * freed together.
 *
 * May call: the C library only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

struct hpa_arena_block {
    hpa_arena_block *next;
    size_t used, cap;
    char data[];
};

static char *arena_alloc(hpa_arena *a, size_t n)
{
    hpa_arena_block *b = a->head;
    if (!b || n > b->cap - b->used) {
        size_t cap = n > 65536 ? n : 65536;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

char *hpa_strndup(hpa_arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = 0;
    return p;
}

char *hpa_strdup(hpa_arena *a, const char *s)
{
    return s ? hpa_strndup(a, s, strlen(s)) : NULL;
}

char *hpa_vprintf(hpa_arena *a, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *p = n >= 0 ? arena_alloc(a, (size_t)n + 1) : NULL;
    if (p)
        vsnprintf(p, (size_t)n + 1, fmt, again);
    va_end(again);
    return p;
}

char *hpa_printf(hpa_arena *a, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    if ((size_t)n < sizeof small)
        return hpa_strndup(a, small, (size_t)n);
    char *p = arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void hpa_arena_free(hpa_arena *a)
{
    while (a->head) {
        hpa_arena_block *n = a->head->next;
        free(a->head);
        a->head = n;
    }
}
