/*
 * fuzz_tools_map.c — libFuzzer target: the .hpmap reader (hp_map_parse,
 * runtime/tools/src/map.c) on any text, handed over without a terminating NUL
 * (the reader takes a length). The whole input is the map's text, so the
 * seeds are plain maps.
 *
 * Besides memory safety it checks the documented contract: on failure the
 * output is untouched and the message is a string inside its buffer that
 * says where ("line L, column C: ..."); on success the strings the map
 * promises are there, the functions are sorted by RVA and each is found by
 * hp_map_function_at, the symbols are sorted by name then unit, each unit
 * index is in range, and hp_map_find / hp_map_unit find what the map holds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t g_keep;

static void check_map(const hp_map *m)
{
    if (m->version < 1 || m->version > 3 || !m->image_name || !m->format || !m->machine)
        abort();
    if (strcmp(m->format, "pe") != 0 && strcmp(m->format, "elf") != 0)
        abort();
    if (m->build_id_len > sizeof m->build_id || m->has_codeview > 1)
        abort();
    if (m->version == 1 && (m->unit_count || m->symbol_count))
        abort(); /* version 1 has functions only */
    for (size_t i = 0; i < m->function_count; i++) {
        const hp_map_function *f = &m->functions[i];
        if (i && m->functions[i - 1].rva > f->rva)
            abort();
        const hp_map_function *g = hp_map_function_at(m, f->rva);
        if (!g || g->rva != f->rva || g > f)
            abort(); /* the first of its RVA */
        if (f->table > 1 || f->exported > 1 || f->patchable > 1)
            abort();
        g_keep += f->name ? strlen(f->name) : 0;
    }
    for (size_t i = 0; i < m->unit_count; i++) {
        int32_t u = hp_map_unit(m, m->units[i]);
        if (u < 0 || (size_t)u > i || strcmp(m->units[u], m->units[i]) != 0)
            abort();
    }
    for (size_t i = 0; i < m->symbol_count; i++) {
        const hp_map_symbol *s = &m->symbols[i];
        if (!s->name || s->unit < -1 || (s->unit >= 0 && (size_t)s->unit >= m->unit_count))
            abort();
        if ((s->kind != HP_MAP_FUNCTION && s->kind != HP_MAP_VARIABLE) || s->is_static > 1)
            abort();
        if (i) {
            const hp_map_symbol *p = &m->symbols[i - 1];
            int c = strcmp(p->name, s->name);
            if (c > 0 || (c == 0 && p->unit > s->unit))
                abort();
        }
        const hp_map_symbol *f = hp_map_find(m, s->unit, s->name);
        if (s->unit >= 0 && (!f || f->unit != s->unit || strcmp(f->name, s->name) != 0))
            abort();
        f = hp_map_find(m, -1, s->name);
        if (!s->is_static && (!f || f->is_static || strcmp(f->name, s->name) != 0))
            abort();
        if (f && f->is_static)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly `size` bytes: a read past the end is an ASan report */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    char msg[256];
    memset(msg, 'x', sizeof msg);
    hp_map *sentinel = (hp_map *)msg, *m = sentinel;
    hp_status st = hp_map_parse(text, size, &m, msg, sizeof msg);
    if (st == HP_OK) {
        if (!m || m == sentinel)
            abort();
        check_map(m);
        hp_map_free(m);
    } else {
        if (m != sentinel)
            abort(); /* documented: written only on HP_OK */
        if (st != HP_ERR_FORMAT && st != HP_ERR_MANIFEST_VERSION && st != HP_ERR_NO_MEMORY)
            abort();
        if (!memchr(msg, 0, sizeof msg) || (st != HP_ERR_NO_MEMORY && strncmp(msg, "line ", 5) != 0))
            abort(); /* a string inside its buffer, saying where */
        g_keep += strlen(msg);
    }
    free(text);
    return 0;
}
