/*
 * codefile.c — the `.hpcode` file: writer and strict reader (hp_link_codefile.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_codefile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_link_units.h"
#include "hp_tools.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum { CODE_VERSION = 1 };

static int has_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* The length of a name the reader reads back, or 0 for one it cannot (empty, or with a space or line
   break: only a crafted object has such a name), which the writers leave out. */
static size_t writable_name(const char *nm)
{
    size_t len = strcspn(nm, " \r\n");
    return nm[len] ? 0 : len;
}

/* "<f|v> <s|e> <size> <16 hex digits> <name>\n" at b[0, ...): the line's length. b has room for
   40 bytes and the name's `len`. */
static size_t format_entry(char *b, const hp_link_digest *e, size_t len)
{
    char *w = b;
    *w++ = e->kind == HP_DIGEST_FUNCTION ? 'f' : 'v';
    *w++ = ' ';
    *w++ = e->is_static ? 's' : 'e';
    *w++ = ' ';
    w = hp_fmt_u32(w, e->size);
    *w++ = ' ';
    w = hp_fmt_hex64(w, e->digest);
    *w++ = ' ';
    memcpy(w, e->name, len);
    w += len;
    *w++ = '\n';
    return (size_t)(w - b);
}

hp_status hp_link_code_write(const char *path, const hp_link_code *c, char *msg, size_t msg_size)
{
    if (!path || !c)
        return HP_ERR_ARGUMENT;
    const char *name = c->image_name ? c->image_name : "";
    if (has_break(name)) {
        hp_msg_set(msg, msg_size, "%s: the image's name has a line break", path);
        return HP_ERR_ARGUMENT;
    }
    hp_file_replace rep;
    FILE *f = hp_file_replace_begin(&rep, path); /* whole or not at all */
    if (!f) {
        hp_msg_set(msg, msg_size, "%s: cannot write", path);
        return HP_ERR_IO;
    }
    fprintf(f, "hotpatch-code %d\nimage %s %u %u %u %s\n", CODE_VERSION, c->machine, c->time_date_stamp,
            c->size_of_image, c->checksum, name);
    /* the units' lines (tens of thousands) formatted by hand through one buffer (hp_outbuf); a name's
       length is read once (writable_name) */
    hp_outbuf o;
    hp_status st = hp_outbuf_init(&o, f) ? HP_OK : HP_ERR_NO_MEMORY;
    for (size_t i = 0; i < c->unit_count && st == HP_OK; i++) {
        const hp_link_digest_unit *u = c->units[i];
        if (has_break(u->unit))
            continue; /* a path no line can hold: the unit has no digests (a fix of it is refused) */
        char head[32];
        int hn = snprintf(head, sizeof head, "unit %08x ", (unsigned)u->unit_id);
        hp_outbuf_write(&o, head, (size_t)hn);
        hp_outbuf_write(&o, u->unit, strlen(u->unit));
        hp_outbuf_write(&o, "\n", 1);
        if (u->lines) {
            hp_outbuf_write(&o, u->lines, u->lines_len); /* checked when read (hp_link_code_lines_valid) */
            continue;
        }
        for (size_t k = 0; k < u->count; k++) {
            size_t len = writable_name(u->entries[k].name);
            if (!len)
                continue;
            char *w = hp_outbuf_room(&o, len + 48);
            if (!w) {
                st = HP_ERR_NO_MEMORY;
                break;
            }
            hp_outbuf_commit(&o, w + format_entry(w, &u->entries[k], len));
        }
    }
    int written = hp_outbuf_finish(&o);
    if (!hp_file_replace_end(&rep, st == HP_OK && written) && st == HP_OK)
        st = HP_ERR_IO;
    if (st != HP_OK)
        hp_msg_set(msg, msg_size, "%s: cannot write", path);
    return st;
}

