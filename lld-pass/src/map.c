/*
 * map.c — the <image>.hpmap JSON writer (hp_link_map.h).
 */
#include "hp_link_map.h"

#include <inttypes.h>
#include <string.h>

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

hp_link_status hp_link_map_render(const hp_link_post *post, const char *image_name, FILE *out)
{
    if (!post || !image_name || !out)
        return HP_LINK_ERR_ARGUMENT;
    fprintf(out, "{\n  \"format\": \"hotpatch-map\",\n  \"version\": 1,\n  \"image\": {\n    \"name\": ");
    json_str(out, image_name);
    fprintf(out, ",\n    \"machine\": ");
    json_str(out, post->machine ? post->machine : "unknown");
    fprintf(out, ",\n    \"time_date_stamp\": %" PRIu32 ",\n    \"size_of_image\": %" PRIu32
                 ",\n    \"checksum\": %" PRIu32 ",\n    \"codeview\": ",
            post->time_date_stamp, post->size_of_image, post->checksum);
    if (post->has_codeview) {
        const uint8_t *g = post->codeview_guid;
        /* Data1..Data3 are little-endian in the record; the text form prints them as numbers */
        fprintf(out,
                "{ \"guid\": \"%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X\", "
                "\"age\": %" PRIu32 " }",
                g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15],
                post->codeview_age);
    } else {
        fprintf(out, "null");
    }
    fprintf(out, "\n  },\n  \"functions\": [");
    for (size_t i = 0; i < post->fn_count; i++) {
        const hp_link_fn *f = &post->fns[i];
        fprintf(out, "%s\n    { \"name\": ", i ? "," : "");
        if (f->name)
            json_str(out, f->name);
        else
            fprintf(out, "null");
        fprintf(out,
                ", \"rva\": %" PRIu32 ", \"padding\": %" PRIu32 ", \"site_offset\": %" PRIu32
                ", \"entry_bytes\": \"%02x%02x\", \"hash_length\": %" PRIu32 ", \"hash\": \"fnv1a64:%016" PRIx64
                "\", \"table\": %s, \"exported\": %s, \"patchable\": %s }",
                f->rva, f->padding, f->site_offset, f->entry_bytes[0], f->entry_bytes[1], f->hash_len, f->hash,
                (f->from & HP_LINK_FROM_TABLE) ? "true" : "false", (f->from & HP_LINK_FROM_EXPORT) ? "true" : "false",
                f->patchable ? "true" : "false");
    }
    fprintf(out, "%s]\n}\n", post->fn_count ? "\n  " : "");
    return ferror(out) ? HP_LINK_ERR_IO : HP_LINK_OK;
}

hp_link_status hp_link_map_write(const hp_link_post *post, const char *image_name, const char *path)
{
    if (!post || !image_name || !path)
        return HP_LINK_ERR_ARGUMENT;
    FILE *f = fopen(path, "w");
    if (!f)
        return HP_LINK_ERR_IO;
    hp_link_status st = hp_link_map_render(post, image_name, f);
    if (fclose(f) != 0 && st == HP_LINK_OK)
        st = HP_LINK_ERR_IO;
    return st;
}
