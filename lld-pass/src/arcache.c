/*
 * arcache.c — the archives found to hold no bitcode, remembered between links (hp_link_arcache.h).
 *
 * The file `<dir>/archives-v1`: a first line "hotpatch-link archives 1", then one line per archive:
 * device, inode, size, modification time (seconds, nanoseconds), change time (seconds, nanoseconds),
 * in decimal, separated by single spaces. Oldest first; at most HP_LINK_ARCACHE_MAX lines.
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_arcache.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hp_tools.h"

#define HEADER "hotpatch-link archives 1\n"
#define FILE_NAME "archives-v1"

typedef struct entry {
    uint64_t v[7]; /* dev, ino, size, mtime s, mtime ns, ctime s, ctime ns */
} entry;

struct hp_link_arcache {
    char *dir; /* NULL: no cache */
    entry *e;
    size_t n, cap;
    unsigned hits, noted;
};

static void key_of(const struct stat *st, entry *k)
{
    k->v[0] = (uint64_t)st->st_dev;
    k->v[1] = (uint64_t)st->st_ino;
    k->v[2] = (uint64_t)st->st_size;
    k->v[3] = (uint64_t)st->st_mtim.tv_sec;
    k->v[4] = (uint64_t)st->st_mtim.tv_nsec;
    k->v[5] = (uint64_t)st->st_ctim.tv_sec;
    k->v[6] = (uint64_t)st->st_ctim.tv_nsec;
}

static char *file_path(const char *dir)
{
    size_t n = strlen(dir) + sizeof FILE_NAME + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, FILE_NAME);
    return p;
}

/* One line of seven decimal numbers: 1, or 0 when it is not one. */
static int parse_line(const char *s, const char *end, entry *out)
{
    for (int k = 0; k < 7; k++) {
        if (s >= end || *s < '0' || *s > '9')
            return 0;
        uint64_t v = 0;
        for (; s < end && *s >= '0' && *s <= '9'; s++) {
            if (v > (UINT64_MAX - 9) / 10)
                return 0;
            v = v * 10 + (uint64_t)(*s - '0');
        }
        out->v[k] = v;
        if (k < 6) {
            if (s >= end || *s != ' ')
                return 0;
            s++;
        }
    }
    return s == end;
}

hp_link_arcache *hp_link_arcache_load(const char *dir)
{
    hp_link_arcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (!dir || !*dir)
        return c;
    c->dir = strdup(dir);
    char *path = c->dir ? file_path(dir) : NULL;
    if (!path) {
        hp_link_arcache_free(c);
        return NULL;
    }
    unsigned char *data = NULL;
    size_t size = 0;
    if (hp_file_read(path, &data, &size, NULL, 0) == HP_OK && size >= sizeof HEADER - 1 &&
        memcmp(data, HEADER, sizeof HEADER - 1) == 0) {
        const char *p = (const char *)data + sizeof HEADER - 1, *end = (const char *)data + size;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl)
                break; /* a line without its end: a file cut short, the rest is not trusted */
            entry e;
            if (c->n == HP_LINK_ARCACHE_MAX || !parse_line(p, nl, &e)) {
                c->n = 0; /* malformed or too long: an empty cache, rewritten when something is noted */
                break;
            }
            if (!HP_VEC_PUSH(c->e, c->n, c->cap, e)) {
                c->n = 0;
                break;
            }
            p = nl + 1;
        }
    }
    free(data);
    free(path);
    return c;
}

int hp_link_arcache_clean(hp_link_arcache *c, const struct stat *st)
{
    if (!c || !c->dir)
        return 0;
    entry k;
    key_of(st, &k);
    for (size_t i = c->n; i-- > 0;)
        if (memcmp(c->e[i].v, k.v, sizeof k.v) == 0) {
            c->hits++;
            return 1;
        }
    return 0;
}

void hp_link_arcache_note_clean(hp_link_arcache *c, const struct stat *st)
{
    if (!c || !c->dir)
        return;
    entry k;
    key_of(st, &k);
    /* an entry of the same file (device and inode) with other times or size is stale: replaced */
    size_t w = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->e[i].v[0] != k.v[0] || c->e[i].v[1] != k.v[1])
            c->e[w++] = c->e[i];
    c->n = w;
    if (c->n >= HP_LINK_ARCACHE_MAX) { /* the oldest go */
        size_t drop = c->n - HP_LINK_ARCACHE_MAX + 1;
        memmove(c->e, c->e + drop, (c->n - drop) * sizeof *c->e);
        c->n -= drop;
    }
    if (HP_VEC_PUSH(c->e, c->n, c->cap, k))
        c->noted++;
}

void hp_link_arcache_counts(const hp_link_arcache *c, unsigned *hits, unsigned *noted)
{
    if (hits)
        *hits = c ? c->hits : 0;
    if (noted)
        *noted = c ? c->noted : 0;
}

/* mkdir -p of `dir` (mode 0700 for what is created) */
static int make_dirs(const char *dir)
{
    char *p = strdup(dir);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int r = mkdir(p, 0700) == 0 || errno == EEXIST ? 0 : -1;
    free(p);
    return r;
}

int hp_link_arcache_save(hp_link_arcache *c)
{
    if (!c || !c->dir || !c->noted)
        return 0;
    if (make_dirs(c->dir) != 0)
        return -1;
    char *path = file_path(c->dir);
    if (!path)
        return -1;
    hp_file_replace rep;
    FILE *f = hp_file_replace_begin(&rep, path); /* a reader never sees half a file */
    int ok = f != NULL;
    if (f) {
        fputs(HEADER, f);
        for (size_t i = 0; i < c->n; i++) {
            char line[7 * 21 + 1], *w = line;
            for (int k = 0; k < 7; k++) {
                char d[24];
                int len = snprintf(d, sizeof d, "%llu", (unsigned long long)c->e[i].v[k]);
                memcpy(w, d, (size_t)len);
                w += len;
                *w++ = k < 6 ? ' ' : '\n';
            }
            fwrite(line, 1, (size_t)(w - line), f);
        }
        ok = hp_file_replace_end(&rep, 1);
    }
    free(path);
    return ok ? 0 : -1;
}

void hp_link_arcache_free(hp_link_arcache *c)
{
    if (!c)
        return;
    free(c->dir);
    free(c->e);
    free(c);
}

const char *hp_link_arcache_default_dir(char *buf, size_t size)
{
    const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    int n;
    if (x && x[0] == '/')
        n = snprintf(buf, size, "%s/hotpatch", x);
    else if (h && h[0] == '/')
        n = snprintf(buf, size, "%s/.cache/hotpatch", h);
    else
        return NULL;
    return n > 0 && (size_t)n < size ? buf : NULL;
}
