/*
 * carry.c — code digests carried in the object they describe (hp_link_carry.h).
 *
 * Adding the section: the section table grows by one header (40 bytes), so everything after it —
 * the sections' bytes, their relocations, the symbol and string tables — moves 40 bytes on, and the
 * file's pointers to it (PointerToSymbolTable; each section's PointerToRawData, PointerToRelocations
 * and PointerToLinenumbers, where not 0) grow by 40. The new section is the last, so no symbol's
 * section number changes, and its bytes go at the end of the file. The object as it was can thus be
 * read back from the one that carries the digests, which is what the binding hash covers.
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_carry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_link_codefile.h"
#include "hp_link_digest.h"
#include "hp_link_units.h"
#include "hp_tools.h"

enum {
    SECT_SIZE = 40,
    MACHINE_AMD64 = 0x8664,
    MACHINE_I386 = 0x14c,
    /* IMAGE_SCN_LNK_INFO | IMAGE_SCN_LNK_REMOVE | IMAGE_SCN_ALIGN_1BYTES: information for the
       linker, not part of the image (the flags of .drectve) */
    CARRY_FLAGS = 0x00100A00,
};

static const char carry_name[8] = {'.', 'h', 'p', 'c', 'o', 'd', 'e', 0};
static const char head_word[] = "hotpatch-digests ";

static uint32_t le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Where a COFF object's header fields and section table are (hp_coff_object_header), the table
   inside the file. */
typedef struct layout {
    int big;
    uint16_t machine;
    uint32_t nsec;
    uint32_t symptr;
    size_t table;     /* the section table's offset */
    size_t table_end; /* table + 40 * nsec, inside the file */
} layout;

static int read_layout(const uint8_t *d, size_t n, layout *l)
{
    hp_coff_object_header h;
    memset(l, 0, sizeof *l);
    if (!hp_coff_object_header_read((hp_pe_span){d, n}, &h) || (h.machine != MACHINE_AMD64 && h.machine != MACHINE_I386))
        return 0;
    if (h.section_table > n || (n - h.section_table) / SECT_SIZE < h.section_count)
        return 0;
    l->big = h.big;
    l->machine = h.machine;
    l->nsec = h.section_count;
    l->symptr = h.symtab_offset;
    l->table = h.section_table;
    l->table_end = l->table + (size_t)l->nsec * SECT_SIZE;
    return 1;
}

/* Set the header's section count and symbol table pointer. */
static void put_counts(uint8_t *d, const layout *l, uint32_t nsec, uint32_t symptr)
{
    if (l->big) {
        put32(d + 44, nsec);
        put32(d + 48, symptr);
    } else {
        put16(d + 2, nsec);
        put32(d + 8, symptr);
    }
}

/* The file pointers of the first `nsec` section headers of the copy `d` moved by 40 bytes: on when the
   table grows (`grow`), back when it is undone — then 0 if a pointer lies before the grown table's end
   (the move did not put it there). Zero pointers stay zero. */
static int move_pointers(uint8_t *d, const layout *l, uint32_t nsec, int grow)
{
    for (uint32_t i = 0; i < nsec; i++)
        for (int f = 20; f <= 28; f += 4) { /* PointerToRawData, PointerToRelocations, PointerToLinenumbers */
            uint8_t *p = d + l->table + (size_t)i * SECT_SIZE + f;
            uint32_t v = le32(p);
            if (!v)
                continue;
            if (!grow && v < l->table_end)
                return 0;
            put32(p, grow ? v + SECT_SIZE : v - SECT_SIZE);
        }
    return 1;
}

/* ---- the binding hash ------------------------------------------------------ */

