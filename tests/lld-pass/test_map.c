/*
 * test_map.c — the .hpmap against the image, read independently of the map
 * writer: the table section's records, the export table, the headers; and the
 * version-3 writer itself (hp_link_map_render_data), its output parsed back and
 * compared with values written by hand. Rows are read by the columns the map
 * itself names ("function_fields", "symbol_fields").
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_link_map.h"
#include "lpt.h"
#include "lpt_json.h"

typedef struct mfn {
    char name[64];
    uint32_t rva, padding;
    char entry[8];
    int table, exported;
} mfn;

static int64_t num(const lj *o, const char *key)
{
    const lj *v = lj_get(o, key);
    cr_assert(v && v->type == LJ_NUM && v->is_integer, "'%s' is not an integer", key);
    return v->num;
}

/* Column `key` of `row`, a row of "functions" (fields "function_fields") or of "symbols"
   ("symbol_fields"): where the map's own list of columns puts it. */
static const lj *col(const lj *map, const char *fields, const lj *row, const char *key)
{
    const lj *v = lj_col(map, fields, row, key);
    cr_assert_not_null(v, "no column '%s' by \"%s\" in the row", key, fields);
    return v;
}

#define FCOL(map, row, key) col((map), "function_fields", (row), (key))
#define SCOL(map, row, key) col((map), "symbol_fields", (row), (key))

static int64_t inum(const lj *v)
{
    cr_assert(v && v->type == LJ_NUM && v->is_integer, "not an integer");
    return v->num;
}

/* A yes/no column: 0 or 1 */
static int flag(const lj *v)
{
    cr_assert(v && v->type == LJ_NUM && v->is_integer && (v->num == 0 || v->num == 1), "not 0 or 1");
    return (int)v->num;
}

static const char *vstr(const lj *v)
{
    cr_assert(v && v->type == LJ_STR, "not a string");
    return v->str;
}

/* The map's "functions", parsed (version 3: "units" and "symbols" follow them). */
static size_t read_map(const lj *map, mfn *out, size_t max)
{
    const lj *fns = lj_get(map, "functions");
    cr_assert(fns && fns->type == LJ_ARR, "no functions array");
    size_t n = 0;
    for (size_t i = 0; i < fns->count && n < max; i++) {
        const lj *o = lj_at(fns, i);
        mfn *f = &out[n++];
        memset(f, 0, sizeof *f);
        const lj *name = FCOL(map, o, "name");
        cr_assert(name && (name->type == LJ_STR || name->type == LJ_NULL));
        if (name->type == LJ_STR)
            snprintf(f->name, sizeof f->name, "%s", name->str);
        f->rva = (uint32_t)inum(FCOL(map, o, "rva"));
        f->padding = (uint32_t)inum(FCOL(map, o, "padding"));
        const char *e = vstr(FCOL(map, o, "entry_bytes"));
        cr_assert(strlen(e) == 4);
        memcpy(f->entry, e, 5);
        f->table = flag(FCOL(map, o, "table"));
        f->exported = flag(FCOL(map, o, "exported"));
    }
    return n;
}

