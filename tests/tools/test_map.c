/*
 * test_map.c — the .hpmap reader (hp_map.h): versions 1 and 2 field by field, version 3 (rows of
 * named columns) against the same map in version 2 and its own schema errors, the CodeView GUID
 * against the bytes of an RSDS record, string escapes, lookups by unit, and every way a text can
 * fail (JSON syntax, schema, version, nesting, truncation), each with its status and a message
 * that says where.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_map.h"

/* A complete version 2 map: every field, the functions out of RVA order, the symbols in order. */
static const char v2_map[] =
    "{\n"
    "  \"format\": \"hotpatch-map\",\n"
    "  \"version\": 2,\n"
    "  \"image\": {\n"
    "    \"name\": \"app.dll\",\n"
    "    \"format\": \"pe\",\n"
    "    \"machine\": \"x64\",\n"
    "    \"time_date_stamp\": 1795898831,\n"
    "    \"size_of_image\": 131072,\n"
    "    \"checksum\": 108648,\n"
    "    \"codeview\": { \"guid\": \"2957B36C-E989-73E0-4C4C-44205044422E\", \"age\": 7 },\n"
    "    \"build_id\": null\n"
    "  },\n"
    "  \"functions\": [\n"
    "    { \"name\": \"add1\", \"rva\": 5430, \"padding\": 21, \"site_offset\": 0, \"entry_bytes\": \"6690\", "
    "\"hash_length\": 48, \"hash\": \"fnv1a64:8f91ad5aa14fd361\", \"table\": true, \"exported\": true, "
    "\"patchable\": true },\n"
    "    { \"name\": null, \"rva\": 4096, \"padding\": 16, \"site_offset\": 4, \"entry_bytes\": \"8BfF\", "
    "\"hash_length\": 65536, \"hash\": \"fnv1a64:00000000000000A1\", \"table\": true, \"exported\": false, "
    "\"patchable\": false }\n"
    "  ],\n"
    "  \"units\": [ \"src/app.c\", \"src/util/count.c\" ],\n"
    "  \"symbols\": [\n"
    "    { \"name\": \"add1\", \"unit\": 0, \"static\": false, \"kind\": \"function\", \"rva\": 5430, \"size\": 0 },\n"
    "    { \"name\": \"count\", \"unit\": 1, \"static\": true, \"kind\": \"variable\", \"rva\": 20496, \"size\": 4 },\n"
    "    { \"name\": \"mystery\", \"unit\": null, \"static\": false, \"kind\": \"variable\", \"rva\": 4294967295, "
    "\"size\": 4294967295 }\n"
    "  ],\n"
    "  \"later\": { \"a\": [true, false, null, -0, 0.5e-3, 1E+2, -12.25E-1, \"\\u00e9\", {}, [[]]], \"\": {} }\n"
    "}";

/* v2_map in version 3: the same values, each function and symbol a row of the named columns. */
static const char v3_map[] =
    "{\n"
    "  \"format\": \"hotpatch-map\",\n"
    "  \"version\": 3,\n"
    "  \"image\": {\n"
    "    \"name\": \"app.dll\",\n"
    "    \"format\": \"pe\",\n"
    "    \"machine\": \"x64\",\n"
    "    \"time_date_stamp\": 1795898831,\n"
    "    \"size_of_image\": 131072,\n"
    "    \"checksum\": 108648,\n"
    "    \"codeview\": { \"guid\": \"2957B36C-E989-73E0-4C4C-44205044422E\", \"age\": 7 },\n"
    "    \"build_id\": null\n"
    "  },\n"
    "  \"function_fields\": [\"name\", \"rva\", \"padding\", \"site_offset\", \"entry_bytes\", \"hash_length\", "
    "\"fnv1a64\", \"table\", \"exported\", \"patchable\"],\n"
    "  \"functions\": [\n"
    "    [\"add1\",5430,21,0,\"6690\",48,\"8f91ad5aa14fd361\",1,1,1],\n"
    "    [null,4096,16,4,\"8BfF\",65536,\"00000000000000A1\",1,0,0]\n"
    "  ],\n"
    "  \"units\": [ \"src/app.c\", \"src/util/count.c\" ],\n"
    "  \"symbol_fields\": [\"name\", \"unit\", \"linkage\", \"kind\", \"rva\", \"size\"],\n"
    "  \"symbols\": [\n"
    "    [\"add1\",0,\"extern\",\"function\",5430,0],\n"
    "    [\"count\",1,\"static\",\"variable\",20496,4],\n"
    "    [\"mystery\",null,\"extern\",\"variable\",4294967295,4294967295]\n"
    "  ],\n"
    "  \"later\": { \"a\": [true, false, null, -0, 0.5e-3, 1E+2, -12.25E-1, \"\\u00e9\", {}, [[]]], \"\": {} }\n"
    "}";

/* A version 1 map exactly as lld-pass/src/map.c writes it (no image.format, no units, no symbols). */
static const char v1_map[] =
    "{\n"
    "  \"format\": \"hotpatch-map\",\n"
    "  \"version\": 1,\n"
    "  \"image\": {\n"
    "    \"name\": \"a.dll\",\n"
    "    \"machine\": \"x86\",\n"
    "    \"time_date_stamp\": 1,\n"
    "    \"size_of_image\": 8192,\n"
    "    \"checksum\": 3,\n"
    "    \"codeview\": null\n"
    "  },\n"
    "  \"functions\": [\n"
    "    { \"name\": \"f\", \"rva\": 4112, \"padding\": 16, \"site_offset\": 0, \"entry_bytes\": \"8bff\", "
    "\"hash_length\": 16, \"hash\": \"fnv1a64:cbf29ce484222325\", \"table\": false, \"exported\": true, "
    "\"patchable\": true }\n"
    "  ]\n"
    "}\n";

/* hp_map_parse() of a copy of exactly `len` bytes (no NUL after them: a read past is an ASan report). */
static hp_status parse_n(const char *text, size_t len, hp_map **out, char *msg, size_t msg_size)
{
    char *copy = malloc(len ? len : 1);
    cr_assert_not_null(copy);
    memcpy(copy, text, len);
    hp_status st = hp_map_parse(copy, len, out, msg, msg_size);
    free(copy);
    return st;
}

