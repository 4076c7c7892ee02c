/*
 * map.c — the <image>.hpmap JSON writer, version 3 (hp_link_map.h; the format is
 * lld-pass/README.md, "The map"): functions and symbols are rows (arrays) whose
 * columns the map names once ("function_fields", "symbol_fields").
 *
 * Everything is formatted by hand into one buffer (hp_outbuf) and written with one fwrite per 64 KiB:
 * printf's format parsing per field costs more than the rest of a link pass of 60,000 functions.
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_map.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_tools.h"

/* ------------------------------------------------------------------------- */
/* Formatting into a line                                                     */
/* ------------------------------------------------------------------------- */

/* The writers below append to a line buffer and return its new end. */
static char *put_str(char *w, const char *s)
{
    size_t n = strlen(s);
    memcpy(w, s, n);
    return w + n;
}

/* A string literal: its length is known at compile time (no strlen per field of 60,000 lines). */
#define PUT_LIT(w, lit) (memcpy((w), (lit), sizeof(lit) - 1), (w) + sizeof(lit) - 1)

static char *put_i32(char *w, int32_t v)
{
    if (v < 0) {
        *w++ = '-';
        return hp_fmt_u32(w, (uint32_t)0 - (uint32_t)v);
    }
    return hp_fmt_u32(w, (uint32_t)v);
}

/* `digits` lower-case hex digits of v, most significant first */
static char *put_hex(char *w, uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--)
        *w++ = hex[(v >> (4 * i)) & 15];
    return w;
}

static char *put_hex_upper(char *w, uint8_t v)
{
    static const char hex[] = "0123456789ABCDEF";
    *w++ = hex[v >> 4];
    *w++ = hex[v & 15];
    return w;
}

/* ------------------------------------------------------------------------- */
/* The output buffer                                                          */
/* ------------------------------------------------------------------------- */

/* The text goes through one hp_outbuf (hp_tools.h). Every room asked for below but a name's run is a few
   hundred bytes at most, less than the buffer ever is: hp_outbuf_room() is never NULL there. */
