/*
 * map.c — the reader of <image>.hpmap (hp_map.h; format: lld-pass/README.md, "The map").
 *
 * Two steps. The JSON parser (RFC 8259, strict) turns the text into a flat tree: one node per
 * value and per member name, in document order, each knowing where its subtree ends, so that a
 * walk over siblings needs no recursion. It keeps an explicit stack of at most JSON_MAX_DEPTH
 * open containers, never reads past `len`, and needs no NUL. Strings without escapes stay in the
 * text (offset and length); strings with escapes are decoded once, to UTF-8, into a scratch buffer.
 *
 * The schema check then walks the tree (a fixed depth: root, image, codeview, the three arrays
 * and their elements), checks every field the format defines, and fills one allocation: the
 * hp_map, its functions, symbols and units, then every string it keeps. The tree and the scratch
 * buffer are freed before hp_map_parse() returns. Functions end sorted by RVA and symbols by name,
 * then unit, whatever order the file had, for the binary searches below.
 */
#include "hp_map.h"

#include "hp_tools.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { JSON_MAX_DEPTH = 64 };

/* ------------------------------------------------------------------------- */
/* The tree                                                                   */
/* ------------------------------------------------------------------------- */

enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

/* jnode.sub of a number: what kind of number its text is */
enum {
    NUM_UINT, /* digits only, value in v.u */
    NUM_BIG,  /* digits only, more than 64 bits */
    NUM_NEG,  /* '-' then digits (also "-0") */
    NUM_REAL, /* a fraction or an exponent */
};

typedef struct jnode {
    uint8_t type; /* J_* */
    uint8_t sub;  /* J_STR: 1 when the bytes are in the scratch buffer (it had escapes); J_NUM: NUM_* */
    uint32_t end; /* index one past this node's subtree (a scalar: its own index + 1) */
    uint32_t len; /* J_STR: bytes (decoded); J_ARR: elements; J_OBJ: members */
    uint32_t pos; /* offset of the token's first byte in the text */
    union {
        uint64_t u;   /* J_NUM, NUM_UINT */
        uint32_t off; /* J_STR: offset in the text or in the scratch buffer */
    } v;
} jnode;

typedef struct jdoc {
    const unsigned char *text;
    size_t len;
    size_t i; /* the parser's position */
    jnode *nodes;
    size_t count, cap;
    char *scratch; /* decoded strings */
    size_t slen, scap;
    char *msg;
    size_t msg_size;
} jdoc;

