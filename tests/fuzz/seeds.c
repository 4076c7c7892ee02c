/*
 * seeds.c — `fuzz_seeds DIR`: writes the seed inputs of the targets whose
 * inputs are not files (DIR/<target>/...), at test time, from the fixtures
 * of the suites:
 *
 *   runtime_site    every case of the runtime's site table (tests/runtime/site_cases.c),
 *                   in the layout of fuzz_runtime_site.h
 *   link_rsp        the response-file texts of tests/lld-pass/test_rsp.c, both quotings
 *   link_cmdline    the command lines of tests/lld-pass/test_cmdline.c, some with a response file
 *   plugin_options  the options of tests/plugin/test_options.c
 *   audit_allow     exception files as audit/README.md describes them
 *   link_code       an .hpcode file as hotpatch-link writes it (with the fixtures' objects)
 *   tools_map       a version 1 map as hotpatch-link writes it, and version 2 maps as
 *                   lld-pass/README.md ("The map") describes them
 *   tools_sort      records in the layout of fuzz_tools_sort.c: the audit's lists as they come
 *                   (a long ordered run with stragglers after it and before it, runs appended,
 *                   unordered keys), 16- and 40-byte records
 *   runtime_manifest  checked manifests of two fragments (an entry, a SYMBOL and a PREVIOUS
 *                   slot each), with 8- and 4-byte pointers, in the layout of
 *                   fuzz_runtime_manifest.h
 *   audit_input,    an empty file; a BSD-style archive (`#1/len` member names), which no
 *   runtime_pe      fixture tool writes
 *
 * The file-input targets (audit_input, runtime_pe) are seeded with the audit's
 * fixture images, objects and archives and a sample of Wine's images by
 * tests/fuzz/corpus.cmake, which runs this program first.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_runtime_manifest.h"
#include "fuzz_runtime_site.h"
#include "hotpatch_fix.h"
#include "site_cases.h"

static const char *g_root;

static void put(const char *target, const char *name, const void *data, size_t size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", g_root, target);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", g_root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void site_seeds(void)
{
    for (unsigned i = 0; i < hpt_site_case_count; i++) {
        const hpt_site_case *c = &hpt_site_cases[i];
        unsigned char buf[HP_FUZZ_SITE_HEADER + sizeof c->bytes] = {0};
        buf[0] = (unsigned char)c->machine;
        buf[1] = (unsigned char)c->pad;
        buf[2] = c->entry;
        buf[4] = (unsigned char)c->body;
        buf[5] = (unsigned char)(c->body >> 8);
        for (int b = 0; b < 8; b++)
            buf[8 + b] = (unsigned char)(c->address >> (8 * b));
        memcpy(buf + HP_FUZZ_SITE_HEADER, c->bytes, c->len);
        put("runtime_site", c->name, buf, HP_FUZZ_SITE_HEADER + c->len);
    }
}

/* Strings joined with their NULs (fuzz_link_cmdline.c, fuzz_plugin_options.c). */
static size_t join(char *out, size_t cap, const char *const *parts, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t m = strlen(parts[i]) + 1;
        if (len + m > cap)
            exit(1);
        memcpy(out + len, parts[i], m);
        len += m;
    }
    return len;
}

static void rsp_seeds(void)
{
    static const char *const texts[] = {
        "-o 'a b.exe'  \"c\\\"d\" e\\ f\n\tg",
        "''",
        " \n\t",
        "/out:\"C:\\dir with space\\a.exe\" a\\\\\"b c\" x\\\"y C:\\p\\q.obj",
        "\"a\"\"b\"",
        "\xEF\xBB\xBF/dll \"a b.obj\"\r\n",
        "-m i386pep -o out.exe --hotpatch-pad=8 a.o -L /lib -lfoo --icf=all b.a @nested.rsp",
    };
    char buf[256], name[32];
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        for (int q = 0; q < 2; q++) {
            size_t n = strlen(texts[i]);
            buf[0] = (char)q; /* bit 0: 0 = GNU, 1 = Windows quoting */
            memcpy(buf + 1, texts[i], n);
            snprintf(name, sizeof name, "text%zu-%s", i, q ? "windows" : "gnu");
            put("link_rsp", name, buf, n + 1);
        }
}

