/*
 * map.c — the <image>.hpmap JSON writer (hp_link_map.h).
 */
#include "hp_link_map.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The writers below append to a line buffer and return its new end. */
static char *put_str(char *w, const char *s)
{
    size_t n = strlen(s);
    memcpy(w, s, n);
    return w + n;
}

static char *put_u32(char *w, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *w++ = tmp[--n];
    return w;
}

/* `digits` lower-case hex digits of v, most significant first */
static char *put_hex(char *w, uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--)
        *w++ = hex[(v >> (4 * i)) & 15];
    return w;
}

/* The lines go through one buffer, written out when nearly full: one fwrite per 64 KiB, not per field. */
typedef struct obuf {
    FILE *out;
    char buf[65536];
    size_t n;
} obuf;

static void ob_flush(obuf *o)
{
    fwrite(o->buf, 1, o->n, o->out);
    o->n = 0;
}

/* Room for `need` more bytes (need <= sizeof buf). */
static char *ob_room(obuf *o, size_t need)
{
    if (o->n + need > sizeof o->buf)
        ob_flush(o);
    return o->buf + o->n;
}

static void json_str(obuf *o, const char *s)
{
    char *w = ob_room(o, 1);
    *w = '"';
    o->n++;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        w = ob_room(o, 6);
        if (*p == '"' || *p == '\\') {
            w[0] = '\\';
            w[1] = (char)*p;
            o->n += 2;
        } else if (*p < 0x20) {
            w = put_str(w, "\\u00");
            put_hex(w, *p, 2);
            o->n += 6;
        } else {
            *w = (char)*p;
            o->n++;
        }
    }
    w = ob_room(o, 1);
    *w = '"';
    o->n++;
}

hp_status hp_link_map_render(const hp_link_post *post, const char *image_name, FILE *out)
{
    if (!post || !image_name || !out)
        return HP_ERR_ARGUMENT;
    obuf *o = malloc(sizeof *o);
    if (!o)
        return HP_ERR_NO_MEMORY;
    o->out = out;
    o->n = 0;
    char head[512];
    int hn = snprintf(head, sizeof head, "{\n  \"format\": \"hotpatch-map\",\n  \"version\": 1,\n  \"image\": {\n    \"name\": ");
    memcpy(ob_room(o, (size_t)hn), head, (size_t)hn);
    o->n += (size_t)hn;
    json_str(o, image_name);
    hn = snprintf(head, sizeof head, ",\n    \"machine\": ");
    memcpy(ob_room(o, (size_t)hn), head, (size_t)hn);
    o->n += (size_t)hn;
    json_str(o, post->machine ? post->machine : "unknown");
    hn = snprintf(head, sizeof head,
                  ",\n    \"time_date_stamp\": %" PRIu32 ",\n    \"size_of_image\": %" PRIu32
                  ",\n    \"checksum\": %" PRIu32 ",\n    \"codeview\": ",
                  post->time_date_stamp, post->size_of_image, post->checksum);
    memcpy(ob_room(o, (size_t)hn), head, (size_t)hn);
    o->n += (size_t)hn;
    if (post->has_codeview) {
        const uint8_t *g = post->codeview_guid;
        /* Data1..Data3 are little-endian in the record; the text form prints them as numbers */
        hn = snprintf(head, sizeof head,
                      "{ \"guid\": \"%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X\", "
                      "\"age\": %" PRIu32 " }",
                      g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14],
                      g[15], post->codeview_age);
    } else {
        hn = snprintf(head, sizeof head, "null");
    }
    memcpy(ob_room(o, (size_t)hn), head, (size_t)hn);
    o->n += (size_t)hn;
    char *w = ob_room(o, 32);
    o->n += (size_t)(put_str(w, "\n  },\n  \"functions\": [") - w);
    /* One line per function, formatted by hand: printf's parsing costs more than the rest of a link
       pass of 60,000 functions. The text is what the format in lld-pass/README.md shows. */
    for (size_t i = 0; i < post->fn_count; i++) {
        const hp_link_fn *f = &post->fns[i];
        w = ob_room(o, 32);
        o->n += (size_t)(put_str(w, i ? ",\n    { \"name\": " : "\n    { \"name\": ") - w);
        if (f->name) {
            json_str(o, f->name);
        } else {
            w = ob_room(o, 4);
            o->n += (size_t)(put_str(w, "null") - w);
        }
        char *line = ob_room(o, 256);
        w = line;
        w = put_str(w, ", \"rva\": ");
        w = put_u32(w, f->rva);
        w = put_str(w, ", \"padding\": ");
        w = put_u32(w, f->padding);
        w = put_str(w, ", \"site_offset\": ");
        w = put_u32(w, f->site_offset);
        w = put_str(w, ", \"entry_bytes\": \"");
        w = put_hex(w, f->entry_bytes[0], 2);
        w = put_hex(w, f->entry_bytes[1], 2);
        w = put_str(w, "\", \"hash_length\": ");
        w = put_u32(w, f->hash_len);
        w = put_str(w, ", \"hash\": \"fnv1a64:");
        w = put_hex(w, f->hash, 16);
        w = put_str(w, "\", \"table\": ");
        w = put_str(w, (f->from & HP_LINK_FROM_TABLE) ? "true" : "false");
        w = put_str(w, ", \"exported\": ");
        w = put_str(w, (f->from & HP_LINK_FROM_EXPORT) ? "true" : "false");
        w = put_str(w, ", \"patchable\": ");
        w = put_str(w, f->patchable ? "true }" : "false }");
        o->n += (size_t)(w - line);
    }
    w = ob_room(o, 16);
    o->n += (size_t)(put_str(w, post->fn_count ? "\n  ]\n}\n" : "]\n}\n") - w);
    ob_flush(o);
    free(o);
    return ferror(out) ? HP_ERR_IO : HP_OK;
}

hp_status hp_link_map_write(const hp_link_post *post, const char *image_name, const char *path)
{
    if (!post || !image_name || !path)
        return HP_ERR_ARGUMENT;
    FILE *f = fopen(path, "w");
    if (!f)
        return HP_ERR_IO;
    hp_status st = hp_link_map_render(post, image_name, f);
    if (fclose(f) != 0 && st == HP_OK)
        st = HP_ERR_IO;
    return st;
}