/* Line and column (1-based; the column counts characters, not bytes) of offset `pos`. */
static void line_col(const unsigned char *t, size_t pos, size_t *line, size_t *col)
{
    size_t l = 1, c = 1;
    for (size_t i = 0; i < pos; i++) {
        if (t[i] == '\n') {
            l++;
            c = 1;
        } else if ((t[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* The one way an error leaves this file: "line L, column C: <what>", HP_ERR_FORMAT. */
static hp_status jfail(jdoc *d, size_t pos, const char *fmt, ...) HP_TOOLS_PRINTF(3, 4);
static hp_status jfail(jdoc *d, size_t pos, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    size_t line, col;
    line_col(d->text, pos > d->len ? d->len : pos, &line, &col);
    hp_msg_set(d->msg, d->msg_size, "line %zu, column %zu: %s", line, col, what);
    return HP_ERR_FORMAT;
}

static hp_status no_memory(jdoc *d)
{
    hp_msg_set(d->msg, d->msg_size, "out of memory");
    return HP_ERR_NO_MEMORY;
}

/* A byte named for a message: 'x' when printable, else its value. */
static const char *byte_name(unsigned char c, char buf[8])
{
    if (c >= 0x20 && c < 0x7F)
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "0x%02X", c);
    return buf;
}

/* Append a node; its index is d->count - 1. NULL when out of memory. */
static jnode *push(jdoc *d, uint8_t type, size_t pos)
{
    if (d->count == d->cap) {
        size_t ncap = d->cap * 2;
        jnode *n = realloc(d->nodes, ncap * sizeof *n);
        if (!n)
            return NULL;
        d->nodes = n;
        d->cap = ncap;
    }
    jnode *n = &d->nodes[d->count++];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->pos = (uint32_t)pos;
    n->end = (uint32_t)d->count;
    return n;
}

/* The bytes of a string node (not NUL-terminated: n->len of them). */
static const char *jstr(const jdoc *d, const jnode *n)
{
    return n->sub ? d->scratch + n->v.off : (const char *)d->text + n->v.off;
}

/* ------------------------------------------------------------------------- */
/* The parser                                                                 */
/* ------------------------------------------------------------------------- */

static void skip_ws(jdoc *d)
{
    const unsigned char *t = d->text;
    size_t i = d->i;
    while (i < d->len && (t[i] == ' ' || t[i] == '\n' || t[i] == '\r' || t[i] == '\t'))
        i++;
    d->i = i;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Length of the well-formed UTF-8 sequence at p (n > 0 bytes available, p[0] >= 0x80), or 0:
   no overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t k;
    if (c >= 0xC2 && c <= 0xDF) {
        k = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < k || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t j = 2; j < k; j++)
        if ((p[j] & 0xC0) != 0x80)
            return 0;
    return k;
}

/* Room for `n` more bytes in the scratch buffer. */
static int scratch_room(jdoc *d, size_t n)
{
    if (d->scap - d->slen >= n)
        return 1;
    size_t ncap = d->scap ? d->scap : 256;
    while (ncap - d->slen < n)
        ncap *= 2;
    char *s = realloc(d->scratch, ncap);
    if (!s)
        return 0;
    d->scratch = s;
    d->scap = ncap;
    return 1;
}

/* The 4 hex digits of a \u escape at t[i..i+3], or -1. */
static long hex4(const jdoc *d, size_t i)
{
    if (d->len - i < 4)
        return -1;
    long v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = hex_value(d->text[i + k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t utf8_put(char *w, unsigned long cp)
{
    if (cp < 0x80) {
        w[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        w[0] = (char)(0xC0 | (cp >> 6));
        w[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        w[0] = (char)(0xE0 | (cp >> 12));
        w[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        w[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    w[0] = (char)(0xF0 | (cp >> 18));
    w[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    w[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    w[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* One escape at t[i] == '\\' decoded into the scratch buffer; *i moves past it. */
static hp_status parse_escape(jdoc *d, size_t *at)
{
    size_t i = *at;
    if (i + 1 >= d->len)
        return jfail(d, d->len, "unexpected end of text in a string");
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    unsigned char e = d->text[i + 1];
    const char *k = e ? strchr(from, e) : NULL;
    if (!scratch_room(d, 4))
        return no_memory(d);
    if (k) {
        d->scratch[d->slen++] = to[k - from];
        *at = i + 2;
        return HP_OK;
    }
    if (e != 'u') {
        char b[8];
        return jfail(d, i, "invalid escape '\\' then %s in a string", byte_name(e, b));
    }
    long cp = hex4(d, i + 2);
    if (cp < 0)
        return jfail(d, i, "\\u must be followed by 4 hex digits");
    size_t next = i + 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return jfail(d, i, "a low surrogate (\\u%04lX) without the high surrogate before it", (unsigned long)cp);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = (d->len - next >= 2 && d->text[next] == '\\' && d->text[next + 1] == 'u') ? hex4(d, next + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return jfail(d, i, "a high surrogate (\\u%04lX) without a low surrogate after it", (unsigned long)cp);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        next += 6;
    }
    d->slen += utf8_put(d->scratch + d->slen, (unsigned long)cp);
    *at = next;
    return HP_OK;
}

/* A string at d->i (the opening quote) into node `idx`. */
static hp_status parse_string(jdoc *d, size_t idx)
{
    const unsigned char *t = d->text;
    size_t start = d->i + 1, i = start, n = d->len;
    size_t copied = 0; /* with escapes: bytes of the text up to i already in the scratch buffer */
    int esc = 0;
    size_t sstart = 0;
    for (;;) {
        /* the common run: printable ASCII, no quote, no backslash */
        while (i < n && t[i] >= 0x20 && t[i] < 0x80 && t[i] != '"' && t[i] != '\\')
            i++;
        if (i >= n)
            return jfail(d, n, "unexpected end of text in a string");
        unsigned char c = t[i];
        if (c == '"' || c == '\\') {
            if (esc || c == '\\') {
                if (!esc) {
                    esc = 1;
                    sstart = d->slen;
                    copied = start;
                }
                /* room for this run and an escape's 4 bytes: never an empty (NULL) buffer */
                if (!scratch_room(d, i - copied + 4))
                    return no_memory(d);
                memcpy(d->scratch + d->slen, t + copied, i - copied);
                d->slen += i - copied;
            }
            if (c == '"')
                break;
            hp_status st = parse_escape(d, &i);
            if (st != HP_OK)
                return st;
            copied = i;
            continue;
        }
        if (c < 0x20)
            return jfail(d, i, "a control character (0x%02X) in a string: it must be escaped", c);
        size_t k = utf8_seq(t + i, n - i);
        if (!k)
            return jfail(d, i, "a string that is not valid UTF-8");
        i += k;
    }
    jnode *node = &d->nodes[idx];
    node->sub = (uint8_t)esc;
    node->v.off = (uint32_t)(esc ? sstart : start);
    node->len = (uint32_t)(esc ? d->slen - sstart : i - start);
    d->i = i + 1;
    return HP_OK;
}

/* A number at d->i into node `idx` (RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?). */
static hp_status parse_number(jdoc *d, size_t idx)
{
    const unsigned char *t = d->text;
    size_t i = d->i, n = d->len, start = i;
    int neg = 0, real = 0, big = 0;
    uint64_t v = 0;
    if (t[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= n)
        return jfail(d, n, "unexpected end of text in a number");
    if (!is_digit(t[i]))
        return jfail(d, i, "a digit must follow '-'");
    if (t[i] == '0') {
        i++;
        if (i < n && is_digit(t[i]))
            return jfail(d, start, "a number with a leading zero");
    } else {
        for (; i < n && is_digit(t[i]); i++) {
            unsigned dig = t[i] - '0';
            if (v > (UINT64_MAX - dig) / 10)
                big = 1;
            else
                v = v * 10 + dig;
        }
    }
    if (i < n && t[i] == '.') {
        real = 1;
        if (++i >= n)
            return jfail(d, n, "unexpected end of text in a number");
        if (!is_digit(t[i]))
            return jfail(d, i, "a digit must follow the decimal point");
        while (i < n && is_digit(t[i]))
            i++;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        real = 1;
        if (++i < n && (t[i] == '+' || t[i] == '-'))
            i++;
        if (i >= n)
            return jfail(d, n, "unexpected end of text in a number");
        if (!is_digit(t[i]))
            return jfail(d, i, "a digit must follow the exponent's 'e'");
        while (i < n && is_digit(t[i]))
            i++;
    }
    jnode *node = &d->nodes[idx];
    node->sub = real ? NUM_REAL : neg ? NUM_NEG : big ? NUM_BIG : NUM_UINT;
    node->v.u = (real || neg || big) ? 0 : v;
    d->i = i;
    return HP_OK;
}

/* true, false or null at d->i. */
static hp_status parse_literal(jdoc *d, size_t idx)
{
    static const struct {
        const char *word;
        size_t len;
        uint8_t type;
    } lits[] = {{"true", 4, J_TRUE}, {"false", 5, J_FALSE}, {"null", 4, J_NULL}};
    size_t left = d->len - d->i;
    for (size_t k = 0; k < sizeof lits / sizeof lits[0]; k++) {
        if (lits[k].word[0] != d->text[d->i])
            continue;
        size_t m = left < lits[k].len ? left : lits[k].len;
        if (memcmp(d->text + d->i, lits[k].word, m) != 0)
            break;
        if (m < lits[k].len)
            return jfail(d, d->len, "unexpected end of text");
        d->nodes[idx].type = lits[k].type;
        d->i += lits[k].len;
        return HP_OK;
    }
    char b[8];
    return jfail(d, d->i, "expected a JSON value, found %s", byte_name(d->text[d->i], b));
}

/* A member name and its ':' (inside an object, after '{' or ','). */
static hp_status parse_key(jdoc *d)
{
    skip_ws(d);
    if (d->i >= d->len)
        return jfail(d, d->len, "unexpected end of text");
    if (d->text[d->i] != '"') {
        char b[8];
        return jfail(d, d->i, "expected a member name (a string), found %s", byte_name(d->text[d->i], b));
    }
    if (!push(d, J_STR, d->i))
        return no_memory(d);
    hp_status st = parse_string(d, d->count - 1);
    if (st != HP_OK)
        return st;
    skip_ws(d);
    if (d->i >= d->len)
        return jfail(d, d->len, "unexpected end of text");
    if (d->text[d->i] != ':') {
        char b[8];
        return jfail(d, d->i, "expected ':' after a member name, found %s", byte_name(d->text[d->i], b));
    }
    d->i++;
    return HP_OK;
}

/* The whole text: exactly one value, nothing but whitespace after it. */
static hp_status json_parse(jdoc *d)
{
    uint32_t stack[JSON_MAX_DEPTH];
    size_t depth = 0;
    hp_status st;
    for (;;) {
        /* a value */
        skip_ws(d);
        if (d->i >= d->len)
            return jfail(d, d->len, "unexpected end of text");
        if (depth)
            d->nodes[stack[depth - 1]].len++;
        unsigned char c = d->text[d->i];
        size_t idx = d->count;
        if (!push(d, J_NULL, d->i))
            return no_memory(d);
        if (c == '{' || c == '[') {
            if (depth == JSON_MAX_DEPTH)
                return jfail(d, d->i, "arrays and objects nested deeper than %d", JSON_MAX_DEPTH);
            d->nodes[idx].type = c == '{' ? J_OBJ : J_ARR;
            stack[depth++] = (uint32_t)idx;
            d->i++;
            skip_ws(d);
            if (d->i < d->len && d->text[d->i] == (c == '{' ? '}' : ']')) {
                d->i++;
                depth--;
            } else {
                if (c == '{' && (st = parse_key(d)) != HP_OK)
                    return st;
                continue;
            }
        } else {
            if (c == '"') {
                d->nodes[idx].type = J_STR;
                st = parse_string(d, idx);
            } else if (c == '-' || is_digit(c)) {
                d->nodes[idx].type = J_NUM;
                st = parse_number(d, idx);
            } else {
                st = parse_literal(d, idx);
            }
            if (st != HP_OK)
                return st;
        }
        /* after a value: close containers until one continues with ',' */
        for (;;) {
            skip_ws(d);
            if (depth == 0) {
                if (d->i < d->len)
                    return jfail(d, d->i, "text after the JSON value");
                return HP_OK;
            }
            if (d->i >= d->len)
                return jfail(d, d->len, "unexpected end of text");
            jnode *top = &d->nodes[stack[depth - 1]];
            c = d->text[d->i];
            if (c == ',') {
                d->i++;
                if (top->type == J_OBJ && (st = parse_key(d)) != HP_OK)
                    return st;
                break;
            }
            if (c == (top->type == J_OBJ ? '}' : ']')) {
                d->i++;
                top->end = (uint32_t)d->count;
                depth--;
                continue;
            }
            char b[8];
            return jfail(d, d->i, "expected ',' or '%c', found %s", top->type == J_OBJ ? '}' : ']', byte_name(c, b));
        }
    }
}

/* ------------------------------------------------------------------------- */
/* The schema                                                                 */
/* ------------------------------------------------------------------------- */

#define NO_INDEX ((size_t)-1)

/* Where a field is, for messages: "functions[3]", "image.codeview", "" (the top level). */
typedef struct where {
    const char *obj;
    size_t index;
} where;

/* "<path>: <what>" at the node's position. */
static hp_status field_fail(jdoc *d, uint32_t node, where w, const char *key, const char *what)
{
    char path[160];
    const char *dot = key && w.obj[0] ? "." : "";
    if (!key)
        key = "";
    if (w.index == NO_INDEX)
        snprintf(path, sizeof path, "%s%s%s", w.obj, dot, key);
    else
        snprintf(path, sizeof path, "%s[%zu]%s%s", w.obj, w.index, dot, key);
    return jfail(d, d->nodes[node].pos, "%s: %s", path, what);
}

typedef struct jkey {
    const char *name;
    size_t len;
} jkey;
#define KEY(s) {s, sizeof s - 1}

/* The values of `keys` in object `obj`: vals[k] is the value's node, 0 when absent (node 0 is
   the root, never a member). Other members are ignored; a known one given twice is an error. */
static hp_status members(jdoc *d, uint32_t obj, where w, const jkey *keys, size_t nkeys, uint32_t *vals)
{
    memset(vals, 0, nkeys * sizeof *vals);
    uint32_t end = d->nodes[obj].end;
    for (uint32_t k = obj + 1; k < end;) {
        const jnode *kn = &d->nodes[k];
        uint32_t v = k + 1;
        for (size_t j = 0; j < nkeys; j++) {
            if (keys[j].len == kn->len && memcmp(keys[j].name, jstr(d, kn), kn->len) == 0) {
                if (vals[j])
                    return field_fail(d, k, w, keys[j].name, "given twice");
                vals[j] = v;
                break;
            }
        }
        k = d->nodes[v].end;
    }
    return HP_OK;
}

static hp_status get_u32(jdoc *d, uint32_t obj, uint32_t val, where w, const char *key, uint32_t *out)
{
    if (!val)
        return field_fail(d, obj, w, key, "missing");
    const jnode *n = &d->nodes[val];
    if (n->type != J_NUM || n->sub != NUM_UINT || n->v.u > UINT32_MAX)
        return field_fail(d, val, w, key, "not an unsigned 32-bit integer");
    *out = (uint32_t)n->v.u;
    return HP_OK;
}

static hp_status get_bool(jdoc *d, uint32_t obj, uint32_t val, where w, const char *key, uint8_t *out)
{
    if (!val)
        return field_fail(d, obj, w, key, "missing");
    uint8_t t = d->nodes[val].type;
    if (t != J_TRUE && t != J_FALSE)
        return field_fail(d, val, w, key, "not true or false");
    *out = t == J_TRUE;
    return HP_OK;
}

/* A string value, or (with `nullable`) null: *out is the string's node, 0 for null. */
static hp_status get_str(jdoc *d, uint32_t obj, uint32_t val, where w, const char *key, int nullable, uint32_t *out)
{
    if (!val)
        return field_fail(d, obj, w, key, "missing");
    const jnode *n = &d->nodes[val];
    if (nullable && n->type == J_NULL) {
        *out = 0;
        return HP_OK;
    }
    if (n->type != J_STR)
        return field_fail(d, val, w, key, nullable ? "not a string or null" : "not a string");
    *out = val;
    return HP_OK;
}

static int str_is(const jdoc *d, uint32_t node, const char *s)
{
    const jnode *n = &d->nodes[node];
    return n->len == strlen(s) && memcmp(jstr(d, n), s, n->len) == 0;
}

/* `n` bytes from 2n hex digits. */
static int hex_bytes(const char *s, size_t n, uint8_t *out)
{
    for (size_t k = 0; k < n; k++) {
        int hi = hex_value((unsigned char)s[2 * k]), lo = hex_value((unsigned char)s[2 * k + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[k] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

/* "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" to the 16 bytes of the RSDS record: the first three
   groups are the little-endian fields Data1 (4 bytes), Data2, Data3 (2 each), printed as numbers;
   the last 8 bytes are printed in record order. The inverse of lld-pass/src/map.c. */
static int parse_guid(const char *s, size_t n, uint8_t g[16])
{
    static const uint8_t at[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
    static const uint8_t to[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    if (n != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
        return 0;
    for (size_t k = 0; k < 16; k++)
        if (!hex_bytes(s + at[k], 1, &g[to[k]]))
            return 0;
    return 1;
}

/* The map being built: one block holding the hp_map, the functions, the symbols, the unit
   pointers and (added last) the strings. */
typedef struct builder {
    jdoc *d;
    hp_map *map;
    hp_map_function *fns;
    hp_map_symbol *syms;
    size_t fn_count, unit_count, sym_count;
    size_t off_fns, off_syms, off_units, off_fidx, off_strs;
    uint32_t *refs; /* the string node of each kept string (0: none), slots REF_* then functions, units, symbols */
    size_t strbytes;
    uint32_t version; /* 3: functions and symbols are rows (arrays) of the columns below */
} builder;

enum { REF_IMAGE_NAME, REF_FORMAT, REF_MACHINE, REF_FIRST_FN };

/* Record a kept string (node 0: none, the pointer stays NULL). A string with a NUL byte inside
   (an escaped \u0000) could not be handed out as a C string: refused. */
static hp_status keep_str(builder *b, size_t slot, uint32_t node, where w, const char *key)
{
    b->refs[slot] = node;
    if (!node)
        return HP_OK;
    const jnode *n = &b->d->nodes[node];
    if (n->sub && memchr(jstr(b->d, n), 0, n->len))
        return field_fail(b->d, node, w, key, "contains a NUL character");
    b->strbytes += (size_t)n->len + 1;
    return HP_OK;
}

static hp_status check_codeview(builder *b, uint32_t cv)
{
    static const jkey keys[] = {KEY("guid"), KEY("age")};
    enum { C_GUID, C_AGE, C_N };
    jdoc *d = b->d;
    where w = {"image.codeview", NO_INDEX};
    uint32_t v[C_N], guid = 0;
    hp_status st = members(d, cv, w, keys, C_N, v);
    if (st == HP_OK)
        st = get_str(d, cv, v[C_GUID], w, "guid", 0, &guid);
    if (st != HP_OK)
        return st;
    if (!parse_guid(jstr(d, &d->nodes[guid]), d->nodes[guid].len, b->map->codeview_guid))
        return field_fail(d, guid, w, "guid", "not a GUID (XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX)");
    b->map->has_codeview = 1;
    return get_u32(d, cv, v[C_AGE], w, "age", &b->map->codeview_age);
}

static hp_status check_image(builder *b, uint32_t root, uint32_t img)
{
    static const jkey keys[] = {KEY("name"),          KEY("format"),   KEY("machine"),  KEY("time_date_stamp"),
                                KEY("size_of_image"), KEY("checksum"), KEY("codeview"), KEY("build_id")};
    enum { I_NAME, I_FORMAT, I_MACHINE, I_TDS, I_SIZE, I_CHECKSUM, I_CODEVIEW, I_BUILD_ID, I_N };
    jdoc *d = b->d;
    hp_map *m = b->map;
    where top = {"", NO_INDEX}, w = {"image", NO_INDEX};
    if (!img)
        return field_fail(d, root, top, "image", "missing");
    if (d->nodes[img].type != J_OBJ)
        return field_fail(d, img, top, "image", "not an object");
    uint32_t v[I_N], s = 0;
    hp_status st = members(d, img, w, keys, I_N, v);
    if (st == HP_OK && (st = get_str(d, img, v[I_NAME], w, "name", 0, &s)) == HP_OK)
        st = keep_str(b, REF_IMAGE_NAME, s, w, "name");
    if (st == HP_OK && (st = get_str(d, img, v[I_MACHINE], w, "machine", 0, &s)) == HP_OK)
        st = keep_str(b, REF_MACHINE, s, w, "machine");
    if (st != HP_OK)
        return st;
    int pe = 1;
    if (v[I_FORMAT] || m->version >= 2) {
        if ((st = get_str(d, img, v[I_FORMAT], w, "format", 0, &s)) != HP_OK)
            return st;
        pe = str_is(d, s, "pe");
        if (!pe && !str_is(d, s, "elf"))
            return field_fail(d, s, w, "format", "not \"pe\" or \"elf\"");
        b->refs[REF_FORMAT] = s;
        b->strbytes += pe ? 3 : 4;
    } else {
        b->refs[REF_FORMAT] = 0; /* version 1: "pe" */
        b->strbytes += 3;
    }
    /* PE: the identity patch modules match; required. ELF: absent or given. */
    if (pe || v[I_TDS])
        st = get_u32(d, img, v[I_TDS], w, "time_date_stamp", &m->time_date_stamp);
    if (st == HP_OK && (pe || v[I_SIZE]))
        st = get_u32(d, img, v[I_SIZE], w, "size_of_image", &m->size_of_image);
    if (st == HP_OK && (pe || v[I_CHECKSUM]))
        st = get_u32(d, img, v[I_CHECKSUM], w, "checksum", &m->checksum);
    if (st != HP_OK)
        return st;
    uint32_t cv = v[I_CODEVIEW];
    if (cv && d->nodes[cv].type == J_OBJ) {
        if ((st = check_codeview(b, cv)) != HP_OK)
            return st;
    } else if (cv && d->nodes[cv].type != J_NULL) {
        return field_fail(d, cv, w, "codeview", "not an object or null");
    }
    uint32_t bid = v[I_BUILD_ID];
    if (bid && d->nodes[bid].type != J_NULL) {
        const jnode *n = &d->nodes[bid];
        if (n->type != J_STR || n->len == 0 || n->len % 2 || n->len > 2 * sizeof m->build_id ||
            !hex_bytes(jstr(d, n), n->len / 2, m->build_id))
            return field_fail(d, bid, w, "build_id", "not a hex string of 1 to 32 bytes, or null");
        m->build_id_len = n->len / 2;
    }
    return HP_OK;
}

/* Version 3's columns: the rows of "functions" and "symbols" hold these, in this order, and the map
   names them in "function_fields" and "symbol_fields" (versions 1 and 2: the keys of each object, with
   "hash" for "fnv1a64" and "static" for "linkage"). */
static const jkey function_fields[] = {KEY("name"),        KEY("rva"),         KEY("padding"), KEY("site_offset"),
                                       KEY("entry_bytes"), KEY("hash_length"), KEY("fnv1a64"), KEY("table"),
                                       KEY("exported"),    KEY("patchable")};
static const jkey symbol_fields[] = {KEY("name"), KEY("unit"), KEY("linkage"), KEY("kind"), KEY("rva"), KEY("size")};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A version 3 row: an array of exactly n values, vals[k] the k-th (never 0: node 0 is the root). */
static hp_status row(jdoc *d, uint32_t node, where w, size_t n, uint32_t *vals, const char *fields)
{
    const jnode *r = &d->nodes[node];
    if (r->type != J_ARR || r->len != n) {
        char what[96];
        snprintf(what, sizeof what, "not an array of the %zu columns of \"%s\"", n, fields);
        return field_fail(d, node, w, NULL, what);
    }
    uint32_t e = node + 1;
    for (size_t k = 0; k < n; k++, e = d->nodes[e].end)
        vals[k] = e;
    return HP_OK;
}

/* The fields of one function or symbol: a row (version 3) or an object's members (1, 2). */
static hp_status fields_of(builder *b, uint32_t node, where w, const jkey *keys, size_t n, uint32_t *vals,
                           const char *fields)
{
    if (b->version >= 3)
        return row(b->d, node, w, n, vals, fields);
    if (b->d->nodes[node].type != J_OBJ)
        return field_fail(b->d, node, w, NULL, "not an object");
    return members(b->d, node, w, keys, n, vals);
}

/* A yes/no column: 0 or 1 in version 3, false or true before. */
static hp_status get_flag(builder *b, uint32_t obj, uint32_t val, where w, const char *key, uint8_t *out)
{
    if (b->version < 3)
        return get_bool(b->d, obj, val, w, key, out);
    const jnode *n = &b->d->nodes[val];
    if (n->type != J_NUM || n->sub != NUM_UINT || n->v.u > 1)
        return field_fail(b->d, val, w, key, "not 0 or 1");
    *out = (uint8_t)n->v.u;
    return HP_OK;
}

/* "function_fields" or "symbol_fields" of a version 3 map: exactly the columns this reader knows. */
static hp_status check_columns(jdoc *d, uint32_t arr, const char *key, const jkey *keys, size_t n)
{
    where top = {"", NO_INDEX};
    if (!arr)
        return field_fail(d, 0, top, key, "missing");
    const jnode *a = &d->nodes[arr];
    if (a->type != J_ARR || a->len != n) {
        char what[64];
        snprintf(what, sizeof what, "not an array of the %zu columns of version 3", n);
        return field_fail(d, arr, top, key, what);
    }
    uint32_t e = arr + 1;
    for (size_t k = 0; k < n; k++, e = d->nodes[e].end) {
        const jnode *c = &d->nodes[e];
        if (c->type != J_STR || c->len != keys[k].len || memcmp(jstr(d, c), keys[k].name, c->len) != 0) {
            char what[96];
            snprintf(what, sizeof what, "column %zu is not \"%s\" (version 3's columns, in their order)", k,
                     keys[k].name);
            return field_fail(d, e, top, key, what);
        }
    }
    return HP_OK;
}

static hp_status check_function(builder *b, uint32_t fo, size_t i)
{
    static const jkey keys[] = {KEY("name"),        KEY("rva"),  KEY("padding"), KEY("site_offset"),
                                KEY("entry_bytes"), KEY("hash_length"), KEY("hash"), KEY("table"),
                                KEY("exported"),    KEY("patchable")};
    enum { F_NAME, F_RVA, F_PADDING, F_SITE, F_ENTRY, F_HASH_LENGTH, F_HASH, F_TABLE, F_EXPORTED, F_PATCHABLE, F_N };
    _Static_assert(COUNT(keys) == F_N && COUNT(function_fields) == F_N, "one column per field");
    jdoc *d = b->d;
    where w = {"functions", i};
    hp_map_function *f = &b->fns[i];
    uint32_t v[F_N], s = 0;
    hp_status st = fields_of(b, fo, w, keys, F_N, v, "function_fields");
    if (st == HP_OK && (st = get_str(d, fo, v[F_NAME], w, "name", 1, &s)) == HP_OK)
        st = keep_str(b, REF_FIRST_FN + i, s, w, "name");
    if (st == HP_OK)
        st = get_u32(d, fo, v[F_RVA], w, "rva", &f->rva);
    if (st == HP_OK)
        st = get_u32(d, fo, v[F_PADDING], w, "padding", &f->padding);
    if (st == HP_OK)
        st = get_u32(d, fo, v[F_SITE], w, "site_offset", &f->site_offset);
    if (st == HP_OK && (st = get_str(d, fo, v[F_ENTRY], w, "entry_bytes", 0, &s)) == HP_OK) {
        if (d->nodes[s].len != 4 || !hex_bytes(jstr(d, &d->nodes[s]), 2, f->entry_bytes))
            return field_fail(d, s, w, "entry_bytes", "not 2 bytes in hex (4 digits)");
    }
    if (st == HP_OK)
        st = get_u32(d, fo, v[F_HASH_LENGTH], w, "hash_length", &f->hash_len);
    const char *hkey = b->version >= 3 ? "fnv1a64" : "hash";
    if (st == HP_OK && (st = get_str(d, fo, v[F_HASH], w, hkey, 0, &s)) == HP_OK) {
        const jnode *n = &d->nodes[s];
        const char *h = jstr(d, n);
        size_t prefix = b->version >= 3 ? 0 : 8; /* versions 1 and 2 name the hash in each value */
        uint8_t bytes[8];
        if (n->len != prefix + 16 || (prefix && memcmp(h, "fnv1a64:", 8) != 0) || !hex_bytes(h + prefix, 8, bytes))
            return field_fail(d, s, w, hkey, prefix ? "not \"fnv1a64:\" and 16 hex digits" : "not 16 hex digits");
        f->hash = 0;
        for (size_t k = 0; k < 8; k++)
            f->hash = f->hash << 8 | bytes[k];
    }
    if (st == HP_OK)
        st = get_flag(b, fo, v[F_TABLE], w, "table", &f->table);
    if (st == HP_OK)
        st = get_flag(b, fo, v[F_EXPORTED], w, "exported", &f->exported);
    if (st == HP_OK)
        st = get_flag(b, fo, v[F_PATCHABLE], w, "patchable", &f->patchable);
    return st;
}

static hp_status check_symbol(builder *b, uint32_t so, size_t i)
{
    static const jkey keys[] = {KEY("name"), KEY("unit"), KEY("static"), KEY("kind"), KEY("rva"), KEY("size")};
    enum { S_NAME, S_UNIT, S_STATIC, S_KIND, S_RVA, S_SIZE, S_N };
    _Static_assert(COUNT(keys) == S_N && COUNT(symbol_fields) == S_N, "one column per field");
    jdoc *d = b->d;
    where w = {"symbols", i};
    hp_map_symbol *y = &b->syms[i];
    uint32_t v[S_N], s = 0;
    hp_status st = fields_of(b, so, w, keys, S_N, v, "symbol_fields");
    if (st == HP_OK && (st = get_str(d, so, v[S_NAME], w, "name", 0, &s)) == HP_OK)
        st = keep_str(b, REF_FIRST_FN + b->fn_count + b->unit_count + i, s, w, "name");
    if (st != HP_OK)
        return st;
    if (!v[S_UNIT])
        return field_fail(d, so, w, "unit", "missing");
    const jnode *u = &d->nodes[v[S_UNIT]];
    if (u->type == J_NULL) {
        y->unit = -1;
    } else if (u->type != J_NUM || u->sub != NUM_UINT) {
        return field_fail(d, v[S_UNIT], w, "unit", "not an index into \"units\" or null");
    } else if (u->v.u >= b->unit_count) {
        char what[96];
        snprintf(what, sizeof what, "no such unit (the map has %zu)", b->unit_count);
        return field_fail(d, v[S_UNIT], w, "unit", what);
    } else {
        y->unit = (int32_t)u->v.u;
    }
    if (b->version >= 3) {
        /* "linkage": "static" or "extern" */
        if ((st = get_str(d, so, v[S_STATIC], w, "linkage", 0, &s)) != HP_OK)
            return st;
        if (!str_is(d, s, "static") && !str_is(d, s, "extern"))
            return field_fail(d, s, w, "linkage", "not \"static\" or \"extern\"");
        y->is_static = str_is(d, s, "static");
    } else if ((st = get_bool(d, so, v[S_STATIC], w, "static", &y->is_static)) != HP_OK) {
        return st;
    }
    if ((st = get_str(d, so, v[S_KIND], w, "kind", 0, &s)) != HP_OK)
        return st;
    if (str_is(d, s, "function"))
        y->kind = HP_MAP_FUNCTION;
    else if (str_is(d, s, "variable"))
        y->kind = HP_MAP_VARIABLE;
    else
        return field_fail(d, s, w, "kind", "not \"function\" or \"variable\"");
    if ((st = get_u32(d, so, v[S_RVA], w, "rva", &y->rva)) != HP_OK)
        return st;
    return get_u32(d, so, v[S_SIZE], w, "size", &y->size);
}

/* An array member of the top level (`arr` its node, 0 when absent). */
static hp_status need_array(jdoc *d, uint32_t root, uint32_t arr, const char *key)
{
    where top = {"", NO_INDEX};
    if (!arr)
        return field_fail(d, root, top, key, "missing");
    if (d->nodes[arr].type != J_ARR)
        return field_fail(d, arr, top, key, "not an array");
    return HP_OK;
}

/* "format" and "version": is this a map, and one of a version this reader knows? */
static hp_status check_header(jdoc *d, uint32_t fmt, uint32_t ver, uint32_t *version)
{
    where top = {"", NO_INDEX};
    if (!fmt)
        return field_fail(d, 0, top, "format", "missing: not a hotpatch map");
    if (d->nodes[fmt].type != J_STR || !str_is(d, fmt, "hotpatch-map"))
        return field_fail(d, fmt, top, "format", "not \"hotpatch-map\"");
    if (!ver)
        return field_fail(d, 0, top, "version", "missing");
    const jnode *n = &d->nodes[ver];
    if (n->type != J_NUM || n->sub == NUM_REAL)
        return field_fail(d, ver, top, "version", "not an integer");
    if (n->sub == NUM_UINT && n->v.u >= 1 && n->v.u <= 3) {
        *version = (uint32_t)n->v.u;
        return HP_OK;
    }
    char what[96];
    if (n->sub == NUM_UINT)
        snprintf(what, sizeof what, "%llu is not a version this reader knows (1, 2, 3)", (unsigned long long)n->v.u);
    else
        snprintf(what, sizeof what, "not a version this reader knows (1, 2, 3)");
    field_fail(d, ver, top, "version", what);
    return HP_ERR_MANIFEST_VERSION;
}

static size_t align_up(size_t n)
{
    const size_t a = _Alignof(max_align_t);
    return (n + a - 1) / a * a;
}

/* Copy the kept strings into the block (grown to hold them) and point the map at them. */
static hp_status place_strings(builder *b)
{
    jdoc *d = b->d;
    size_t total = b->off_strs + b->strbytes;
    unsigned char *block = realloc(b->map, total ? total : 1);
    if (!block)
        return no_memory(d);
    hp_map *m = (hp_map *)block;
    b->map = m;
    b->fns = (hp_map_function *)(block + b->off_fns);
    b->syms = (hp_map_symbol *)(block + b->off_syms);
    const char **units = (const char **)(block + b->off_units);
    m->functions = b->fn_count ? b->fns : NULL;
    m->symbols = b->sym_count ? b->syms : NULL;
    m->units = b->unit_count ? units : NULL;
    char *w = (char *)block + b->off_strs;
    size_t nrefs = REF_FIRST_FN + b->fn_count + b->unit_count + b->sym_count;
    for (size_t r = 0; r < nrefs; r++) {
        const char *s = NULL;
        uint32_t node = b->refs[r];
        if (node) {
            const jnode *n = &d->nodes[node];
            memcpy(w, jstr(d, n), n->len);
            w[n->len] = 0;
            s = w;
            w += n->len + 1;
        } else if (r == REF_FORMAT) {
            memcpy(w, "pe", 3);
            s = w;
            w += 3;
        }
        if (r == REF_IMAGE_NAME)
            m->image_name = s;
        else if (r == REF_FORMAT)
            m->format = s;
        else if (r == REF_MACHINE)
            m->machine = s;
        else if (r < REF_FIRST_FN + b->fn_count)
            b->fns[r - REF_FIRST_FN].name = s;
        else if (r < REF_FIRST_FN + b->fn_count + b->unit_count)
            units[r - REF_FIRST_FN - b->fn_count] = s;
        else
            b->syms[r - REF_FIRST_FN - b->fn_count - b->unit_count].name = s;
    }
    return HP_OK;
}

/* hp_map_find()'s order: name (strcmp), then unit (-1 first). */
static int sym_cmp_key(const hp_map_symbol *s, const char *name, int32_t unit)
{
    int c = strcmp(s->name, name);
    if (c)
        return c;
    return s->unit < unit ? -1 : s->unit > unit;
}

static int sym_cmp(const void *a, const void *b)
{
    const hp_map_symbol *y = b;
    return sym_cmp_key(a, y->name, y->unit);
}

static hp_status sort_map(builder *b)
{
    if (!hp_sort_by_u32(b->fns, b->fn_count, sizeof *b->fns, offsetof(hp_map_function, rva)))
        return no_memory(b->d);
    size_t i = 1;
    while (i < b->sym_count && sym_cmp(&b->syms[i - 1], &b->syms[i]) <= 0)
        i++;
    if (i < b->sym_count)
        qsort(b->syms, b->sym_count, sizeof *b->syms, sym_cmp);
    return HP_OK;
}

static int fn_name_cmp(const void *a, const void *b)
{
    const hp_map_function *x = *(const hp_map_function *const *)a, *y = *(const hp_map_function *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->rva > y->rva) - (x->rva < y->rva);
}

/* The named functions by name, for hp_map_function_named(); after place_strings() and sort_map(). */
static void index_names(builder *b)
{
    const hp_map_function **idx = (const hp_map_function **)((unsigned char *)b->map + b->off_fidx);
    size_t n = 0;
    for (size_t i = 0; i < b->fn_count; i++)
        if (b->fns[i].name)
            idx[n++] = &b->fns[i];
    if (n > 1)
        qsort(idx, n, sizeof *idx, fn_name_cmp);
    b->map->functions_by_name = n ? idx : NULL;
    b->map->named_function_count = n;
}

/* The schema over the parsed tree; *out on success. */
static hp_status build(jdoc *d, hp_map **out)
{
    static const jkey keys[] = {KEY("format"), KEY("version"),         KEY("image"),         KEY("functions"),
                                KEY("units"),  KEY("symbols"),         KEY("function_fields"), KEY("symbol_fields")};
    enum { R_FORMAT, R_VERSION, R_IMAGE, R_FUNCTIONS, R_UNITS, R_SYMBOLS, R_FUNCTION_FIELDS, R_SYMBOL_FIELDS, R_N };
    where top = {"", NO_INDEX};
    if (d->nodes[0].type != J_OBJ)
        return jfail(d, d->nodes[0].pos, "not a JSON object: a hotpatch map is one");
    uint32_t v[R_N], version = 0;
    hp_status st = members(d, 0, top, keys, R_N, v);
    if (st == HP_OK)
        st = check_header(d, v[R_FORMAT], v[R_VERSION], &version);
    if (st == HP_OK)
        st = need_array(d, 0, v[R_FUNCTIONS], "functions");
    if (st == HP_OK && version >= 2 && (st = need_array(d, 0, v[R_UNITS], "units")) == HP_OK)
        st = need_array(d, 0, v[R_SYMBOLS], "symbols");
    if (st == HP_OK && version >= 3 &&
        (st = check_columns(d, v[R_FUNCTION_FIELDS], "function_fields", function_fields, COUNT(function_fields))) == HP_OK)
        st = check_columns(d, v[R_SYMBOL_FIELDS], "symbol_fields", symbol_fields, COUNT(symbol_fields));
    if (st != HP_OK)
        return st;

    builder b = {.d = d, .version = version};
    b.fn_count = d->nodes[v[R_FUNCTIONS]].len;
    b.unit_count = version >= 2 ? d->nodes[v[R_UNITS]].len : 0;
    b.sym_count = version >= 2 ? d->nodes[v[R_SYMBOLS]].len : 0;
    if (b.unit_count > INT32_MAX)
        return field_fail(d, v[R_UNITS], top, "units", "more than 2^31 - 1 units");
    /* the counts are bounded by the text's length (< 4 GiB), so none of these sizes overflows */
    b.off_fns = align_up(sizeof(hp_map));
    b.off_syms = align_up(b.off_fns + b.fn_count * sizeof(hp_map_function));
    b.off_units = align_up(b.off_syms + b.sym_count * sizeof(hp_map_symbol));
    b.off_fidx = b.off_units + b.unit_count * sizeof(const char *);
    b.off_strs = b.off_fidx + b.fn_count * sizeof(const hp_map_function *);
    b.map = calloc(1, b.off_strs);
    b.refs = calloc(REF_FIRST_FN + b.fn_count + b.unit_count + b.sym_count, sizeof *b.refs);
    if (!b.map || !b.refs) {
        free(b.map);
        free(b.refs);
        return no_memory(d);
    }
    b.map->version = version;
    b.fns = (hp_map_function *)((unsigned char *)b.map + b.off_fns);
    b.syms = (hp_map_symbol *)((unsigned char *)b.map + b.off_syms);
    b.map->function_count = b.fn_count;
    b.map->unit_count = b.unit_count;
    b.map->symbol_count = b.sym_count;

    st = check_image(&b, 0, v[R_IMAGE]);
    uint32_t end = d->nodes[v[R_FUNCTIONS]].end;
    size_t i = 0;
    for (uint32_t e = v[R_FUNCTIONS] + 1; st == HP_OK && e < end; e = d->nodes[e].end)
        st = check_function(&b, e, i++);
    if (version >= 2) {
        end = d->nodes[v[R_UNITS]].end;
        i = 0;
        for (uint32_t e = v[R_UNITS] + 1; st == HP_OK && e < end; e = d->nodes[e].end, i++) {
            where w = {"units", i};
            if (d->nodes[e].type != J_STR)
                st = field_fail(d, e, w, NULL, "not a string");
            else
                st = keep_str(&b, REF_FIRST_FN + b.fn_count + i, e, w, NULL);
        }
        end = d->nodes[v[R_SYMBOLS]].end;
        i = 0;
        for (uint32_t e = v[R_SYMBOLS] + 1; st == HP_OK && e < end; e = d->nodes[e].end)
            st = check_symbol(&b, e, i++);
    }
    if (st == HP_OK)
        st = place_strings(&b);
    if (st == HP_OK)
        st = sort_map(&b);
    if (st == HP_OK)
        index_names(&b);
    free(b.refs);
    if (st != HP_OK) {
        free(b.map);
        return st;
    }
    *out = b.map;
    return HP_OK;
}

/* ------------------------------------------------------------------------- */
/* The API                                                                    */
/* ------------------------------------------------------------------------- */

hp_status hp_map_parse(const char *text, size_t len, hp_map **out, char *msg, size_t msg_size)
{
    if (!text || !out)
        return HP_ERR_ARGUMENT;
    if (len >= UINT32_MAX) {
        hp_msg_set(msg, msg_size, "a map of %zu bytes: larger than this reader takes (4 GiB)", len);
        return HP_ERR_FORMAT;
    }
    jdoc d = {.text = (const unsigned char *)text, .len = len, .msg = msg, .msg_size = msg_size};
    /* a map has about one value per 12 bytes; the array doubles when that is too few */
    d.cap = len / 12 + 16;
    d.nodes = malloc(d.cap * sizeof *d.nodes);
    if (!d.nodes)
        return no_memory(&d);
    hp_map *map = NULL;
    hp_status st = json_parse(&d);
    if (st == HP_OK)
        st = build(&d, &map);
    free(d.nodes);
    free(d.scratch);
    if (st == HP_OK)
        *out = map;
    return st;
}

hp_status hp_map_load(const char *path, hp_map **out, char *msg, size_t msg_size)
{
    if (!path || !out)
        return HP_ERR_ARGUMENT;
    unsigned char *data = NULL;
    size_t size = 0;
    hp_status st = hp_file_read(path, &data, &size, msg, msg_size);
    if (st == HP_ERR_NO_MEMORY)
        hp_msg_set(msg, msg_size, "%s: out of memory", path);
    if (st != HP_OK)
        return st;
    char why[512] = "";
    st = hp_map_parse((const char *)data, size, out, why, sizeof why);
    free(data);
    if (st != HP_OK)
        hp_msg_set(msg, msg_size, "%s: %s", path, why);
    return st;
}

void hp_map_free(hp_map *map)
{
    free(map); /* one block: the map, its arrays and its strings */
}

int32_t hp_map_unit(const hp_map *map, const char *path)
{
    if (!map || !path)
        return -1;
    for (size_t i = 0; i < map->unit_count; i++)
        if (strcmp(map->units[i], path) == 0)
            return (int32_t)i;
    return -1;
}

const hp_map_symbol *hp_map_find(const hp_map *map, int32_t unit, const char *name)
{
    if (!map || !name || unit < -1)
        return NULL;
    const hp_map_symbol *s = map->symbols;
    size_t lo = 0, hi = map->symbol_count, n = map->symbol_count;
    /* the first entry not before (name, unit); with unit -1, the first of that name */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sym_cmp_key(&s[mid], name, unit) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (unit >= 0)
        return lo < n && s[lo].unit == unit && strcmp(s[lo].name, name) == 0 ? &s[lo] : NULL;
    for (; lo < n && strcmp(s[lo].name, name) == 0; lo++)
        if (!s[lo].is_static)
            return &s[lo];
    return NULL;
}

const hp_map_function *hp_map_function_named(const hp_map *map, const char *name)
{
    if (!map || !name)
        return NULL;
    size_t lo = 0, hi = map->named_function_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(map->functions_by_name[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < map->named_function_count && strcmp(map->functions_by_name[lo]->name, name) == 0
               ? map->functions_by_name[lo]
               : NULL;
}

const hp_map_function *hp_map_function_at(const hp_map *map, uint32_t rva)
{
    if (!map)
        return NULL;
    const hp_map_function *f = map->functions;
    size_t lo = 0, hi = map->function_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f[mid].rva < rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < map->function_count && f[lo].rva == rva ? &f[lo] : NULL;
}
