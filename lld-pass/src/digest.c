/*
 * digest.c — code and data digests of one COFF object (hp_link_digest.h;
 * lld-pass/README.md, "Code digests").
 *
 * What a relocation refers to is hashed in place of the relocated bytes:
 *   N <name> <addend>   a symbol with a name (function, variable, import)
 *   S <offset>          a label of the function being digested, by its offset from the entry
 *   F <name> <offset>   a label inside another function of the object
 *   D <class> <bytes>   unnamed data (string literals, constants, lookup tables): the bytes from
 *                       the target to the next place anything refers to or names in that section,
 *                       their own relocations named one level deep
 * so that two builds whose layout differs (a function added before another, a longer string
 * elsewhere) give the same digest for the same code.
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_digest.h"
#include "hp_link_units.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hotpatch_pe.h"
#include "hp_tools.h"

enum {
    SYM_BIG = 20, /* a /bigobj symbol record (hp_coff_object_header.symbol_size) */
    SECT_SIZE = 40,
    RELOC_SIZE = 10,
    SCN_CNT_CODE = 0x20,
    SCN_UNINIT = 0x80,
    SCN_NRELOC_OVFL = 0x01000000,
    SCN_MEM_EXECUTE = 0x20000000,
    SCN_MEM_WRITE = 0x80000000u,
    CLASS_EXTERNAL = 2,
    CLASS_STATIC = 3,
    MACHINE_AMD64 = 0x8664,
    MACHINE_I386 = 0x14c,
};

typedef struct sect {
    hp_pe_span data;  /* empty for uninitialized data */
    uint32_t size;    /* bytes (SizeOfRawData: also what an uninitialized section holds) */
    uint32_t flags;
    uint32_t reloc_first; /* into obj.relocs: this section's, sorted by offset */
    uint32_t reloc_count;
} sect;

typedef struct sym {
    const char *name; /* NULL for an aux record */
    size_t len;
    uint32_t value;
    int32_t section;  /* 1-based; 0 undefined, negative special */
    uint16_t type;
    uint8_t cls;
    uint8_t secdef;   /* a section's own symbol (relocations against it carry the offset) */
} sym;

typedef struct reloc {
    uint32_t offset;
    uint32_t symbol;
    uint16_t type;
} reloc;

typedef struct fnr {
    uint64_t key;             /* sec << 32 | start: the order of sort_by_key() */
    uint32_t sec, start, end; /* end: after trimming */
    uint32_t sym;
} fnr;

typedef struct named_place {
    uint64_t key; /* section << 32 | offset */
    uint32_t sym;
} named_place;

typedef struct bound {
    uint64_t key; /* section << 32 | offset */
} bound;

typedef struct obj {
    hp_pe_span file;
    int x86;
    sect *secs;
    uint32_t nsec;
    sym *syms;
    uint32_t nsym;
    reloc *relocs;
    size_t nrelocs;
    fnr *fns;
    size_t nfns;
    uint64_t *bounds; /* sorted section << 32 | offset of every data symbol and every section-relative target in data */
    size_t nbounds;
    named_place *named; /* every named symbol's place, sorted */
    size_t nnamed;
} obj;

/* ---- hashing ------------------------------------------------------------- */

/* The digests' hash: 8 bytes at a time a multiply and a shift (the bytes read as little-endian
   words), the rest FNV-1a's step. 64 bits against accidental equality of two builds' code, not
   against an adversary. */
static inline void mix(uint64_t *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t v = *h;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
                     (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
        v = (v ^ w) * 0x9e3779b97f4a7c15ull;
        v ^= v >> 29;
    }
    for (; n; n--, p++) {
        v ^= *p;
        v *= 0x100000001b3ull;
    }
    *h = v;
}

/* mix() of v's eight bytes (little-endian): one round of its 8-byte loop */
static inline void mix_u64(uint64_t *h, uint64_t v)
{
    uint64_t x = (*h ^ v) * 0x9e3779b97f4a7c15ull;
    *h = x ^ (x >> 29);
}

static void mix_str(uint64_t *h, const char *s, size_t n)
{
    mix_u64(h, n);
    mix(h, s, n);
}

/* ---- names ---------------------------------------------------------------- */

static int has_prefix(const char *p, size_t n, const char *pre)
{
    size_t k = strlen(pre);
    return n >= k && memcmp(p, pre, k) == 0;
}

/* ---- reading the object --------------------------------------------------- */

/* What read_object() and index_places() allocated. */
static void obj_free(obj *o)
{
    free(o->secs);
    free(o->syms);
    free(o->relocs);
    free(o->fns);
    free(o->bounds);
    free(o->named);
}

static hp_status bad(char *msg, size_t msg_size, const char *what)
{
    hp_msg_set(msg, msg_size, "%s", what);
    return HP_ERR_FORMAT;
}

/* The width of the field a relocation of `type` writes (0: none, or a type this reader does not know). */
static size_t reloc_width(int x86, uint16_t type)
{
    /* i386: DIR32, DIR32NB, SECTION (2), SECREL, REL32; x64: ADDR64 (8), ADDR32 .. REL32_5, SECTION (2),
       SECREL */
    static const uint8_t i386[0x15] = {[6] = 4, [7] = 4, [0xA] = 2, [0xB] = 4, [0x14] = 4};
    static const uint8_t amd64[0xC] = {[1] = 8, [2] = 4, [3] = 4, [4] = 4,   [5] = 4,   [6] = 4,
                                       [7] = 4, [8] = 4, [9] = 4, [0xA] = 2, [0xB] = 4};
    if (x86)
        return type < sizeof i386 ? i386[type] : 0;
    return type < sizeof amd64 ? amd64[type] : 0;
}