static uint64_t rotl64(uint64_t x, unsigned r)
{
    return x << r | x >> (64 - r);
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* A 64-bit hash of `n` bytes, chained through `seed`, that tells an object from one changed after it
   (not an adversary: who can change the object can change its code). Per 16 bytes, two 64-bit lanes:
   each lane's data mixed with a key that depends on the lane and the round (so that two blocks
   swapped do not cancel: a round's four blocks go to four accumulators), its two 32-bit halves
   multiplied, the product and the other lane's data added to
   the lane's accumulator (the shape of xxHash's XXH3 loop); four accumulators, 64 bytes a round. With
   SSE2 (every x86-64) a round is a few vector instructions: the 10 MB object of 60,000 functions
   takes about half a millisecond. The portable loop computes the same values. */
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static const uint64_t hk1 = 0x9E3779B185EBCA87ull, hk2 = 0xC2B2AE3D27D4EB4Full, hstep = 0x165667B19E3779F9ull;

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= hk2;
    h ^= h >> 29;
    h *= hk1;
    return h ^ h >> 32;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t acc[8]; /* accumulator k's lanes 0 and 1: acc[2k], acc[2k + 1] */
    size_t rounds = n / 64, i;
    uint64_t key = seed ^ hk1;
#if defined(__SSE2__)
    __m128i a[4], kv = _mm_set_epi64x((long long)(key + hstep), (long long)key);
    const __m128i step = _mm_set1_epi64x((long long)(2 * hstep));
    for (int k = 0; k < 4; k++)
        a[k] = _mm_set_epi64x((long long)(seed + (uint64_t)(2 * k + 1)), (long long)(seed + (uint64_t)(2 * k)));
    for (i = 0; i < rounds; i++) {
        for (int k = 0; k < 4; k++) {
            __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(p + 64 * i + 16 * k));
            __m128i x = _mm_xor_si128(d, kv);
            __m128i prod = _mm_mul_epu32(x, _mm_shuffle_epi32(x, 0xB1)); /* lo32 * hi32 in each lane */
            a[k] = _mm_add_epi64(a[k], _mm_add_epi64(prod, _mm_shuffle_epi32(d, 0x4E)));
        }
        kv = _mm_add_epi64(kv, step);
    }
    for (int k = 0; k < 4; k++)
        _mm_storeu_si128((__m128i *)(void *)(acc + 2 * k), a[k]);
    key += 2 * hstep * (uint64_t)rounds;
#else
    for (int k = 0; k < 8; k++)
        acc[k] = seed + (uint64_t)k;
    for (i = 0; i < rounds; i++) {
        for (int k = 0; k < 4; k++) {
            uint64_t d0 = load64(p + 64 * i + 16 * k), d1 = load64(p + 64 * i + 16 * k + 8);
            uint64_t x0 = d0 ^ key, x1 = d1 ^ (key + hstep);
            acc[2 * k] += (x0 & 0xFFFFFFFFu) * (x0 >> 32) + d1;
            acc[2 * k + 1] += (x1 & 0xFFFFFFFFu) * (x1 >> 32) + d0;
        }
        key += 2 * hstep;
    }
#endif
    uint64_t h = (uint64_t)n ^ key;
    for (int k = 0; k < 8; k++)
        h = rotl64(h ^ mix64(acc[k] + (uint64_t)k), 27) * hk1 + hk2;
    for (i = 64 * rounds; n - i >= 8; i += 8)
        h = rotl64(h ^ rotl64(load64(p + i) * hk2, 31) * hk1, 27) * hk1 + hk2;
    for (; i < n; i++)
        h = rotl64(h ^ (uint64_t)p[i] * hk1, 11) * hk2;
    return mix64(h);
}

/* The binding: the object as it was (its headers and section table, then the rest) and the block's
   lines after its first. */
static uint64_t binding(const uint8_t *head, size_t head_len, const uint8_t *body, size_t body_len,
                        const char *rest, size_t rest_len)
{
    uint64_t h = hash_bytes(head, head_len, HP_LINK_DIGEST_ALGORITHM);
    h = hash_bytes(body, body_len, h);
    return hash_bytes((const uint8_t *)rest, rest_len, h);
}

/* ---- adding -------------------------------------------------------------- */

