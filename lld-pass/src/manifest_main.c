/*
 * manifest_main.c — hotpatch-manifest: check and complete the manifest of a fix module against its
 * target image (fill), print it (show), write the map of an ELF image (map). The only code of the
 * tool that prints or exits; statuses map to exit codes in one place (exit_code):
 *   0  done: the manifest checks (fill), was printed (show), the map was written (map); --help, --version
 *   1  the manifest does not check: malformed, another version, no manifest, another build or image
 *      (identity), a function's bytes differ (hash), an RVA outside the target
 *   2  bad command line, a file unreadable or unwritable, not a PE or ELF file of x86/x64, a PE image
 *      given to `map`, out of memory
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_link.h"
#include "hp_link_manifest.h"

#define EXIT_OK 0
#define EXIT_CHECK 1
#define EXIT_ERROR 2

static const char *prog = "hotpatch-manifest";

static int exit_code(hp_status st)
{
    switch (st) {
    case HP_OK:
        return EXIT_OK;
    case HP_ERR_MODULE:
    case HP_ERR_NO_MANIFEST:
    case HP_ERR_MANIFEST_VERSION:
    case HP_ERR_IDENTITY:
    case HP_ERR_HASH:
        return EXIT_CHECK;
    default:
        return EXIT_ERROR; /* usage, I/O, format, unsupported, out of memory */
    }
}

static void report_error(hp_status st, const char *msg)
{
    fprintf(stderr, "%s: error: %s\n", prog, msg && msg[0] ? msg : hp_status_str(st));
}

static void help(void)
{
    printf("usage: hotpatch-manifest fill --target IMAGE [--target-name NAME] FIX\n"
           "       hotpatch-manifest show [--json] FIX\n"
           "       hotpatch-manifest map IMAGE [-o OUT] [--source-root DIR] [--pad N]\n"
           "\n"
           "fill   check the manifest (.hpfix) of the fix module FIX (a PE DLL or an ELF shared object)\n"
           "       against the released target IMAGE: identity, target name, every entry's RVA and the\n"
           "       hash of its bytes, every slot; fields that are 0 are filled from IMAGE. Then mark it\n"
           "       checked and replace FIX (nothing is written when a check fails).\n"
           "show   print the manifest of FIX: target, identity, checked flag, entries and slots.\n"
           "map    write the map (JSON, version 2) of an ELF executable or shared object, x86 or x86-64\n"
           "       (PE maps are written by hotpatch-link).\n"
           "\n"
           "Options:\n"
           "  --target IMAGE        fill: the target image the fix was built for\n"
           "  --target-name NAME    fill: the name the manifest must record (default: IMAGE's file name)\n"
           "  --json                show: JSON instead of text\n"
           "  -o OUT                map: where to write it (default IMAGE.hpmap)\n"
           "  --source-root DIR     map: unit paths under DIR are written relative to it\n"
           "  --pad N               map: padding the site rules require, 5..64 (default 5 x86, 6 x64)\n"
           "  --help                this text\n"
           "  --version             the version of hotpatch-manifest\n"
           "\n"
           "Exit status: 0 ok; 1 the manifest does not check (malformed, another build, bytes differ);\n"
           "2 bad command line, unreadable or unwritable file, not a PE or ELF file.\n");
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: the value, advancing *i; NULL when argv[*i] is not it. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != 0)
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

/* ------------------------------------------------------------------------- */
/* show                                                                       */
/* ------------------------------------------------------------------------- */

static void json_str(FILE *o, const char *s)
{
    if (!s) {
        fputs("null", o);
        return;
    }
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7F)
            fprintf(o, "\\u%04x", *p); /* bytes of the file, not necessarily UTF-8: one escape each */
        else
            fputc(*p, o);
    }
    fputc('"', o);
}

static const char *format_name(uint32_t f)
{
    return f == HP_FIX_FORMAT_PE ? "pe" : f == HP_FIX_FORMAT_ELF ? "elf" : NULL;
}