/* The addend a relocation's field holds (what it adds to its symbol), sign-extended. */
static int64_t reloc_addend(const obj *o, const sect *s, const reloc *r)
{
    size_t w = reloc_width(o->x86, r->type);
    uint32_t v32;
    uint64_t v64;
    uint16_t v16;
    if (w == 8 && hp_pe_span_u64(s->data, r->offset, &v64))
        return (int64_t)v64;
    if (w == 4 && hp_pe_span_u32(s->data, r->offset, &v32))
        return (int32_t)v32;
    if (w == 2 && hp_pe_span_u16(s->data, r->offset, &v16))
        return (int16_t)v16;
    return 0;
}

/* Sort n records of `size` bytes by the uint64_t key each starts with (section << 32 | offset): the
   tools' stable radix sort by the low half, then by the high half (wherever the host keeps them). 0
   when out of memory. */
static int sort_by_key(void *base, size_t n, size_t size)
{
    const uint64_t one = 1;
    size_t low = *(const unsigned char *)&one ? 0 : 4;
    return n < 2 || (hp_sort_by_u32(base, n, size, low) && hp_sort_by_u32(base, n, size, 4 - low));
}

/* The first of n sorted records of `size` bytes (keyed as sort_by_key's) whose key is not below `key`. */
static size_t lower_bound(const void *base, size_t n, size_t size, uint64_t key)
{
    const unsigned char *a = base;
    if (n == 0)
        return 0;
    /* halving without a branch on the comparison (a conditional move): the keys are in no order the
       predictor could learn */
    size_t lo = 0;
    while (n > 1) {
        size_t half = n / 2;
        uint64_t k;
        memcpy(&k, a + (lo + half - 1) * size, sizeof k);
        lo = k < key ? lo + half : lo;
        n -= half;
    }
    uint64_t k;
    memcpy(&k, a + lo * size, sizeof k);
    return lo + (k < key);
}

/* Relocations of the sections no digest covers are not read: the unwind tables (.pdata, .xdata) and the
   plugin's table (.hotp$...). No code or variable of C refers to them, so nothing they hold or point at is
   ever part of a digest; in an x64 object they are four relocations of five (three per function in
   .pdata, one per table record), and their memory and ordering were a third of the digests' cost. */
static int relocs_unread(const uint8_t name[8])
{
    return memcmp(name, ".pdata\0", 7) == 0 || memcmp(name, ".xdata\0", 7) == 0 || memcmp(name, ".hotp$", 6) == 0;
}

static hp_status read_object(obj *o, char *msg, size_t msg_size, uint16_t *machine)
{
    hp_pe_span f = o->file;
    hp_coff_object_header h;
    if (!hp_coff_object_header_read(f, &h))
        return bad(msg, msg_size, "not a COFF object: shorter than its header");
    uint16_t m = h.machine;
    uint32_t nsec = h.section_count, symptr = h.symtab_offset, nsym = h.symbol_count, hdr = h.section_table;
    size_t symsize = h.symbol_size;
    if (m != MACHINE_AMD64 && m != MACHINE_I386)
        return bad(msg, msg_size, "not a COFF object of x86 or x86-64");
    *machine = m;
    o->x86 = m == MACHINE_I386;
    hp_pe_span secs, symtab, strtab = {NULL, 0};
    if (!hp_pe_span_sub(f, hdr, (uint64_t)nsec * SECT_SIZE, &secs))
        return bad(msg, msg_size, "the section table lies outside the file");
    if (!hp_pe_span_sub(f, symptr, (uint64_t)nsym * symsize, &symtab))
        return bad(msg, msg_size, "the symbol table lies outside the file");
    uint32_t strsize = 0;
    uint64_t stroff = (uint64_t)symptr + (uint64_t)nsym * symsize;
    if (hp_pe_span_u32(f, stroff, &strsize) && strsize >= 4)
        hp_pe_span_sub(f, stroff, strsize, &strtab);

    o->nsec = nsec;
    o->secs = calloc(nsec ? nsec : 1, sizeof *o->secs);
    o->nsym = nsym;
    o->syms = calloc(nsym ? nsym : 1, sizeof *o->syms);
    if (!o->secs || !o->syms)
        return HP_ERR_NO_MEMORY;

    /* sections and their relocations */
    /* room for every relocation at once: the counts of the section headers (an overflowed count,
       read below, only grows the array) */
    size_t relocs_cap = 0, total = 0;
    for (uint32_t i = 0; i < nsec; i++) {
        uint16_t nrel16 = 0;
        hp_pe_span_u16(secs, (uint64_t)i * SECT_SIZE + 32, &nrel16);
        if (!relocs_unread(secs.data + (size_t)i * SECT_SIZE))
            total += nrel16;
    }
    if (!hp_vec_reserve_total((void **)&o->relocs, &relocs_cap, total, sizeof *o->relocs))
        return HP_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < nsec; i++) {
        hp_pe_span sh;
        hp_pe_span_sub(secs, (uint64_t)i * SECT_SIZE, SECT_SIZE, &sh);
        uint32_t rawsize, rawptr, relptr, flags;
        uint16_t nrel16;
        hp_pe_span_u32(sh, 16, &rawsize);
        hp_pe_span_u32(sh, 20, &rawptr);
        hp_pe_span_u32(sh, 24, &relptr);
        hp_pe_span_u16(sh, 32, &nrel16);
        hp_pe_span_u32(sh, 36, &flags);
        sect *s = &o->secs[i];
        s->flags = flags;
        s->size = rawsize;
        if (!(flags & SCN_UNINIT) && rawsize && !hp_pe_span_sub(f, rawptr, rawsize, &s->data))
            return bad(msg, msg_size, "a section's data lies outside the file");
        uint32_t nrel = relocs_unread(sh.data) ? 0 : nrel16;
        uint32_t first = 0;
        if (nrel && (flags & SCN_NRELOC_OVFL) && nrel16 == 0xFFFF) {
            if (!hp_pe_span_u32(f, relptr, &nrel) || nrel == 0)
                return bad(msg, msg_size, "a section's relocation count lies outside the file");
            first = 1; /* the first record holds the count */
        }
        hp_pe_span rs;
        if (nrel && !hp_pe_span_sub(f, relptr, (uint64_t)nrel * RELOC_SIZE, &rs))
            return bad(msg, msg_size, "a section's relocations lie outside the file");
        s->reloc_first = (uint32_t)o->nrelocs;
        for (uint32_t k = first; k < nrel; k++) {
            reloc r;
            hp_pe_span_u32(rs, (uint64_t)k * RELOC_SIZE, &r.offset);
            hp_pe_span_u32(rs, (uint64_t)k * RELOC_SIZE + 4, &r.symbol);
            hp_pe_span_u16(rs, (uint64_t)k * RELOC_SIZE + 8, &r.type);
            size_t w = reloc_width(o->x86, r.type);
            if (r.symbol >= nsym || (w && (r.offset > rawsize || rawsize - r.offset < w)))
                return bad(msg, msg_size, "a relocation outside its section or naming no symbol");
            if (!HP_VEC_PUSH(o->relocs, o->nrelocs, relocs_cap, r))
                return HP_ERR_NO_MEMORY;
        }
        s->reloc_count = (uint32_t)(o->nrelocs - s->reloc_first);
        if (s->reloc_count > 1 && !hp_sort_by_u32(o->relocs + s->reloc_first, s->reloc_count, sizeof *o->relocs,
                                                  offsetof(reloc, offset)))
            return HP_ERR_NO_MEMORY;
    }

    /* symbols (aux records stay nameless) */
    for (uint32_t i = 0; i < nsym; i++) {
        const uint8_t *r = symtab.data + (size_t)i * symsize;
        sym *y = &o->syms[i];
        uint32_t value, zero, stroffs;
        hp_pe_span rec = {r, symsize};
        hp_pe_span_u32(rec, 8, &value);
        hp_pe_span_u32(rec, 0, &zero);
        hp_pe_span_u32(rec, 4, &stroffs);
        if (symsize == SYM_BIG) {
            uint32_t sec32;
            hp_pe_span_u32(rec, 12, &sec32);
            y->section = (int32_t)sec32;
            hp_pe_span_u16(rec, 16, &y->type);
            y->cls = r[18];
        } else {
            uint16_t sec16;
            hp_pe_span_u16(rec, 12, &sec16);
            y->section = (int16_t)sec16;
            hp_pe_span_u16(rec, 14, &y->type);
            y->cls = r[16];
        }
        uint8_t aux = r[symsize - 1];
        y->value = value;
        if (zero == 0) {
            size_t n = 0;
            if (stroffs < 4 || !hp_pe_span_strlen(strtab, stroffs, &n))
                return bad(msg, msg_size, "a symbol's name lies outside the string table");
            y->name = (const char *)strtab.data + stroffs;
            y->len = n;
        } else {
            y->name = (const char *)r;
            y->len = strnlen((const char *)r, 8);
        }
        /* a section's own symbol: static, at 0, with the section's aux record */
        y->secdef = y->cls == CLASS_STATIC && y->value == 0 && aux >= 1 && y->type == 0 && y->section > 0;
        if (y->section > (int32_t)nsec)
            return bad(msg, msg_size, "a symbol names a section the object does not have");
        if (aux > nsym - 1 - i)
            return bad(msg, msg_size, "a symbol's auxiliary records run past the symbol table");
        i += aux; /* the aux slots keep a NULL name */
    }
    return HP_OK;
}