hp_status hp_link_code_unit_lines(const hp_link_digest_unit *u, char **out, size_t *out_len)
{
    if (!u || !out || !out_len)
        return HP_ERR_ARGUMENT;
    *out = NULL;
    *out_len = 0;
    size_t room = 0;
    for (size_t k = 0; k < u->count; k++)
        room += strlen(u->entries[k].name) + 48;
    if (room == 0)
        return HP_OK;
    char *b = malloc(room), *w = b;
    if (!b)
        return HP_ERR_NO_MEMORY;
    for (size_t k = 0; k < u->count; k++) {
        size_t len = writable_name(u->entries[k].name);
        if (len)
            w += format_entry(w, &u->entries[k], len);
    }
    if (w == b) {
        free(b);
        return HP_OK;
    }
    *out = b;
    *out_len = (size_t)(w - b);
    return HP_OK;
}

/* ---- reading ---------------------------------------------------------------- */

typedef struct reader {
    const char *p, *end;
    size_t line;
    char *msg;
    size_t msg_size;
} reader;

static hp_status fail(reader *r, const char *what)
{
    hp_msg_set(r->msg, r->msg_size, "line %zu: %s", r->line, what);
    return HP_ERR_FORMAT;
}

/* The next line (without its '\n') in [*s, *s + *n); 0 at the end. */
static int next_line(reader *r, const char **s, size_t *n)
{
    if (r->p >= r->end)
        return 0;
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    *s = r->p;
    *n = nl ? (size_t)(nl - r->p) : (size_t)(r->end - r->p);
    r->p = nl ? nl + 1 : r->end;
    r->line++;
    return 1;
}

/* One space-separated word of [*s, *s + *n), consumed with its space. */
static int word(const char **s, size_t *n, const char **w, size_t *wn)
{
    const char *sp = memchr(*s, ' ', *n);
    if (!sp || sp == *s)
        return 0;
    *w = *s;
    *wn = (size_t)(sp - *s);
    *n -= *wn + 1;
    *s = sp + 1;
    return 1;
}

static int dec32(const char *w, size_t n, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 10)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] < '0' || w[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(w[i] - '0');
    }
    if (v > UINT32_MAX)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

/* exactly `digits` lower-case hex digits */
static int hex64(const char *w, size_t n, size_t digits, uint64_t *out)
{
    return n == digits && hp_link_hex(w, n, out);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* A function or variable record, "<f|v> <s|e> <size> <16 hex digits> <name>" (without its line
   break), into *e; [*s, *s + *n) is left as the name. NULL, or what is wrong. */
static const char *parse_entry(const char **s, size_t *n, hp_link_digest *e)
{
    const char *w;
    size_t wn;
    if (*n < 2 || ((*s)[0] != 'f' && (*s)[0] != 'v') || (*s)[1] != ' ')
        return "not a 'unit', 'f' or 'v' record";
    memset(e, 0, sizeof *e);
    e->kind = (*s)[0] == 'f' ? HP_DIGEST_FUNCTION : HP_DIGEST_VARIABLE;
    *s += 2;
    *n -= 2;
    if (!word(s, n, &w, &wn) || wn != 1 || (w[0] != 's' && w[0] != 'e'))
        return "linkage is not 's' or 'e'";
    e->is_static = w[0] == 's';
    if (!word(s, n, &w, &wn) || !dec32(w, wn, &e->size))
        return "size is not a decimal 32-bit number";
    if (!word(s, n, &w, &wn) || !hex64(w, wn, 16, &e->digest))
        return "digest is not 16 hex digits";
    if (*n == 0 || memchr(*s, ' ', *n) || memchr(*s, 0, *n))
        return "the name is missing or has a space or NUL";
    return NULL;
}

/* Byte classes of hp_link_code_lines_valid(). */
enum { CL_DIGIT = 1, CL_HEX = 2, CL_NOT_NAME = 4 };
static const uint8_t byte_class[256] = {
    [0] = CL_NOT_NAME, ['\n'] = CL_NOT_NAME, ['\r'] = CL_NOT_NAME, [' '] = CL_NOT_NAME,
    ['0'] = CL_DIGIT | CL_HEX, ['1'] = CL_DIGIT | CL_HEX, ['2'] = CL_DIGIT | CL_HEX, ['3'] = CL_DIGIT | CL_HEX,
    ['4'] = CL_DIGIT | CL_HEX, ['5'] = CL_DIGIT | CL_HEX, ['6'] = CL_DIGIT | CL_HEX, ['7'] = CL_DIGIT | CL_HEX,
    ['8'] = CL_DIGIT | CL_HEX, ['9'] = CL_DIGIT | CL_HEX, ['a'] = CL_HEX, ['b'] = CL_HEX, ['c'] = CL_HEX,
    ['d'] = CL_HEX, ['e'] = CL_HEX, ['f'] = CL_HEX,
};

/* Are the 16 bytes at p lower-case hex digits? */
static int hex16(const unsigned char *p)
{
#if defined(__SSE2__)
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
    __m128i af = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8('f' + 1)));
    return _mm_movemask_epi8(_mm_or_si128(digit, af)) == 0xFFFF;