/* Can the section table of `d` grow by one header: a section count left, and every pointer into the
   file past the table (what moves by 40) and 40 below 4 GiB? */
static int can_grow(const uint8_t *d, size_t n, const layout *l)
{
    if (l->big ? l->nsec >= 0x7FFFFFFFu : l->nsec >= 0xFEFFu)
        return 0;
    if (n > UINT32_MAX - SECT_SIZE || (l->symptr && (l->symptr < l->table_end || l->symptr > UINT32_MAX - SECT_SIZE)))
        return 0;
    for (uint32_t i = 0; i < l->nsec; i++) {
        const uint8_t *sh = d + l->table + (size_t)i * SECT_SIZE;
        if (memcmp(sh, carry_name, 8) == 0)
            return 0; /* carries digests already */
        for (int f = 20; f <= 28; f += 4) {
            uint32_t p = le32(sh + f);
            if (p && (p < l->table_end || p > UINT32_MAX - SECT_SIZE))
                return 0;
        }
    }
    return 1;
}

hp_status hp_link_carry_object(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size, char *msg,
                               size_t msg_size)
{
    if (!data || !out || !out_size)
        return HP_ERR_ARGUMENT;
    *out = NULL;
    *out_size = 0;
    layout l;
    if (!read_layout(data, size, &l) || !can_grow(data, size, &l))
        return HP_OK;
    hp_link_digest_unit *u = NULL;
    hp_status st = hp_link_digest_object(data, size, HP_DIGEST_UNSORTED, &u, msg, msg_size);
    if (st != HP_OK || !u)
        return st;
    char *lines = NULL;
    size_t lines_len = 0;
    if (strpbrk(u->unit, "\r\n")) {
        hp_link_digest_destroy(u); /* a path no line can hold: .hpcode leaves the unit out */
        return HP_OK;
    }
    st = hp_link_code_unit_lines(u, &lines, &lines_len);
    char unit_line[48];
    int ul = snprintf(unit_line, sizeof unit_line, "unit %08x ", (unsigned)u->unit_id);
    size_t path_len = strlen(u->unit);
    /* the block: its first line, then the rest (unit line and entry lines) */
    size_t rest_len = (size_t)ul + path_len + 1 + lines_len;
    char *rest = st == HP_OK ? malloc(rest_len) : NULL;
    if (st == HP_OK && !rest)
        st = HP_ERR_NO_MEMORY;
    if (st == HP_OK) {
        memcpy(rest, unit_line, (size_t)ul);
        memcpy(rest + ul, u->unit, path_len);
        rest[(size_t)ul + path_len] = '\n';
        if (lines_len)
            memcpy(rest + ul + path_len + 1, lines, lines_len);
    }
    free(lines);
    hp_link_digest_destroy(u);
    if (st != HP_OK) {
        free(rest);
        if (st == HP_ERR_NO_MEMORY)
            hp_msg_set(msg, msg_size, "out of memory");
        return st;
    }
    char first[64];
    uint64_t bind = binding(data, l.table_end, data + l.table_end, size - l.table_end, rest, rest_len);
    int fl = snprintf(first, sizeof first, "%s%d %016llx\n", head_word, HP_LINK_DIGEST_ALGORITHM,
                      (unsigned long long)bind);
    size_t block_len = (size_t)fl + rest_len;
    if (block_len > UINT32_MAX - SECT_SIZE - size) {
        free(rest);
        return HP_OK; /* no room in a 32-bit file offset */
    }
    size_t n = size + SECT_SIZE + block_len;
    uint8_t *o = malloc(n);
    if (!o) {
        free(rest);
        hp_msg_set(msg, msg_size, "out of memory");
        return HP_ERR_NO_MEMORY;
    }
    /* headers and section table, their pointers moved on; the new header; the rest; the block */
    memcpy(o, data, l.table_end);
    put_counts(o, &l, l.nsec + 1, l.symptr ? l.symptr + SECT_SIZE : 0);
    move_pointers(o, &l, l.nsec, 1);
    uint8_t *sh = o + l.table_end;
    memset(sh, 0, SECT_SIZE);
    memcpy(sh, carry_name, 8);
    put32(sh + 16, (uint32_t)block_len);
    put32(sh + 20, (uint32_t)(size + SECT_SIZE));
    put32(sh + 36, CARRY_FLAGS);
    memcpy(o + l.table_end + SECT_SIZE, data + l.table_end, size - l.table_end);
    memcpy(o + size + SECT_SIZE, first, (size_t)fl);
    memcpy(o + size + SECT_SIZE + fl, rest, rest_len);
    free(rest);
    *out = o;
    *out_size = n;
    return HP_OK;
}