static void map_matches(const char *triple, const char *src, const char *const names[], size_t nnames,
                        const char *const exported[], size_t nexp, const char *const extra[])
{
    char dirname[128];
    snprintf(dirname, sizeof dirname, "map_%s", triple);
    const char *d = hpt_scratch(dirname);
    const char *obj = lpt_path(d, "x.o"), *img_path = lpt_path(d, "x.dll"), *map_path = lpt_path(d, "x.json");
    lpt_compile(triple, lpt_fixture(src), obj, 1, (const char *[]){"-O2", NULL});
    char maparg[4300];
    snprintf(maparg, sizeof maparg, "-Wl,--hotpatch-map=%s", map_path);
    const char *args[16] = {"-shared", obj, "-o", img_path, maparg};
    size_t n = 5;
    for (size_t i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    hpt_proc p;
    cr_assert_eq(lpt_link(triple, args, &p), 0, "%s", p.err);
    hpt_proc_free(&p);

    size_t size = 0;
    char *text = (char *)hpt_read_file(map_path, &size);
    cr_assert_not_null(text);
    lj *map = lj_parse(text, size);
    cr_assert_not_null(map, "the map is not JSON:\n%s", text);
    lpt_image img;
    lpt_image_open(&img, img_path);

    cr_expect_eq(num(map, "version"), 3);
    const lj *image = lj_get(map, "image");
    cr_assert_not_null(image);
    cr_expect_eq(num(image, "time_date_stamp"), img.pe.time_date_stamp);
    cr_expect_eq(num(image, "size_of_image"), img.pe.size_of_image);
    cr_expect_eq(num(image, "checksum"), img.pe.checksum);
    const lj *machine = lj_get(image, "machine"), *format = lj_get(image, "format");
    cr_assert(machine && machine->type == LJ_STR && format && format->type == LJ_STR);
    cr_expect_str_eq(machine->str, img.pe.coff_machine == HP_PE_MACHINE_AMD64 ? "x64" : "x86");
    cr_expect_str_eq(format->str, "pe");
    const lj *build_id = lj_get(image, "build_id");
    cr_expect(build_id && build_id->type == LJ_NULL, "a PE image has no build id");
    const lj *units = lj_get(map, "units"), *symbols = lj_get(map, "symbols");
    cr_expect(units && units->type == LJ_ARR && symbols && symbols->type == LJ_ARR);

    mfn fns[64];
    size_t nf = read_map(map, fns, 64);
    uint32_t tab[64];
    size_t nt = lpt_table_entries(&img, tab, 64, NULL);
    cr_expect_eq(nt, nnames, "%zu table entries, the fixture defines %zu functions", nt, nnames);
    /* every table entry is in the map, marked as such, with the plugin's entry and at least its padding */
    for (size_t i = 0; i < nt; i++) {
        size_t k;
        for (k = 0; k < nf && fns[k].rva != tab[i]; k++)
            ;
        cr_assert_lt(k, nf, "table entry 0x%x missing from the map", tab[i]);
        cr_expect(fns[k].table);
        cr_expect_str_eq(fns[k].entry, "6690");
        cr_expect_geq(fns[k].padding, img.pe.coff_machine == HP_PE_MACHINE_AMD64 ? 6u : 5u);
    }
    /* the exports, by name, at the export table's RVAs */
    for (size_t i = 0; i < nexp; i++) {
        uint32_t rva = lpt_export_rva(&img, exported[i]);
        cr_assert_neq(rva, 0u, "%s not exported", exported[i]);
        size_t k;
        for (k = 0; k < nf && strcmp(fns[k].name, exported[i]) != 0; k++)
            ;
        cr_assert_lt(k, nf, "%s missing from the map", exported[i]);
        cr_expect_eq(fns[k].rva, rva, "%s: map 0x%x, export table 0x%x", exported[i], fns[k].rva, rva);
        cr_expect(fns[k].exported);
    }
    /* nothing else */
    cr_expect_eq(nf, nnames, "the map lists %zu functions, the fixture defines %zu", nf, nnames);
    for (size_t i = 0; i < nnames; i++) {
        if (!names[i])
            continue;
        size_t k;
        for (k = 0; k < nf && strcmp(fns[k].name, names[i]) != 0; k++)
            ;
        cr_expect_lt(k, nf, "%s missing from the map", names[i]);
    }
    lpt_image_close(&img);
    lj_free(map);
    free(text);
}

Test(map, mingw_x64_lists_table_and_exports)
{
    /* the DLL build of icf.c: same_a, same_b (exported), _DllMainCRTStartup (named by the symbol table) */
    map_matches("x86_64-w64-mingw32", "icf.c", (const char *[]){"same_a", "same_b", "_DllMainCRTStartup"}, 3,
                (const char *[]){"same_a", "same_b"}, 2, NULL);
}

Test(map, mingw_x86_lists_table_and_exports)
{
    /* x86 symbol names are decorated (__DllMainCRTStartup@12): only the exports are checked by name */
    map_matches("i686-w64-mingw32", "icf.c", (const char *[]){"same_a", "same_b", NULL}, 3,
                (const char *[]){"same_a", "same_b"}, 2, NULL);
}

Test(map, msvc_x64_lists_table_and_exports)
{
    /* no symbol table in MSVC-ABI images: the entry point is listed by RVA with a null name */
    map_matches("x86_64-pc-windows-msvc", "dll.c", (const char *[]){"add1", "twice", NULL}, 3,
                (const char *[]){"add1", "twice"}, 2, NULL);
}

Test(map, msvc_x86_lists_table_and_exports)
{
    map_matches("i686-pc-windows-msvc", "dll.c", (const char *[]){"add1", "twice", NULL}, 3,
                (const char *[]){"add1", "twice"}, 2, NULL);
}

/* ------------------------------------------------------------------------- */
/* The version-3 writer, against values written by hand                       */
/* ------------------------------------------------------------------------- */

/* hp_link_map_render_data() into memory. */
static char *render(const hp_link_map_data *d, size_t *len, hp_status *st)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    cr_assert_not_null(f);
    *st = hp_link_map_render_data(d, f);
    cr_assert_eq(fclose(f), 0);
    *len = n;
    return buf;
}