static hp_map *parse_ok(const char *text)
{
    char msg[512] = "";
    hp_map *m = NULL;
    hp_status st = parse_n(text, strlen(text), &m, msg, sizeof msg);
    cr_assert_eq(st, HP_OK, "status %d: %s", (int)st, msg);
    cr_assert_not_null(m);
    return m;
}

/* The text fails with `status` and a message that says where ("line ...") and holds `part`. */
static void expect_fail(const char *text, hp_status status, const char *part)
{
    char msg[512] = "";
    hp_map *sentinel = (hp_map *)&msg, *m = sentinel;
    hp_status st = parse_n(text, strlen(text), &m, msg, sizeof msg);
    cr_expect_eq(st, status, "status %d (expected %d) for: %s\nmessage: %s", (int)st, (int)status, text, msg);
    cr_expect_eq(m, sentinel, "the output is written only on success");
    cr_expect(strncmp(msg, "line ", 5) == 0, "the message says where: %s", msg);
    cr_expect(strstr(msg, part) != NULL, "message \"%s\" lacks \"%s\"", msg, part);
}

/* `text` with the first `from` replaced by `to` (malloc'd). */
static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    cr_assert_not_null(at, "\"%s\" is not in the text", from);
    size_t a = (size_t)(at - text), nf = strlen(from), nt = strlen(to), n = strlen(text);
    char *out = malloc(n - nf + nt + 1);
    cr_assert_not_null(out);
    memcpy(out, text, a);
    memcpy(out + a, to, nt);
    memcpy(out + a + nt, at + nf, n - a - nf + 1);
    return out;
}

static void expect_v2_fail(const char *from, const char *to, hp_status status, const char *part)
{
    char *t = replace(v2_map, from, to);
    expect_fail(t, status, part);
    free(t);
}

/* One edit of a map that must fail as HP_ERR_FORMAT with a message holding `part`. */
typedef struct edit_case {
    const char *from, *to, *part;
} edit_case;

static void expect_edits_fail(const char *map, const edit_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *t = replace(map, cases[i].from, cases[i].to);
        expect_fail(t, HP_ERR_FORMAT, cases[i].part);
        free(t);
    }
}

Test(map, complete_version_2)
{
    hp_map *m = parse_ok(v2_map);
    cr_expect_eq(m->version, 2u);
    cr_expect_str_eq(m->image_name, "app.dll");
    cr_expect_str_eq(m->format, "pe");
    cr_expect_str_eq(m->machine, "x64");
    cr_expect_eq(m->time_date_stamp, 1795898831u);
    cr_expect_eq(m->size_of_image, 131072u);
    cr_expect_eq(m->checksum, 108648u);
    cr_expect_eq(m->has_codeview, 1);
    cr_expect_eq(m->codeview_age, 7u);
    cr_expect_eq(m->build_id_len, 0u);

    cr_assert_eq(m->function_count, 2u);
    const hp_map_function *f = &m->functions[0]; /* sorted by RVA: the unnamed one first */
    cr_expect_null(f->name);
    cr_expect_eq(f->rva, 4096u);
    cr_expect_eq(f->padding, 16u);
    cr_expect_eq(f->site_offset, 4u);
    cr_expect_eq(f->entry_bytes[0], 0x8B);
    cr_expect_eq(f->entry_bytes[1], 0xFF);
    cr_expect_eq(f->hash_len, 65536u);
    cr_expect_eq(f->hash, 0xA1u);
    cr_expect_eq(f->table, 1);
    cr_expect_eq(f->exported, 0);
    cr_expect_eq(f->patchable, 0);
    f = &m->functions[1];
    cr_expect_str_eq(f->name, "add1");
    cr_expect_eq(f->rva, 5430u);
    cr_expect_eq(f->padding, 21u);
    cr_expect_eq(f->site_offset, 0u);
    cr_expect_eq(f->entry_bytes[0], 0x66);
    cr_expect_eq(f->entry_bytes[1], 0x90);
    cr_expect_eq(f->hash_len, 48u);
    cr_expect_eq(f->hash, UINT64_C(0x8f91ad5aa14fd361));
    cr_expect_eq(f->table, 1);
    cr_expect_eq(f->exported, 1);
    cr_expect_eq(f->patchable, 1);
    cr_expect_eq(hp_map_function_at(m, 5430), &m->functions[1]);
    cr_expect_eq(hp_map_function_at(m, 4096), &m->functions[0]);
    cr_expect_null(hp_map_function_at(m, 4097));
    cr_expect_null(hp_map_function_at(m, 0));
    cr_expect_null(hp_map_function_at(m, UINT32_MAX));

    cr_assert_eq(m->unit_count, 2u);
    cr_expect_str_eq(m->units[0], "src/app.c");
    cr_expect_str_eq(m->units[1], "src/util/count.c");
    cr_expect_eq(hp_map_unit(m, "src/util/count.c"), 1);
    cr_expect_eq(hp_map_unit(m, "src/app.c"), 0);
    cr_expect_eq(hp_map_unit(m, "src/app"), -1);

    cr_assert_eq(m->symbol_count, 3u);
    const hp_map_symbol *s = &m->symbols[0];
    cr_expect_str_eq(s->name, "add1");
    cr_expect_eq(s->unit, 0);
    cr_expect_eq(s->is_static, 0);
    cr_expect_eq(s->kind, HP_MAP_FUNCTION);
    cr_expect_eq(s->rva, 5430u);
    cr_expect_eq(s->size, 0u);
    s = &m->symbols[1];
    cr_expect_str_eq(s->name, "count");
    cr_expect_eq(s->unit, 1);
    cr_expect_eq(s->is_static, 1);
    cr_expect_eq(s->kind, HP_MAP_VARIABLE);
    cr_expect_eq(s->rva, 20496u);
    cr_expect_eq(s->size, 4u);
    s = &m->symbols[2];
    cr_expect_str_eq(s->name, "mystery");
    cr_expect_eq(s->unit, -1, "\"unit\": null is -1");
    cr_expect_eq(s->rva, UINT32_MAX);
    cr_expect_eq(s->size, UINT32_MAX);
    cr_expect_eq(hp_map_find(m, -1, "mystery"), s);
    cr_expect_eq(hp_map_find(m, 1, "count"), &m->symbols[1]);
    cr_expect_null(hp_map_find(m, -1, "count"), "a static is found only with its unit");
    hp_map_free(m);
}

