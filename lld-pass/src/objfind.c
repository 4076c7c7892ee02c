/*
 * objfind.c — archives and COFF object symbol tables (hp_link_objfind.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_objfind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotpatch_pe.h"

#define AR_MAGIC "!<arch>\n"
#define AR_HDR 60u

int hp_link_is_archive(const unsigned char *data, size_t size)
{
    return data && size >= 8 && memcmp(data, AR_MAGIC, 8) == 0;
}

static size_t dec(const unsigned char *p, size_t n)
{
    size_t v = 0;
    for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        v = v * 10 + (size_t)(p[i] - '0');
    return v;
}

/* A member's name from its header: "/123" names an entry of the "//" long-name table (entries end
   with "/\n" (GNU) or NUL (COFF)); GNU ends short names with '/'. */
static void member_name(hp_pe_span h, hp_pe_span longnames, char *name, size_t size)
{
    size_t nl = 0;
    if (h.data[0] == '/' && h.data[1] >= '0' && h.data[1] <= '9') {
        size_t lo = dec(h.data + 1, 15);
        while (lo + nl < longnames.size && nl + 1 < size && longnames.data[lo + nl] != '\n' &&
               longnames.data[lo + nl] != 0)
            nl++;
        memcpy(name, longnames.data + (lo < longnames.size ? lo : 0), lo < longnames.size ? nl : 0);
        if (lo >= longnames.size)
            nl = 0;
    } else {
        while (nl < 16 && h.data[nl] != ' ')
            nl++;
        memcpy(name, h.data, nl);
    }
    if (nl > 1 && name[nl - 1] == '/')
        nl--;
    name[nl] = 0;
}

static hp_status ar_walk(const unsigned char *data, size_t size, int names,
                         int (*fn)(void *ctx, const char *name, const unsigned char *member, size_t len), void *ctx)
{
    if (!hp_link_is_archive(data, size) || !fn)
        return HP_ERR_FORMAT;
    hp_pe_span all = {data, size};
    hp_pe_span longnames = {0};
    size_t off = 8;
    while (off < size) {
        hp_pe_span h, body;
        if (!hp_pe_span_sub(all, off, AR_HDR, &h))
            return HP_ERR_FORMAT;
        size_t len = dec(h.data + 48, 10);
        if (!hp_pe_span_sub(all, off + AR_HDR, len, &body))
            return HP_ERR_FORMAT;
        int special = memcmp(h.data, "/ ", 2) == 0 || memcmp(h.data, "/SYM64/", 7) == 0 ||
                      memcmp(h.data, "__.SYMDEF", 9) == 0;
        if (memcmp(h.data, "// ", 3) == 0) {
            longnames = body;
        } else if (!special) {
            char name[256];
            if (names)
                member_name(h, longnames, name, sizeof name);
            if (fn(ctx, names ? name : NULL, body.data, body.size))
                return HP_OK;
        }
        off += AR_HDR + len + (len & 1); /* members are 2-byte aligned */
    }
    return HP_OK;
}

hp_status hp_link_ar_foreach(const unsigned char *data, size_t size,
                             int (*fn)(void *ctx, const char *name, const unsigned char *member, size_t len),
                             void *ctx)
{
    return ar_walk(data, size, 1, fn, ctx);
}

hp_status hp_link_ar_foreach_bytes(const unsigned char *data, size_t size,
                                   int (*fn)(void *ctx, const char *name, const unsigned char *member, size_t len),
                                   void *ctx)
{
    return ar_walk(data, size, 0, fn, ctx);
}

typedef struct defines_ctx {
    const char *symbol;
    size_t len;
    int hit;
} defines_ctx;

static int on_symbol(void *ctx, const hp_coff_symbol *sym)
{
    defines_ctx *c = ctx;
    if (sym->section <= 0 || !hp_coff_is_external(sym))
        return 0;
    if ((sym->name_len == c->len && memcmp(sym->name, c->symbol, c->len) == 0) ||
        (sym->name_len == c->len + 1 && sym->name[0] == '_' && memcmp(sym->name + 1, c->symbol, c->len) == 0))
        c->hit = 1;
    return c->hit;
}

/* Does the COFF object define `symbol` (or `_symbol`) externally? A malformed object defines nothing. */
static int coff_defines(const unsigned char *d, size_t size, const char *symbol)
{
    hp_pe_span s = {d, size};
    uint16_t machine = 0;
    uint32_t symptr = 0, nsyms = 0;
    if (!hp_pe_span_u16(s, 0, &machine) || (machine != HP_PE_MACHINE_AMD64 && machine != HP_PE_MACHINE_I386))
        return 0;
    if (!hp_pe_span_u32(s, 8, &symptr) || !hp_pe_span_u32(s, 12, &nsyms) || !symptr)
        return 0;
    defines_ctx c = {symbol, strlen(symbol), 0};
    const char *detail = NULL;
    if (hp_coff_symbols(s, symptr, nsyms, on_symbol, &c, &detail) != HP_OK)
        return 0;
    return c.hit;
}

typedef struct find_ctx {
    const char *symbol;
    char found[256];
    int hit;
} find_ctx;

static int on_member(void *ctx, const char *name, const unsigned char *m, size_t len)
{
    find_ctx *c = ctx;
    if (coff_defines(m, len, c->symbol)) {
        snprintf(c->found, sizeof c->found, "%s", name);
        c->hit = 1;
        return 1;
    }
    return 0;
}

hp_status hp_link_objfind(const hp_link_cmdline *cl, const char *symbol, char **out_object)
{
    if (!cl || !symbol || !out_object)
        return HP_ERR_ARGUMENT;
    *out_object = NULL;
    for (size_t i = 0; i < cl->input_count; i++) {
        const char *path = cl->args[cl->inputs[i]];
        size_t size = 0;
        unsigned char *d = NULL;
        hp_status st = hp_file_read(path, &d, &size, NULL, 0);
        if (st == HP_ERR_NO_MEMORY)
            return st;
        if (st != HP_OK)
            continue; /* lld-link's bare names in /libpath, and what lld read but we cannot: not named */
        char *res = NULL;
        if (hp_link_is_archive(d, size)) {
            find_ctx c;
            memset(&c, 0, sizeof c);
            c.symbol = symbol;
            hp_link_ar_foreach(d, size, on_member, &c);
            if (c.hit) {
                size_t n = strlen(path) + strlen(c.found) + 3;
                res = malloc(n);
                if (res)
                    snprintf(res, n, "%s(%s)", path, c.found);
                else {
                    free(d);
                    return HP_ERR_NO_MEMORY;
                }
            }
        } else if (coff_defines(d, size, symbol)) {
            res = strdup(path);
            if (!res) {
                free(d);
                return HP_ERR_NO_MEMORY;
            }
        }
        free(d);
        if (res) {
            *out_object = res;
            return HP_OK;
        }
    }
    return HP_OK;
}
