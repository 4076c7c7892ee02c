/*
 * arena.h — layer 1 of the audit library (audit/README.md, "Source layout"):
 * the string arena. Every string a report holds (paths, names, messages) is
 * copied into the report's one arena and freed with it.
 *
 * May call: the C library only.
 */
#ifndef HPA_ARENA_H
#define HPA_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include "attr.h"

typedef struct hpa_arena_block hpa_arena_block;
typedef struct hpa_arena {
    hpa_arena_block *head;
} hpa_arena;

/** Copy `len` bytes of `s` plus a NUL into the arena; NULL when out of memory. */
char *hpa_strndup(hpa_arena *a, const char *s, size_t len);
/** As hpa_strndup() for a whole string; NULL for NULL or when out of memory. */
char *hpa_strdup(hpa_arena *a, const char *s);
/** A formatted string in the arena; NULL when out of memory. */
/** As hpa_printf(), from a va_list (any length: nothing is cut). */
char *hpa_vprintf(hpa_arena *a, const char *fmt, va_list ap);
char *hpa_printf(hpa_arena *a, const char *fmt, ...) HPA_PRINTF(2, 3);
/** Free every string of the arena (it is empty and usable again). */
void hpa_arena_free(hpa_arena *a);

#endif /* HPA_ARENA_H */