/* Version 3 holds what version 2 does: the two texts of one map read to the same map. */
Test(map, version_3_reads_as_version_2)
{
    hp_map *a = parse_ok(v2_map), *b = parse_ok(v3_map);
    cr_expect_eq(b->version, 3u);
    cr_expect_str_eq(b->image_name, a->image_name);
    cr_expect_str_eq(b->format, a->format);
    cr_expect_str_eq(b->machine, a->machine);
    cr_expect_eq(b->time_date_stamp, a->time_date_stamp);
    cr_expect_eq(b->size_of_image, a->size_of_image);
    cr_expect_eq(b->checksum, a->checksum);
    cr_expect_eq(b->has_codeview, a->has_codeview);
    cr_expect_eq(memcmp(b->codeview_guid, a->codeview_guid, 16), 0);
    cr_expect_eq(b->codeview_age, a->codeview_age);
    cr_assert_eq(b->function_count, a->function_count);
    for (size_t i = 0; i < a->function_count; i++) {
        const hp_map_function *x = &a->functions[i], *y = &b->functions[i];
        cr_expect(x->name ? y->name && strcmp(x->name, y->name) == 0 : !y->name, "function %zu: name", i);
        cr_expect(x->rva == y->rva && x->padding == y->padding && x->site_offset == y->site_offset &&
                      x->hash_len == y->hash_len && x->hash == y->hash && x->entry_bytes[0] == y->entry_bytes[0] &&
                      x->entry_bytes[1] == y->entry_bytes[1] && x->table == y->table && x->exported == y->exported &&
                      x->patchable == y->patchable,
                  "function %zu differs", i);
    }
    cr_assert_eq(b->unit_count, a->unit_count);
    for (size_t i = 0; i < a->unit_count; i++)
        cr_expect_str_eq(b->units[i], a->units[i]);
    cr_assert_eq(b->symbol_count, a->symbol_count);
    for (size_t i = 0; i < a->symbol_count; i++) {
        const hp_map_symbol *x = &a->symbols[i], *y = &b->symbols[i];
        cr_expect_str_eq(y->name, x->name);
        cr_expect(x->unit == y->unit && x->is_static == y->is_static && x->kind == y->kind && x->rva == y->rva &&
                      x->size == y->size,
                  "symbol %zu differs", i);
    }
    /* and the values themselves (the version 2 test checks them field by field) */
    cr_expect_eq(b->functions[1].hash, UINT64_C(0x8f91ad5aa14fd361));
    cr_expect_eq(b->functions[0].hash, 0xA1u);
    cr_expect_eq(b->symbols[1].is_static, 1);
    cr_expect_eq(b->symbols[2].unit, -1);
    cr_expect_eq(hp_map_function_at(b, 5430), &b->functions[1]);
    hp_map_free(a);
    hp_map_free(b);
}

/* Version 3's own schema: the column lists, the rows' shape, 0/1 flags, the bare hash, "linkage". */
Test(map, version_3_schema_errors_name_the_field)
{
    static const edit_case cases[] = {
        {"\"function_fields\":", "\"function_fieldz\":", "function_fields: missing"},
        {"\"symbol_fields\":", "\"symbol_fieldz\":", "symbol_fields: missing"},
        {"\"function_fields\": [\"name\", ", "\"function_fields\": [", "function_fields: not an array of the 10"},
        {"\"function_fields\": [", "\"function_fields\": 5, \"x\": [", "function_fields: not an array"},
        {"\"rva\", \"padding\"", "\"padding\", \"rva\"", "function_fields: column 1 is not \"rva\""},
        {"\"fnv1a64\"", "\"hash\"", "function_fields: column 6 is not \"fnv1a64\""},
        {"\"linkage\"", "\"static\"", "symbol_fields: column 2 is not \"linkage\""},
        {"\"size\"]", "\"size\", \"more\"]", "symbol_fields: not an array of the 6"},
        {"[\"add1\",5430,", "{\"name\":\"add1\"},[\"add1\",5430,", "functions[0]: not an array of the 10 columns"},
        {",1,1,1]", ",1,1]", "functions[0]: not an array of the 10 columns of \"function_fields\""},
        {",1,1,1]", ",1,1,1,1]", "functions[0]: not an array of the 10 columns"},
        {",1,1,1]", ",1,2,1]", "functions[0].exported: not 0 or 1"},
        {",1,1,1]", ",true,1,1]", "functions[0].table: not 0 or 1"},
        {",1,0,0]", ",1,0,-0]", "functions[1].patchable: not 0 or 1"},
        {"\"8f91ad5aa14fd361\"", "\"fnv1a64:8f91ad5aa14fd361\"", "functions[0].fnv1a64: not 16 hex digits"},
        {"\"8f91ad5aa14fd361\"", "\"8f91ad5aa14fd36\"", "functions[0].fnv1a64: not 16 hex digits"},
        {"\"8f91ad5aa14fd361\"", "8", "functions[0].fnv1a64: not a string"},
        {"[null,4096,", "[null,\"4096\",", "functions[1].rva: not an unsigned 32-bit integer"},
        {"\"8BfF\"", "\"8BF\"", "functions[1].entry_bytes: not 2 bytes"},
        {"[\"count\",1,\"static\"", "[\"count\",1,true", "symbols[1].linkage: not a string"},
        {"[\"count\",1,\"static\"", "[\"count\",1,\"local\"", "symbols[1].linkage: not \"static\" or \"extern\""},
        {"[\"count\",1,", "[\"count\",2,", "symbols[1].unit: no such unit (the map has 2)"},
        {"\"variable\",20496", "\"const\",20496", "symbols[1].kind: not \"function\" or \"variable\""},
        {"[\"add1\",0,\"extern\",\"function\",5430,0]", "[\"add1\",0,\"extern\",\"function\",5430]",
         "symbols[0]: not an array of the 6 columns of \"symbol_fields\""},
    };
    expect_edits_fail(v3_map, cases, sizeof cases / sizeof cases[0]);
}

