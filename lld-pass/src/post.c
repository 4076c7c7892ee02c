/*
 * post.c — the post-link pass over the output image (hp_link_post.h): the
 * fill of the plugin's padding and the checksum are written here; the
 * verdicts come from the pass's own walk from the plugin's table
 * (hp_link_post_table.h) for an image it accepts, else from the audit
 * library (hp_audit.h), which reads the table, the exports, .pdata and the
 * symbols and asks the site rules — with options.check_walk, from both,
 * compared.
 */
#include "hp_link_post.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotpatch.h"
#include "hotpatch_fix.h"
#include "hotpatch_pe.h"
#include "hp_audit.h"
#include "hp_link_post_table.h"
#include "hp_link_units.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* one record per function of the image: kept small on purpose (hp_link_post.h) */
_Static_assert(sizeof(void *) != 8 || sizeof(hp_link_fn) == 32, "hp_link_fn grew past 32 bytes");

#define HASH_LEN 65536u /* the map hashes a function's bytes up to this many (lld-pass/README.md, "The map") */

/* ------------------------------------------------------------------------- */
/* Small helpers                                                              */
/* ------------------------------------------------------------------------- */

uint32_t hp_link_pe_checksum(const uint8_t *data, size_t size, size_t checksum_offset)
{
    uint64_t sum = 0;
    size_t i = 0;
#if defined(__SSE2__)
    /* sixteen bytes a step, each 32-bit lane adding its two 16-bit words (less than 2^17 a step): the
       lanes go into the 64-bit total every 2^14 steps, long before they could overflow. The image is
       6 MB at 60,000 functions: this is why hotpatch-link writes the checksum instead of lld's /release,
       whose byte loop cost lld more than twice as much as the whole checksum costs here. */
    const __m128i low = _mm_set1_epi32(0xFFFF);
    while (size - i >= 16) {
        size_t steps = (size - i) / 16;
        if (steps > 16384)
            steps = 16384;
        __m128i acc = _mm_setzero_si128();
        for (size_t k = 0; k < steps; k++, i += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(data + i));
            acc = _mm_add_epi32(acc, _mm_add_epi32(_mm_and_si128(x, low), _mm_srli_epi32(x, 16)));
        }
        uint32_t lanes[4];
        _mm_storeu_si128((__m128i *)(void *)lanes, acc);
        sum += (uint64_t)lanes[0] + lanes[1] + lanes[2] + lanes[3];
    }
#endif
    /* a 64-bit accumulator cannot overflow on 16-bit words below 2^48 bytes: fold once at the end */
    for (; i + 1 < size; i += 2)
        sum += (uint32_t)data[i] | ((uint32_t)data[i + 1] << 8);
    if (size & 1)
        sum += data[size - 1]; /* an odd last byte counts as a word with a zero high byte */
    /* the CheckSum field's four bytes count as zero, wherever the field lies: each byte was added as the
       low or the high byte of its word (a crafted image can put e_lfanew, and so the field, at an odd
       offset, where the field spans three words) */
    for (i = checksum_offset; i < checksum_offset + 4 && i < size; i++)
        sum -= (uint32_t)data[i] << (8 * (i & 1));
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint32_t)sum + (uint32_t)size;
}

/* Write `size` bytes at `offset` of the file, in place: keeps the mode, owner and links of what lld
   created. */