static const char *str(const lj *o, const char *key)
{
    const lj *v = lj_get(o, key);
    cr_assert(v && v->type == LJ_STR, "'%s' is not a string", key);
    return v->str;
}

static int is_null(const lj *o, const char *key)
{
    const lj *v = lj_get(o, key);
    return v && v->type == LJ_NULL;
}

/* Well-formed UTF-8 (RFC 3629), as JSON requires of a file. */
static int utf8_ok(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (!k || i + k > n)
            return 0;
        for (size_t j = 1; j < k; j++)
            if ((p[i + j] & 0xC0) != 0x80)
                return 0;
        i += k;
    }
    return 1;
}

/* Lines that hold one function or symbol row: "    [...]" with an optional comma. */
static size_t row_lines(const char *text)
{
    size_t n = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len > 5 && strncmp(line, "    [", 5) == 0) {
            cr_expect(line[len - 1] == ']' || (line[len - 2] == ']' && line[len - 1] == ','), "%.*s", (int)len,
                      line);
            n++;
        }
        line += len + (nl != NULL);
    }
    return n;
}

Test(map_writer, pe_image_functions_units_and_symbols_as_documented)
{
    hp_link_fn fns[2];
    memset(fns, 0, sizeof fns);
    fns[0].name = "add1";
    fns[0].rva = 5430;
    fns[0].from = HP_LINK_FROM_TABLE | HP_LINK_FROM_EXPORT;
    fns[0].patchable = 1;
    fns[0].padding = 21;
    fns[0].entry_bytes[0] = 0x66;
    fns[0].entry_bytes[1] = 0x90;
    fns[0].hash_len = 48;
    fns[0].hash = 0x8f91ad5aa14fd361ull;
    fns[1].name = NULL;
    fns[1].rva = 6000;
    fns[1].from = HP_LINK_FROM_TABLE;
    fns[1].padding = 6;
    fns[1].site_offset = 4;
    fns[1].entry_bytes[0] = 0x8b;
    fns[1].entry_bytes[1] = 0xff;
    fns[1].hash_len = 16;
    fns[1].hash = 0x0123456789abcdefull;
    const char *units[] = {"src/app.c", "src/util/count.c"};
    /* in no particular order: the writer sorts by name, then unit */
    hp_link_map_symbol syms[] = {
        {"zeta", -1, 0, 1, 0x2000, 0},
        {"count", 1, 1, 0, 20496, 4},
        {"count", 0, 1, 0, 20500, 8},
        {"alpha", 0, 0, 0, 100, 16},
    };
    hp_link_map_data d;
    memset(&d, 0, sizeof d);
    d.name = "app.dll";
    d.format = "pe";
    d.machine = "x64";
    d.time_date_stamp = 1795898831;
    d.size_of_image = 131072;
    d.checksum = 108648;
    d.has_codeview = 1;
    /* the record's bytes of the GUID the README shows: Data1..Data3 little-endian */
    const uint8_t guid[16] = {0x6C, 0xB3, 0x57, 0x29, 0x89, 0xE9, 0xE0, 0x73,
                              0x4C, 0x4C, 0x44, 0x20, 0x50, 0x44, 0x42, 0x2E};
    memcpy(d.codeview_guid, guid, 16);
    d.codeview_age = 1;
    d.fns = fns;
    d.fn_count = 2;
    d.units = units;
    d.unit_count = 2;
    d.symbols = syms;
    d.symbol_count = 4;

    size_t len;
    hp_status st;
    char *text = render(&d, &len, &st);
    cr_assert_eq(st, HP_OK);
    lj *m = lj_parse(text, len);
    cr_assert_not_null(m, "not JSON:\n%s", text);
    cr_expect_str_eq(str(m, "format"), "hotpatch-map");
    cr_expect_eq(num(m, "version"), 3);
    /* the columns, as lld-pass/README.md documents them */
    static const char *const fcols[] = {"name",        "rva",     "padding", "site_offset", "entry_bytes",
                                        "hash_length", "fnv1a64", "table",   "exported",    "patchable"};
    static const char *const scols[] = {"name", "unit", "linkage", "kind", "rva", "size"};
    const lj *fc = lj_get(m, "function_fields"), *sc = lj_get(m, "symbol_fields");
    cr_assert(fc && fc->type == LJ_ARR && fc->count == 10 && sc && sc->type == LJ_ARR && sc->count == 6);
    for (size_t i = 0; i < 10; i++)
        cr_expect_str_eq(vstr(lj_at(fc, i)), fcols[i]);
    for (size_t i = 0; i < 6; i++)
        cr_expect_str_eq(vstr(lj_at(sc, i)), scols[i]);
    const lj *img = lj_get(m, "image");
    cr_assert_not_null(img);
    cr_expect_str_eq(str(img, "name"), "app.dll");
    cr_expect_str_eq(str(img, "format"), "pe");
    cr_expect_str_eq(str(img, "machine"), "x64");
    cr_expect_eq(num(img, "time_date_stamp"), 1795898831);
    cr_expect_eq(num(img, "size_of_image"), 131072);
    cr_expect_eq(num(img, "checksum"), 108648);
    const lj *cv = lj_get(img, "codeview");
    cr_assert(cv && cv->type == LJ_OBJ);
    cr_expect_str_eq(str(cv, "guid"), "2957B36C-E989-73E0-4C4C-44205044422E");
    cr_expect_eq(num(cv, "age"), 1);
    cr_expect(is_null(img, "build_id"));

    const lj *f = lj_get(m, "functions");
    cr_assert(f && f->type == LJ_ARR && f->count == 2);
    const lj *f0 = lj_at(f, 0), *f1 = lj_at(f, 1);
    cr_expect_str_eq(vstr(FCOL(m, f0, "name")), "add1");
    cr_expect_eq(inum(FCOL(m, f0, "rva")), 5430);
    cr_expect_eq(inum(FCOL(m, f0, "padding")), 21);
    cr_expect_eq(inum(FCOL(m, f0, "site_offset")), 0);
    cr_expect_str_eq(vstr(FCOL(m, f0, "entry_bytes")), "6690");
    cr_expect_eq(inum(FCOL(m, f0, "hash_length")), 48);
    cr_expect_str_eq(vstr(FCOL(m, f0, "fnv1a64")), "8f91ad5aa14fd361");
    cr_expect(flag(FCOL(m, f0, "table")) && flag(FCOL(m, f0, "exported")) && flag(FCOL(m, f0, "patchable")));
    cr_expect_eq(FCOL(m, f1, "name")->type, LJ_NULL);
    cr_expect_eq(inum(FCOL(m, f1, "rva")), 6000);
    cr_expect_eq(inum(FCOL(m, f1, "padding")), 6);
    cr_expect_eq(inum(FCOL(m, f1, "site_offset")), 4);
    cr_expect_str_eq(vstr(FCOL(m, f1, "entry_bytes")), "8bff");
    cr_expect_eq(inum(FCOL(m, f1, "hash_length")), 16);
    cr_expect_str_eq(vstr(FCOL(m, f1, "fnv1a64")), "0123456789abcdef");
    cr_expect(flag(FCOL(m, f1, "table")) && !flag(FCOL(m, f1, "exported")) && !flag(FCOL(m, f1, "patchable")));

    const lj *u = lj_get(m, "units");
    cr_assert(u && u->type == LJ_ARR && u->count == 2);
    cr_expect_str_eq(lj_at(u, 0)->str, "src/app.c");
    cr_expect_str_eq(lj_at(u, 1)->str, "src/util/count.c");

    const lj *s = lj_get(m, "symbols");
    cr_assert(s && s->type == LJ_ARR && s->count == 4);
    const char *names[] = {"alpha", "count", "count", "zeta"};
    const int64_t unit[] = {0, 0, 1, -1}, rva[] = {100, 20500, 20496, 0x2000}, size[] = {16, 8, 4, 0};
    const char *linkage[] = {"extern", "static", "static", "extern"};
    const char *kind[] = {"variable", "variable", "variable", "function"};
    for (size_t i = 0; i < 4; i++) {
        const lj *o = lj_at(s, i);
        cr_expect_str_eq(vstr(SCOL(m, o, "name")), names[i], "symbol %zu", i);
        if (unit[i] < 0)
            cr_expect_eq(SCOL(m, o, "unit")->type, LJ_NULL, "symbol %zu: unknown unit is null", i);
        else
            cr_expect_eq(inum(SCOL(m, o, "unit")), unit[i], "symbol %zu", i);
        cr_expect_str_eq(vstr(SCOL(m, o, "linkage")), linkage[i], "symbol %zu", i);
        cr_expect_str_eq(vstr(SCOL(m, o, "kind")), kind[i], "symbol %zu", i);
        cr_expect_eq(inum(SCOL(m, o, "rva")), rva[i], "symbol %zu", i);
        cr_expect_eq(inum(SCOL(m, o, "size")), size[i], "symbol %zu", i);
    }
    cr_expect_eq(row_lines(text), 6, "one row per line:\n%s", text);
    lj_free(m);
    free(text);
}