static void guid_text(const uint8_t *g, char *out, size_t size)
{
    snprintf(out, size, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", g[3], g[2], g[1],
             g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

static int guid_zero(const uint8_t *g)
{
    for (int i = 0; i < 16; i++)
        if (g[i])
            return 0;
    return 1;
}

static void build_id_text(const hp_fix_header *h, char *out, size_t size)
{
    size_t w = 0;
    out[0] = 0;
    for (uint32_t i = 0; i < h->build_id_len && i < sizeof h->build_id && w + 3 <= size; i++)
        w += (size_t)snprintf(out + w, size - w, "%02x", h->build_id[i]);
}

static void show_text(const char *path, const hp_link_manifest *m)
{
    printf("%s: %s %s fix module, %zu fragment(s)\n", path, m->format, m->machine, m->fragment_count);
    for (size_t i = 0; i < m->fragment_count; i++) {
        const hp_link_manifest_fragment *f = &m->fragments[i];
        const hp_fix_header *h = &f->header;
        printf("fragment %zu: unit %s%s%s, %s\n", i, f->unit ? "'" : "", f->unit ? f->unit : "(none)",
               f->unit ? "'" : "", (h->flags & HP_FIX_F_CHECKED) ? "checked" : "not checked");
        const char *fmt = format_name(h->format);
        printf("  target: %s (%s, machine 0x%x)\n", f->target_name, fmt ? fmt : "format not set", h->machine);
        /* the target's format, or while it is not filled in, the fix's own (they must agree) */
        int elf = h->format ? h->format == HP_FIX_FORMAT_ELF : strcmp(m->format, "elf") == 0;
        if (elf) {
            char id[72];
            build_id_text(h, id, sizeof id);
            printf("  identity: build_id %s\n", h->build_id_len ? id : "(none)");
        } else {
            char g[40];
            guid_text(h->codeview_guid, g, sizeof g);
            printf("  identity: time_date_stamp %" PRIu32 " (0x%08" PRIx32 "), size_of_image %" PRIu32
                   ", checksum %" PRIu32 " (0x%08" PRIx32 "), codeview %s age %" PRIu32 "\n",
                   h->time_date_stamp, h->time_date_stamp, h->size_of_image, h->checksum, h->checksum,
                   guid_zero(h->codeview_guid) ? "(none)" : g, h->codeview_age);
        }
        printf("  entries (%" PRIu32 "):\n", h->entry_count);
        for (uint32_t k = 0; k < h->entry_count; k++) {
            const hp_link_manifest_entry *e = &f->entries[k];
            printf("    %s  rva 0x%" PRIx32 "  hash fnv1a64:%016" PRIx64 " over %" PRIu32 " bytes  replacement 0x%" PRIx64
                   "\n",
                   e->name ? e->name : "(unnamed)", e->target_rva, e->hash, e->hash_len, e->replacement);
        }
        printf("  slots (%" PRIu32 "):\n", h->slot_count);
        for (uint32_t k = 0; k < h->slot_count; k++) {
            const hp_link_manifest_slot *s = &f->slots[k];
            printf("    %s  %s  rva 0x%" PRIx32 "  size %" PRIu32 "  slot 0x%" PRIx64 "\n", s->name ? s->name : "(unnamed)",
                   s->kind == HP_FIX_SLOT_PREVIOUS ? "previous" : "symbol", s->target_rva, s->size, s->slot);
        }
    }
}

static void show_json(const char *path, const hp_link_manifest *m)
{
    FILE *o = stdout;
    fputs("{\n  \"file\": ", o);
    json_str(o, hp_path_basename(path));
    fprintf(o, ",\n  \"format\": \"%s\",\n  \"machine\": \"%s\",\n  \"fragments\": [", m->format, m->machine);
    for (size_t i = 0; i < m->fragment_count; i++) {
        const hp_link_manifest_fragment *f = &m->fragments[i];
        const hp_fix_header *h = &f->header;
        fputs(i ? ",\n    { \"unit\": " : "\n    { \"unit\": ", o);
        json_str(o, f->unit);
        fputs(", \"target\": ", o);
        json_str(o, f->target_name);
        const char *fmt = format_name(h->format);
        fprintf(o, ", \"checked\": %s, \"format\": ", (h->flags & HP_FIX_F_CHECKED) ? "true" : "false");
        json_str(o, fmt);
        fprintf(o,
                ", \"machine\": %" PRIu32 ", \"time_date_stamp\": %" PRIu32 ", \"size_of_image\": %" PRIu32
                ", \"checksum\": %" PRIu32 ", \"codeview\": ",
                h->machine, h->time_date_stamp, h->size_of_image, h->checksum);
        if (guid_zero(h->codeview_guid) && !h->codeview_age) {
            fputs("null", o);
        } else {
            char g[40];
            guid_text(h->codeview_guid, g, sizeof g);
            fprintf(o, "{ \"guid\": \"%s\", \"age\": %" PRIu32 " }", g, h->codeview_age);
        }
        fputs(", \"build_id\": ", o);
        if (h->build_id_len) {
            char id[72];
            build_id_text(h, id, sizeof id);
            fprintf(o, "\"%s\"", id);
        } else {
            fputs("null", o);
        }
        fputs(",\n      \"entries\": [", o);
        for (uint32_t k = 0; k < h->entry_count; k++) {
            const hp_link_manifest_entry *e = &f->entries[k];
            fputs(k ? ",\n        { \"name\": " : "\n        { \"name\": ", o);
            json_str(o, e->name);
            fprintf(o,
                    ", \"rva\": %" PRIu32 ", \"hash_length\": %" PRIu32 ", \"hash\": \"fnv1a64:%016" PRIx64
                    "\", \"replacement\": %" PRIu64 " }",
                    e->target_rva, e->hash_len, e->hash, e->replacement);
        }
        fputs(h->entry_count ? "\n      ],\n      \"slots\": [" : "],\n      \"slots\": [", o);
        for (uint32_t k = 0; k < h->slot_count; k++) {
            const hp_link_manifest_slot *s = &f->slots[k];
            fputs(k ? ",\n        { \"name\": " : "\n        { \"name\": ", o);
            json_str(o, s->name);
            fprintf(o, ", \"kind\": \"%s\", \"rva\": %" PRIu32 ", \"size\": %" PRIu32 ", \"slot\": %" PRIu64 " }",
                    s->kind == HP_FIX_SLOT_PREVIOUS ? "previous" : "symbol", s->target_rva, s->size, s->slot);
        }
        fputs(h->slot_count ? "\n      ] }" : "] }", o);
    }
    fputs(m->fragment_count ? "\n  ]\n}\n" : "]\n}\n", o);
}

/* ------------------------------------------------------------------------- */
/* The subcommands                                                            */
/* ------------------------------------------------------------------------- */

/* A usage error: `what`, the argument concerned (may be NULL), and where help is. */
static hp_status usage_arg(char *msg, size_t msg_size, const char *what, const char *arg)
{
    hp_msg_set(msg, msg_size, "%s%s%s%s (%s --help lists the options)", what, arg ? " '" : "", arg ? arg : "",
               arg ? "'" : "", prog);
    return HP_ERR_USAGE;
}

static hp_status usage(char *msg, size_t msg_size, const char *what)
{
    return usage_arg(msg, msg_size, what, NULL);
}

static hp_status cmd_fill(int argc, char **argv, char *msg, size_t msg_size)
{
    const char *image = NULL, *name = NULL, *fix = NULL;
    for (int i = 2; i < argc; i++) {
        int missing = 0;
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--target", &missing)) != NULL)
            image = v;
        else if ((v = opt_value(argc, argv, &i, "--target-name", &missing)) != NULL)
            name = v;
        else if (missing)
            return usage_arg(msg, msg_size, "missing value of", argv[i]);
        else if (argv[i][0] == '-' && argv[i][1])
            return usage_arg(msg, msg_size, "fill: unknown option", argv[i]);
        else if (fix)
            return usage(msg, msg_size, "fill: more than one FIX given");
        else
            fix = argv[i];
    }
    if (!image || !fix)
        return usage(msg, msg_size, "fill needs --target IMAGE and FIX");
    if (name && !name[0])
        return usage(msg, msg_size, "--target-name needs a name");
    hp_link_manifest_fill_options opt;
    memset(&opt, 0, sizeof opt);
    opt.target_name = name;
    hp_link_manifest_fill_result res;
    hp_status st = hp_link_manifest_fill(fix, image, &opt, &res, msg, msg_size);
    if (st == HP_OK)
        printf("%s: %s: %zu fragment(s), %zu entr%s, %zu slot(s) checked against %s; %zu field(s) filled%s\n", prog,
               fix, res.fragments, res.entries, res.entries == 1 ? "y" : "ies", res.slots, image, res.fields_filled,
               res.written ? "" : " (already complete: not rewritten)");
    return st;
}

static hp_status cmd_show(int argc, char **argv, char *msg, size_t msg_size)
{
    const char *fix = NULL;
    int json = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return usage_arg(msg, msg_size, "show: unknown option", argv[i]);
        else if (fix)
            return usage(msg, msg_size, "show: more than one FIX given");
        else
            fix = argv[i];
    }
    if (!fix)
        return usage(msg, msg_size, "show needs FIX");
    hp_link_manifest *m = NULL;
    hp_status st = hp_link_manifest_read(fix, &m, msg, msg_size);
    if (st != HP_OK)
        return st;
    if (json)
        show_json(fix, m);
    else
        show_text(fix, m);
    hp_link_manifest_free(m);
    return HP_OK;
}

static hp_status cmd_map(int argc, char **argv, char *msg, size_t msg_size)
{
    const char *image = NULL, *out = NULL, *root = NULL, *pad = NULL;
    for (int i = 2; i < argc; i++) {
        int missing = 0;
        const char *v;
        if ((v = opt_value(argc, argv, &i, "-o", &missing)) != NULL)
            out = v;
        else if ((v = opt_value(argc, argv, &i, "--source-root", &missing)) != NULL)
            root = v;
        else if ((v = opt_value(argc, argv, &i, "--pad", &missing)) != NULL)
            pad = v;
        else if (missing)
            return usage_arg(msg, msg_size, "missing value of", argv[i]);
        else if (argv[i][0] == '-' && argv[i][1])
            return usage_arg(msg, msg_size, "map: unknown option", argv[i]);
        else if (image)
            return usage(msg, msg_size, "map: more than one IMAGE given");
        else
            image = argv[i];
    }
    if (!image)
        return usage(msg, msg_size, "map needs IMAGE");
    hp_link_elf_map_options opt;
    memset(&opt, 0, sizeof opt);
    opt.source_root = root;
    if (pad) {
        hp_status st = hp_pad_parse("--pad", pad, &opt.pad, msg, msg_size);
        if (st != HP_OK)
            return st;
    }
    char *def = NULL;
    if (!out) {
        size_t n = strlen(image);
        def = malloc(n + 7);
        if (!def)
            return HP_ERR_NO_MEMORY;
        memcpy(def, image, n);
        memcpy(def + n, ".hpmap", 7);
        out = def;
    }
    hp_status st = hp_link_elf_map_write(image, &opt, out, msg, msg_size);
    free(def);
    return st;
}

int main(int argc, char **argv)
{
    char msg[1024] = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help();
            return EXIT_OK;
        }
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("%s %s\n", prog, HP_VERSION_STRING);
        return EXIT_OK;
    }
    hp_status st;
    if (argc < 2)
        st = usage(msg, sizeof msg, "no subcommand: fill, show or map");
    else if (strcmp(argv[1], "fill") == 0)
        st = cmd_fill(argc, argv, msg, sizeof msg);
    else if (strcmp(argv[1], "show") == 0)
        st = cmd_show(argc, argv, msg, sizeof msg);
    else if (strcmp(argv[1], "map") == 0)
        st = cmd_map(argc, argv, msg, sizeof msg);
    else
        st = usage_arg(msg, sizeof msg, "unknown subcommand (fill, show or map):", argv[1]);
    if (st != HP_OK)
        report_error(st, msg);
    return exit_code(st);
}