/* ---- the object's places -------------------------------------------------- */

static int is_code(const obj *o, int32_t section)
{
    return section > 0 && (o->secs[section - 1].flags & (SCN_CNT_CODE | SCN_MEM_EXECUTE)) != 0;
}

static int is_named(const sym *y)
{
    return y->name && !y->secdef && y->section > 0 && y->len > 0 && y->name[0] != '.' &&
           !has_prefix(y->name, y->len, "__hp_unit$") && !has_prefix(y->name, y->len, "___hp_unit$") &&
           !(y->len > 4 && memchr(y->name, '$', y->len) &&
             (strstr(y->name, "$hps") || strstr(y->name, "$hpe") || strstr(y->name, "$hpt")));
}

static int is_typed_function(const sym *y)
{
    return y->name && (y->type >> 4) == 2 && (y->cls == CLASS_EXTERNAL || y->cls == CLASS_STATIC) &&
           y->section > 0;
}

static uint32_t next_bound(const obj *o, int32_t section, uint32_t off);
static int rel32_k(const obj *o, uint16_t type);
static size_t first_reloc(const obj *o, const sect *s, uint32_t start);
static int rel_table(const obj *o, int32_t section, uint32_t off, uint32_t len);

static hp_status index_places(obj *o)
{
    size_t bcap = 0, ncap = 0, fcap = 0, ntables = 0, tcap = 0;
    uint64_t *tables = NULL; /* the places in data code refers to: where relative lookup tables can be */
    for (uint32_t i = 0; i < o->nsym; i++) {
        const sym *y = &o->syms[i];
        if (!y->name || y->section <= 0)
            continue;
        uint64_t key = (uint64_t)y->section << 32 | y->value;
        int code = is_code(o, y->section);
        /* places in code are found through the functions: bounds and names are for data */
        if (!y->secdef && !code && !HP_VEC_PUSH(o->bounds, o->nbounds, bcap, key))
            return HP_ERR_NO_MEMORY;
        if (!code && is_named(y)) {
            named_place np = {key, i};
            if (!HP_VEC_PUSH(o->named, o->nnamed, ncap, np))
                return HP_ERR_NO_MEMORY;
        }
        if (is_typed_function(y) && code) {
            fnr f = {key, (uint32_t)y->section, y->value, 0, i};
            if (!HP_VEC_PUSH(o->fns, o->nfns, fcap, f))
                return HP_ERR_NO_MEMORY;
        }
    }
    /* every place a relocation reaches through a section's own symbol bounds the data before it */
    for (uint32_t s = 0; s < o->nsec; s++) {
        const sect *sc = &o->secs[s];
        for (uint32_t k = 0; k < sc->reloc_count; k++) {
            const reloc *r = &o->relocs[sc->reloc_first + k];
            const sym *t = &o->syms[r->symbol];
            /* a PC-relative field in data holds its own place too (describe()): not a bound */
            if (!t->secdef || is_code(o, t->section) || (!is_code(o, (int32_t)s + 1) && rel32_k(o, r->type) >= 0))
                continue;
            int64_t off = reloc_addend(o, sc, r);
            if (off < 0 || off > UINT32_MAX)
                continue;
            uint64_t key = (uint64_t)t->section << 32 | (uint64_t)off;
            if (!HP_VEC_PUSH(o->bounds, o->nbounds, bcap, key))
                return HP_ERR_NO_MEMORY;
            if (is_code(o, (int32_t)s + 1) && !HP_VEC_PUSH(tables, ntables, tcap, key))
                return HP_ERR_NO_MEMORY;
        }
    }
    if (!sort_by_key(o->bounds, o->nbounds, sizeof *o->bounds)) {
        free(tables);
        return HP_ERR_NO_MEMORY;
    }
    /* the places relative lookup tables reach bound data too; a table is what code refers to */
    size_t nb = o->nbounds;
    for (size_t i = 0; i < ntables; i++) {
        int32_t section = (int32_t)(tables[i] >> 32);
        uint32_t off = (uint32_t)tables[i];
        if (section <= 0 || (uint32_t)section > o->nsec || off >= o->secs[section - 1].size)
            continue;
        uint32_t len = next_bound(o, section, off) - off;
        if (!rel_table(o, section, off, len))
            continue;
        for (uint32_t e = 0; e < len; e += 4) {
            uint32_t v;
            hp_pe_span_u32(o->secs[section - 1].data, (uint64_t)off + e, &v);
            uint64_t key = (uint64_t)section << 32 | (uint32_t)((int64_t)off + (int32_t)v);
            if (!HP_VEC_PUSH(o->bounds, o->nbounds, bcap, key)) {
                free(tables);
                return HP_ERR_NO_MEMORY;
            }
        }
    }
    free(tables);
    if (o->nbounds > nb && !sort_by_key(o->bounds, o->nbounds, sizeof *o->bounds))
        return HP_ERR_NO_MEMORY;
    if (!sort_by_key(o->named, o->nnamed, sizeof *o->named) || !sort_by_key(o->fns, o->nfns, sizeof *o->fns))
        return HP_ERR_NO_MEMORY;
    return HP_OK;
}