Test(map_writer, elf_build_id_and_empty_lists)
{
    hp_link_map_data d;
    memset(&d, 0, sizeof d);
    d.name = "libsvc.so";
    d.format = "elf";
    d.machine = "x86";
    const uint8_t id[6] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};
    memcpy(d.build_id, id, sizeof id);
    d.build_id_len = sizeof id;
    size_t len;
    hp_status st;
    char *text = render(&d, &len, &st);
    cr_assert_eq(st, HP_OK);
    lj *m = lj_parse(text, len);
    cr_assert_not_null(m, "not JSON:\n%s", text);
    const lj *img = lj_get(m, "image");
    cr_expect_str_eq(str(img, "format"), "elf");
    cr_expect_str_eq(str(img, "machine"), "x86");
    cr_expect_str_eq(str(img, "build_id"), "deadbeef0001");
    cr_expect(is_null(img, "codeview"));
    const char *lists[] = {"functions", "units", "symbols"};
    for (size_t i = 0; i < 3; i++) {
        const lj *a = lj_get(m, lists[i]);
        cr_expect(a && a->type == LJ_ARR && a->count == 0, "%s is an empty array", lists[i]);
    }
    lj_free(m);
    free(text);
}

Test(map_writer, strings_are_escaped_and_stay_utf8)
{
    hp_link_fn fn;
    memset(&fn, 0, sizeof fn);
    fn.name = "q\"b\\s\n\x01";
    const char *units[] = {"dir\\caf\xc3\xa9.c"};
    hp_link_map_symbol syms[] = {{"bad\xff\xc3", 0, 1, 1, 1, 0}};
    hp_link_map_data d;
    memset(&d, 0, sizeof d);
    d.name = "a\tb.dll";
    d.fns = &fn;
    d.fn_count = 1;
    d.units = units;
    d.unit_count = 1;
    d.symbols = syms;
    d.symbol_count = 1;
    size_t len;
    hp_status st;
    char *text = render(&d, &len, &st);
    cr_assert_eq(st, HP_OK);
    cr_expect(utf8_ok((const unsigned char *)text, len), "the map is not UTF-8:\n%s", text);
    lj *m = lj_parse(text, len);
    cr_assert_not_null(m, "not JSON:\n%s", text);
    cr_expect_str_eq(str(lj_get(m, "image"), "name"), "a\tb.dll");
    cr_expect_str_eq(vstr(FCOL(m, lj_at(lj_get(m, "functions"), 0), "name")), "q\"b\\s\n\x01");
    cr_expect_str_eq(lj_at(lj_get(m, "units"), 0)->str, "dir\\caf\xc3\xa9.c");
    /* a byte that starts no UTF-8 sequence is written as \u00XX: U+00FF, U+00C3 */
    cr_expect_str_eq(vstr(SCOL(m, lj_at(lj_get(m, "symbols"), 0), "name")), "bad\xc3\xbf\xc3\x83");
    lj_free(m);
    free(text);
}