hp_status hp_link_carry_file(const char *path, int *added, char *msg, size_t msg_size)
{
    if (!path || !added)
        return HP_ERR_ARGUMENT;
    *added = 0;
    unsigned char *data = NULL;
    size_t size = 0;
    hp_status st = hp_file_read(path, &data, &size, msg, msg_size);
    if (st != HP_OK)
        return st;
    uint8_t *o = NULL;
    size_t n = 0;
    char why[256] = "";
    st = hp_link_carry_object(data, size, &o, &n, why, sizeof why);
    free(data);
    if (st != HP_OK) {
        hp_msg_set(msg, msg_size, "%s: %s", path, why);
        return st;
    }
    if (!o)
        return HP_OK;
    hp_file_replace rep;
    FILE *f = hp_file_replace_begin(&rep, path); /* whole or not at all */
    int ok = f && fwrite(o, 1, n, f) == n;
    free(o);
    if (!f || !hp_file_replace_end(&rep, ok)) {
        hp_msg_set(msg, msg_size, "%s: cannot write", path);
        return HP_ERR_IO;
    }
    *added = 1;
    return HP_OK;
}

/* ---- reading ------------------------------------------------------------- */

/* [*p, end): a line, without its '\n' (which must be there); *p moves past it. */
static int take_line(const char **p, const char *end, const char **s, size_t *n)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl)
        return 0;
    *s = *p;
    *n = (size_t)(nl - *p);
    *p = nl + 1;
    return 1;
}