/* The first bound after `off` in `section`, or the section's end. */
static uint32_t next_bound(const obj *o, int32_t section, uint32_t off)
{
    size_t at = lower_bound(o->bounds, o->nbounds, sizeof *o->bounds, ((uint64_t)section << 32 | off) + 1);
    uint32_t end = o->secs[section - 1].size;
    if (at < o->nbounds && (o->bounds[at] >> 32) == (uint64_t)section && (uint32_t)o->bounds[at] < end)
        end = (uint32_t)o->bounds[at];
    return end;
}

/* A named symbol at exactly (section, off), or -1. */
static int64_t named_at(const obj *o, int32_t section, uint32_t off)
{
    uint64_t key = (uint64_t)section << 32 | off;
    size_t at = lower_bound(o->named, o->nnamed, sizeof *o->named, key);
    return at < o->nnamed && o->named[at].key == key ? (int64_t)o->named[at].sym : -1;
}

/* The function of the object that starts at or last before (section, off), or -1: the one whose code
   holds the place, or whose fill or padding does. */
static int64_t function_at(const obj *o, int32_t section, uint32_t off)
{
    size_t lo = 0, hi = o->nfns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const fnr *f = &o->fns[mid];
        if (f->sec < (uint32_t)section || (f->sec == (uint32_t)section && f->start <= off))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || o->fns[lo - 1].sec != (uint32_t)section)
        return -1;
    return (int64_t)(lo - 1);
}

/* ---- what a relocation refers to ------------------------------------------ */

static void mix_name(const obj *o, uint64_t *h, const sym *y)
{
    const char *p = y->name;
    size_t n = y->len;
    hp_coff_c_name(o->x86, &p, &n);
    mix_str(h, p, n);
}

static void describe(const obj *o, uint64_t *h, const reloc *r, const sect *from, const fnr *self, int64_t base,
                     int depth);

/* Does [off, off + len) of `section` look like one of clang's relative lookup tables: 32-bit
   entries, each an offset from the table's start to elsewhere in the section, outside the table, to
   a place after a NUL (the end of the string or zero padding before it)? No relocation
   shows what such a table reaches, so its entries count as references. */
static int rel_table(const obj *o, int32_t section, uint32_t off, uint32_t len)
{
    const sect *s = &o->secs[section - 1];
    if (!s->data.data || len < 8 || len % 4 != 0 || (s->flags & (SCN_MEM_WRITE | SCN_CNT_CODE)))
        return 0;
    for (uint32_t e = 0; e < len; e += 4) {
        uint32_t v;
        if (!hp_pe_span_u32(s->data, (uint64_t)off + e, &v))
            return 0;
        int64_t t = (int64_t)off + (int32_t)v;
        if (t < 0 || t >= s->size || (t >= off && t < (int64_t)off + len))
            return 0; /* outside the section, or into the table itself: data, not a table */
        if (t > 0 && s->data.data[t - 1] != 0)
            return 0; /* what clang makes relative is constants, strings mostly: each after a NUL */
    }
    return 1;
}