static int write_at(const char *path, size_t offset, const unsigned char *data, size_t size)
{
    FILE *f = fopen(path, "r+b");
    if (!f)
        return -1;
    int ok = offset <= (size_t)LONG_MAX && fseek(f, (long)offset, SEEK_SET) == 0 && fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------------------- */
/* The result and its strings                                                 */
/* ------------------------------------------------------------------------- */

typedef struct post_impl {
    hp_link_post pub; /* first */
    char **strs;      /* every string the result owns */
    size_t nstrs, capstrs;
    size_t capfns, capviol;
    hp_pe_rva_cache rc;   /* the section of the last function's bytes */
    int oom;
} post_impl;

static const char *keep_str(post_impl *p, char *s)
{
    if (!s) {
        p->oom = 1;
        return NULL;
    }
    if (!HP_VEC_PUSH(p->strs, p->nstrs, p->capstrs, s)) {
        free(s);
        p->oom = 1;
        return NULL;
    }
    return s;
}

static const char *dup_str(post_impl *p, const char *s, size_t len)
{
    char *c = malloc(len + 1);
    if (c) {
        memcpy(c, s, len);
        c[len] = 0;
    }
    return keep_str(p, c);
}

/* "sub_<rva>": the label of a function nothing names */
static const char *sub_name(post_impl *p, uint32_t rva)
{
    char b[16];
    snprintf(b, sizeof b, "sub_%x", rva);
    return dup_str(p, b, strlen(b));
}

static void add_violation(post_impl *p, const char *fn, uint32_t rva, const char *reason, const char *message)
{
    hp_link_post *r = &p->pub;
    if (!hp_vec_reserve((void **)&r->violations, &p->capviol, r->violation_count, sizeof *r->violations)) {
        p->oom = 1;
        return;
    }
    hp_link_violation *v = &r->violations[r->violation_count++];
    v->function = fn;
    v->rva = rva;
    v->reason = reason;
    v->message = message;
    v->object = NULL;
}

void hp_link_post_destroy(hp_link_post *post)
{
    if (!post)
        return;
    post_impl *p = (post_impl *)post;
    for (size_t i = 0; i < p->nstrs; i++)
        free(p->strs[i]);
    free(p->strs);
    free(post->fns);
    free(post->violations);
    hp_link_units_destroy(post->units);
    free(p);
}

void hp_link_post_release_functions(hp_link_post *post)
{
    if (!post)
        return;
    free(post->fns);
    post->fns = NULL;
    post->fn_count = 0;
    ((post_impl *)post)->capfns = 0;
}

hp_status hp_link_post_set_object(hp_link_post *post, size_t index, const char *object)
{
    if (!post || !object || index >= post->violation_count)
        return HP_ERR_ARGUMENT;
    post_impl *p = (post_impl *)post;
    const char *c = dup_str(p, object, strlen(object));
    if (!c)
        return HP_ERR_NO_MEMORY;
    post->violations[index].object = c;
    return HP_OK;
}

/* ------------------------------------------------------------------------- */
/* The table: where the plugin's padding is, for the fill                     */
/* ------------------------------------------------------------------------- */

/* The fill, as the audit walks the table: each entry's padding filled as it comes (nothing kept per entry). */
typedef struct tab {
    const hp_pe *pe;
    uint8_t *buf;
    hp_pe_rva_cache rc; /* the section of the last entry */
    int fill;           /* rewrite the plugin's NOP padding */
    uint32_t filled;    /* bytes rewritten */
} tab;

/* Rewrite the plugin's padding before a table entry (HP_TABLE_FILL_FIRST then HP_TABLE_FILL_BYTE, or all
   HP_TABLE_FILL_BYTE from older plugins) to HP_FILLER_PREFERRED; returns the bytes changed. */
static uint32_t fill_entry(tab *t, uint32_t entry, uint32_t pad)
{
    const uint8_t *ptr;
    size_t before = 0;
    if (!pad || hp_pe_rva_bytes_quick(t->pe, &t->rc, entry, &ptr, &before, NULL) != HP_OK || before < pad)
        return 0;
    uint8_t *buf = t->buf;
    size_t off = (size_t)(ptr - buf);
    if (pad <= 8 && off >= 8) {
        /* int3 already (the plugin's own, the usual): the eight bytes before the entry in one read */
        uint64_t w;
        memcpy(&w, buf + off - 8, 8);
        w ^= 0x0101010101010101ull * HP_FILLER_PREFERRED;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w); /* the byte nearest the entry most significant */
#endif
        if ((w >> (64 - 8 * pad)) == 0)
            return 0;
    }
    size_t k, changed = 0;
    for (k = off - pad; k < off && (buf[k] == HP_TABLE_FILL_BYTE || buf[k] == HP_TABLE_FILL_FIRST); k++)
        changed += buf[k] != HP_FILLER_PREFERRED;
    if (k != off || !changed)
        return 0; /* not (only) the plugin's filler, or int3 already (the plugin's own): leave it */
    memset(buf + off - pad, HP_FILLER_PREFERRED, pad); /* int3: stray execution traps */
    return (uint32_t)changed;
}