static void ob_lit(hp_outbuf *o, const char *s)
{
    hp_outbuf_write(o, s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms, no surrogates, at most
   U+10FFFF), or 0. The string is NUL-terminated, so reading continuation bytes stops at the NUL. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    if (c >= 0xC2 && c <= 0xDF)
        return (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/* The length of the run of bytes at the start of s that a JSON string holds as they are. One bit a
   byte, set for 0x20-0x7E but '"' (0x22) and '\\' (0x5C). */
static size_t plain_run(const char *s)
{
    static const uint64_t plain_bits[4] = {0xFFFFFFFB00000000ull, 0x7FFFFFFFEFFFFFFFull, 0, 0};
    size_t n = 0;
    for (unsigned char c; c = (unsigned char)s[n], (plain_bits[c >> 6] >> (c & 63)) & 1;)
        n++;
    return n;
}

/* A JSON string. Quotes, backslashes and control characters are escaped; a byte that does not start a
   well-formed UTF-8 sequence (names from untrusted symbol tables) is written as \u00XX so that the map
   stays valid JSON. */
static void json_str(hp_outbuf *o, const char *s)
{
    char *w = hp_outbuf_room(o, 1);
    *w++ = '"';
    hp_outbuf_commit(o, w);
    /* the usual name is plain printable ASCII: copied as one run (the loop below takes it otherwise) */
    size_t plain = plain_run(s);
    if (plain && (w = hp_outbuf_room(o, plain)) != NULL) {
        memcpy(w, s, plain);
        hp_outbuf_commit(o, w + plain);
        s += plain;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        w = hp_outbuf_room(o, 6);
        if (*p == '"' || *p == '\\') {
            *w++ = '\\';
            *w++ = (char)*p++;
        } else if (*p < 0x20 || *p == 0x7F) {
            w = put_str(w, "\\u00");
            w = put_hex(w, *p++, 2);
        } else if (*p < 0x80) {
            *w++ = (char)*p++;
        } else {
            size_t n = utf8_len(p);
            if (n) {
                memcpy(w, p, n);
                w += n;
                p += n;
            } else {
                w = put_str(w, "\\u00");
                w = put_hex(w, *p++, 2);
            }
        }
        hp_outbuf_commit(o, w);
    }
    w = hp_outbuf_room(o, 1);
    *w++ = '"';
    hp_outbuf_commit(o, w);
}

/* ------------------------------------------------------------------------- */
/* The sections of the map                                                    */
/* ------------------------------------------------------------------------- */

static void render_image(hp_outbuf *o, const hp_link_map_data *m)
{
    ob_lit(o, "{\n  \"format\": \"hotpatch-map\",\n  \"version\": 3,\n  \"image\": {\n    \"name\": ");
    json_str(o, m->name);
    ob_lit(o, ",\n    \"format\": ");
    json_str(o, m->format ? m->format : "pe");
    ob_lit(o, ",\n    \"machine\": ");
    json_str(o, m->machine ? m->machine : "unknown");
    char *w = hp_outbuf_room(o, 512);
    w = put_str(w, ",\n    \"time_date_stamp\": ");
    w = hp_fmt_u32(w, m->time_date_stamp);
    w = put_str(w, ",\n    \"size_of_image\": ");
    w = hp_fmt_u32(w, m->size_of_image);
    w = put_str(w, ",\n    \"checksum\": ");
    w = hp_fmt_u32(w, m->checksum);
    w = put_str(w, ",\n    \"codeview\": ");
    if (m->has_codeview) {
        /* Data1..Data3 are little-endian in the record; the text form prints them as numbers */
        static const int order[16] = {3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11};
        const uint8_t *g = m->codeview_guid;
        w = put_str(w, "{ \"guid\": \"");
        for (int i = 0; i < 16; i++) {
            if (order[i] < 0)
                *w++ = '-';
            else
                w = put_hex_upper(w, g[order[i]]);
        }
        for (int i = 12; i < 16; i++)
            w = put_hex_upper(w, g[i]);
        w = put_str(w, "\", \"age\": ");
        w = hp_fmt_u32(w, m->codeview_age);
        w = put_str(w, " }");
    } else {
        w = put_str(w, "null");
    }
    w = put_str(w, ",\n    \"build_id\": ");
    if (m->build_id_len) {
        *w++ = '"';
        for (uint32_t i = 0; i < m->build_id_len; i++)
            w = put_hex(w, m->build_id[i], 2);
        *w++ = '"';
    } else {
        w = put_str(w, "null");
    }
    w = put_str(w, "\n  },\n  \"function_fields\": " HP_LINK_MAP_FUNCTION_FIELDS ",\n  \"functions\": [");
    hp_outbuf_commit(o, w);
}

/* A number that is nearly always one digit (the padding, the site's offset) without the call. */
static inline char *put_small(char *w, uint32_t v)
{
    if (v < 10) {
        *w++ = (char)('0' + v);
        return w;
    }
    return hp_fmt_u32(w, v);
}

/* A function's row after its name: the other columns of HP_LINK_MAP_FUNCTION_FIELDS and the row's
   end (at most 80 bytes). */
static char *put_fn_fields(char *w, const hp_link_fn *f)
{
    *w++ = ',';
    w = hp_fmt_u32(w, f->rva);
    *w++ = ',';
    w = put_small(w, f->padding);
    *w++ = ',';
    w = put_small(w, f->site_offset);
    w = PUT_LIT(w, ",\"");
    w = put_hex(w, f->entry_bytes[0], 2);
    w = put_hex(w, f->entry_bytes[1], 2);
    w = PUT_LIT(w, "\",");
    w = hp_fmt_u32(w, f->hash_len);
    w = PUT_LIT(w, ",\"");
    w = hp_fmt_hex64(w, f->hash);
    w = PUT_LIT(w, "\",");
    *w++ = (f->from & HP_LINK_FROM_TABLE) ? '1' : '0';
    *w++ = ',';
    *w++ = (f->from & HP_LINK_FROM_EXPORT) ? '1' : '0';
    *w++ = ',';
    *w++ = f->patchable ? '1' : '0';
    *w++ = ']';
    return w;
}

/* One row per function: the columns of HP_LINK_MAP_FUNCTION_FIELDS, in their order. A row whose name
   needs no escapes (the usual) is formatted in one room of the buffer. */
static void render_functions(hp_outbuf *o, const hp_link_map_data *m)
{
    for (size_t i = 0; i < m->fn_count; i++) {
        const hp_link_fn *f = &m->fns[i];
        size_t plain = f->name ? plain_run(f->name) : 0;
        if (f->name && f->name[plain]) {
            char *w = hp_outbuf_room(o, 16);
            w = i ? PUT_LIT(w, ",\n    [") : PUT_LIT(w, "\n    [");
            hp_outbuf_commit(o, w);
            json_str(o, f->name);
            w = hp_outbuf_room(o, 128);
            hp_outbuf_commit(o, put_fn_fields(w, f));
            continue;
        }
        char *w = hp_outbuf_room(o, plain + 128);
        if (!w)
            return; /* out of memory: `failed` is set */
        w = i ? PUT_LIT(w, ",\n    [") : PUT_LIT(w, "\n    [");
        if (f->name) {
            *w++ = '"';
            memcpy(w, f->name, plain);
            w += plain;
            *w++ = '"';
        } else {
            w = PUT_LIT(w, "null");
        }
        hp_outbuf_commit(o, put_fn_fields(w, f));
    }
    ob_lit(o, m->fn_count ? "\n  ],\n  \"units\": [" : "],\n  \"units\": [");
}

static void render_units(hp_outbuf *o, const hp_link_map_data *m)
{
    for (size_t i = 0; i < m->unit_count; i++) {
        ob_lit(o, i ? ", " : " ");
        json_str(o, m->units[i]);
    }
    ob_lit(o, m->unit_count ? " ],\n  \"symbol_fields\": " HP_LINK_MAP_SYMBOL_FIELDS ",\n  \"symbols\": ["
                            : "],\n  \"symbol_fields\": " HP_LINK_MAP_SYMBOL_FIELDS ",\n  \"symbols\": [");
}

/*
 * The symbols' order: by name, then unit (-1, unknown, first), then the rest, so that it never depends on
 * the input's. Sorting pointers with qsort and strcmp costs about 20 ms at 60,000 symbols, most of it in
 * cache misses on the names: each record carries the name's first 8 bytes as a big-endian key (bytes
 * after the NUL are 0, so the key orders as strcmp does), and the full names are compared only when the
 * keys are equal. A bottom-up merge sort: stable, no recursion, no indirect calls.
 */
typedef struct symkey {
    uint64_t key;
    const hp_link_map_symbol *sym;
} symkey;

static uint64_t name_key(const char *name)
{
    uint64_t k = 0;
    int i = 0;
    for (; i < 8 && name[i]; i++)
        k = (k << 8) | (unsigned char)name[i];
    return k << (8 * (8 - i));
}

static int sym_less(const symkey *a, const symkey *b)
{
    if (a->key != b->key)
        return a->key < b->key;
    const hp_link_map_symbol *x = a->sym, *y = b->sym;
    /* equal keys: the names agree on their first 8 bytes (or are equal and shorter) */
    int c = (a->key & 0xFF) ? strcmp(x->name + 8, y->name + 8) : 0;
    if (c)
        return c < 0;
    if (x->unit != y->unit)
        return x->unit < y->unit;
    if (x->rva != y->rva)
        return x->rva < y->rva;
    if (x->is_function != y->is_function)
        return x->is_function != 0;
    if (x->is_static != y->is_static)
        return x->is_static != 0;
    return x->size < y->size;
}

/* Sort `n` records; `tmp` has room for n. Returns the array that holds the result (v or tmp). */
static symkey *sort_symbols(symkey *v, symkey *tmp, size_t n)
{
    symkey *src = v, *dst = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = sym_less(&src[j], &src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        symkey *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

/* One row per symbol: the columns of HP_LINK_MAP_SYMBOL_FIELDS, in their order. */
static void render_symbols(hp_outbuf *o, const symkey *sorted, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const hp_link_map_symbol *s = sorted[i].sym;
        ob_lit(o, i ? ",\n    [" : "\n    [");
        json_str(o, s->name);
        char *w = hp_outbuf_room(o, 96);
        *w++ = ',';
        if (s->unit < 0)
            w = PUT_LIT(w, "null");
        else
            w = put_i32(w, s->unit);
        w = s->is_static ? PUT_LIT(w, ",\"static\"") : PUT_LIT(w, ",\"extern\"");
        w = s->is_function ? PUT_LIT(w, ",\"function\",") : PUT_LIT(w, ",\"variable\",");
        w = hp_fmt_u32(w, s->rva);
        *w++ = ',';
        w = hp_fmt_u32(w, s->size);
        *w++ = ']';
        hp_outbuf_commit(o, w);
    }
    ob_lit(o, n ? "\n  ]\n}\n" : "]\n}\n");
}

/* ------------------------------------------------------------------------- */
/* The API                                                                    */
/* ------------------------------------------------------------------------- */

static int data_valid(const hp_link_map_data *m)
{
    if (!m->name || (m->fn_count && !m->fns) || (m->unit_count && !m->units) || (m->symbol_count && !m->symbols))
        return 0;
    if (m->build_id_len > sizeof m->build_id)
        return 0;
    for (size_t i = 0; i < m->unit_count; i++)
        if (!m->units[i])
            return 0;
    for (size_t i = 0; i < m->symbol_count; i++) {
        const hp_link_map_symbol *s = &m->symbols[i];
        if (!s->name || s->unit < -1 || (s->unit >= 0 && (size_t)s->unit >= m->unit_count))
            return 0;
    }
    return 1;
}

hp_status hp_link_map_render_data(const hp_link_map_data *map, FILE *out)
{
    if (!map || !out || !data_valid(map))
        return HP_ERR_ARGUMENT;
    symkey *keys = NULL, *sorted = NULL;
    size_t n = map->symbol_count;
    if (n) {
        if (n > SIZE_MAX / (2 * sizeof *keys))
            return HP_ERR_NO_MEMORY;
        keys = malloc(2 * n * sizeof *keys);
        if (!keys)
            return HP_ERR_NO_MEMORY;
        for (size_t i = 0; i < n; i++) {
            keys[i].key = name_key(map->symbols[i].name);
            keys[i].sym = &map->symbols[i];
        }
        sorted = sort_symbols(keys, keys + n, n);
    }
    hp_outbuf o;
    if (!hp_outbuf_init(&o, out)) {
        free(keys);
        return HP_ERR_NO_MEMORY;
    }
    render_image(&o, map);
    render_functions(&o, map);
    render_units(&o, map);
    render_symbols(&o, sorted, map->symbol_count);
    int ok = hp_outbuf_finish(&o);
    free(keys);
    return !ok || ferror(out) ? HP_ERR_IO : HP_OK;
}

hp_status hp_link_map_write_data(const hp_link_map_data *map, const char *path)
{
    if (!map || !path)
        return HP_ERR_ARGUMENT;
    if (!data_valid(map))
        return HP_ERR_ARGUMENT;
    /* The map of the last link is written over in place and cut to its new length, not truncated
       first: a relink writes into the file's cached pages instead of freeing them and taking fresh
       ones (0.5 ms of a 60,000-function link's 3.8 MB map). Either way a failed write leaves a file
       that is not the map, and the call fails. */
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        if (fd >= 0)
            close(fd);
        return HP_ERR_IO;
    }
    hp_status st = hp_link_map_render_data(map, f);
    if (st == HP_OK && fflush(f) != 0)
        st = HP_ERR_IO;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
        off_t len = st == HP_OK ? ftello(f) : 0; /* nothing of the old map stays after a failed write */
        if ((len < 0 || ftruncate(fd, len < 0 ? 0 : len) != 0) && st == HP_OK)
            st = HP_ERR_IO;
    }
    if (fclose(f) != 0 && st == HP_OK)
        st = HP_ERR_IO;
    return st;
}

/* The map of hotpatch-link's pass over a PE image: its identity and verdicts (no units, no symbols). */
static void data_of_post(const hp_link_post *post, const char *image_name, hp_link_map_data *m)
{
    memset(m, 0, sizeof *m);
    m->name = image_name;
    m->format = "pe";
    m->machine = post->machine ? post->machine : "unknown";
    m->time_date_stamp = post->time_date_stamp;
    m->size_of_image = post->size_of_image;
    m->checksum = post->checksum;
    m->has_codeview = post->has_codeview;
    memcpy(m->codeview_guid, post->codeview_guid, sizeof m->codeview_guid);
    m->codeview_age = post->codeview_age;
    m->fns = post->fns;
    m->fn_count = post->fn_count;
}

hp_status hp_link_map_render(const hp_link_post *post, const char *image_name, FILE *out)
{
    if (!post || !image_name || !out)
        return HP_ERR_ARGUMENT;
    hp_link_map_data m;
    data_of_post(post, image_name, &m);
    return hp_link_map_render_data(&m, out);
}

hp_status hp_link_map_write(const hp_link_post *post, const char *image_name, const char *path)
{
    if (!post || !image_name || !path)
        return HP_ERR_ARGUMENT;
    hp_link_map_data m;
    data_of_post(post, image_name, &m);
    return hp_link_map_write_data(&m, path);
}
