/*
 * units.c — the map's units and symbols of a PE image, from its COFF symbol
 * table (hp_link_units.h; the symbols the plugin adds: plugin/src/units.c).
 */
#include "hp_link_units.h"

#include <stdlib.h>
#include <string.h>

#include "hotpatch_pe.h"
#include "hp_tools.h"

typedef struct pending {
    hp_link_map_symbol sym;
    uint32_t id; /* the unit's id, for an alias */
    int alias;   /* one of the plugin's aliases (else an external function's own symbol) */
} pending;

typedef struct unit_id {
    uint32_t id;
    int32_t index;
} unit_id;

/* A walk over the symbol table (hp_link_units_walk in hp_link_units.h). */
typedef struct hp_link_units_walk {
    const hp_pe *pe;
    int x86;
    int functions; /* take external functions too */
    hp_link_units *out;
    size_t units_cap;
    unit_id *ids;
    size_t nids, ids_cap;
    pending *syms;
    size_t nsyms, syms_cap;
    int oom;
} collect;

static char *dup_n(collect *c, const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) {
        c->oom = 1;
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* The plugin's unit label (hp_link_unit_label): a unit of the image, once. */
static void take_unit(collect *c, const char *p, size_t len)
{
    uint32_t id;
    char *path = NULL;
    int r = hp_link_unit_label(p, len, &id, &path);
    if (r < 0)
        c->oom = 1;
    if (r <= 0)
        return;
    for (size_t i = 0; i < c->nids; i++)
        if (c->ids[i].id == id) {
            free(path); /* the same unit linked twice (or an id collision: the first one names it) */
            return;
        }
    unit_id u = {id, (int32_t)c->out->unit_count};
    if (!HP_VEC_PUSH(c->out->units, c->out->unit_count, c->units_cap, path)) {
        free(path);
        c->oom = 1;
        return;
    }
    if (!HP_VEC_PUSH(c->ids, c->nids, c->ids_cap, u))
        c->oom = 1;
}

static void push(collect *c, const char *name, size_t len, int alias, uint32_t id, int is_static, int is_function,
                 uint32_t rva, uint32_t size)
{
    pending s;
    memset(&s, 0, sizeof s);
    s.sym.name = dup_n(c, name, len);
    if (!s.sym.name)
        return;
    s.sym.unit = -1;
    s.sym.is_static = is_static;
    s.sym.is_function = is_function;
    s.sym.rva = rva;
    s.sym.size = size;
    s.id = id;
    s.alias = alias;
    if (!HP_VEC_PUSH(c->syms, c->nsyms, c->syms_cap, s)) {
        free((char *)s.sym.name);
        c->oom = 1;
    }
}

/* The last '$' in p[0, len), or NULL. */
static const char *last_dollar(const char *p, size_t len)
{
    while (len > 0)
        if (p[--len] == '$')
            return p + len;
    return NULL;
}

/* <name>$hp{s,e}<id>[$s<size>] at the end of the name: 1 when it is one of the plugin's aliases. */
static int take_alias(collect *c, const char *p, size_t len, uint32_t rva)
{
    const char *d = last_dollar(p, len);
    if (!d)
        return 0;
    int sized = 0;
    uint64_t size = 0;
    size_t end = len;
    if (d[1] == 's' && (size_t)(d - p) + 2 < len) { /* $s<size> */
        for (const char *q = d + 2; q < p + len; q++) {
            if (*q < '0' || *q > '9' || size > UINT32_MAX)
                return 0;
            size = size * 10 + (uint64_t)(*q - '0');
        }
        if (size > UINT32_MAX)
            return 0;
        sized = 1;
        end = (size_t)(d - p);
        d = last_dollar(p, end);
        if (!d)
            return 0;
    }
    size_t at = (size_t)(d - p);
    uint64_t id;
    if (at == 0 || end - at != 12 || d[1] != 'h' || d[2] != 'p' || (d[3] != 's' && d[3] != 'e') ||
        !hp_link_hex(d + 4, 8, &id))
        return 0;
    push(c, p, at, 1, (uint32_t)id, d[3] == 's', !sized, rva, (uint32_t)size);
    return 1;
}

void hp_link_units_symbol(hp_link_units_walk *w, const hp_coff_symbol *s)
{
    collect *c = w;
    if (s->section <= 0 || c->oom)
        return;
    const char *p = s->name;
    size_t len = s->name_len;
    /* most symbols are none of ours: only names with a '$' can be, or external functions when asked */
    int ours = len > 12 && memchr(p, '$', len) != NULL;
    int fn = c->functions && hp_coff_is_typed_function(s) && hp_coff_is_external(s);
    if (!ours && !fn)
        return;
    hp_pe_section sec;
    if (hp_pe_section_at(c->pe, (uint32_t)(s->section - 1), &sec) != HP_OK)
        return;
    uint64_t rva = (uint64_t)sec.virtual_address + s->value;
    if (rva > UINT32_MAX)
        return;
    if (ours && len > 10 && memcmp(p, "__hp_unit$", 10) == 0) {
        take_unit(c, p, len);
        return;
    }
    if (ours && take_alias(c, p, len, (uint32_t)rva))
        return;
    if (fn && hp_pe_section_is_code(&sec)) {
        hp_coff_c_name(c->x86, &p, &len);
        if (len)
            push(c, p, len, 0, 0, 0, 1, (uint32_t)rva, 0);
    }
}

static int on_symbol(void *ctx, const hp_coff_symbol *s)
{
    hp_link_units_symbol(ctx, s);
    const collect *c = ctx;
    return c->oom;
}

static int cmp_sym(const void *a, const void *b)
{
    const hp_link_map_symbol *x = a, *y = b;
    int k = strcmp(x->name, y->name);
    if (k)
        return k;
    return (x->unit > y->unit) - (x->unit < y->unit);
}

/* Everything a walk holds but its result. */
static void walk_free(collect *c)
{
    for (size_t i = 0; i < c->nsyms; i++)
        free((char *)c->syms[i].sym.name);
    free(c->syms);
    free(c->ids);
    free(c);
}

void hp_link_units_abandon(hp_link_units_walk *w)
{
    if (!w)
        return;
    hp_link_units_destroy(w->out);
    walk_free(w);
}

hp_link_units_walk *hp_link_units_begin(const hp_pe *pe, int functions)
{
    collect *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->pe = pe;
    c->x86 = pe->machine == HP_MACHINE_X86;
    c->functions = functions;
    c->out = calloc(1, sizeof *c->out);
    if (!c->out) {
        free(c);
        return NULL;
    }
    uint32_t symptr = 0, nsyms = 0;
    c->out->has_symtab = hp_coff_image_symtab(pe, &symptr, &nsyms);
    return c;
}

hp_status hp_link_units_end(hp_link_units_walk *w, hp_link_units **out)
{
    collect *c = w;
    *out = NULL;
    /* the units' ids become indices; a static whose unit is not named is of no use to a fix */
    size_t k = 0;
    if (!c->oom && c->nsyms && !(c->out->symbols = malloc(c->nsyms * sizeof *c->out->symbols)))
        c->oom = 1;
    for (size_t i = 0; i < c->nsyms; i++) {
        hp_link_map_symbol s = c->syms[i].sym;
        int extern_fn = !c->syms[i].alias;
        if (!extern_fn) {
            s.unit = -1;
            for (size_t u = 0; u < c->nids; u++)
                if (c->ids[u].id == c->syms[i].id)
                    s.unit = c->ids[u].index;
        }
        if (c->oom || (s.unit < 0 && !extern_fn)) {
            free((char *)s.name);
            continue;
        }
        c->out->symbols[k++] = s;
    }
    c->nsyms = 0; /* each name is the result's now, or freed */
    c->out->symbol_count = k;
    hp_link_units *u = c->out;
    int oom = c->oom;
    walk_free(c);
    if (oom) {
        hp_link_units_destroy(u);
        return HP_ERR_NO_MEMORY;
    }
    if (k) {
        qsort(u->symbols, k, sizeof *u->symbols, cmp_sym);
        size_t n = 0;
        for (size_t i = 0; i < k; i++) {
            hp_link_map_symbol *s = &u->symbols[i];
            if (n && strcmp(u->symbols[n - 1].name, s->name) == 0 && u->symbols[n - 1].unit == s->unit) {
                free((char *)s->name);
                continue;
            }
            u->symbols[n++] = *s;
        }
        u->symbol_count = n;
    }
    *out = u;
    return HP_OK;
}

hp_status hp_link_units_read(const uint8_t *data, size_t size, int functions, hp_link_units **out, char *msg,
                             size_t msg_size)
{
    if (!data || !out)
        return HP_ERR_ARGUMENT;
    *out = NULL;
    hp_pe pe;
    const char *detail = NULL;
    hp_status st = hp_pe_open(&pe, data, size, HP_PE_LAYOUT_FILE, 0, &detail);
    if (st != HP_OK) {
        hp_msg_set(msg, msg_size, "not a PE image: %s", detail ? detail : hp_status_str(st));
        return HP_ERR_FORMAT;
    }
    hp_link_units_walk *w = hp_link_units_begin(&pe, functions);
    if (!w)
        return HP_ERR_NO_MEMORY;
    uint32_t symptr = 0, nsyms = 0;
    if (hp_coff_image_symtab(&pe, &symptr, &nsyms)) {
        st = hp_coff_symbols(pe.image, symptr, nsyms, on_symbol, w, &detail);
        if (st != HP_OK && !w->oom) {
            hp_msg_set(msg, msg_size, "the COFF symbol table: %s", detail ? detail : hp_status_str(st));
            hp_link_units_abandon(w);
            return HP_ERR_FORMAT;
        }
    }
    return hp_link_units_end(w, out);
}

void hp_link_units_destroy(hp_link_units *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->unit_count; i++)
        free(u->units[i]);
    free(u->units);
    for (size_t i = 0; i < u->symbol_count; i++)
        free((char *)u->symbols[i].name);
    free(u->symbols);
    free(u);
}