static void cmdline_seeds(void)
{
    static const char *const gnu[] = {"hotpatch-link", "-m", "i386pep", "-o", "out.exe", "--hotpatch-pad=8", "a.o",
                                      "-L", "/lib", "-lfoo", "--icf=all", "b.a"};
    static const char *const msvc[] = {"hotpatch-link", "-out:x.dll", "/dll", "/tmp/a.obj", "/opt:ref,icf",
                                       "/nologo", "--hotpatch-exclude=init_*", "--hotpatch-map=x.map"};
    static const char *const byname[] = {"hotpatch-lld-link", "/dll", "dir/first.obj", "/opt:icf", "/opt:noicf"};
    static const char *const options[] = {"hotpatch-ld.lld", "-o", "a.exe", "a.o", "--hotpatch-pad=64",
                                          "--hotpatch-warn-only", "--hotpatch-verbose", "--hotpatch-map=none",
                                          "--hotpatch-flavor=mingw", "--lld=/usr/bin/ld.lld"};
    static const char *const version[] = {"hotpatch-link", "--version"};
    static const char *const help[] = {"hotpatch-link", "--help"};
    static const char *const rsp[] = {"hotpatch-lld-link", "@r", ""}; /* then the file's text */
    static const struct {
        const char *name;
        const char *const *argv;
        size_t argc;
        const char *file; /* text of the response file `r`, or NULL */
    } lines[] = {
        {"gnu", gnu, sizeof gnu / sizeof *gnu, NULL},
        {"msvc", msvc, sizeof msvc / sizeof *msvc, NULL},
        {"msvc-by-name", byname, sizeof byname / sizeof *byname, NULL},
        {"options", options, sizeof options / sizeof *options, NULL},
        {"version", version, 2, NULL},
        {"help", help, 2, NULL},
        {"rsp", rsp, 3, "/out:\"o u t.exe\" a.obj \"c d.obj\" b.obj"},
        {"rsp-nested", rsp, 3, "/dll a.obj @r"},
    };
    char buf[1024];
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        size_t n = join(buf, sizeof buf, lines[i].argv, lines[i].argc);
        if (lines[i].file) {
            size_t m = strlen(lines[i].file);
            memcpy(buf + n, lines[i].file, m);
            n += m;
        }
        put("link_cmdline", lines[i].name, buf, n);
    }
}

static void options_seeds(void)
{
    static const char *const all[] = {"pad=8", "pad=1", "pad=63", "pad=0064", "scope=exported", "scope=all",
                                      "exclude=init_*", "exclude=[a-c]?x*", "entry=widen", "entry=nop", "cet=on",
                                      "cet=auto", "cet=off", "table=off", "table=on", "noinline-exported",
                                      "verbose", "no-warn-naked", "no-warn-conflict", "no-warn-pad",
                                      "no-warn-skipped", "pad", "verbose=1", "unknown=2", "init_table"};
    char buf[1024];
    buf[0] = 64; /* message buffer size */
    size_t n = 1 + join(buf + 1, sizeof buf - 1, all, sizeof all / sizeof *all);
    put("plugin_options", "all", buf, n);
    buf[0] = 8; /* messages cut */
    put("plugin_options", "all-short-messages", buf, n);
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        char name[32];
        buf[0] = (char)128;
        n = 1 + join(buf + 1, sizeof buf - 1, &all[i], 1);
        memcpy(buf + n, "init_x", 6);
        snprintf(name, sizeof name, "option%zu", i);
        put("plugin_options", name, buf, n + 6);
    }
}

static void allow_seeds(void)
{
    static const char *const files[] = {
        "# reviewed exceptions\nplain_* written in assembly, checked by hand\n",
        "first reviewed: never patched\n  \t\n#x\nsecond\treviewed too\r\n[a-z]?* all of them\n",
        "no_reason\n",
        "*\tanything\n",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "allow%zu", i);
        put("audit_allow", name, files[i], strlen(files[i]));
    }
}