/* Unnamed data: the bytes of [off, next bound) of `section`, relocated fields cleared, each
   relocation inside named (one level deep), and the places a table of 32-bit offsets relative to
   its own start reaches (clang's relative lookup tables, which no relocation shows). */
static void mix_region(const obj *o, uint64_t *h, int32_t section, uint32_t off, int depth)
{
    const sect *s = &o->secs[section - 1];
    uint32_t end = next_bound(o, section, off);
    unsigned char cls = (s->flags & SCN_UNINIT) ? 'b' : (s->flags & SCN_MEM_WRITE) ? 'w' : 'r';
    size_t k = first_reloc(o, s, off);
    int has_relocs = k < s->reloc_first + s->reloc_count && o->relocs[k].offset < end;
    if (!has_relocs && depth < 1 && end > off && rel_table(o, section, off, end - off)) {
        /* the table's entries are offsets that any layout change moves: what they reach counts */
        mix(h, "DT", 2);
        mix_u64(h, end - off);
        for (uint32_t e = 0; e < end - off; e += 4) {
            uint32_t v;
            hp_pe_span_u32(s->data, (uint64_t)off + e, &v);
            mix_region(o, h, section, (uint32_t)((int64_t)off + (int32_t)v), depth + 1);
        }
        return;
    }
    /* read-only data ends at its last nonzero byte and one NUL: the zeros after it are the alignment
       of whatever the layout put next */
    if (cls == 'r' && !has_relocs && s->data.data) {
        while (end > off + 1 && s->data.data[end - 1] == 0 && s->data.data[end - 2] == 0)
            end--;
    }
    uint32_t len = end > off ? end - off : 0;
    mix(h, "D", 1);
    mix(h, &cls, 1);
    mix_u64(h, len);
    /* the relocations of [off, end) in order, the bytes between them as they are */
    uint32_t pos = off;
    for (; k < s->reloc_first + s->reloc_count && o->relocs[k].offset < end; k++) {
        const reloc *r = &o->relocs[k];
        if (s->data.data && r->offset > pos)
            mix(h, s->data.data + pos, r->offset - pos);
        uint32_t rel = r->offset - off;
        mix(h, &rel, sizeof rel);
        if (depth < 1)
            describe(o, h, r, s, NULL, off, depth + 1);
        else
            mix_u64(h, r->type);
        uint32_t next = r->offset + (uint32_t)reloc_width(o->x86, r->type);
        pos = next > pos ? next : pos;
    }
    if (s->data.data && end > pos)
        mix(h, s->data.data + pos, end - pos);
}

/* The k of a PC-relative relocation type (REL32_k: k more bytes follow the field), or -1 for the others. */
static int rel32_k(const obj *o, uint16_t type)
{
    if (o->x86)
        return type == 0x14 ? 0 : -1;
    return type >= 4 && type <= 9 ? type - 4 : -1;
}

/* What relocation r refers to, into h. `base`: -1 for a relocation in code; else where the data item
   that holds it starts in `from`. A PC-relative field in data (a jump table's entry) is relative to the
   item's start, which the assembler put into its addend with the field's own place: what it reaches is
   the addend less that. */
static void describe(const obj *o, uint64_t *h, const reloc *r, const sect *from, const fnr *self, int64_t base,
                     int depth)
{
    const sym *t = &o->syms[r->symbol];
    mix_u64(h, r->type);
    if (!t->name) { /* an aux record: nothing a compiler writes */
        mix(h, "?", 1);
        return;
    }
    int64_t addend = reloc_addend(o, from, r);
    int k = rel32_k(o, r->type);
    if (base >= 0 && k >= 0)
        addend -= 4 + k + ((int64_t)r->offset - base);
    if (!t->secdef) {
        mix(h, "N", 1);
        mix_name(o, h, t);
        mix_u64(h, (uint64_t)addend);
        return;
    }
    int32_t section = t->section;
    uint32_t size = o->secs[section - 1].size;
    if (addend < 0 || addend > size) {
        mix(h, "O", 1);
        mix_u64(h, (uint64_t)addend);
        return;
    }
    uint32_t off = (uint32_t)addend;
    int64_t n = named_at(o, section, off);
    if (n >= 0) {
        mix(h, "N", 1);
        mix_name(o, h, &o->syms[n]);
        mix_u64(h, 0);
        return;
    }
    if (is_code(o, section)) {
        int64_t fi = function_at(o, section, off);
        if (fi < 0) { /* before the section's first function: by its offset */
            mix(h, "C", 1);
            mix_u64(h, off);
            return;
        }
        const fnr *f = &o->fns[fi];
        if (f == self) {
            mix(h, "S", 1);
        } else {
            mix(h, "F", 1);
            mix_name(o, h, &o->syms[f->sym]);
        }
        mix_u64(h, off - f->start);
        return;
    }
    mix_region(o, h, section, off, depth);
}

/* ---- functions ------------------------------------------------------------ */

/* The assembler's alignment fill (LLVM's x86 NOPs, one to eleven bytes) and the plugin's padding. */
static const struct {
    uint8_t len;
    uint8_t b[11];
} nops[] = {
    {11, {0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0}},
    {10, {0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0}},
    {9, {0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0}},
    {8, {0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0}},
    {7, {0x0f, 0x1f, 0x80, 0, 0, 0, 0}},
    {6, {0x66, 0x0f, 0x1f, 0x44, 0, 0}},
    {5, {0x0f, 0x1f, 0x44, 0, 0}},
    {4, {0x0f, 0x1f, 0x40, 0}},
    {3, {0x0f, 0x1f, 0x00}},
    {2, {0x66, 0x90}},
};

/* Bytes of code in buf[0, n) once the trailing fill is gone. Fill follows the function's last
   transfer and never runs, so two builds that differ only there run the same code. */