/* Each table record as the audit reads it (hp_audit_options.on_table), before it judges any site. */
static void on_table(void *ctx, const struct hp_table_record *rec)
{
    tab *t = ctx;
    if (t->fill)
        t->filled += fill_entry(t, (uint32_t)rec->where, rec->pad);
}

/* At most as many table entries as the table's bytes in the file hold 4-byte entries (its densest
   form, hotpatch_table.h): the room the verdicts are reserved for before the walk counts them. */
static size_t table_capacity(const hp_pe *pe, size_t file_size)
{
    hp_pe_section s;
    for (uint32_t i = 0; hp_pe_section_at(pe, i, &s) == HP_OK; i++)
        if (strcmp(s.name, HP_TABLE_COFF_SECTION) == 0)
            return (s.raw_size < file_size ? s.raw_size : file_size) / 4;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* The verdicts: the audit library, exports and every table entry             */
/* ------------------------------------------------------------------------- */

static int cmp_fn(const void *a, const void *b)
{
    const hp_link_fn *x = a, *y = b;
    if (x->rva != y->rva)
        return x->rva < y->rva ? -1 : 1;
    if (!x->name || !y->name)
        return !x->name - !y->name;
    return 0;
}

static int cmp_violation(const void *a, const void *b)
{
    const hp_link_violation *x = a, *y = b;
    if (x->rva != y->rva)
        return x->rva < y->rva ? -1 : 1;
    return strcmp(x->reason, y->reason);
}

static hp_link_fn *add_fn(post_impl *p)
{
    hp_link_post *r = &p->pub;
    if (!hp_vec_reserve((void **)&r->fns, &p->capfns, r->fn_count, sizeof *r->fns)) {
        p->oom = 1;
        return NULL;
    }
    hp_link_fn *f = &r->fns[r->fn_count++];
    memset(f, 0, sizeof *f);
    return f;
}

/* One function of the audit's verdicts as the map lists it. */
static void take_function(post_impl *p, const hp_pe *pe, const hp_audit_function *af)
{
    hp_link_fn *f = add_fn(p);
    if (!f)
        return;
    f->name = af->anonymous ? NULL : af->name; /* in the report: own_strings() copies it */
    f->rva = af->address;
    f->from = ((af->from & HP_AUDIT_FROM_TABLE) ? HP_LINK_FROM_TABLE : 0u) |
              ((af->from & HP_AUDIT_FROM_EXPORT) ? HP_LINK_FROM_EXPORT : 0u);
    f->patchable = af->patchable;
    f->padding = (uint16_t)af->site.pad_found; /* at most HP_MAX_PAD */
    f->site_offset = (uint16_t)af->site.site_offset;
    f->entry_bytes[0] = af->site.entry_bytes[0];
    f->entry_bytes[1] = af->site.entry_bytes[1];
    /* the function's extent as the audit measured it (.pdata, the next known function, the section's end:
       never past the section's bytes), else the section's bytes from the entry; hashed once every extent is
       final (hash_all) */
    size_t hl = af->extent;
    const uint8_t *ptr;
    if (!hl && hp_pe_rva_bytes_cached(pe, &p->rc, af->address, &ptr, NULL, &hl, NULL) != HP_OK)
        hl = 0;
    if (hl > HASH_LEN)
        hl = HASH_LEN;
    f->hash_len = (uint32_t)hl;
}

/* Merge the functions of one RVA (export aliases, an export that is also a table entry): one map
   entry each, exports' names first. */
static void merge_fns(post_impl *p)
{
    hp_link_post *r = &p->pub;
    if (!r->fn_count)
        return;
    if (!hp_sort_by_u32_then(r->fns, r->fn_count, sizeof *r->fns, offsetof(hp_link_fn, rva), cmp_fn)) {
        p->oom = 1;
        return;
    }
    size_t w = 0;
    for (size_t i = 0; i < r->fn_count; i++) {
        if (w && r->fns[w - 1].rva == r->fns[i].rva) {
            r->fns[w - 1].from |= r->fns[i].from;
            continue;
        }
        r->fns[w++] = r->fns[i];
    }
    r->fn_count = w;
}

/* A function's hash must not cover the next function's padding: patching that function writes
   its long jump there, and this function's hash would no longer match the live bytes. */
static void clamp_hashes(post_impl *p)
{
    hp_link_post *r = &p->pub;
    for (size_t i = 0; i + 1 < r->fn_count; i++) {
        hp_link_fn *f = &r->fns[i];
        const hp_link_fn *n = &r->fns[i + 1];
        uint32_t limit = n->rva - n->padding;
        if (n->padding > n->rva || limit <= f->rva || (uint64_t)f->rva + f->hash_len <= limit)
            continue;
        f->hash_len = limit - f->rva;
    }
}

/* The next function with bytes to hash from *next on, its bytes and length; the ones without bytes
   get hp_fix_hash of nothing on the way. Returns 0 when there is none left. */
static int hash_take(post_impl *p, const hp_pe *pe, size_t *next, size_t *fn, const unsigned char **at, size_t *left)
{
    hp_link_post *r = &p->pub;
    while (*next < r->fn_count) {
        hp_link_fn *f = &r->fns[(*next)++];
        const uint8_t *ptr = NULL;
        size_t after = 0, len = 0;
        if (f->hash_len && hp_pe_rva_bytes_quick(pe, &p->rc, f->rva, &ptr, NULL, &after) == HP_OK)
            len = f->hash_len <= after ? f->hash_len : after;
        f->hash_len = (uint32_t)len;
        if (len) {
            *fn = (size_t)(f - r->fns);
            *at = ptr;
            *left = len;
            return 1;
        }
        f->hash = HP_FIX_HASH_BASIS; /* hp_fix_hash of nothing */
    }
    return 0;
}

/* Every function's hash (hp_fix_hash, the one hash of maps and manifests) over its final extent. FNV-1a
   is one chain of multiplies a byte: four chains run side by side, and a chain whose function ends
   takes the next one, so that the four stay busy however the lengths differ (four functions at a
   time, the rest of a long one ran alone: real code's lengths differ a lot). A chain with nothing
   left to take reads zeros meanwhile. A function whose bytes cannot be found has length 0 there. */
static void hash_all(post_impl *p, const hp_pe *pe)
{
    static const unsigned char idle[256];
    hp_link_fn *fns = p->pub.fns;
    size_t next = 0, fa = 0, fb = 0, fc = 0, fd = 0, la = 0, lb = 0, lc = 0, ld = 0;
    const unsigned char *a = idle, *b = idle, *c = idle, *d = idle;
    int busy = 0; /* bit k: chain k has a function */
#define HASH_TAKE(k, f, at, left)                                                                          \
    do {                                                                                                   \
        if (hash_take(p, pe, &next, &f, &at, &left)) {                                                     \
            busy |= 1 << k;                                                                                \
        } else {                                                                                           \
            at = idle;                                                                                     \
            left = sizeof idle;                                                                            \
            busy &= ~(1 << k);                                                                             \
        }                                                                                                  \
    } while (0)
    HASH_TAKE(0, fa, a, la);
    HASH_TAKE(1, fb, b, lb);
    HASH_TAKE(2, fc, c, lc);
    HASH_TAKE(3, fd, d, ld);
    uint64_t ha = HP_FIX_HASH_BASIS, hb = ha, hc = ha, hd = ha;
    while (busy) {
        size_t step = la < lb ? la : lb;
        step = step < lc ? step : lc;
        step = step < ld ? step : ld;
        for (size_t i = 0; i < step; i++) {
            ha = (ha ^ a[i]) * HP_FIX_HASH_PRIME;
            hb = (hb ^ b[i]) * HP_FIX_HASH_PRIME;
            hc = (hc ^ c[i]) * HP_FIX_HASH_PRIME;
            hd = (hd ^ d[i]) * HP_FIX_HASH_PRIME;
        }
        a += step, b += step, c += step, d += step;
        la -= step, lb -= step, lc -= step, ld -= step;
        /* a chain at its end: its function's hash, and the next function (or zeros) */
#define HASH_END(k, f, at, left, h)                                                                        \
    if (!left) {                                                                                           \
        if (busy & (1 << k))                                                                               \
            fns[f].hash = h;                                                                               \
        HASH_TAKE(k, f, at, left);                                                                         \
        h = HP_FIX_HASH_BASIS;                                                                             \
    }
        HASH_END(0, fa, a, la, ha)
        HASH_END(1, fb, b, lb, hb)
        HASH_END(2, fc, c, lc, hc)
        HASH_END(3, fd, d, ld, hd)
#undef HASH_END
    }
#undef HASH_TAKE
}

/* Copy *s (when set) to *w, advance *w past its NUL, and point *s at the copy. */
static void copy_into(char **w, const char **s)
{
    if (!*s)
        return;
    size_t n = strlen(*s) + 1;
    memcpy(*w, *s, n);
    *s = *w;
    *w += n;
}

/* Copy the strings the functions and violations take from the audit's report into one block the
   result owns. Returns 0 when out of memory (the strings then stay unset: NULL names, no messages). */
static int own_strings(post_impl *p)
{
    hp_link_post *r = &p->pub;
    size_t total = 0;
    for (size_t i = 0; i < r->fn_count; i++)
        if (r->fns[i].name)
            total += strlen(r->fns[i].name) + 1;
    for (size_t i = 0; i < r->violation_count; i++)
        total += (r->violations[i].function ? strlen(r->violations[i].function) + 1 : 0) +
                 (r->violations[i].message ? strlen(r->violations[i].message) + 1 : 0);
    char *blk = malloc(total ? total : 1), *w = blk;
    if (!blk || !keep_str(p, blk)) {
        for (size_t i = 0; i < r->fn_count; i++)
            r->fns[i].name = NULL;
        for (size_t i = 0; i < r->violation_count; i++)
            r->violations[i].function = r->violations[i].message = NULL;
        return 0;
    }
    for (size_t i = 0; i < r->fn_count; i++)
        copy_into(&w, &r->fns[i].name);
    for (size_t i = 0; i < r->violation_count; i++) {
        copy_into(&w, &r->violations[i].function);
        copy_into(&w, &r->violations[i].message);
    }
    return 1;
}

/* The audit hands each verdict over as it makes it (hp_audit_options.on_function). */
typedef struct take_ctx {
    post_impl *p;
    const hp_pe *pe;
} take_ctx;

static void on_function(void *ctx, const hp_audit_function *af)
{
    take_ctx *t = ctx;
    take_function(t->p, t->pe, af);
}

/* ... and each record of the image's symbol table as the audit reads it (hp_audit_options.on_symbol) */
static void units_symbol(void *ctx, const struct hp_coff_symbol *sym)
{
    hp_link_units_symbol(ctx, sym);
}

/*
 * Verify through the audit library: every export and every table entry, the site rules with the
 * image's verdict policy (HP_SITE_CONTEXT_IMAGE), folded exports (HP2001) and folded table entries
 * (HP2007), table records outside the code (HP2006). Every error finding becomes a violation named by
 * its check; the audit's status is passed on as it is.
 */
static hp_status verify_audit(post_impl *p, const hp_pe *pe, const char *path, const uint8_t *buf, size_t size,
                              tab *fill, const hp_link_post_options *opt, char *msg, size_t msg_size)
{
    /* the verdicts are taken as the audit makes them (it keeps none): room for one per table entry
       and export at once (pages never written cost nothing) */
    hp_pe_export_info xi;
    size_t expect = table_capacity(pe, size);
    if (hp_pe_export_info_get(pe, &xi, NULL) == HP_OK)
        expect += xi.function_count;
    if (!hp_vec_reserve_total((void **)&p->pub.fns, &p->capfns, expect, sizeof *p->pub.fns))
        p->oom = 1;
    take_ctx tc = {p, pe};
    hp_audit_options ao;
    memset(&ao, 0, sizeof ao);
    ao.pad = opt->pad;
    ao.exclude = opt->exclude;
    ao.exclude_count = opt->exclude_count;
    ao.all = 1;
    ao.all_sources = HP_AUDIT_FROM_TABLE;
    ao.on_function = on_function;
    ao.on_function_ctx = &tc;
    ao.on_table = on_table; /* the fill: before the audit judges any site */
    ao.on_table_ctx = fill;
    /* the map's units and symbols from the same walk of the symbol table */
    hp_link_units_walk *uw = NULL;
    if (opt->units) {
        if (!(uw = hp_link_units_begin(pe, 0)))
            return HP_ERR_NO_MEMORY;
        ao.on_symbol = units_symbol;
        ao.on_symbol_ctx = uw;
    }
    hp_audit_report *rep = NULL;
    hp_status st = hp_audit_report_create(&ao, &rep);
    if (st != HP_OK) {
        hp_link_units_abandon(uw);
        return st;
    }
    st = hp_audit_buffer(rep, path, buf, size);
    if (st == HP_OK)
        st = hp_audit_report_finish(rep);
    size_t nf = 0;
    const hp_audit_file_result *fr = hp_audit_report_files(rep, &nf);
    if (st == HP_OK && nf != 1)
        st = HP_ERR_FORMAT;
    if (nf == 1)
        p->pub.has_table = fr[0].has_table;
    if (st != HP_OK) {
        hp_msg_set(msg, msg_size, "cannot audit '%s': %s", path,
                   nf == 1 && fr[0].error ? fr[0].error : hp_status_str(st));
        hp_audit_report_destroy(rep);
        hp_link_units_abandon(uw);
        return st;
    }
    for (size_t i = 0; i < fr->finding_count; i++) {
        const hp_audit_finding *fd = &fr->findings[i];
        const hp_audit_check *chk = hp_audit_check_find(fd->check_id);
        if (fd->level != HP_AUDIT_ERROR || !chk)
            continue;
        const char *fn = fd->function ? fd->function : sub_name(p, fd->address);
        add_violation(p, fn, fd->address, chk->name, fd->message);
    }
    /* the names and messages above point into the report: copied into one block of their own, so that
       the report (a record of 120 bytes per function) is freed now and its memory serves the steps
       that follow (the map, the digests) instead of fresh pages */
    if (!own_strings(p))
        p->oom = 1;
    hp_audit_report_destroy(rep);
    if (uw && hp_link_units_end(uw, &p->pub.units) != HP_OK)
        p->oom = 1;
    merge_fns(p);
    clamp_hashes(p);
    return HP_OK;
}

/* The first difference between two function lists (the table walk's, the audit's): NULL when there is
   none, else what differs, with the entry's RVA in *at. */
static const char *first_difference(const hp_link_post *a, const hp_link_post *b, uint32_t *at)
{
    *at = 0;
    if (b->violation_count)
        return "the audit reports findings";
    if (a->has_table != b->has_table)
        return "has_table";
    for (size_t i = 0; i < a->fn_count || i < b->fn_count; i++) {
        if (i >= a->fn_count || i >= b->fn_count) {
            *at = i < a->fn_count ? a->fns[i].rva : b->fns[i].rva;
            return "the number of functions";
        }
        const hp_link_fn *x = &a->fns[i], *y = &b->fns[i];
        *at = y->rva;
        if (x->rva != y->rva)
            return "the entry";
        if ((!x->name) != (!y->name) || (x->name && strcmp(x->name, y->name) != 0))
            return "the name";
        if (x->from != y->from)
            return "the sources";
        if (x->patchable != y->patchable || x->padding != y->padding || x->site_offset != y->site_offset ||
            memcmp(x->entry_bytes, y->entry_bytes, 2) != 0)
            return "the site";
        if (x->hash_len != y->hash_len)
            return "the extent";
    }
    return NULL;
}

/*
 * The verdicts. An image whose functions the plugin's table lists (the usual) is judged by the pass's
 * own walk from the table (hp_link_post_table.h), which builds none of the generic walk's lists; any
 * image that walk declines goes through the audit library (verify_audit). With options.check_walk both
 * run and must give the same function list.
 */
static hp_status verify(post_impl *p, const hp_pe *pe, const char *path, const uint8_t *buf, size_t size,
                        tab *fill, const hp_link_post_options *opt, char *msg, size_t msg_size)
{
    const char *why = "exclusions";
    if (!opt->exclude_count) {
        hp_link_table_walk_options wo;
        memset(&wo, 0, sizeof wo);
        wo.pad = opt->pad;
        wo.units = opt->units;
        wo.on_table = on_table;
        wo.on_table_ctx = fill;
        hp_link_table_walk_result wr;
        int r = hp_link_table_walk(pe, &wo, &wr, &why);
        if (r < 0)
            return HP_ERR_NO_MEMORY;
        if (r > 0) {
            hp_link_post *pub = &p->pub;
            pub->fns = wr.fns;
            pub->fn_count = p->capfns = wr.fn_count;
            pub->units = wr.units;
            pub->has_table = 1;
            if (wr.names && !keep_str(p, wr.names))
                return HP_ERR_NO_MEMORY;
            for (size_t i = 0; i < pub->fn_count; i++)
                if (pub->fns[i].hash_len > HASH_LEN)
                    pub->fns[i].hash_len = HASH_LEN;
            clamp_hashes(p);
            if (!opt->check_walk)
                return HP_OK;
            post_impl *q = calloc(1, sizeof *q);
            if (!q)
                return HP_ERR_NO_MEMORY;
            hp_status st = verify_audit(q, pe, path, buf, size, fill, opt, msg, msg_size);
            uint32_t at = 0;
            const char *diff = st == HP_OK ? first_difference(pub, &q->pub, &at) : NULL;
            if (st == HP_OK && q->oom)
                st = HP_ERR_NO_MEMORY;
            hp_link_post_destroy(&q->pub);
            if (st == HP_OK && diff) {
                hp_msg_set(msg, msg_size, "'%s': the pass's table walk and the audit's walk differ in %s at 0x%x", path,
                           diff, at);
                st = HP_ERR_FORMAT;
            }
            return st;
        }
    }
    p->pub.walk_declined = why;
    return verify_audit(p, pe, path, buf, size, fill, opt, msg, msg_size);
}

/* ------------------------------------------------------------------------- */
/* The pass                                                                   */
/* ------------------------------------------------------------------------- */

hp_status hp_link_post_run(const char *path, const hp_link_post_options *options, hp_link_post **out,
                           char *msg, size_t msg_size)
{
    if (!path || !out)
        return HP_ERR_ARGUMENT;
    *out = NULL;
    hp_link_post_options opt;
    memset(&opt, 0, sizeof opt);
    if (options)
        opt = *options;
    size_t size = 0;
    uint8_t *buf = NULL;
    hp_status ret = hp_file_map(path, &buf, &size, msg, msg_size);
    if (ret != HP_OK)
        return ret;
    post_impl *p = calloc(1, sizeof *p);
    if (!p) {
        hp_file_unmap(buf, size);
        return HP_ERR_NO_MEMORY;
    }
    hp_link_post *r = &p->pub;
    tab t;
    memset(&t, 0, sizeof t);
    const char *detail = NULL;
    hp_pe pe;
    ret = hp_pe_open(&pe, buf, size, HP_PE_LAYOUT_FILE, 0, &detail);
    if (ret != HP_OK) {
        hp_msg_set(msg, msg_size, "'%s' is not an x86/x64 PE image: %s", path, detail ? detail : "?");
        goto out;
    }
    r->machine = hp_pe_machine_name(pe.coff_machine);
    r->time_date_stamp = pe.time_date_stamp;
    r->size_of_image = pe.size_of_image;
    hp_pe_codeview cv;
    if (hp_pe_codeview_get(&pe, &cv, NULL) == HP_OK && cv.present) {
        r->has_codeview = 1;
        memcpy(r->codeview_guid, cv.guid, 16);
        r->codeview_age = cv.age;
    }

    /* 1. the verdicts, from the audit library over the final bytes: the plugin's padding is filled as
          the audit reads the table, before it judges any site (a damaged table is the audit's to report:
          then nothing is written) */
    t.pe = &pe;
    t.buf = buf;
    t.fill = !opt.no_fill;
    ret = verify(p, &pe, path, buf, size, &t, &opt, msg, msg_size);
    if (ret != HP_OK)
        goto out;
    if (r->violation_count)
        qsort(r->violations, r->violation_count, sizeof *r->violations, cmp_violation);
    if (p->oom) {
        ret = HP_ERR_NO_MEMORY;
        goto out;
    }

    /* 2. the checksum over the final bytes; the file written back when they changed */
    if (!opt.no_fill) {
        r->filled = t.filled;
        size_t csum_off = (size_t)pe.nt_offset + 4 + 20 + 64; /* OptionalHeader.CheckSum: same offset in PE32 and PE32+ */
        /* lld writes no checksum (hotpatch-link does not ask for /release: hp_link_lld.h); one the user's
           /release wrote stands when nothing changed (the plugin writes int3 padding itself) */
        uint32_t sum = r->filled || !pe.checksum ? hp_link_pe_checksum(buf, size, csum_off) : pe.checksum;
        if (r->filled || sum != pe.checksum) {
            buf[csum_off] = (uint8_t)sum;
            buf[csum_off + 1] = (uint8_t)(sum >> 8);
            buf[csum_off + 2] = (uint8_t)(sum >> 16);
            buf[csum_off + 3] = (uint8_t)(sum >> 24);
            /* the whole image when padding was filled (older plugins: rare), else the field alone */
            if (r->filled ? write_at(path, 0, buf, size) : write_at(path, csum_off, buf + csum_off, 4)) {
                hp_msg_set(msg, msg_size, "cannot write the output image '%s'", path);
                ret = HP_ERR_IO;
                goto out;
            }
            r->rewritten = 1;
        }
        r->checksum = sum;
    } else {
        r->checksum = pe.checksum;
    }

    /* 3. every function's hash, over the bytes as they are now final: after the fill and after the
          checksum (in a crafted image a function's extent can cover the header's checksum field) */
    hash_all(p, &pe);

out:
    hp_file_unmap(buf, size);
    if (ret != HP_OK) {
        hp_link_post_destroy(r);
        return ret;
    }
    *out = r;
    return HP_OK;
}