hp_link_carried_state hp_link_carried_find(const uint8_t *data, size_t size, hp_link_carried *out)
{
    layout l;
    if (out)
        memset(out, 0, sizeof *out);
    if (!data || !out || !read_layout(data, size, &l) || l.nsec == 0)
        return HP_CARRIED_NONE;
    const uint8_t *sh = data + l.table_end - SECT_SIZE;
    if (memcmp(sh, carry_name, 8) != 0)
        return HP_CARRIED_NONE;
    uint32_t raw_size = le32(sh + 16), raw_ptr = le32(sh + 20);
    if (le32(sh + 36) != CARRY_FLAGS || le32(sh + 24) || le16(sh + 32) || raw_ptr < l.table_end + SECT_SIZE ||
        raw_ptr > size || raw_size != size - raw_ptr)
        return HP_CARRIED_MALFORMED;
    const char *p = (const char *)data + raw_ptr, *end = p + raw_size, *s;
    size_t n;
    /* hotpatch-digests <algorithm> <binding> */
    if (!take_line(&p, end, &s, &n) || n < sizeof head_word - 1 || memcmp(s, head_word, sizeof head_word - 1))
        return HP_CARRIED_MALFORMED;
    s += sizeof head_word - 1;
    n -= sizeof head_word - 1;
    const char *sp = memchr(s, ' ', n);
    uint64_t algorithm = 0, bind;
    if (!sp || sp == s || (size_t)(sp - s) > 9)
        return HP_CARRIED_MALFORMED;
    for (const char *c = s; c < sp; c++) {
        if (*c < '0' || *c > '9')
            return HP_CARRIED_MALFORMED;
        algorithm = algorithm * 10 + (uint64_t)(*c - '0');
    }
    if (algorithm != HP_LINK_DIGEST_ALGORITHM)
        return HP_CARRIED_ALGORITHM;
    if ((size_t)(s + n - sp - 1) != 16 || !hp_link_hex(sp + 1, 16, &bind))
        return HP_CARRIED_MALFORMED;
    /* the object as it was: the header and section table without the last one and with the
       pointers as they were, then what lies between the table and the block */
    size_t head_len = l.table_end - SECT_SIZE;
    uint8_t *head = malloc(head_len ? head_len : 1);
    if (!head)
        return HP_CARRIED_NONE; /* out of memory: the link computes them (and reports that) */
    memcpy(head, data, head_len);
    int moved = (!l.symptr || l.symptr >= l.table_end) && move_pointers(head, &l, l.nsec - 1, 0);
    put_counts(head, &l, l.nsec - 1, l.symptr ? l.symptr - SECT_SIZE : 0);
    const char *rest = p;
    size_t rest_len = (size_t)(end - p);
    uint64_t h = moved ? binding(head, head_len, data + l.table_end, raw_ptr - l.table_end, rest, rest_len) : 0;
    free(head);
    if (!moved || h != bind)
        return HP_CARRIED_STALE;
    /* unit <8 hex digits> <path>, then the entries */
    uint64_t id;
    if (!take_line(&p, end, &s, &n) || n < 15 || memcmp(s, "unit ", 5) != 0 || !hp_link_hex(s + 5, 8, &id) ||
        s[13] != ' ' || memchr(s + 14, 0, n - 14) || memchr(s + 14, '\r', n - 14))
        return HP_CARRIED_MALFORMED;
    if (!hp_link_code_lines_valid(p, (size_t)(end - p), NULL))
        return HP_CARRIED_MALFORMED;
    out->unit_id = (uint32_t)id;
    out->unit = s + 14;
    out->unit_len = n - 14;
    out->lines = p;
    out->lines_len = (size_t)(end - p);
    return HP_CARRIED_OK;
}

hp_status hp_link_digest_for_code(const uint8_t *data, size_t size, hp_link_digest_unit **out,
                                  hp_link_carried_state *state, char *msg, size_t msg_size)
{
    if (!data || !out)
        return HP_ERR_ARGUMENT;
    *out = NULL;
    hp_link_carried c;
    hp_link_carried_state k = hp_link_carried_find(data, size, &c);
    if (state)
        *state = k;
    if (k != HP_CARRIED_OK)
        return hp_link_digest_object(data, size, HP_DIGEST_UNSORTED, out, msg, msg_size);
    hp_link_digest_unit *u = calloc(1, sizeof *u);
    if (u) {
        u->unit = malloc(c.unit_len + 1);
        u->lines = malloc(c.lines_len ? c.lines_len : 1);
    }
    if (!u || !u->unit || !u->lines) {
        hp_link_digest_destroy(u);
        hp_msg_set(msg, msg_size, "out of memory");
        return HP_ERR_NO_MEMORY;
    }
    memcpy(u->unit, c.unit, c.unit_len);
    u->unit[c.unit_len] = 0;
    memcpy(u->lines, c.lines, c.lines_len);
    u->lines_len = c.lines_len;
    u->unit_id = c.unit_id;
    layout l;
    read_layout(data, size, &l); /* found above: a COFF object of x86 or x86-64 */
    u->machine = l.machine;
    *out = u;
    return HP_OK;
}

const char *hp_link_carried_state_str(hp_link_carried_state state)
{
    switch (state) {
    case HP_CARRIED_NONE: return "none";
    case HP_CARRIED_OK: return "carried";
    case HP_CARRIED_ALGORITHM: return "of another version of the digests' algorithm";
    case HP_CARRIED_STALE: return "stale: the object changed after its digests were added";
    case HP_CARRIED_MALFORMED: return "a malformed .hpcode section";
    }
    return "unknown";
}