Test(map, version_1)
{
    hp_map *m = parse_ok(v1_map);
    cr_expect_eq(m->version, 1u);
    cr_expect_str_eq(m->image_name, "a.dll");
    cr_expect_str_eq(m->format, "pe", "version 1 maps are PE");
    cr_expect_str_eq(m->machine, "x86");
    cr_expect_eq(m->time_date_stamp, 1u);
    cr_expect_eq(m->size_of_image, 8192u);
    cr_expect_eq(m->checksum, 3u);
    cr_expect_eq(m->has_codeview, 0);
    cr_assert_eq(m->function_count, 1u);
    cr_expect_str_eq(m->functions[0].name, "f");
    cr_expect_eq(m->functions[0].rva, 4112u);
    cr_expect_eq(m->functions[0].hash, UINT64_C(0xcbf29ce484222325));
    cr_expect_eq(m->functions[0].hash_len, 16u);
    cr_expect_eq(m->functions[0].table, 0);
    cr_expect_eq(m->unit_count, 0u);
    cr_expect_eq(m->symbol_count, 0u);
    cr_expect_null(hp_map_find(m, -1, "f"));
    cr_expect_eq(hp_map_unit(m, "a.c"), -1);
    hp_map_free(m);
}

/* A version 1 map ignores "units" and "symbols" (they were not part of it); version 2 needs them. */
Test(map, version_1_reads_no_symbols_version_2_needs_them)
{
    char *t = replace(v2_map, "\"version\": 2", "\"version\": 1");
    hp_map *m = parse_ok(t);
    cr_expect_eq(m->version, 1u);
    cr_expect_eq(m->symbol_count, 0u);
    cr_expect_eq(m->unit_count, 0u);
    hp_map_free(m);
    free(t);
    t = replace(v1_map, "\"version\": 1", "\"version\": 2");
    expect_fail(t, HP_ERR_FORMAT, "units: missing");
    free(t);
    expect_v2_fail("\"format\": \"pe\",", "", HP_ERR_FORMAT, "image.format: missing");
}

