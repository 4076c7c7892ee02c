/*
 * label.c — the plugin's unit label read back (hp_link_unit_label, hp_link_hex in
 * hp_link_units.h): apart from units.c because the code digests use it in the plugin too
 * (plugin/CMakeLists.txt, hp_carry).
 */
#include "hp_link_units.h"

#include <stdlib.h>
#include <string.h>

int hp_link_hex(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 16)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (h < 0)
            return 0;
        v = v << 4 | (uint64_t)h;
    }
    *out = v;
    return 1;
}

/* 8 lower-case hex digits */
static int parse_id(const char *p, size_t len, uint32_t *id)
{
    uint64_t v;
    if (len < 8 || !hp_link_hex(p, 8, &v))
        return 0;
    *id = (uint32_t)v;
    return 1;
}

int hp_link_unit_label(const char *name, size_t len, uint32_t *id, char **path)
{
    static const char prefix[] = "__hp_unit$";
    const size_t np = sizeof prefix - 1;
    if (len > np && name[0] == '_' && memcmp(name + 1, prefix, np) == 0)
        name++, len--;
    if (len < np || memcmp(name, prefix, np) != 0)
        return 0;
    const char *p = name + np;
    len -= np;
    uint32_t v;
    if (len < 11 || !parse_id(p, len, &v) || p[8] != '$' || (len - 9) % 2 != 0)
        return 0;
    size_t n = (len - 9) / 2;
    char *s = malloc(n + 1);
    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t byte;
        if (!hp_link_hex(p + 9 + 2 * i, 2, &byte) || byte == 0) {
            free(s);
            return 0;
        }
        s[i] = (char)byte;
    }
    s[n] = '\0';
    *id = v;
    *path = s;
    return 1;
}