static void map_seeds(void)
{
    static const char v1[] =
        "{\n  \"format\": \"hotpatch-map\",\n  \"version\": 1,\n  \"image\": {\n    \"name\": \"a.dll\",\n"
        "    \"machine\": \"x86\",\n    \"time_date_stamp\": 1,\n    \"size_of_image\": 8192,\n"
        "    \"checksum\": 3,\n    \"codeview\": null\n  },\n  \"functions\": [\n"
        "    { \"name\": \"f\", \"rva\": 4112, \"padding\": 16, \"site_offset\": 0, \"entry_bytes\": \"8bff\", "
        "\"hash_length\": 16, \"hash\": \"fnv1a64:cbf29ce484222325\", \"table\": false, \"exported\": true, "
        "\"patchable\": true },\n"
        "    { \"name\": null, \"rva\": 4160, \"padding\": 5, \"site_offset\": 4, \"entry_bytes\": \"6690\", "
        "\"hash_length\": 16, \"hash\": \"fnv1a64:0000000000000001\", \"table\": true, \"exported\": false, "
        "\"patchable\": false }\n  ]\n}\n";
    static const char v2[] =
        "{\n  \"format\": \"hotpatch-map\",\n  \"version\": 2,\n  \"image\": {\n    \"name\": \"app.dll\",\n"
        "    \"format\": \"pe\",\n    \"machine\": \"x64\",\n    \"time_date_stamp\": 1795898831,\n"
        "    \"size_of_image\": 131072,\n    \"checksum\": 108648,\n"
        "    \"codeview\": { \"guid\": \"2957B36C-E989-73E0-4C4C-44205044422E\", \"age\": 1 },\n"
        "    \"build_id\": null\n  },\n  \"functions\": [\n"
        "    { \"name\": \"add1\", \"rva\": 5430, \"padding\": 21, \"site_offset\": 0, \"entry_bytes\": \"6690\", "
        "\"hash_length\": 48, \"hash\": \"fnv1a64:8f91ad5aa14fd361\", \"table\": true, \"exported\": true, "
        "\"patchable\": true }\n  ],\n  \"units\": [ \"src/app.c\", \"src/util/count.c\" ],\n  \"symbols\": [\n"
        "    { \"name\": \"add1\", \"unit\": 0, \"static\": false, \"kind\": \"function\", \"rva\": 5430, "
        "\"size\": 0 },\n"
        "    { \"name\": \"count\", \"unit\": 1, \"static\": true, \"kind\": \"variable\", \"rva\": 20496, "
        "\"size\": 4 }\n  ]\n}\n";
    /* ELF, escapes, a symbol without a unit, members a later version might add, out of order */
    static const char v2_elf[] =
        "{\"version\":2,\"format\":\"hotpatch-map\",\"image\":{\"name\":\"lib\\u00e9.so\",\"format\":\"elf\","
        "\"machine\":\"x64\",\"codeview\":null,\"build_id\":\"0123456789abcdef0123456789ABCDEF01234567\"},"
        "\"units\":[\"a\\/b.c\",\"\\ud83d\\ude00.c\"],\"symbols\":["
        "{\"name\":\"t\",\"unit\":1,\"static\":false,\"kind\":\"function\",\"rva\":32,\"size\":0},"
        "{\"name\":\"t\",\"unit\":0,\"static\":true,\"kind\":\"variable\",\"rva\":16,\"size\":8},"
        "{\"name\":\"q\\n\",\"unit\":null,\"static\":false,\"kind\":\"variable\",\"rva\":0,\"size\":4294967295}],"
        "\"functions\":[{\"name\":\"t\",\"rva\":32,\"padding\":64,\"site_offset\":0,\"entry_bytes\":\"F30F\","
        "\"hash_length\":65536,\"hash\":\"fnv1a64:FFFFFFFFFFFFFFFF\",\"table\":true,\"exported\":true,"
        "\"patchable\":true,\"later\":[{},[],-1.5e-3,true,null]}]}";
    /* version 3: rows of the named columns, as hotpatch-link writes them */
    static const char v3[] =
        "{\n  \"format\": \"hotpatch-map\",\n  \"version\": 3,\n  \"image\": {\n    \"name\": \"app.dll\",\n"
        "    \"format\": \"pe\",\n    \"machine\": \"x64\",\n    \"time_date_stamp\": 1795898831,\n"
        "    \"size_of_image\": 131072,\n    \"checksum\": 108648,\n"
        "    \"codeview\": { \"guid\": \"2957B36C-E989-73E0-4C4C-44205044422E\", \"age\": 1 },\n"
        "    \"build_id\": null\n  },\n"
        "  \"function_fields\": [\"name\", \"rva\", \"padding\", \"site_offset\", \"entry_bytes\", \"hash_length\", "
        "\"fnv1a64\", \"table\", \"exported\", \"patchable\"],\n  \"functions\": [\n"
        "    [\"add1\",5430,21,0,\"6690\",48,\"8f91ad5aa14fd361\",1,1,1],\n"
        "    [null,4096,6,4,\"8bff\",16,\"0000000000000001\",1,0,0]\n  ],\n"
        "  \"units\": [ \"src/app.c\", \"src/util/count.c\" ],\n"
        "  \"symbol_fields\": [\"name\", \"unit\", \"linkage\", \"kind\", \"rva\", \"size\"],\n  \"symbols\": [\n"
        "    [\"add1\",0,\"extern\",\"function\",5430,0],\n    [\"count\",1,\"static\",\"variable\",20496,4],\n"
        "    [\"q\",null,\"extern\",\"variable\",0,4294967295]\n  ]\n}\n";
    put("tools_map", "v1.hpmap", v1, sizeof v1 - 1);
    put("tools_map", "v3.hpmap", v3, sizeof v3 - 1);
    put("tools_map", "v2.hpmap", v2, sizeof v2 - 1);
    put("tools_map", "v2-elf.hpmap", v2_elf, sizeof v2_elf - 1);
    /* link_code: an .hpcode file as hotpatch-link writes it (objects come from the fixtures) */
    static const char code[] = "hotpatch-code 1\nimage x64 1796106741 114688 86223 svc.dll\n"
                               "unit 59c65c6e svc.c\nv s 4 e9474d87a60300c8 served\n"
                               "f e 19 cc59c13e538ce786 svc_clamped\nf s 31 4e1a3311dceef7bd svc_hits\n"
                               "unit 7f2417b2 sub dir/util.c\nf e 6 4b3ba737b545a88d util_plain\n";
    put("link_code", "svc.dll.hpcode", code, sizeof code - 1);
}