#else
    for (int k = 0; k < 16; k++)
        if (!(byte_class[p[k]] & CL_HEX))
            return 0;
    return 1;
#endif
}

/* parse_entry()'s grammar (and no carriage return in a name, which the writer leaves out), checked in
   one pass over the bytes: an object's lines are tens of thousands, and parse_entry() with its word
   splitting cost several times the digests' hash. tests/fuzz/fuzz_link_code.c checks that whatever
   this accepts, the reader reads. */
int hp_link_code_lines_valid(const char *text, size_t len, size_t *line)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    size_t ln = 0;
    if (line)
        *line = 0;
    if (!text)
        return 0;
    if (len && end[-1] != '\n')
        goto bad_last;
    while (p < end) {
        ln++;
        /* "f e 1 0123456789abcdef x\n": 25 bytes at least */
        if (end - p < 25 || (p[0] != 'f' && p[0] != 'v') || p[1] != ' ' || (p[2] != 's' && p[2] != 'e') ||
            p[3] != ' ')
            goto bad;
        const unsigned char *q = p + 4, *digits = q;
        uint64_t v = 0;
        while (byte_class[*q] & CL_DIGIT) {
            v = v * 10 + (uint64_t)(*q++ - '0');
            if (q - digits > 10)
                goto bad;
        }
        if (q == digits || v > UINT32_MAX || *q != ' ' || end - q < 19)
            goto bad;
        q++;
        if (!hex16(q))
            goto bad;
        q += 16;
        if (*q != ' ')
            goto bad;
        const unsigned char *name = ++q;
        while (!(byte_class[*q] & CL_NOT_NAME)) /* stops at the line's '\n' at the latest */
            q++;
        if (q == name || *q != '\n')
            goto bad;
        p = q + 1;
    }
    return 1;
bad_last:
    for (const unsigned char *c = p; c < end; c++)
        ln += *c == '\n';
    ln++;
bad:
    if (line)
        *line = ln;
    return 0;
}

static hp_status parse_body(reader *r, hp_link_code *c)
{
    const char *s, *w;
    size_t n, wn;
    size_t units_cap = 0;
    hp_link_digest_unit *u = NULL;
    while (next_line(r, &s, &n)) {
        if (n == 0)
            continue;
        if (n > 5 && memcmp(s, "unit ", 5) == 0) {
            s += 5;
            n -= 5;
            uint64_t id;
            if (!word(&s, &n, &w, &wn) || !hex64(w, wn, 8, &id) || n == 0)
                return fail(r, "not 'unit <8 hex digits> <path>'");
            if (memchr(s, 0, n))
                return fail(r, "a NUL byte in a path");
            for (size_t i = 0; i < c->unit_count; i++)
                if (strlen(c->units[i]->unit) == n && memcmp(c->units[i]->unit, s, n) == 0)
                    return fail(r, "a unit named twice");
            u = calloc(1, sizeof *u);
            if (!u || !(u->unit = dup_n(s, n)) || !HP_VEC_PUSH(c->units, c->unit_count, units_cap, u)) {
                if (u)
                    free(u->unit);
                free(u);
                return HP_ERR_NO_MEMORY;
            }
            u->unit_id = (uint32_t)id;
            continue;
        }
        if (!u && n >= 2 && (s[0] == 'f' || s[0] == 'v') && s[1] == ' ')
            return fail(r, "a function or variable before any 'unit'");
        hp_link_digest e;
        const char *why = parse_entry(&s, &n, &e);
        if (why)
            return fail(r, why);
        if (hp_link_digest_add(u, s, n, e.kind, e.is_static, e.size, e.digest) != HP_OK)
            return HP_ERR_NO_MEMORY;
    }
    for (size_t i = 0; i < c->unit_count; i++) {
        hp_link_digest_unit *x = c->units[i];
        hp_link_digest_seal(x);
        const hp_link_digest *twice = hp_link_digest_sort(x);
        if (twice) {
            hp_msg_set(r->msg, r->msg_size, "unit %s: '%s' twice", x->unit, twice->name);
            return HP_ERR_FORMAT;
        }
    }
    return HP_OK;
}