static size_t trim_fill(const uint8_t *buf, size_t n)
{
    for (;;) {
        size_t was = n;
        while (n > 0 && (buf[n - 1] == 0x90 || buf[n - 1] == 0xCC))
            n--;
        if (n == 0 || buf[n - 1] != 0x00)
            return n; /* every longer NOP ends in 00 (66 90 was taken with the 90s) */
        for (size_t k = 0; k < sizeof nops / sizeof nops[0]; k++)
            if (n >= nops[k].len && buf[n - nops[k].len] == nops[k].b[0] &&
                memcmp(buf + n - nops[k].len, nops[k].b, nops[k].len) == 0) {
                n -= nops[k].len;
                break;
            }
        if (n == was)
            return n;
    }
}

/* The relocations of section s in [start, end): the first index (into o->relocs). */
static size_t first_reloc(const obj *o, const sect *s, uint32_t start)
{
    size_t lo = 0, hi = s->reloc_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (o->relocs[s->reloc_first + mid].offset < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return s->reloc_first + lo;
}

/* Bytes of code in buf[0, n) once the trailing fill is gone, never fewer than `floor` (the end of the
   last relocated field). */
static size_t trim_to(const uint8_t *buf, size_t n, size_t floor)
{
    if (floor >= n)
        return n; /* a relocated field ends the code (a tail jump): nothing to trim */
    size_t t = trim_fill(buf, n);
    return t < floor ? floor : t;
}

/* Trim f's extent to its code and digest it: its bytes with each relocated field left out and, in its
   place, where the field is and what it refers to. */
static hp_status digest_function(obj *o, fnr *f, size_t *cursor, uint64_t *out, uint32_t *out_size)
{
    const sect *s = &o->secs[f->sec - 1];
    if (!s->data.data || f->end <= f->start) {
        *out = 0;
        *out_size = 0;
        f->end = f->start;
        return HP_OK;
    }
    const uint8_t *code = s->data.data + f->start;
    /* the functions come in order of their section and offset: the first relocation of this one is at
       or after the previous one's (*cursor), else a search finds it */
    size_t r0 = *cursor, sec_end = s->reloc_first + s->reloc_count;
    if (r0 < s->reloc_first || r0 > sec_end || (r0 > s->reloc_first && o->relocs[r0 - 1].offset >= f->start))
        r0 = first_reloc(o, s, f->start);
    while (r0 < sec_end && o->relocs[r0].offset < f->start)
        r0++;
    *cursor = r0;
    size_t r1 = r0, floor = 0;
    for (; r1 < s->reloc_first + s->reloc_count && o->relocs[r1].offset < f->end; r1++) {
        size_t e = o->relocs[r1].offset - f->start + reloc_width(o->x86, o->relocs[r1].type);
        floor = e > floor ? e : floor;
    }
    size_t n = f->end - f->start;
    n = trim_to(code, n, floor < n ? floor : n);
    f->end = f->start + (uint32_t)n;
    *out_size = (uint32_t)n;
    uint64_t h = 0xcbf29ce484222325ull;
    mix(&h, "fn", 2);
    mix_u64(&h, n);
    size_t pos = 0;
    for (size_t k = r0; k < r1 && o->relocs[k].offset < f->end; k++) {
        size_t at = o->relocs[k].offset - f->start;
        if (at > pos)
            mix(&h, code + pos, at - pos);
        uint32_t rel = (uint32_t)at;
        mix(&h, &rel, sizeof rel);
        describe(o, &h, &o->relocs[k], s, f, -1, 0);
        size_t e = at + reloc_width(o->x86, o->relocs[k].type);
        pos = e > pos ? e : pos;
    }
    if (n > pos)
        mix(&h, code + pos, n - pos);
    *out = h;
    return HP_OK;
}

/* ---- variables: the plugin's sized aliases <name>$hp{s,e}<id>$s<size> ---- */

static int parse_alias(const char *p, size_t len, size_t *base, int *is_static, uint64_t *size)
{
    const char *d = NULL;
    for (size_t i = len; i > 0; i--)
        if (p[i - 1] == '$') {
            d = p + i - 1;
            break;
        }
    if (!d || d[1] != 's' || (size_t)(d - p) + 2 >= len)
        return 0;
    uint64_t v = 0;
    for (const char *q = d + 2; q < p + len; q++) {
        if (*q < '0' || *q > '9' || v > UINT32_MAX)
            return 0;
        v = v * 10 + (uint64_t)(*q - '0');
    }
    size_t at = (size_t)(d - p);
    if (at < 13 || p[at - 12] != '$' || p[at - 11] != 'h' || p[at - 10] != 'p' ||
        (p[at - 9] != 's' && p[at - 9] != 'e') || v > UINT32_MAX)
        return 0;
    *base = at - 12;
    *is_static = p[at - 9] == 's';
    *size = v;
    return 1;
}

/* <name>$hpt<id>$t<8 hex>: the plugin's hash of a variable's type; 1 with *base and *hash when it is one */
static int parse_type_alias(const char *p, size_t len, size_t *base, uint32_t *hash)
{
    /* the suffix: "$hpt" (4), the unit's id (8), "$t" (2), the hash (8) */
    if (len < 23 || p[len - 10] != '$' || p[len - 9] != 't' || p[len - 22] != '$' || p[len - 21] != 'h' ||
        p[len - 20] != 'p' || p[len - 19] != 't')
        return 0;
    uint64_t v;
    if (!hp_link_hex(p + len - 8, 8, &v))
        return 0;
    *base = len - 22;
    *hash = (uint32_t)v;
    return 1;
}

typedef struct type_place {
    uint64_t key; /* section << 32 | value */
    const char *name;
    size_t len;   /* of the C name */
    uint32_t hash;
} type_place;

/* The type hash of the variable `name` (n bytes) at `key` in the sorted `types`, or 0. */
static uint32_t type_of(const type_place *types, size_t count, uint64_t key, const char *name, size_t n)
{
    for (size_t at = lower_bound(types, count, sizeof *types, key); at < count && types[at].key == key; at++)
        if (types[at].len == n && memcmp(types[at].name, name, n) == 0)
            return types[at].hash;
    return 0;
}

static hp_status digest_variable(const obj *o, const sym *y, uint32_t size, uint64_t *out)
{
    const sect *s = &o->secs[y->section - 1];
    uint64_t h = 0xcbf29ce484222325ull;
    mix(&h, "var", 3);
    mix_u64(&h, size);
    unsigned char cls = (s->flags & SCN_UNINIT) ? 'b' : (s->flags & SCN_MEM_WRITE) ? 'w' : 'r';
    mix(&h, &cls, 1);
    if (y->value > s->size || s->size - y->value < size) {
        mix(&h, "?", 1); /* not inside its section: nothing to compare but the size */
        *out = h;
        return HP_OK;
    }
    uint32_t pos = y->value, end = y->value + size;
    if (s->data.data) {
        for (size_t k = first_reloc(o, s, pos); k < s->reloc_first + s->reloc_count && o->relocs[k].offset < end;
             k++) {
            const reloc *r = &o->relocs[k];
            if (r->offset > pos)
                mix(&h, s->data.data + pos, r->offset - pos);
            uint32_t rel = r->offset - y->value;
            mix(&h, &rel, sizeof rel);
            describe(o, &h, r, s, NULL, y->value, 0);
            uint32_t next = r->offset + (uint32_t)reloc_width(o->x86, r->type);
            pos = next > pos ? next : pos;
        }
        if (end > pos)
            mix(&h, s->data.data + pos, end - pos);
    }
    *out = h;
    return HP_OK;
}

/* ---- the unit ----------------------------------------------------------- */

/* The plugin's unit label names the object's unit: 1, 0 when the symbol is not one, -1 out of memory */
static int take_unit(const sym *y, hp_link_digest_unit *u)
{
    return hp_link_unit_label(y->name, y->len, &u->unit_id, &u->unit);
}

static int cmp_entry(const void *a, const void *b)
{
    const hp_link_digest *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->kind > y->kind) - (x->kind < y->kind);
}

