/*
 * glob.c — hp_glob_match(): the one pattern dialect of exclude= and --allow.
 */
#include "hp_tools.h"

/* Match the bracket expression starting at *pp ('[') against c; advances *pp past its ']'.
   1 on a match, 0 on none, -1 when the bracket is not closed (then '[' is a literal). */
static int match_bracket(const char **pp, unsigned char c)
{
    const char *p = *pp + 1;
    int negate = 0, hit = 0;

    if (*p == '!' || *p == '^') {
        negate = 1;
        p++;
    }
    if (*p == ']') { /* a ']' first is a member, not the end */
        hit |= c == ']';
        p++;
    }
    for (; *p && *p != ']'; p++) {
        if (p[1] == '-' && p[2] && p[2] != ']') {
            hit |= c >= (unsigned char)p[0] && c <= (unsigned char)p[2];
            p += 2;
        } else {
            hit |= c == (unsigned char)*p;
        }
    }
    if (!*p)
        return -1;
    *pp = p + 1;
    return hit != negate;
}

int hp_glob_match(const char *pat, const char *s, size_t len)
{
    /* One backtrack point, the last '*': linear in practice, never recursive on hostile patterns. */
    const char *star = NULL;
    size_t star_i = 0, i = 0;

    if (!pat || (!s && len))
        return 0;
    while (i < len) {
        if (*pat == '*') {
            star = ++pat;
            star_i = i;
            continue;
        }
        if (*pat == '[') {
            const char *q = pat;
            int r = match_bracket(&q, (unsigned char)s[i]);
            if (r == 1) {
                pat = q;
                i++;
                continue;
            }
            if (r < 0 && s[i] == '[') {
                pat++;
                i++;
                continue;
            }
        } else if (*pat && (*pat == '?' || *pat == s[i])) {
            pat++;
            i++;
            continue;
        }
        if (!star)
            return 0;
        pat = star;
        i = ++star_i;
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}