hp_status hp_link_code_parse(const char *text, size_t len, hp_link_code **out, char *msg, size_t msg_size)
{
    if (!text || !out)
        return HP_ERR_ARGUMENT;
    reader r = {text, text + len, 0, msg, msg_size};
    const char *s, *w;
    size_t n, wn;
    if (!next_line(&r, &s, &n) || n < 14 || memcmp(s, "hotpatch-code ", 14) != 0)
        return fail(&r, "not a hotpatch code file (it starts with 'hotpatch-code <version>')");
    uint32_t version;
    if (!dec32(s + 14, n - 14, &version))
        return fail(&r, "the version is not a number");
    if (version != CODE_VERSION) {
        hp_msg_set(msg, msg_size, "line 1: version %u is not one this reader knows (%d)", version, CODE_VERSION);
        return HP_ERR_MANIFEST_VERSION;
    }
    hp_link_code *c = calloc(1, sizeof *c);
    if (!c)
        return HP_ERR_NO_MEMORY;
    hp_status st = HP_OK;
    if (!next_line(&r, &s, &n) || n < 6 || memcmp(s, "image ", 6) != 0) {
        st = fail(&r, "not 'image <machine> <time_date_stamp> <size_of_image> <checksum> <name>'");
    } else {
        s += 6;
        n -= 6;
        if (!word(&s, &n, &w, &wn) || wn >= sizeof c->machine)
            st = fail(&r, "the machine is missing or too long");
        else
            memcpy(c->machine, w, wn);
        if (st == HP_OK && (!word(&s, &n, &w, &wn) || !dec32(w, wn, &c->time_date_stamp)))
            st = fail(&r, "time_date_stamp is not a decimal 32-bit number");
        if (st == HP_OK && (!word(&s, &n, &w, &wn) || !dec32(w, wn, &c->size_of_image)))
            st = fail(&r, "size_of_image is not a decimal 32-bit number");
        if (st == HP_OK && (!word(&s, &n, &w, &wn) || !dec32(w, wn, &c->checksum)))
            st = fail(&r, "checksum is not a decimal 32-bit number");
        if (st == HP_OK && memchr(s, 0, n))
            st = fail(&r, "a NUL byte in the image's name");
        if (st == HP_OK && !(c->image_name = dup_n(s, n)))
            st = HP_ERR_NO_MEMORY;
    }
    if (st == HP_OK)
        st = parse_body(&r, c);
    if (st == HP_ERR_NO_MEMORY)
        hp_msg_set(msg, msg_size, "out of memory");
    if (st != HP_OK) {
        hp_link_code_destroy(c);
        return st;
    }
    *out = c;
    return HP_OK;
}

hp_status hp_link_code_load(const char *path, hp_link_code **out, char *msg, size_t msg_size)
{
    if (!path || !out)
        return HP_ERR_ARGUMENT;
    unsigned char *data = NULL;
    size_t size = 0;
    hp_status st = hp_file_read(path, &data, &size, msg, msg_size);
    if (st != HP_OK)
        return st;
    char why[512] = "";
    st = hp_link_code_parse((const char *)data, size, out, why, sizeof why);
    free(data);
    if (st != HP_OK)
        hp_msg_set(msg, msg_size, "%s: %s", path, why);
    return st;
}

const hp_link_digest_unit *hp_link_code_unit(const hp_link_code *c, const char *path)
{
    if (!c || !path)
        return NULL;
    for (size_t i = 0; i < c->unit_count; i++)
        if (strcmp(c->units[i]->unit, path) == 0)
            return c->units[i];
    return NULL;
}

void hp_link_code_destroy(hp_link_code *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->unit_count; i++)
        hp_link_digest_destroy(c->units[i]);
    free(c->units);
    free(c->image_name);
    free(c);
}