hp_status hp_link_digest_add(hp_link_digest_unit *u, const char *name, size_t len, int kind, int is_static,
                             uint32_t size, uint64_t digest)
{
    if (len > UINT32_MAX - 1 || u->names_len > UINT32_MAX - 1 - len)
        return HP_ERR_NO_MEMORY;
    while (u->names_len + len + 1 > u->names_cap) {
        size_t cap = u->names_cap ? u->names_cap * 2 : 4096;
        char *p = realloc(u->names, cap);
        if (!p)
            return HP_ERR_NO_MEMORY;
        u->names = p;
        u->names_cap = cap;
    }
    hp_link_digest e;
    e.name = NULL;
    e.name_at = (uint32_t)u->names_len;
    memcpy(u->names + u->names_len, name, len);
    u->names[u->names_len + len] = 0;
    e.kind = (uint8_t)kind;
    e.is_static = (uint8_t)is_static;
    e.size = size;
    e.digest = digest;
    if (!HP_VEC_PUSH(u->entries, u->count, u->entries_cap, e))
        return HP_ERR_NO_MEMORY;
    u->names_len += len + 1;
    return HP_OK;
}

const hp_link_digest *hp_link_digest_sort(hp_link_digest_unit *u)
{
    if (u->count > 1)
        qsort(u->entries, u->count, sizeof *u->entries, cmp_entry);
    for (size_t k = 1; k < u->count; k++)
        if (cmp_entry(&u->entries[k - 1], &u->entries[k]) == 0)
            return &u->entries[k];
    return NULL;
}

void hp_link_digest_seal(hp_link_digest_unit *u)
{
    for (size_t i = 0; i < u->count; i++)
        u->entries[i].name = u->names + u->entries[i].name_at;
}

static hp_status digest_all(obj *o, hp_link_digest_unit *u, int sort)
{
    hp_status st = HP_OK;
    /* the extent of each function: to the next function of its section, or the section's end */
    for (size_t i = 0; i < o->nfns; i++) {
        fnr *f = &o->fns[i];
        uint32_t end = o->secs[f->sec - 1].size;
        for (size_t j = i + 1; j < o->nfns && o->fns[j].sec == f->sec; j++)
            if (o->fns[j].start > f->start) {
                end = o->fns[j].start < end ? o->fns[j].start : end; /* never past the section's bytes */
                break;
            }
        f->end = end < f->start ? f->start : end;
    }
    /* room for every function's entry and name at once (the variables' few grow it) */
    size_t names = 0;
    for (size_t i = 0; i < o->nfns; i++)
        names += o->syms[o->fns[i].sym].len + 1;
    if (!hp_vec_reserve_total((void **)&u->entries, &u->entries_cap, u->count + o->nfns, sizeof *u->entries) ||
        !hp_vec_reserve_total((void **)&u->names, &u->names_cap, u->names_len + names, 1))
        return HP_ERR_NO_MEMORY;
    /* each function trimmed to its code and digested in one go: what a relocation names in another
       function is its offset from that function's start (describe()), never its end */
    size_t cursor = 0;
    for (size_t i = 0; i < o->nfns && st == HP_OK; i++) {
        uint64_t dig = 0;
        uint32_t size = 0;
        st = digest_function(o, &o->fns[i], &cursor, &dig, &size);
        const sym *y = &o->syms[o->fns[i].sym];
        const char *p = y->name;
        size_t n = y->len;
        hp_coff_c_name(o->x86, &p, &n);
        if (st == HP_OK)
            st = hp_link_digest_add(u, p, n, HP_DIGEST_FUNCTION, y->cls == CLASS_STATIC, size, dig);
    }
    type_place *types = NULL;
    size_t ntypes = 0, tcap = 0;
    for (uint32_t i = 0; i < o->nsym && st == HP_OK; i++) {
        const sym *y = &o->syms[i];
        type_place tp;
        if (y->name && y->section > 0 && parse_type_alias(y->name, y->len, &tp.len, &tp.hash)) {
            tp.key = (uint64_t)y->section << 32 | y->value;
            tp.name = y->name;
            if (!HP_VEC_PUSH(types, ntypes, tcap, tp))
                st = HP_ERR_NO_MEMORY;
        }
    }
    if (st == HP_OK && !sort_by_key(types, ntypes, sizeof *types))
        st = HP_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < o->nsym && st == HP_OK; i++) {
        const sym *y = &o->syms[i];
        size_t base;
        int is_static;
        uint64_t size;
        if (!y->name || y->section <= 0 || is_code(o, y->section) || !parse_alias(y->name, y->len, &base, &is_static, &size))
            continue;
        uint64_t d;
        if ((st = digest_variable(o, y, (uint32_t)size, &d)) == HP_OK) {
            uint32_t type = type_of(types, ntypes, (uint64_t)y->section << 32 | y->value, y->name, base);
            if (type)
                mix(&d, &type, sizeof type); /* releases before type aliases hash as they did */
            st = hp_link_digest_add(u, y->name, base, HP_DIGEST_VARIABLE, is_static, (uint32_t)size, d);
        }
    }
    free(types);
    hp_link_digest_seal(u);
    if (st == HP_OK && sort)
        hp_link_digest_sort(u);
    return st;
}