/* The GUID text of a map against the 16 bytes of an RSDS record, written here by hand. */
Test(map, codeview_guid_is_the_record_bytes)
{
    static const uint8_t record[16] = {0x6C, 0xB3, 0x57, 0x29, 0x89, 0xE9, 0xE0, 0x73,
                                       0x4C, 0x4C, 0x44, 0x20, 0x50, 0x44, 0x42, 0x2E};
    hp_map *m = parse_ok(v2_map);
    cr_expect(memcmp(m->codeview_guid, record, 16) == 0);
    hp_map_free(m);

    /* the writer's text form (lld-pass/src/map.c) of the bytes 00..0F, read back; lower case too */
    static const uint8_t seq[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    char guid[64];
    const uint8_t *g = seq;
    snprintf(guid, sizeof guid, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", g[3], g[2],
             g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
    cr_expect_str_eq(guid, "03020100-0504-0706-0809-0A0B0C0D0E0F");
    const char *forms[] = {"03020100-0504-0706-0809-0A0B0C0D0E0F", "03020100-0504-0706-0809-0a0b0c0d0e0f"};
    for (size_t i = 0; i < 2; i++) {
        char *t = replace(v2_map, "2957B36C-E989-73E0-4C4C-44205044422E", forms[i]);
        m = parse_ok(t);
        cr_expect(memcmp(m->codeview_guid, seq, 16) == 0, "%s", forms[i]);
        hp_map_free(m);
        free(t);
    }
    const char *bad[] = {"2957B36C-E989-73E0-4C4C-44205044422", "2957B36C-E989-73E0-4C4C-44205044422EE",
                         "2957B36CE989-73E0-4C4C-44205044422E-", "2957B36C-E989-73E0-4C4C-44205044422G",
                         "{2957B36C-E989-73E0-4C4C-44205044422}", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_v2_fail("2957B36C-E989-73E0-4C4C-44205044422E", bad[i], HP_ERR_FORMAT,
                       "image.codeview.guid: not a GUID");
}

Test(map, elf_build_id)
{
    char *t = replace(v2_map, "\"format\": \"pe\"", "\"format\": \"elf\"");
    char *u = replace(t, "\"build_id\": null", "\"build_id\": \"00ff10AB\"");
    char *v = replace(u, "\"time_date_stamp\": 1795898831,", "");
    hp_map *m = parse_ok(v);
    cr_expect_str_eq(m->format, "elf");
    cr_expect_eq(m->time_date_stamp, 0u, "not needed in an ELF map");
    cr_assert_eq(m->build_id_len, 4u);
    cr_expect(memcmp(m->build_id, "\x00\xff\x10\xab", 4) == 0);
    hp_map_free(m);
    free(u);
    free(v);
    u = replace(t, "\"build_id\": null",
                "\"build_id\": \"000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F\"");
    m = parse_ok(u); /* 32 bytes: the most there is room for */
    cr_assert_eq(m->build_id_len, 32u);
    for (unsigned i = 0; i < 32; i++)
        cr_expect_eq(m->build_id[i], i);
    hp_map_free(m);
    free(u);
    const char *bad[] = {"\"build_id\": \"abc\"", "\"build_id\": \"\"", "\"build_id\": \"zz\"", "\"build_id\": 12",
                         "\"build_id\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = replace(t, "\"build_id\": null", bad[i]);
        expect_fail(v, HP_ERR_FORMAT, "image.build_id:");
        free(v);
    }
    free(t);
}

Test(map, string_escapes)
{
    char *t = replace(v2_map, "\"name\": \"add1\", \"rva\"", "\"name\": \"caf\\u00e9 \\ud83d\\ude00\", \"rva\"");
    char *u = replace(t, "\"src/app.c\"", "\"a\\nb\\\"c\\\\d\\/e\\tf\\b\\f\\r\\u0041\\u20AC\xc3\xa9\"");
    char *v = replace(u, "\"rva\": 20496", "\"r\\u0076a\": 20496"); /* a member name with an escape */
    hp_map *m = parse_ok(v);
    const hp_map_function *f = hp_map_function_at(m, 5430);
    cr_assert_not_null(f);
    cr_expect_str_eq(f->name, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    cr_expect_str_eq(m->units[0], "a\nb\"c\\d/e\tf\b\f\rA\xe2\x82\xac\xc3\xa9");
    cr_expect_eq(hp_map_find(m, 1, "count")->rva, 20496u);
    hp_map_free(m);
    free(t);
    free(u);
    free(v);
    /* a NUL inside a name cannot be handed out as a C string */
    expect_v2_fail("\"src/app.c\"", "\"src\\u0000app.c\"", HP_ERR_FORMAT, "units[0]: contains a NUL");
}

/* Two units each with a static "count", one external "total"; the file's symbols out of order. */
Test(map, lookups_by_unit)
{
    static const char text[] =
        "{\"format\":\"hotpatch-map\",\"version\":2,"
        "\"image\":{\"name\":\"x.exe\",\"format\":\"pe\",\"machine\":\"x64\","
        "\"time_date_stamp\":0,\"size_of_image\":0,\"checksum\":0,\"codeview\":null,\"build_id\":null},"
        "\"functions\":[],"
        "\"units\":[\"one.c\",\"two.c\",\"three.c\"],"
        "\"symbols\":["
        "{\"name\":\"total\",\"unit\":1,\"static\":false,\"kind\":\"variable\",\"rva\":300,\"size\":8},"
        "{\"name\":\"count\",\"unit\":1,\"static\":true,\"kind\":\"variable\",\"rva\":200,\"size\":4},"
        "{\"name\":\"count\",\"unit\":0,\"static\":true,\"kind\":\"variable\",\"rva\":100,\"size\":4},"
        "{\"name\":\"tick\",\"unit\":2,\"static\":true,\"kind\":\"function\",\"rva\":500,\"size\":0},"
        "{\"name\":\"tick\",\"unit\":0,\"static\":false,\"kind\":\"function\",\"rva\":400,\"size\":0}"
        "]}";
    hp_map *m = parse_ok(text);
    cr_assert_eq(m->symbol_count, 5u);
    for (size_t i = 1; i < m->symbol_count; i++) {
        int c = strcmp(m->symbols[i - 1].name, m->symbols[i].name);
        cr_expect(c < 0 || (c == 0 && m->symbols[i - 1].unit < m->symbols[i].unit), "sorted by name, then unit");
    }
    int32_t one = hp_map_unit(m, "one.c"), two = hp_map_unit(m, "two.c");
    cr_expect_eq(one, 0);
    cr_expect_eq(two, 1);
    cr_expect_eq(hp_map_find(m, one, "count")->rva, 100u);
    cr_expect_eq(hp_map_find(m, two, "count")->rva, 200u);
    cr_expect_null(hp_map_find(m, 2, "count"));
    cr_expect_null(hp_map_find(m, -1, "count"), "no external count");
    cr_expect_eq(hp_map_find(m, -1, "total")->rva, 300u);
    cr_expect_eq(hp_map_find(m, two, "total")->rva, 300u);
    cr_expect_null(hp_map_find(m, one, "total"), "total is unit two's");
    cr_expect_eq(hp_map_find(m, -1, "tick")->rva, 400u, "the external tick, not unit three's static one");
    cr_expect_eq(hp_map_find(m, 2, "tick")->rva, 500u);
    cr_expect_null(hp_map_find(m, -1, "nothing"));
    cr_expect_null(hp_map_find(m, -1, ""));
    cr_expect_null(hp_map_find(m, 7, "count"));
    cr_expect_null(hp_map_find(m, -2, "total"));
    cr_expect_null(hp_map_find(m, 0, NULL));
    cr_expect_null(hp_map_find(NULL, 0, "count"));
    cr_expect_eq(hp_map_unit(NULL, "one.c"), -1);
    cr_expect_null(hp_map_function_at(m, 0));
    hp_map_free(m);
}

Test(map, schema_errors_name_the_field)
{
    static const edit_case cases[] = {
        {"\"rva\": 4096", "\"rva\": \"4096\"", "functions[1].rva: not an unsigned 32-bit integer"},
        {"\"rva\": 4096", "\"rva\": -1", "functions[1].rva: not an unsigned 32-bit integer"},
        {"\"rva\": 4096", "\"rva\": 4294967296", "functions[1].rva: not an unsigned 32-bit integer"},
        {"\"rva\": 4096", "\"rva\": 99999999999999999999999", "functions[1].rva: not an unsigned 32-bit integer"},
        {"\"rva\": 4096", "\"rva\": 4.5", "functions[1].rva: not an unsigned 32-bit integer"},
        {"\"rva\": 4096", "\"rva\": 4096e0", "functions[1].rva: not an unsigned 32-bit integer"},
        {"\"rva\": 4096", "\"rva\": null", "functions[1].rva: not an unsigned 32-bit integer"},
        {"\"padding\": 21, ", "", "functions[0].padding: missing"},
        {"\"table\": true", "\"table\": 1", "functions[0].table: not true or false"},
        {"\"patchable\": false", "\"patchable\": \"false\"", "functions[1].patchable: not true or false"},
        {"\"name\": \"add1\", \"rva\"", "\"name\": 7, \"rva\"", "functions[0].name: not a string or null"},
        {"\"entry_bytes\": \"6690\"", "\"entry_bytes\": \"669\"", "functions[0].entry_bytes: not 2 bytes"},
        {"\"entry_bytes\": \"6690\"", "\"entry_bytes\": \"66x0\"", "functions[0].entry_bytes: not 2 bytes"},
        {"\"hash\": \"fnv1a64:8f91ad5aa14fd361\"", "\"hash\": \"fnv1a32:8f91ad5aa14fd361\"", "functions[0].hash:"},
        {"\"hash\": \"fnv1a64:8f91ad5aa14fd361\"", "\"hash\": \"fnv1a64:8f91ad5aa14fd36\"", "functions[0].hash:"},
        {"\"hash\": \"fnv1a64:8f91ad5aa14fd361\"", "\"hash\": \"fnv1a64:8f91ad5aa14fd36g\"", "functions[0].hash:"},
        {"\"hash_length\": 48", "\"hash_length\": true", "functions[0].hash_length:"},
        {"{ \"name\": \"add1\"", "7, { \"name\": \"add1\"", "functions[0]: not an object"},
        {"\"kind\": \"variable\"", "\"kind\": \"const\"", "symbols[1].kind: not \"function\" or \"variable\""},
        {"\"unit\": 1", "\"unit\": 2", "symbols[1].unit: no such unit (the map has 2)"},
        {"\"unit\": 1", "\"unit\": -1", "symbols[1].unit: not an index"},
        {"\"unit\": 1", "\"unit\": \"1\"", "symbols[1].unit: not an index"},
        {"\"unit\": 0, ", "", "symbols[0].unit: missing"},
        {"\"static\": true", "\"static\": \"yes\"", "symbols[1].static: not true or false"},
        {"\"name\": \"count\"", "\"name\": null", "symbols[1].name: not a string"},
        {"\"size\": 4 }", "\"size\": 4.0 }", "symbols[1].size: not an unsigned 32-bit integer"},
        {"\"src/app.c\"", "5", "units[0]: not a string"},
        {"\"units\": [", "\"units\": 5, \"x\": [", "units: not an array"},
        {"\"symbols\": [", "\"symbols\": {}, \"x\": [", "symbols: not an array"},
        {"\"units\":", "\"unitz\":", "units: missing"},
        {"\"functions\":", "\"function\":", "functions: missing"},
        {"\"image\": {", "\"image\": [], \"x\": {", "image: not an object"},
        {"\"image\":", "\"imago\":", "image: missing"},
        {"\"name\": \"app.dll\"", "\"name\": null", "image.name: not a string"},
        {"\"machine\": \"x64\",", "", "image.machine: missing"},
        {"\"format\": \"pe\"", "\"format\": \"coff\"", "image.format: not \"pe\" or \"elf\""},
        {"\"checksum\": 108648,", "", "image.checksum: missing"},
        {"\"size_of_image\": 131072", "\"size_of_image\": -131072", "image.size_of_image: not an unsigned"},
        {"\"codeview\": {", "\"codeview\": 5, \"x\": {", "image.codeview: not an object or null"},
        {"\"age\": 7", "\"age\": -7", "image.codeview.age: not an unsigned 32-bit integer"},
        {"\"guid\": \"", "\"guid\": 1, \"x\": \"", "image.codeview.guid: not a string"},
        {"\"format\": \"hotpatch-map\"", "\"format\": \"hotpatch-mop\"", "format: not \"hotpatch-map\""},
        {"\"format\": \"hotpatch-map\",", "", "format: missing"},
        {"\"version\": 2,", "", "version: missing"},
        {"\"version\": 2", "\"version\": \"2\"", "version: not an integer"},
        {"\"version\": 2", "\"version\": 2.0", "version: not an integer"},
        {"\"version\": 2", "\"version\": 2, \"version\": 2", "version: given twice"},
        {"\"rva\": 4096", "\"rva\": 4096, \"rva\": 4096", "functions[1].rva: given twice"},
    };
    expect_edits_fail(v2_map, cases, sizeof cases / sizeof cases[0]);
    expect_fail("[1, 2]", HP_ERR_FORMAT, "not a JSON object");
    expect_fail("\"hotpatch-map\"", HP_ERR_FORMAT, "not a JSON object");
}

/* The field message also says where: the value's line and column. */
Test(map, schema_error_position)
{
    char msg[256];
    hp_map *m = NULL;
    char *t = replace(v2_map, "\"checksum\": 108648", "\"checksum\": true");
    cr_expect_eq(hp_map_parse(t, strlen(t), &m, msg, sizeof msg), HP_ERR_FORMAT);
    cr_expect_str_eq(msg, "line 10, column 17: image.checksum: not an unsigned 32-bit integer");
    free(t);
}

Test(map, versions)
{
    static const char *const unknown[] = {"4", "0", "-2", "-0", "99999999999999999999999", "4294967297"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        char to[64];
        snprintf(to, sizeof to, "\"version\": %s", unknown[i]);
        expect_v2_fail("\"version\": 2", to, HP_ERR_MANIFEST_VERSION, "version:");
    }
    expect_v2_fail("\"version\": 2", "\"version\": 4", HP_ERR_MANIFEST_VERSION,
                   "version: 4 is not a version this reader knows (1, 2, 3)");
    /* the format is checked first: a version 4 of something else is not a map */
    char *t = replace(v2_map, "\"version\": 2", "\"version\": 4");
    char *u = replace(t, "\"hotpatch-map\"", "\"other\"");
    expect_fail(u, HP_ERR_FORMAT, "format:");
    free(u);
    /* a version 4 map may change everything else: only the version is judged */
    u = replace(t, "\"functions\":", "\"fns\":");
    expect_fail(u, HP_ERR_MANIFEST_VERSION, "version: 4");
    free(u);
    free(t);
    /* version 2's objects are not version 3's rows, nor the other way round */
    t = replace(v2_map, "\"version\": 2", "\"version\": 3");
    expect_fail(t, HP_ERR_FORMAT, "function_fields: missing");
    free(t);
    t = replace(v3_map, "\"version\": 3", "\"version\": 2");
    expect_fail(t, HP_ERR_FORMAT, "functions[0]: not an object");
    free(t);
}

Test(map, json_syntax_errors)
{
    static const struct {
        const char *text, *part;
    } cases[] = {
        {"", "line 1, column 1: unexpected end of text"},
        {"  \n ", "line 2, column 2: unexpected end of text"},
        {"{} x", "line 1, column 4: text after the JSON value"},
        {"{}{}", "line 1, column 3: text after the JSON value"},
        {"{}\n{}", "line 2, column 1: text after the JSON value"},
        {"{\"a\":1,}", "line 1, column 8: expected a member name"},
        {"[1,]", "line 1, column 4: expected a JSON value"},
        {"[1 2]", "line 1, column 4: expected ',' or ']'"},
        {"{\"a\":1 \"b\":2}", "line 1, column 8: expected ',' or '}'"},
        {"{\"a\" 1}", "line 1, column 6: expected ':'"},
        {"{'a':1}", "expected a member name"},
        {"{a:1}", "expected a member name"},
        {"{\n  \"format\": 01\n}", "line 2, column 13: a number with a leading zero"},
        {"[-01]", "leading zero"},
        {"[00]", "leading zero"},
        {"[1.]", "a digit must follow the decimal point"},
        {"[.5]", "expected a JSON value"},
        {"[1e]", "exponent"},
        {"[1e+]", "exponent"},
        {"[-]", "a digit must follow '-'"},
        {"[+1]", "expected a JSON value"},
        {"[0x10]", "expected ',' or ']'"},
        {"[NaN]", "expected a JSON value"},
        {"[Infinity]", "expected a JSON value"},
        {"[tru]", "expected a JSON value"},
        {"[True]", "expected a JSON value"},
        {"[nulll]", "expected ',' or ']'"},
        {"[\"a\\x\"]", "invalid escape"},
        {"[\"a\\U0041\"]", "invalid escape"},
        {"[\"\\u12\"]", "4 hex digits"},
        {"[\"\\u12g4\"]", "4 hex digits"},
        {"[\"\\ud800\"]", "high surrogate"},
        {"[\"\\ud800\\u0041\"]", "high surrogate"},
        {"[\"\\ud800\\ud800\"]", "high surrogate"},
        {"[\"\\udc00\"]", "low surrogate"},
        {"[\"a\tb\"]", "line 1, column 4: a control character (0x09) in a string"},
        {"[\"a\nb\"]", "control character (0x0A)"},
        {"[\"\xff\"]", "not valid UTF-8"},
        {"[\"\xc0\xaf\"]", "not valid UTF-8"},         /* overlong '/' */
        {"[\"\xe0\x80\xaf\"]", "not valid UTF-8"},     /* overlong */
        {"[\"\xed\xa0\x80\"]", "not valid UTF-8"},     /* an encoded surrogate */
        {"[\"\xf4\x90\x80\x80\"]", "not valid UTF-8"}, /* above U+10FFFF */
        {"[\"\xe2\x82\"]", "not valid UTF-8"},         /* cut short */
        {"[\"\xc3\xa9\" \xc3\xa9]", "line 1, column 6: expected ',' or ']', found 0xC3"},
        {"\xef\xbb\xbf{}", "expected a JSON value"}, /* a byte order mark */
        {"{\"a\":[1,{\"b\":2]}", "expected ',' or '}'"},
        {"[1]]", "text after the JSON value"},
        {"{\"a\":1", "unexpected end of text"},
        {"\"abc", "unexpected end of text in a string"},
        {"[\"abc\\", "unexpected end of text in a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_fail(cases[i].text, HP_ERR_FORMAT, cases[i].part);
    /* a NUL byte after the value is text after it; inside a string it is a control character */
    hp_map *m = NULL;
    char msg[256];
    cr_expect_eq(parse_n("{}\0", 3, &m, msg, sizeof msg), HP_ERR_FORMAT);
    cr_expect(strstr(msg, "text after the JSON value") != NULL, "%s", msg);
    cr_expect_eq(parse_n("[\"\0\"]", 5, &m, msg, sizeof msg), HP_ERR_FORMAT);
    cr_expect(strstr(msg, "control character (0x00)") != NULL, "%s", msg);
}

/* Every prefix of a valid map is refused cleanly (the copy has exactly the prefix's bytes). */
Test(map, truncated_at_every_length)
{
    const char *maps[] = {v1_map, v2_map};
    for (size_t k = 0; k < 2; k++) {
        size_t len = strlen(maps[k]);
        while (maps[k][len - 1] != '}')
            len--;
        for (size_t n = 0; n < len; n++) {
            char msg[256] = "";
            hp_map *sentinel = (hp_map *)msg, *m = sentinel;
            hp_status st = parse_n(maps[k], n, &m, msg, sizeof msg);
            cr_expect_eq(st, HP_ERR_FORMAT, "map %zu cut at %zu: status %d", k, n, (int)st);
            cr_expect_eq(m, sentinel);
            cr_expect(strncmp(msg, "line ", 5) == 0, "cut at %zu: %s", n, msg);
        }
        hp_map *m = NULL;
        cr_expect_eq(parse_n(maps[k], len, &m, NULL, 0), HP_OK);
        hp_map_free(m);
    }
}

/* `depth` nested arrays as the value of an unknown member of a valid map (itself at depth 1). */
static char *nested_map(size_t depth)
{
    char *t = malloc(strlen(v1_map) + 2 * depth + 32);
    cr_assert_not_null(t);
    size_t n = strlen(v1_map);
    memcpy(t, v1_map, n);
    while (t[n - 1] != '}')
        n--;
    n--; /* before the final '}' */
    n += (size_t)sprintf(t + n, ", \"deep\": ");
    memset(t + n, '[', depth);
    memset(t + n + depth, ']', depth);
    n += 2 * depth;
    strcpy(t + n, "}");
    return t;
}

Test(map, nesting_is_bounded_at_64)
{
    char *t = nested_map(63); /* 64 levels with the map's own object */
    hp_map *m = parse_ok(t);
    hp_map_free(m);
    free(t);
    t = nested_map(64); /* 65 */
    expect_fail(t, HP_ERR_FORMAT, "nested deeper than 64");
    free(t);
    /* a deep text far beyond the bound: refused at level 65, no recursion, no stack growth */
    size_t deep = 100000;
    t = malloc(deep);
    cr_assert_not_null(t);
    memset(t, '[', deep);
    char msg[256];
    cr_expect_eq(parse_n(t, deep, &m, msg, sizeof msg), HP_ERR_FORMAT);
    cr_expect_str_eq(msg, "line 1, column 65: arrays and objects nested deeper than 64");
    free(t);
}

Test(map, arguments_and_messages)
{
    hp_map *m = NULL;
    char msg[16];
    cr_expect_eq(hp_map_parse(NULL, 0, &m, NULL, 0), HP_ERR_ARGUMENT);
    cr_expect_eq(hp_map_parse("{}", 2, NULL, NULL, 0), HP_ERR_ARGUMENT);
    cr_expect_eq(hp_map_load(NULL, &m, NULL, 0), HP_ERR_ARGUMENT);
    cr_expect_eq(hp_map_parse("{} x", 4, &m, NULL, 0), HP_ERR_FORMAT, "no message buffer: fine");
    cr_expect_eq(hp_map_parse("{} x", 4, &m, msg, sizeof msg), HP_ERR_FORMAT);
    cr_expect_str_eq(msg, "line 1, colu...", "a cut message says so");
    hp_map_free(NULL);
}

static char dir[] = "/tmp/hp_test_map_XXXXXX";

static void make_dir(void)
{
    cr_assert(mkdtemp(dir) != NULL);
}

static void remove_dir(void)
{
    char p[256];
    snprintf(p, sizeof p, "%s/app.hpmap", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/bad.hpmap", dir);
    unlink(p);
    rmdir(dir);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(map, load, .init = make_dir, .fini = remove_dir)
{
    char path[256], msg[512];
    hp_map *m = NULL;
    snprintf(path, sizeof path, "%s/app.hpmap", dir);
    write_file(path, v2_map);
    cr_assert_eq(hp_map_load(path, &m, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect_str_eq(m->image_name, "app.dll");
    hp_map_free(m);

    snprintf(path, sizeof path, "%s/bad.hpmap", dir);
    write_file(path, "{\n  \"format\": \"hotpatch-map\",\n  \"version\": 9\n}\n");
    cr_expect_eq(hp_map_load(path, &m, msg, sizeof msg), HP_ERR_MANIFEST_VERSION);
    char want[512];
    snprintf(want, sizeof want, "%s: line 3, column 14: version: 9 is not a version this reader knows (1, 2, 3)", path);
    cr_expect_str_eq(msg, want);

    snprintf(path, sizeof path, "%s/missing.hpmap", dir);
    cr_expect_eq(hp_map_load(path, &m, msg, sizeof msg), HP_ERR_IO);
    cr_expect(strstr(msg, path) != NULL, "the message names the file: %s", msg);
    cr_expect_eq(hp_map_load(dir, &m, msg, sizeof msg), HP_ERR_IO, "a directory");
}

/* A map the size of a large image's: 60,000 functions and 60,000 symbols, both written out of
   order, read back and looked up (a wrong sort or search shows here). */
Test(map, large_map, .timeout = 120)
{
    enum { N = 60000 };
    size_t cap = (size_t)N * 400 + 4096, n = 0;
    char *t = malloc(cap);
    cr_assert_not_null(t);
    n += (size_t)sprintf(t + n, "{\"format\":\"hotpatch-map\",\"version\":3,\"image\":{\"name\":\"big.dll\","
                                "\"format\":\"pe\",\"machine\":\"x64\",\"time_date_stamp\":1,\"size_of_image\":2,"
                                "\"checksum\":3,\"codeview\":null,\"build_id\":null},\n\"function_fields\":[\"name\",\"rva\","
                                "\"padding\",\"site_offset\",\"entry_bytes\",\"hash_length\",\"fnv1a64\",\"table\","
                                "\"exported\",\"patchable\"],\n\"functions\":[");
    for (unsigned i = 0; i < N; i++) {
        unsigned k = (i * 7919u) % N; /* a permutation of 0..N-1 */
        n += (size_t)sprintf(t + n, "%s\n[\"fn_%u\",%u,16,0,\"6690\",64,\"%016x\",1,%u,1]", i ? "," : "", k,
                             4096 + 16 * k, k, k % 2);
    }
    n += (size_t)sprintf(t + n, "],\n\"units\":[\"a.c\",\"b.c\"],\n\"symbol_fields\":[\"name\",\"unit\","
                                "\"linkage\",\"kind\",\"rva\",\"size\"],\n\"symbols\":[");
    for (unsigned i = 0; i < N; i++) {
        unsigned k = (i * 7919u) % N;
        n += (size_t)sprintf(t + n, "%s\n[\"sym_%u\",%u,\"%s\",\"function\",%u,0]", i ? "," : "", k / 2, k % 2,
                             k % 2 ? "static" : "extern", 4096 + 16 * k);
    }
    n += (size_t)sprintf(t + n, "]}\n");
    cr_assert_lt(n, cap);
    hp_map *m = parse_ok(t);
    free(t);
    cr_assert_eq(m->function_count, (size_t)N);
    cr_assert_eq(m->symbol_count, (size_t)N);
    for (unsigned k = 0; k < N; k += 997) {
        const hp_map_function *f = hp_map_function_at(m, 4096 + 16 * k);
        cr_assert_not_null(f, "function %u", k);
        char name[32];
        snprintf(name, sizeof name, "fn_%u", k);
        cr_expect_str_eq(f->name, name);
        cr_expect_eq(f->hash, (uint64_t)k);
        snprintf(name, sizeof name, "sym_%u", k / 2);
        const hp_map_symbol *s = hp_map_find(m, (int32_t)(k % 2), name);
        cr_assert_not_null(s, "symbol %s in unit %u", name, k % 2);
        cr_expect_eq(s->rva, 4096 + 16 * k);
        /* sym_<k/2> exists in unit 0 (external) and unit 1 (static): -1 finds unit 0's */
        s = hp_map_find(m, -1, name);
        cr_assert_not_null(s);
        cr_expect_eq(s->unit, 0);
    }
    for (size_t i = 1; i < N; i++)
        cr_assert_lt(m->functions[i - 1].rva, m->functions[i].rva);
    hp_map_free(m);
}
