/* lpt_json.c — see lpt_json.h. Recursive descent, depth-limited; strict RFC 8259 syntax. */
#include "lpt_json.h"

#include <stdlib.h>
#include <string.h>

typedef struct rd {
    const char *p, *end;
    int depth;
} rd;

static void ws(rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static lj *value(rd *r);

static lj *node(lj_type t)
{
    lj *v = calloc(1, sizeof *v);
    if (v)
        v->type = t;
    return v;
}

static int hex4(rd *r, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        if (r->p >= r->end)
            return 0;
        char c = *r->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

static char *string(rd *r)
{
    if (r->p >= r->end || *r->p != '"')
        return NULL;
    r->p++;
    size_t cap = 16, n = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    for (;;) {
        if (r->p >= r->end)
            goto bad;
        unsigned char c = (unsigned char)*r->p++;
        unsigned cp;
        if (c == '"')
            break;
        if (c < 0x20)
            goto bad;
        if (n + 5 > cap) {
            cap *= 2;
            char *ns = realloc(s, cap);
            if (!ns)
                goto bad;
            s = ns;
        }
        if (c != '\\') {
            s[n++] = (char)c;
            continue;
        }
        if (r->p >= r->end)
            goto bad;
        c = (unsigned char)*r->p++;
        switch (c) {
        case '"': case '\\': case '/': s[n++] = (char)c; continue;
        case 'b': s[n++] = '\b'; continue;
        case 'f': s[n++] = '\f'; continue;
        case 'n': s[n++] = '\n'; continue;
        case 'r': s[n++] = '\r'; continue;
        case 't': s[n++] = '\t'; continue;
        case 'u':
            if (!hex4(r, &cp))
                goto bad;
            break;
        default:
            goto bad;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;
            if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u')
                goto bad;
            r->p += 2;
            if (!hex4(r, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                goto bad;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            goto bad;
        }
        if (cp < 0x80) {
            s[n++] = (char)cp;
        } else if (cp < 0x800) {
            s[n++] = (char)(0xC0 | (cp >> 6));
            s[n++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            s[n++] = (char)(0xE0 | (cp >> 12));
            s[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            s[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
            s[n++] = (char)(0xF0 | (cp >> 18));
            s[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            s[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            s[n++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    s[n] = 0;
    return s;
bad:
    free(s);
    return NULL;
}

static int push(lj *v, lj *item, char *key)
{
    if (v->count == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 8;
        lj **ni = realloc(v->items, cap * sizeof *ni);
        if (!ni)
            return 0;
        v->items = ni;
        if (v->type == LJ_OBJ) {
            char **nk = realloc(v->keys, cap * sizeof *nk);
            if (!nk)
                return 0;
            v->keys = nk;
        }
        v->cap = cap;
    }
    if (v->type == LJ_OBJ)
        v->keys[v->count] = key;
    v->items[v->count++] = item;
    return 1;
}

static lj *composite(rd *r, int obj)
{
    lj *v = node(obj ? LJ_OBJ : LJ_ARR);
    if (!v || ++r->depth > 64)
        goto bad;
    r->p++;
    ws(r);
    if (r->p < r->end && *r->p == (obj ? '}' : ']')) {
        r->p++;
        r->depth--;
        return v;
    }
    for (;;) {
        char *key = NULL;
        ws(r);
        if (obj) {
            key = string(r);
            if (!key)
                goto bad;
            ws(r);
            if (r->p >= r->end || *r->p != ':') {
                free(key);
                goto bad;
            }
            r->p++;
        }
        lj *item = value(r);
        if (!item || !push(v, item, key)) {
            free(key);
            lj_free(item);
            goto bad;
        }
        ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == (obj ? '}' : ']')) {
            r->p++;
            r->depth--;
            return v;
        }
        goto bad;
    }
bad:
    lj_free(v);
    return NULL;
}

static lj *number(rd *r)
{
    const char *s = r->p;
    if (r->p < r->end && *r->p == '-')
        r->p++;
    if (r->p >= r->end || *r->p < '0' || *r->p > '9')
        return NULL;
    if (*r->p == '0')
        r->p++;
    else
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    int integer = 1;
    if (r->p < r->end && *r->p == '.') {
        integer = 0;
        r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return NULL;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        integer = 0;
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return NULL;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    lj *v = node(LJ_NUM);
    if (!v)
        return NULL;
    v->is_integer = integer;
    if (integer) {
        char buf[32];
        size_t n = (size_t)(r->p - s);
        if (n >= sizeof buf) {
            free(v);
            return NULL;
        }
        memcpy(buf, s, n);
        buf[n] = 0;
        v->num = strtoll(buf, NULL, 10);
    }
    return v;
}

static lj *literal(rd *r, const char *word, lj_type t, int b)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return NULL;
    r->p += n;
    lj *v = node(t);
    if (v)
        v->boolean = b;
    return v;
}

static lj *value(rd *r)
{
    ws(r);
    if (r->p >= r->end)
        return NULL;
    switch (*r->p) {
    case '{': return composite(r, 1);
    case '[': return composite(r, 0);
    case '"': {
        char *s = string(r);
        if (!s)
            return NULL;
        lj *v = node(LJ_STR);
        if (!v) {
            free(s);
            return NULL;
        }
        v->str = s;
        return v;
    }
    case 't': return literal(r, "true", LJ_BOOL, 1);
    case 'f': return literal(r, "false", LJ_BOOL, 0);
    case 'n': return literal(r, "null", LJ_NULL, 0);
    default: return number(r);
    }
}

lj *lj_parse(const char *text, size_t len)
{
    rd r = {text, text + len, 0};
    lj *v = value(&r);
    ws(&r);
    if (v && r.p != r.end) {
        lj_free(v);
        return NULL;
    }
    return v;
}

void lj_free(lj *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++) {
        lj_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

const lj *lj_get(const lj *obj, const char *key)
{
    if (!obj || obj->type != LJ_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    return NULL;
}

const lj *lj_at(const lj *arr, size_t i)
{
    if (!arr || arr->type != LJ_ARR || i >= arr->count)
        return NULL;
    return arr->items[i];
}

const lj *lj_col(const lj *map, const char *fields, const lj *row, const char *key)
{
    const lj *names = lj_get(map, fields);
    if (!names || names->type != LJ_ARR || !row || row->type != LJ_ARR || row->count != names->count)
        return NULL;
    for (size_t i = 0; i < names->count; i++)
        if (names->items[i]->type == LJ_STR && strcmp(names->items[i]->str, key) == 0)
            return row->items[i];
    return NULL;
}