/* One fragment at `at` of `sec` (section addresses from FUZZ_MF_BASE): an entry and two slots, the
   strings after the records. Returns the offset after it. */
static size_t fragment(uint8_t *sec, size_t at, const char *name, uint32_t rva)
{
    size_t strings = at + sizeof(hp_fix_header) + sizeof(hp_fix_entry) + 2 * sizeof(hp_fix_slot);
    hp_fix_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, HP_FIX_MAGIC, HP_FIX_MAGIC_SIZE);
    h.version = HP_FIX_VERSION;
    h.size = (uint32_t)(strings - at);
    h.flags = HP_FIX_F_CHECKED;
    h.entry_count = 1;
    h.slot_count = 2;
    h.format = HP_FIX_FORMAT_PE;
    h.machine = 0x8664;
    h.time_date_stamp = 0x5f000000;
    h.size_of_image = 0x20000;
    h.checksum = 0x1234;
    uint64_t target = FUZZ_MF_BASE + strings, unit = target + 12, fname = unit + 8, vname = fname + 10;
    h.target_name.u = target;
    h.unit.u = unit;
    memcpy(sec + at, &h, sizeof h);
    hp_fix_entry e;
    memset(&e, 0, sizeof e);
    e.name.u = fname;
    e.replacement.u = FUZZ_MF_BASE + 0x40; /* any address of the region */
    e.target_rva = rva;
    e.hash_len = 16;
    e.hash = 0x0123456789abcdefull;
    memcpy(sec + at + sizeof h, &e, sizeof e);
    hp_fix_slot sl[2];
    memset(sl, 0, sizeof sl);
    sl[0].name.u = vname;
    sl[0].slot.u = FUZZ_MF_BASE + 0x48;
    sl[0].kind = HP_FIX_SLOT_SYMBOL;
    sl[0].target_rva = 0x3000;
    sl[0].size = 4;
    sl[1].name.u = fname;
    sl[1].slot.u = FUZZ_MF_BASE + 0x50;
    sl[1].kind = HP_FIX_SLOT_PREVIOUS;
    sl[1].target_rva = rva;
    memcpy(sec + at + sizeof h + sizeof e, sl, sizeof sl);
    memcpy(sec + strings, "service.dll", 12);
    memcpy(sec + strings + 12, "svc.c", 6);
    memcpy(sec + strings + 20, name, strlen(name) + 1);
    memcpy(sec + strings + 30, "svc.c:count", 12);
    return strings + 48;
}