hp_status hp_link_digest_object(const uint8_t *data, size_t size, unsigned flags, hp_link_digest_unit **out,
                                char *msg, size_t msg_size)
{
    if (!data || !out)
        return HP_ERR_ARGUMENT;
    *out = NULL;
    obj o;
    memset(&o, 0, sizeof o);
    o.file = (hp_pe_span){data, size};
    hp_link_digest_unit *u = calloc(1, sizeof *u);
    if (!u)
        return HP_ERR_NO_MEMORY;
    hp_status st = read_object(&o, msg, msg_size, &u->machine);
    int found = 0;
    for (uint32_t i = 0; st == HP_OK && i < o.nsym && !found; i++)
        if (o.syms[i].name && o.syms[i].section > 0 && (found = take_unit(&o.syms[i], u)) < 0)
            st = HP_ERR_NO_MEMORY;
    if (st == HP_OK && found)
        st = index_places(&o);
    if (st == HP_OK && found)
        st = digest_all(&o, u, !(flags & HP_DIGEST_UNSORTED));
    obj_free(&o);
    if (st == HP_ERR_NO_MEMORY)
        hp_msg_set(msg, msg_size, "out of memory");
    if (st != HP_OK || !found) {
        hp_link_digest_destroy(u);
        return st;
    }
    *out = u;
    return HP_OK;
}

const hp_link_digest *hp_link_digest_find(const hp_link_digest_unit *u, const char *name, int kind)
{
    if (!u || !name)
        return NULL;
    size_t lo = 0, hi = u->count;
    hp_link_digest key = {(char *)name, 0, (uint8_t)kind, 0, 0, 0};
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_entry(&u->entries[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < u->count && cmp_entry(&u->entries[lo], &key) == 0 ? &u->entries[lo] : NULL;
}

void hp_link_digest_destroy(hp_link_digest_unit *u)
{
    if (!u)
        return;
    free(u->names);
    free(u->lines);
    free(u->entries);
    free(u->unit);
    free(u);
}

/* ---- direct calls --------------------------------------------------------- */

hp_status hp_link_object_calls(const uint8_t *data, size_t size, hp_link_call **out, size_t *out_count, char *msg,
                               size_t msg_size)
{
    if (!data || !out || !out_count)
        return HP_ERR_ARGUMENT;
    *out = NULL;
    *out_count = 0;
    obj o;
    memset(&o, 0, sizeof o);
    o.file = (hp_pe_span){data, size};
    uint16_t machine;
    hp_status st = read_object(&o, msg, msg_size, &machine);
    if (st == HP_OK)
        st = index_places(&o);
    hp_link_call *calls = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < o.nfns && st == HP_OK; i++) {
        fnr *f = &o.fns[i];
        const sect *s = &o.secs[f->sec - 1];
        uint32_t end = s->size;
        if (i + 1 < o.nfns && o.fns[i + 1].sec == f->sec && o.fns[i + 1].start < end)
            end = o.fns[i + 1].start;
        for (size_t k = first_reloc(&o, s, f->start); k < s->reloc_first + s->reloc_count && o.relocs[k].offset < end;
             k++) {
            const sym *t = &o.syms[o.relocs[k].symbol];
            if (!t->name || t->secdef || !is_typed_function(t) || !is_code(&o, t->section))
                continue;
            const sym *y = &o.syms[f->sym];
            const char *a = y->name, *b = t->name;
            size_t an = y->len, bn = t->len;
            hp_coff_c_name(o.x86, &a, &an);
            hp_coff_c_name(o.x86, &b, &bn);
            hp_link_call c = {malloc(an + 1), malloc(bn + 1)};
            if (!c.caller || !c.callee || !HP_VEC_PUSH(calls, n, cap, c)) {
                free(c.caller);
                free(c.callee);
                st = HP_ERR_NO_MEMORY;
                break;
            }
            memcpy(c.caller, a, an);
            c.caller[an] = 0;
            memcpy(c.callee, b, bn);
            c.callee[bn] = 0;
        }
    }
    obj_free(&o);
    if (st != HP_OK) {
        hp_link_calls_free(calls, n);
        return st;
    }
    *out = calls;
    *out_count = n;
    return HP_OK;
}

void hp_link_calls_free(hp_link_call *calls, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(calls[i].caller);
        free(calls[i].callee);
    }
    free(calls);
}