Test(map_writer, wrong_arguments_are_refused)
{
    const char *units[] = {"a.c"};
    hp_link_map_symbol sym = {"x", 1, 1, 0, 0, 4}; /* unit 1 of 1 */
    hp_link_map_data d;
    memset(&d, 0, sizeof d);
    d.name = "x.dll";
    d.units = units;
    d.unit_count = 1;
    d.symbols = &sym;
    d.symbol_count = 1;
    FILE *f = fopen("/dev/null", "w");
    cr_assert_not_null(f);
    cr_expect_eq(hp_link_map_render_data(&d, f), HP_ERR_ARGUMENT, "a unit index out of range");
    sym.unit = -2;
    cr_expect_eq(hp_link_map_render_data(&d, f), HP_ERR_ARGUMENT, "a unit index below -1");
    sym.unit = 0;
    sym.name = NULL;
    cr_expect_eq(hp_link_map_render_data(&d, f), HP_ERR_ARGUMENT, "a symbol without a name");
    sym.name = "x";
    d.build_id_len = 33;
    cr_expect_eq(hp_link_map_render_data(&d, f), HP_ERR_ARGUMENT, "a build id longer than 32 bytes");
    d.build_id_len = 0;
    cr_expect_eq(hp_link_map_render_data(&d, f), HP_OK);
    cr_expect_eq(hp_link_map_render_data(NULL, f), HP_ERR_ARGUMENT);
    cr_expect_eq(hp_link_map_render_data(&d, NULL), HP_ERR_ARGUMENT);
    fclose(f);
    cr_expect_eq(hp_link_map_write_data(&d, "/nonexistent-dir/x.hpmap"), HP_ERR_IO);
    const char *dir = hpt_scratch("map_writer_args");
    const char *path = lpt_path(dir, "x.hpmap");
    cr_expect_eq(hp_link_map_write_data(&d, path), HP_OK);
    size_t size = 0;
    char *text = (char *)hpt_read_file(path, &size);
    cr_assert_not_null(text);
    lj *m = lj_parse(text, size);
    cr_expect_not_null(m);
    lj_free(m);
    free(text);
}