static void manifest_seeds(void)
{
    uint8_t in[1 + 1024];
    memset(in, 0, sizeof in);
    uint8_t *sec = in + 1;
    size_t end = fragment(sec, 0, "svc_quote", 0x1000);
    end = (end + 7) / 8 * 8 + 8; /* a run of zeros between fragments, as the linker's fill */
    end = fragment(sec, end, "svc_tax", 0x1100);
    in[0] = 0; /* 8-byte pointers */
    put("runtime_manifest", "two-fragments-64", in, 1 + end);
    in[0] = 1; /* 4-byte pointers: the same addresses fit */
    put("runtime_manifest", "two-fragments-32", in, 1 + end);
    put("runtime_manifest", "one-fragment", in, 1 + fragment(sec, 0, "svc_quote", 0x1000));
}

static void file_seeds(void)
{
    /* "!<arch>\n", then one member header (name[16] date[12] uid[6] gid[6] mode[8] size[10] "`\n")
       whose name "#1/8" says the first 8 bytes of its 12 are the name */
    static const char bsd[] = "!<arch>\n"
                              "#1/8            0           0     0     644     12        `\n"
                              "member.o\x4c\x01\x00\x00";
    put("audit_input", "empty", "", 0);
    put("runtime_pe", "empty", "", 0);
    put("audit_input", "bsd-archive.a", bsd, sizeof bsd - 1);
}

/* tools_sort: header (record size index, key offset, key mode) then the records, whose keys
   fuzz_tools_sort.c reads as given (mode 0) or as runs (mode 1: top bit = a new run at the low 16 bits,
   else + the low 8 bits). */
static void sort_seed(const char *name, uint8_t size_index, uint8_t record_size, uint8_t mode,
                      const uint32_t *keys, size_t n)
{
    uint8_t buf[3 + 64 * 40];
    if (n > 64)
        return;
    buf[0] = size_index;
    buf[1] = 0; /* the key first */
    buf[2] = mode;
    for (size_t i = 0; i < n; i++) {
        uint8_t *r = buf + 3 + i * record_size;
        for (size_t b = 0; b < record_size; b++)
            r[b] = (uint8_t)(i * 7 + b); /* every record different: a reorder shows */
        memcpy(r, &keys[i], 4);
    }
    put("tools_sort", name, buf, 3 + n * record_size);
}

static void sort_seeds(void)
{
    uint32_t k[64];
    /* a long run (+1 each, some ties) and three stragglers after it, as runs: mode 1 */
    for (size_t i = 0; i < 64; i++)
        k[i] = i % 5 == 0 ? 0 : 1;
    k[0] = 0x80000000u | 100;
    k[61] = 0x80000000u | 3;
    k[62] = 0;
    k[63] = 2;
    sort_seed("stragglers-after", 4, 16, 1, k, 64); /* 16-byte records */
    /* three records, then a long run: the stragglers before it */
    k[0] = 0x80000000u | 50;
    k[1] = 30;
    k[2] = 40;
    k[3] = 0x80000000u | 0;
    for (size_t i = 4; i < 64; i++)
        k[i] = 3;
    sort_seed("stragglers-before", 7, 40, 1, k, 64); /* 40-byte records (the audit's exports) */
    /* eight runs of eight appended */
    for (size_t i = 0; i < 64; i++)
        k[i] = i % 8 == 0 ? 0x80000000u | (uint32_t)(i % 3) : 2;
    sort_seed("runs", 4, 16, 1, k, 64);
    /* unordered keys across all four bytes: the radix path */
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < 64; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        k[i] = x;
    }
    sort_seed("unordered", 7, 40, 0, k, 64);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds DIR\n");
        return 2;
    }
    g_root = argv[1];
    if (mkdir(g_root, 0777) != 0 && errno != EEXIST) {
        perror(g_root);
        return 1;
    }
    site_seeds();
    rsp_seeds();
    cmdline_seeds();
    options_seeds();
    allow_seeds();
    map_seeds();
    sort_seeds();
    manifest_seeds();
    file_seeds();
    return 0;
}