/* The map is written over the file in place (the last link's map, longer or shorter) and cut to its
   own length: the file holds exactly what the renderer writes, nothing of what was there. */
Test(map_writer, an_old_map_is_written_over_and_cut)
{
    const char *units[] = {"a.c"};
    hp_link_map_data d;
    memset(&d, 0, sizeof d);
    d.name = "x.dll";
    d.units = units;
    d.unit_count = 1;
    char *want = NULL;
    size_t want_len = 0;
    FILE *mem = open_memstream(&want, &want_len);
    cr_assert_not_null(mem);
    cr_assert_eq(hp_link_map_render_data(&d, mem), HP_OK);
    fclose(mem);
    const char *dir = hpt_scratch("map_writer_over");
    const char *path = lpt_path(dir, "x.hpmap");
    for (size_t old = 0; old <= 3 * want_len; old += want_len / 2 + 1) {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f);
        for (size_t k = 0; k < old; k++)
            fputc('#', f);
        fclose(f);
        cr_assert_eq(hp_link_map_write_data(&d, path), HP_OK);
        size_t size = 0;
        char *got = (char *)hpt_read_file(path, &size);
        cr_assert_not_null(got);
        cr_expect(size == want_len && memcmp(got, want, want_len) == 0, "over %zu bytes: %zu bytes, not the map",
                  old, size);
        free(got);
    }
    free(want);
}

Test(map_writer, post_wrapper_writes_a_version_3_pe_map)
{
    hp_link_fn fn;
    memset(&fn, 0, sizeof fn);
    fn.name = "f";
    fn.rva = 0x1000;
    fn.from = HP_LINK_FROM_EXPORT;
    fn.patchable = 1;
    hp_link_post post;
    memset(&post, 0, sizeof post);
    post.machine = "x86";
    post.time_date_stamp = 7;
    post.size_of_image = 8192;
    post.checksum = 9;
    post.fns = &fn;
    post.fn_count = 1;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_eq(hp_link_map_render(&post, "old.dll", f), HP_OK);
    fclose(f);
    lj *m = lj_parse(buf, len);
    cr_assert_not_null(m, "not JSON:\n%s", buf);
    cr_expect_eq(num(m, "version"), 3);
    const lj *img = lj_get(m, "image");
    cr_expect_str_eq(str(img, "name"), "old.dll");
    cr_expect_str_eq(str(img, "format"), "pe");
    cr_expect_str_eq(str(img, "machine"), "x86");
    cr_expect_eq(num(img, "time_date_stamp"), 7);
    cr_expect_eq(num(img, "size_of_image"), 8192);
    cr_expect_eq(num(img, "checksum"), 9);
    cr_expect(is_null(img, "codeview") && is_null(img, "build_id"));
    cr_expect_eq(lj_get(m, "functions")->count, 1);
    cr_expect_eq(inum(FCOL(m, lj_at(lj_get(m, "functions"), 0), "rva")), 0x1000);
    cr_expect_eq(lj_get(m, "units")->count, 0);
    cr_expect_eq(lj_get(m, "symbols")->count, 0);
    lj_free(m);
    free(buf);
}

Test(map_writer, sixty_thousand_functions_and_symbols)
{
    enum { N = 60000 };
    hp_link_fn *fns = calloc(N, sizeof *fns);
    hp_link_map_symbol *syms = calloc(N, sizeof *syms);
    char (*names)[16] = calloc(N, sizeof *names);
    cr_assert(fns && syms && names);
    const char *units[] = {"u0.c", "u1.c"};
    for (size_t i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "function_%05zu", i); /* one 8-byte prefix for all */
        fns[i].name = names[i];
        fns[i].rva = 0x1000 + 16 * (uint32_t)i;
        fns[i].hash_len = 16;
        /* symbols given in reverse order, each name twice-defined across the units every other time */
        hp_link_map_symbol *s = &syms[N - 1 - i];
        s->name = names[i / 2 * 2];
        s->unit = (int32_t)(i & 1) ? 0 : 1;
        s->is_static = 1;
        s->is_function = 1;
        s->rva = fns[i].rva;
    }
    hp_link_map_data d;
    memset(&d, 0, sizeof d);
    d.name = "big.dll";
    d.fns = fns;
    d.fn_count = N;
    d.units = units;
    d.unit_count = 2;
    d.symbols = syms;
    d.symbol_count = N;
    size_t len;
    hp_status st;
    char *text = render(&d, &len, &st);
    cr_assert_eq(st, HP_OK);
    lj *m = lj_parse(text, len);
    cr_assert_not_null(m);
    const lj *f = lj_get(m, "functions"), *s = lj_get(m, "symbols");
    cr_assert_eq(f->count, N);
    cr_assert_eq(s->count, N);
    cr_expect_eq(row_lines(text), 2 * (size_t)N);
    for (size_t i = 0; i < N; i++) {
        /* by name, then unit: function_00000 (unit 0), function_00000 (unit 1), function_00002 (unit 0), ... */
        const lj *o = lj_at(s, i);
        char want[16];
        snprintf(want, sizeof want, "function_%05zu", i / 2 * 2);
        if (strcmp(vstr(SCOL(m, o, "name")), want) != 0 || inum(SCOL(m, o, "unit")) != (int64_t)(i & 1)) {
            cr_expect_fail("symbol %zu is %s of unit %lld, expected %s of unit %zu", i, vstr(SCOL(m, o, "name")),
                           (long long)inum(SCOL(m, o, "unit")), want, i & 1);
            break;
        }
    }
    lj_free(m);
    free(text);
    free(fns);
    free(syms);
    free(names);
}
