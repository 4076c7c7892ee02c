/*
 * test_manifest.c — hotpatch-manifest as a user meets it, on files built at test time:
 *   - map: ELF executables and shared objects (x86-64, i386; lld and the system linker), checked against
 *     llvm-objdump's symbol table, llvm-readelf's build id and the file's own bytes;
 *   - fill: a MinGW fix DLL and ELF fix shared objects whose manifests are written by hand in C
 *     (fixtures/fix_module.c) with zero identity and hash, against targets built from fixtures/fix_target.c;
 *     the completed fields are compared with the target's values read here, independently of lld-pass/;
 *   - show, and the command line.
 * Every failing fill must leave the fix byte-identical.
 */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hotpatch.h"
#include "hotpatch_fix.h"
#include "hp_link_manifest.h"
#include "lpt.h"
#include "lpt_json.h"

/* ------------------------------------------------------------------------- */
/* Helpers                                                                    */
/* ------------------------------------------------------------------------- */

/* hotpatch-manifest with argv[1..] = args; returns its exit status. */
static int run_tool(const char *const args[], hpt_proc *out)
{
    const char *a[32];
    size_t n = 0;
    a[n++] = LPT_MANIFEST;
    for (size_t i = 0; args[i] && n < 31; i++)
        a[n++] = args[i];
    a[n] = NULL;
    cr_assert_eq(hpt_run(a, NULL, 300, out), 0, "cannot start %s", LPT_MANIFEST);
    return out->status;
}

static void cc_ok(const char *triple, const char *const args[])
{
    hpt_proc p;
    int st = hpt_cc(triple, args, &p);
    cr_assert_eq(st, 0, "clang for %s failed:\n%s", triple, p.err);
    hpt_proc_free(&p);
}

static void copy_file(const char *from, const char *to)
{
    size_t size = 0;
    unsigned char *d = hpt_read_file(from, &size);
    cr_assert_not_null(d, "cannot read %s", from);
    FILE *f = fopen(to, "wb");
    cr_assert_not_null(f, "cannot create %s", to);
    cr_assert_eq(fwrite(d, 1, size, f), size);
    cr_assert_eq(fclose(f), 0);
    free(d);
}

/* Overwrite `n` bytes at `off` of a file. */
static void patch_file(const char *path, size_t off, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, (long)off, SEEK_SET), 0);
    cr_assert_eq(fwrite(bytes, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const unsigned char *p)
{
    return rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/* The file offset of the (only) manifest fragment: its magic is nowhere else in the fixtures. */
static size_t manifest_offset(const char *path)
{
    size_t size = 0;
    unsigned char *d = hpt_read_file(path, &size);
    cr_assert_not_null(d);
    unsigned char *m = memmem(d, size, HP_FIX_MAGIC, HP_FIX_MAGIC_SIZE);
    cr_assert_not_null(m, "%s has no manifest", path);
    size_t off = (size_t)(m - d);
    cr_assert_null(memmem(m + 1, size - off - 1, HP_FIX_MAGIC, HP_FIX_MAGIC_SIZE), "two manifests in %s", path);
    free(d);
    return off;
}

/* The manifest of the fixture (one fragment, one entry, two slots) as the file holds it. */
typedef struct fixture_manifest {
    hp_fix_header h;
    hp_fix_entry e;
    hp_fix_slot s[2];
} fixture_manifest;

static void read_manifest(const char *path, fixture_manifest *out)
{
    size_t size = 0, off = manifest_offset(path);
    unsigned char *d = hpt_read_file(path, &size);
    cr_assert_leq(off + sizeof *out, size);
    memcpy(out, d + off, sizeof *out); /* little-endian host, the layout of hotpatch_fix.h */
    free(d);
}

/* The PE checksum (MapFileAndCheckSum's algorithm), written here for the test. */
static uint32_t pe_checksum(const unsigned char *d, size_t size, size_t field)
{
    uint64_t sum = 0;
    for (size_t i = 0; i + 1 < size; i += 2)
        if (i != field && i != field + 2)
            sum += (uint32_t)d[i] | ((uint32_t)d[i + 1] << 8);
    if (size & 1)
        sum += d[size - 1];
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint32_t)sum + (uint32_t)size;
}

/* ---- ELF, read here: the program headers, llvm-objdump's symbols, llvm-readelf's build id ---- */

typedef struct telf {
    unsigned char *data;
    size_t size;
    int is64;
    uint64_t base;
    struct {
        uint64_t vaddr, off, filesz;
    } load[16];
    size_t nload;
} telf;

static void telf_open(telf *e, const char *path)
{
    memset(e, 0, sizeof *e);
    e->data = hpt_read_file(path, &e->size);
    cr_assert(e->data && e->size > 64 && memcmp(e->data, "\177ELF", 4) == 0, "%s is not ELF", path);
    e->is64 = e->data[4] == 2;
    uint64_t phoff = e->is64 ? rd64(e->data + 32) : rd32(e->data + 28);
    unsigned phentsize = e->data[e->is64 ? 54 : 42] | (e->data[e->is64 ? 55 : 43] << 8);
    unsigned phnum = e->data[e->is64 ? 56 : 44] | (e->data[e->is64 ? 57 : 45] << 8);
    uint64_t low = UINT64_MAX;
    for (unsigned i = 0; i < phnum; i++) {
        const unsigned char *p = e->data + phoff + (uint64_t)i * phentsize;
        cr_assert_leq(phoff + (uint64_t)(i + 1) * phentsize, e->size);
        if (rd32(p) != 1)
            continue; /* PT_LOAD only */
        cr_assert_lt(e->nload, 16);
        if (e->is64) {
            e->load[e->nload].off = rd64(p + 8);
            e->load[e->nload].vaddr = rd64(p + 16);
            e->load[e->nload].filesz = rd64(p + 32);
        } else {
            e->load[e->nload].off = rd32(p + 4);
            e->load[e->nload].vaddr = rd32(p + 8);
            e->load[e->nload].filesz = rd32(p + 16);
        }
        if (e->load[e->nload].vaddr < low)
            low = e->load[e->nload].vaddr;
        e->nload++;
    }
    e->base = low & ~(uint64_t)0xFFF;
}

static const unsigned char *telf_bytes(const telf *e, uint64_t vaddr, size_t len)
{
    for (size_t i = 0; i < e->nload; i++)
        if (vaddr >= e->load[i].vaddr && vaddr + len <= e->load[i].vaddr + e->load[i].filesz)
            return e->data + e->load[i].off + (vaddr - e->load[i].vaddr);
    cr_assert_fail("0x%" PRIx64 " is not in the file", vaddr);
    return NULL;
}

static void telf_close(telf *e)
{
    free(e->data);
}

static const char *llvm_tool(const char *name)
{
    /* next to llvm-objdump: /usr/bin/llvm-objdump-19 -> /usr/bin/llvm-readelf-19 */
    static char buf[4096];
    const char *o = HPT_LLVM_OBJDUMP;
    const char *at = strstr(o, "objdump");
    cr_assert_not_null(at);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - o), o, name, at + 7);
    return buf;
}

typedef struct tsym {
    uint64_t value, size;
    int global;
} tsym;

/* The symbol `name` of llvm-objdump -t, the one after the file symbol `unit` when unit is not NULL. */
static int objdump_symbol(const char *path, const char *unit, const char *name, tsym *out)
{
    hpt_proc p;
    cr_assert_eq(hpt_run((const char *[]){HPT_LLVM_OBJDUMP, "-t", path, NULL}, NULL, 120, &p), 0);
    cr_assert_eq(p.status, 0, "%s", p.err);
    int found = 0;
    char file[256] = "";
    for (char *line = p.out; line && *line && !found;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        char *end;
        unsigned long long value = strtoull(line, &end, 16);
        char *tab = strchr(line, '\t');
        if (end != line && *end == ' ' && tab && strlen(end) > 8) {
            const char *flags = end + 1; /* 7 flag columns */
            char *rest;
            unsigned long long size = strtoull(tab + 1, &rest, 16);
            while (*rest == ' ')
                rest++;
            if (strncmp(rest, ".hidden ", 8) == 0)
                rest += 8;
            if (flags[6] == 'f')
                snprintf(file, sizeof file, "%s", rest);
            else if (strcmp(rest, name) == 0 && (!unit || strcmp(file, unit) == 0) &&
                     strncmp(tab - 5, "*UND*", 5) != 0) {
                out->value = value;
                out->size = size;
                out->global = flags[0] == 'g';
                found = 1;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    hpt_proc_free(&p);
    return found;
}

/* llvm-readelf's "Build ID:" in hex. */
static void readelf_build_id(const char *path, char *out, size_t size)
{
    hpt_proc p;
    cr_assert_eq(hpt_run((const char *[]){llvm_tool("readelf"), "-n", path, NULL}, NULL, 120, &p), 0);
    const char *b = strstr(p.out, "Build ID: ");
    cr_assert_not_null(b, "no build id in %s:\n%s", path, p.out);
    b += 10;
    size_t n = strspn(b, "0123456789abcdef");
    cr_assert_lt(n, size);
    memcpy(out, b, n);
    out[n] = 0;
    hpt_proc_free(&p);
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * n] = 0;
}

/* ---- the map, parsed ---- */

static int64_t jnum(const lj *o, const char *key)
{
    const lj *v = lj_get(o, key);
    cr_assert(v && v->type == LJ_NUM, "'%s' is not a number", key);
    return v->num;
}

static const char *jstr(const lj *o, const char *key)
{
    const lj *v = lj_get(o, key);
    cr_assert(v && v->type == LJ_STR, "'%s' is not a string", key);
    return v->str;
}

static int jbool(const lj *o, const char *key)
{
    const lj *v = lj_get(o, key);
    cr_assert(v && v->type == LJ_BOOL, "'%s' is not a boolean", key);
    return v->boolean;
}

/* Column `key` of a row of the map's "functions" or "symbols": where the map's own list of columns
   ("function_fields", "symbol_fields") puts it. */
static const lj *fcol(const lj *map, const lj *row, const char *key)
{
    const lj *v = lj_col(map, "function_fields", row, key);
    cr_assert_not_null(v, "no column '%s' in a row of \"functions\"", key);
    return v;
}

static const lj *scol(const lj *map, const lj *row, const char *key)
{
    const lj *v = lj_col(map, "symbol_fields", row, key);
    cr_assert_not_null(v, "no column '%s' in a row of \"symbols\"", key);
    return v;
}

static int64_t vnum(const lj *v)
{
    cr_assert(v->type == LJ_NUM, "not a number");
    return v->num;
}

static const char *vstr(const lj *v)
{
    cr_assert(v->type == LJ_STR, "not a string");
    return v->str;
}

/* a yes/no column: 0 or 1 */
static int vflag(const lj *v)
{
    cr_assert(v->type == LJ_NUM && (v->num == 0 || v->num == 1), "not 0 or 1");
    return (int)v->num;
}

/* The unit of a symbol's row: its index, or -1 for null. */
static int64_t junit(const lj *map, const lj *row)
{
    const lj *v = scol(map, row, "unit");
    cr_assert(v->type == LJ_NULL || v->type == LJ_NUM);
    return v->type == LJ_NULL ? -1 : v->num;
}

static lj *load_json(const char *path)
{
    size_t size = 0;
    char *text = (char *)hpt_read_file(path, &size);
    cr_assert_not_null(text, "no %s", path);
    lj *m = lj_parse(text, size);
    cr_assert_not_null(m, "%s is not JSON:\n%s", path, text);
    free(text);
    return m;
}

static int64_t unit_index(const lj *map, const char *name)
{
    const lj *u = lj_get(map, "units");
    cr_assert(u && u->type == LJ_ARR);
    for (size_t i = 0; i < u->count; i++)
        if (strcmp(lj_at(u, i)->str, name) == 0)
            return (int64_t)i;
    return -1;
}

static const lj *find_symbol(const lj *map, const char *name, int64_t unit)
{
    const lj *s = lj_get(map, "symbols");
    for (size_t i = 0; i < s->count; i++) {
        const lj *o = lj_at(s, i);
        if (strcmp(vstr(scol(map, o, "name")), name) == 0 && junit(map, o) == unit)
            return o;
    }
    return NULL;
}

static const lj *find_function(const lj *map, const char *name)
{
    const lj *f = lj_get(map, "functions");
    for (size_t i = 0; i < f->count; i++) {
        const lj *o = lj_at(f, i);
        const lj *n = fcol(map, o, "name");
        if (n->type == LJ_STR && strcmp(n->str, name) == 0)
            return o;
    }
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* map                                                                        */
/* ------------------------------------------------------------------------- */

typedef struct elf_case {
    const char *dir;    /* scratch directory */
    const char *triple; /* x86_64-linux-gnu or i386-linux-gnu */
    int shared;         /* a shared object, else an executable */
    int lld;            /* -fuse-ld=lld, else the system linker */
    int plugin;         /* compiled with hotpatch-plugin.so and -fcf-protection=branch */
} elf_case;

/* Static `count` of `unit`: a variable of 4 bytes at the address llvm-objdump gives for that unit. */
static void expect_static(const lj *map, const char *image, const telf *e, const char *unit, const char *name,
                          int function, uint64_t size)
{
    int64_t u = unit_index(map, unit);
    cr_assert_geq(u, 0, "unit %s missing", unit);
    const lj *s = find_symbol(map, name, u);
    cr_assert_not_null(s, "%s of %s missing", name, unit);
    tsym t;
    cr_assert(objdump_symbol(image, unit, name, &t), "llvm-objdump has no %s in %s", name, unit);
    cr_expect_str_eq(vstr(scol(map, s, "linkage")), "static", "%s:%s is static", unit, name);
    cr_expect_str_eq(vstr(scol(map, s, "kind")), function ? "function" : "variable");
    cr_expect_eq((uint64_t)vnum(scol(map, s, "rva")), t.value - e->base, "%s:%s rva", unit, name);
    cr_expect_eq((uint64_t)vnum(scol(map, s, "size")), size, "%s:%s size", unit, name);
}

static void expect_global(const lj *map, const char *image, const telf *e, const char *name, int function,
                          uint64_t size)
{
    const lj *s = find_symbol(map, name, -1);
    cr_assert_not_null(s, "%s missing (unit null)", name);
    tsym t;
    cr_assert(objdump_symbol(image, NULL, name, &t), "llvm-objdump has no %s", name);
    cr_expect_str_eq(vstr(scol(map, s, "linkage")), "extern", "%s is not static", name);
    cr_expect_str_eq(vstr(scol(map, s, "kind")), function ? "function" : "variable");
    cr_expect_eq((uint64_t)vnum(scol(map, s, "rva")), t.value - e->base, "%s rva", name);
    cr_expect_eq((uint64_t)vnum(scol(map, s, "size")), size, "%s size", name);
}

/* A function of "functions" against the bytes of the file and llvm-objdump's value and size. */
static void expect_function(const lj *map, const char *image, const telf *e, const char *unit, const char *name,
                            int exported, const elf_case *c)
{
    const lj *f = find_function(map, name);
    cr_assert_not_null(f, "function %s missing", name);
    tsym t;
    cr_assert(objdump_symbol(image, unit, name, &t));
    cr_expect_eq((uint64_t)vnum(fcol(map, f, "rva")), t.value - e->base, "%s rva", name);
    uint64_t hl = t.size < 65536 ? t.size : 65536;
    cr_expect_eq((uint64_t)vnum(fcol(map, f, "hash_length")), hl, "%s hash_length", name);
    const unsigned char *p = telf_bytes(e, t.value, (size_t)hl);
    char want[32];
    snprintf(want, sizeof want, "%016" PRIx64, hp_fix_hash(p, (size_t)hl));
    cr_expect_str_eq(vstr(fcol(map, f, "fnv1a64")), want, "%s hash", name);
    cr_expect_eq(vflag(fcol(map, f, "exported")), exported, "%s exported", name);
    cr_expect(!vflag(fcol(map, f, "table")));
    int64_t pad = vnum(fcol(map, f, "padding"));
    cr_expect(pad >= 0 && pad <= 64);
    for (int64_t k = 1; k <= pad; k++) {
        unsigned char b = p[-k];
        cr_expect(b == 0xCC || b == 0x90 || b == 0x00, "%s: padding byte -%lld is 0x%02x", name, (long long)k, b);
    }
    int endbr = p[0] == 0xF3 && p[1] == 0x0F && p[2] == 0x1E && (p[3] == 0xFA || p[3] == 0xFB);
    cr_expect_eq(vnum(fcol(map, f, "site_offset")), endbr ? 4 : 0, "%s site_offset", name);
    char entry[8];
    snprintf(entry, sizeof entry, "%02x%02x", p[endbr ? 4 : 0], p[endbr ? 5 : 1]);
    cr_expect_str_eq(vstr(fcol(map, f, "entry_bytes")), entry, "%s entry_bytes", name);
    if (c->plugin) {
        cr_expect(endbr, "%s: -fcf-protection=branch starts it with endbr", name);
        cr_expect_str_eq(entry, "6690", "%s: the plugin's 2-byte NOP", name);
        cr_expect(vflag(fcol(map, f, "patchable")), "%s is patchable with the plugin", name);
        cr_expect_geq(pad, e->is64 ? 6 : 5, "%s: the plugin's padding", name);
    }
}

static void elf_map_case(const elf_case *c)
{
    const char *d = hpt_scratch(c->dir);
    static char plugin[4200];
    snprintf(plugin, sizeof plugin, "-fplugin=%s", LPT_PLUGIN);
    const char *srcs[] = {"elf_unit_a.c", "elf_unit_b.c", "elf_main.c"};
    const char *objs[3];
    char objbuf[3][4200];
    size_t nsrc = c->shared ? 2 : 3;
    for (size_t i = 0; i < nsrc; i++) {
        snprintf(objbuf[i], sizeof objbuf[i], "%s/%zu.o", d, i);
        objs[i] = objbuf[i];
        const char *args[16] = {"-c", "-O1", "-fPIC", lpt_fixture(srcs[i]), "-o", objs[i]};
        size_t n = 6;
        if (c->plugin) {
            args[n++] = plugin;
            args[n++] = "-fcf-protection=branch";
        }
        args[n] = NULL;
        cc_ok(c->triple, args);
    }
    const char *image = lpt_path(d, c->shared ? "libunits.so" : "units");
    const char *args[16];
    size_t n = 0;
    for (size_t i = 0; i < nsrc; i++)
        args[n++] = objs[i];
    if (c->shared)
        args[n++] = "-shared";
    if (c->lld)
        args[n++] = "-fuse-ld=lld";
    args[n++] = "-Wl,--build-id";
    args[n++] = "-o";
    args[n++] = image;
    args[n] = NULL;
    cc_ok(c->triple, args);

    hpt_proc p;
    cr_assert_eq(run_tool((const char *[]){"map", image, "--source-root", LPT_FIXTURES, NULL}, &p), 0, "%s", p.err);
    cr_expect_str_eq(p.err, "");
    hpt_proc_free(&p);
    char mpath[4200];
    snprintf(mpath, sizeof mpath, "%s.hpmap", image);
    lj *map = load_json(mpath);
    telf e;
    telf_open(&e, image);

    cr_expect_eq(jnum(map, "version"), 3);
    const lj *img = lj_get(map, "image");
    cr_expect_str_eq(jstr(img, "name"), c->shared ? "libunits.so" : "units");
    cr_expect_str_eq(jstr(img, "format"), "elf");
    cr_expect_str_eq(jstr(img, "machine"), e.is64 ? "x64" : "x86");
    char id[80];
    readelf_build_id(image, id, sizeof id);
    cr_expect_str_eq(jstr(img, "build_id"), id);
    cr_expect(lj_get(img, "codeview") && lj_get(img, "codeview")->type == LJ_NULL);

    /* units: the compilers record the base names; both units, once each */
    int64_t ua = unit_index(map, "elf_unit_a.c"), ub = unit_index(map, "elf_unit_b.c");
    cr_expect(ua >= 0 && ub >= 0 && ua != ub, "units: %lld %lld", (long long)ua, (long long)ub);

    /* two `static int count`, one per unit; the static functions; the globals without a unit */
    expect_static(map, image, &e, "elf_unit_a.c", "count", 0, 4);
    expect_static(map, image, &e, "elf_unit_b.c", "count", 0, 4);
    expect_static(map, image, &e, "elf_unit_a.c", "bump", 1, 0);
    expect_static(map, image, &e, "elf_unit_b.c", "twice", 1, 0);
    expect_global(map, image, &e, "shared_total", 0, 4);
    expect_global(map, image, &e, "big_table", 0, 40 * sizeof(int));
    expect_global(map, image, &e, "unit_a_step", 1, 0);
    expect_global(map, image, &e, "unit_b_step", 1, 0);

    expect_function(map, image, &e, NULL, "unit_a_step", c->shared, c);
    expect_function(map, image, &e, NULL, "unit_b_step", c->shared, c);
    expect_function(map, image, &e, "elf_unit_a.c", "bump", 0, c);
    expect_function(map, image, &e, "elf_unit_b.c", "twice", 0, c);

    /* functions by RVA; symbols by name, then unit (null first) */
    const lj *f = lj_get(map, "functions"), *s = lj_get(map, "symbols");
    for (size_t i = 1; i < f->count; i++)
        cr_expect_lt(vnum(fcol(map, lj_at(f, i - 1), "rva")), vnum(fcol(map, lj_at(f, i), "rva")), "functions %zu, %zu",
                     i - 1, i);
    for (size_t i = 1; i < s->count; i++) {
        int cmp = strcmp(vstr(scol(map, lj_at(s, i - 1), "name")), vstr(scol(map, lj_at(s, i), "name")));
        cr_expect(cmp < 0 || (cmp == 0 && junit(map, lj_at(s, i - 1)) <= junit(map, lj_at(s, i))), "symbols %zu, %zu",
                  i - 1, i);
    }
    telf_close(&e);
    lj_free(map);
}

Test(manifest_map, x64_shared_object_with_the_plugin_and_lld)
{
    elf_map_case(&(elf_case){"manifest_map_x64_so", "x86_64-linux-gnu", 1, 1, 1});
}

Test(manifest_map, x64_executable_with_the_system_linker)
{
    elf_map_case(&(elf_case){"manifest_map_x64_exe", "x86_64-linux-gnu", 0, 0, 0});
}

Test(manifest_map, i386_executable)
{
    elf_map_case(&(elf_case){"manifest_map_i386_exe", "i386-linux-gnu", 0, 0, 0});
}

Test(manifest_map, i386_shared_object_with_the_plugin_and_lld)
{
    elf_map_case(&(elf_case){"manifest_map_i386_so", "i386-linux-gnu", 1, 1, 1});
}

Test(manifest_map, output_path_and_refusals)
{
    const char *d = hpt_scratch("manifest_map_refusals");
    const char *dll = lpt_path(d, "t.dll"), *so = lpt_path(d, "libt.so");
    cc_ok("x86_64-w64-mingw32", (const char *[]){"-O1", "-shared", lpt_fixture("fix_target.c"), "-o", dll, NULL});
    cc_ok("x86_64-linux-gnu", (const char *[]){"-O1", "-fPIC", "-shared", "-Wl,--build-id=none",
                                               lpt_fixture("fix_target.c"), "-o", so, NULL});
    hpt_proc p;
    /* a PE image: hotpatch-link writes those maps */
    cr_expect_eq(run_tool((const char *[]){"map", dll, NULL}, &p), 2);
    cr_expect(strstr(p.err, "hotpatch-manifest: error: ") == p.err && strstr(p.err, dll) &&
                  strstr(p.err, "PE maps are written by hotpatch-link"),
              "%s", p.err);
    hpt_proc_free(&p);
    /* -o */
    const char *out = lpt_path(d, "elsewhere.json");
    cr_expect_eq(run_tool((const char *[]){"map", so, "-o", out, NULL}, &p), 0, "%s", p.err);
    hpt_proc_free(&p);
    lj *m = load_json(out);
    cr_expect_str_eq(jstr(lj_get(m, "image"), "name"), "libt.so");
    cr_expect(lj_get(m, "image") && lj_get(lj_get(m, "image"), "build_id")->type == LJ_NULL, "linked without an id");
    lj_free(m);
    /* not ELF, truncated, program headers outside the file, an object file */
    const char *txt = lpt_path(d, "notes.txt");
    FILE *f = fopen(txt, "w");
    cr_assert_not_null(f);
    fputs("hello\n", f);
    fclose(f);
    cr_expect_eq(run_tool((const char *[]){"map", txt, "-o", out, NULL}, &p), 2);
    cr_expect(strstr(p.err, "not an ELF file"), "%s", p.err);
    hpt_proc_free(&p);
    const char *cut = lpt_path(d, "cut.so");
    size_t size = 0;
    unsigned char *data = hpt_read_file(so, &size);
    cr_assert_not_null(data);
    f = fopen(cut, "wb");
    fwrite(data, 1, 40, f);
    fclose(f);
    cr_expect_eq(run_tool((const char *[]){"map", cut, "-o", out, NULL}, &p), 2);
    cr_expect(strstr(p.err, "truncated ELF header"), "%s", p.err);
    hpt_proc_free(&p);
    const char *bad = lpt_path(d, "badph.so");
    copy_file(so, bad);
    const uint8_t far[8] = {0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
    patch_file(bad, 32, far, 8); /* e_phoff */
    cr_expect_eq(run_tool((const char *[]){"map", bad, "-o", out, NULL}, &p), 2);
    cr_expect(strstr(p.err, "program headers lie outside the file"), "%s", p.err);
    hpt_proc_free(&p);
    const char *obj = lpt_path(d, "t.o");
    cc_ok("x86_64-linux-gnu", (const char *[]){"-c", lpt_fixture("fix_target.c"), "-o", obj, NULL});
    cr_expect_eq(run_tool((const char *[]){"map", obj, "-o", out, NULL}, &p), 2);
    cr_expect(strstr(p.err, "relocatable object"), "%s", p.err);
    hpt_proc_free(&p);
    free(data);
}

Test(manifest_map, paths_relative_to_the_source_root)
{
    const struct {
        const char *path, *root, *want;
    } cases[] = {
        {"/src/proj/app/a.c", "/src/proj", "app/a.c"},
        {"/src/proj/./app//b/../a.c", "/src/proj/", "app/a.c"},
        {"/src/project/a.c", "/src/proj", "/src/project/a.c"},
        {"/src/proj", "/src/proj", "."},
        {"/a.c", "/", "a.c"},
        {"a.c", "/src", "a.c"},
        {"./x/../../y.c", NULL, "../y.c"},
        {"/../a.c", NULL, "/a.c"},
        {"", NULL, "."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *r = hp_link_path_relative(cases[i].path, cases[i].root);
        cr_assert_not_null(r);
        cr_expect_str_eq(r, cases[i].want, "'%s' under '%s'", cases[i].path, cases[i].root ? cases[i].root : "");
        free(r);
    }
}

/* ------------------------------------------------------------------------- */
/* fill                                                                       */
/* ------------------------------------------------------------------------- */

typedef struct fix_case {
    const char *scratch;
    const char *triple;
    int pe;
    const char *target_name; /* file name of the target */
} fix_case;

typedef struct built {
    char target[4400], target2[4400], fix[4400], fix0[4400];
    uint32_t rva_quote, rva_var;
} built;

static void build_target(const fix_case *c, const char *out, int changed)
{
    const char *args[16];
    size_t n = 0;
    args[n++] = "-O1";
    args[n++] = "-shared";
    if (c->pe) {
        args[n++] = "-Wl,-Xlink=/release"; /* a real checksum */
        args[n++] = "-Wl,--build-id";      /* a CodeView record */
    } else {
        args[n++] = "-fPIC";
        args[n++] = "-fuse-ld=lld";
        args[n++] = "-Wl,--build-id";
    }
    if (changed)
        args[n++] = "-DCHANGED";
    args[n++] = lpt_fixture("fix_target.c");
    args[n++] = "-o";
    args[n++] = out;
    args[n] = NULL;
    cc_ok(c->triple, args);
}

/* The target, the target changed by one line (same name, another directory), and the fix built against the
   first: RVAs read here from the target (PE: its export table; ELF: llvm-objdump). */
static void build_fix(const fix_case *c, built *b)
{
    const char *d = hpt_scratch(c->scratch);
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/rebuilt", d);
    cr_assert_eq(mkdir(sub, 0755), 0);
    snprintf(b->target, sizeof b->target, "%s/%s", d, c->target_name);
    snprintf(b->target2, sizeof b->target2, "%s/%s", sub, c->target_name);
    snprintf(b->fix, sizeof b->fix, "%s/%s", d, c->pe ? "fix.dll" : "libfix.so");
    snprintf(b->fix0, sizeof b->fix0, "%s/%s", d, c->pe ? "fix0.dll" : "libfix0.so");
    build_target(c, b->target, 0);
    build_target(c, b->target2, 1);
    if (c->pe) {
        lpt_image img;
        lpt_image_open(&img, b->target);
        b->rva_quote = lpt_export_rva(&img, "svc_quote");
        b->rva_var = lpt_export_rva(&img, "target_var");
        lpt_image_close(&img);
    } else {
        telf e;
        telf_open(&e, b->target);
        tsym t;
        cr_assert(objdump_symbol(b->target, NULL, "svc_quote", &t));
        b->rva_quote = (uint32_t)(t.value - e.base);
        cr_assert(objdump_symbol(b->target, NULL, "target_var", &t));
        b->rva_var = (uint32_t)(t.value - e.base);
        telf_close(&e);
    }
    cr_assert(b->rva_quote && b->rva_var);
    char name[256], rq[64], rv[64], inc[4200];
    snprintf(name, sizeof name, "-DTARGET_NAME=\"%s\"", c->target_name);
    snprintf(rq, sizeof rq, "-DRVA_QUOTE=0x%x", b->rva_quote);
    snprintf(rv, sizeof rv, "-DRVA_VAR=0x%x", b->rva_var);
    snprintf(inc, sizeof inc, "-I%s", HPT_RUNTIME_INCLUDE);
    const char *args[20];
    size_t n = 0;
    args[n++] = "-O1";
    args[n++] = "-shared";
    args[n++] = inc;
    args[n++] = name;
    args[n++] = rq;
    args[n++] = rv;
    args[n++] = "-DVAR_SIZE=4";
    if (c->pe) {
        args[n++] = "-Wl,-Xlink=/release";
    } else {
        args[n++] = "-fPIC";
        args[n++] = "-fuse-ld=lld"; /* lld leaves RELATIVE places 0 on x86-64: the pointers are in .rela.dyn */
    }
    args[n++] = lpt_fixture("fix_module.c");
    args[n++] = "-o";
    args[n++] = b->fix;
    args[n] = NULL;
    cc_ok(c->triple, args);
    copy_file(b->fix, b->fix0);
}

/* After a successful fill: every field as the target has it, read here. */
static void expect_filled(const fix_case *c, const built *b)
{
    fixture_manifest m;
    read_manifest(b->fix, &m);
    cr_expect(m.h.flags & HP_FIX_F_CHECKED, "the checked flag is set");
    cr_expect_eq(m.e.target_rva, b->rva_quote);
    cr_expect_eq(m.e.hash_len, 16);
    if (c->pe) {
        lpt_image img;
        lpt_image_open(&img, b->target);
        cr_expect_eq(m.h.format, HP_FIX_FORMAT_PE);
        cr_expect_eq(m.h.machine, img.pe.coff_machine);
        cr_expect_eq(m.h.time_date_stamp, img.pe.time_date_stamp);
        cr_expect_eq(m.h.size_of_image, img.pe.size_of_image);
        cr_expect_eq(m.h.checksum, img.pe.checksum);
        cr_expect_neq(m.h.checksum, 0u);
        hp_pe_codeview cv;
        cr_assert_eq(hp_pe_codeview_get(&img.pe, &cv, NULL), HP_OK);
        cr_assert(cv.present, "the target has a CodeView record (--build-id)");
        cr_expect_arr_eq(m.h.codeview_guid, cv.guid, 16);
        cr_expect_eq(m.h.codeview_age, cv.age);
        cr_expect_eq(m.h.build_id_len, 0u);
        size_t before;
        const uint8_t *p = lpt_bytes(&img, b->rva_quote, &before);
        cr_expect_eq(m.e.hash, hp_fix_hash(p, 16));
        lpt_image_close(&img);
        /* the fix's checksum is the file's again */
        lpt_image fix;
        lpt_image_open(&fix, b->fix);
        size_t field = fix.pe.nt_offset + 4 + 20 + 64;
        cr_expect_neq(fix.pe.checksum, 0u);
        cr_expect_eq(fix.pe.checksum, pe_checksum(fix.data, fix.size, field), "the fix's checksum is stale");
        lpt_image_close(&fix);
    } else {
        telf e;
        telf_open(&e, b->target);
        cr_expect_eq(m.h.format, HP_FIX_FORMAT_ELF);
        cr_expect_eq(m.h.machine, e.is64 ? 62u : 3u);
        cr_expect_eq(m.h.time_date_stamp, 0u);
        cr_expect_eq(m.h.checksum, 0u);
        char want[80], have[80];
        readelf_build_id(b->target, want, sizeof want);
        cr_assert_leq(m.h.build_id_len, 32u);
        hex_of(m.h.build_id, m.h.build_id_len, have);
        cr_expect_str_eq(have, want);
        cr_expect_eq(m.e.hash, hp_fix_hash(telf_bytes(&e, e.base + b->rva_quote, 16), 16));
        telf_close(&e);
    }
}

/* A fill that must fail with status 1, `needle` in its message, and FIX unchanged. */
static void fill_fails(const char *fix, const char *target, const char *extra, const char *needle)
{
    uint64_t before = lpt_file_hash(fix);
    hpt_proc p;
    const char *args[8] = {"fill", "--target", target, fix, NULL};
    if (extra) {
        args[4] = "--target-name";
        args[5] = extra;
        args[6] = NULL;
    }
    cr_expect_eq(run_tool(args, &p), 1, "fill should fail (%s): %s%s", needle, p.out, p.err);
    cr_expect(strncmp(p.err, "hotpatch-manifest: error: ", 26) == 0 && strstr(p.err, fix) != NULL,
              "the message names the fix: %s", p.err);
    cr_expect(strstr(p.err, needle) != NULL, "expected '%s' in: %s", needle, p.err);
    cr_expect_eq(lpt_file_hash(fix), before, "%s was written after a failure", fix);
    hpt_proc_free(&p);
}

/* A fresh copy of the unfilled fix with `n` bytes at manifest offset `off` replaced. */
static const char *corrupt(const built *b, const char *name, size_t off, const void *bytes, size_t n)
{
    static char path[4500];
    snprintf(path, sizeof path, "%s.%s", b->fix0, name);
    copy_file(b->fix0, path);
    patch_file(path, manifest_offset(b->fix0) + off, bytes, n);
    return path;
}

static void fill_case(const fix_case *c)
{
    built b;
    build_fix(c, &b);
    hpt_proc p;

    /* show before: not checked, identity empty */
    cr_assert_eq(run_tool((const char *[]){"show", b.fix, NULL}, &p), 0, "%s", p.err);
    cr_expect(strstr(p.out, "not checked") && strstr(p.out, "svc_quote") && strstr(p.out, "target_var"), "%s", p.out);
    hpt_proc_free(&p);

    /* fill */
    cr_assert_eq(run_tool((const char *[]){"fill", "--target", b.target, b.fix, NULL}, &p), 0, "%s%s", p.out, p.err);
    cr_expect_str_eq(p.err, "");
    hpt_proc_free(&p);
    expect_filled(c, &b);

    /* a second fill changes nothing */
    uint64_t filled = lpt_file_hash(b.fix);
    cr_assert_eq(run_tool((const char *[]){"fill", "--target", b.target, b.fix, NULL}, &p), 0, "%s", p.err);
    cr_expect(strstr(p.out, "not rewritten"), "%s", p.out);
    hpt_proc_free(&p);
    cr_expect_eq(lpt_file_hash(b.fix), filled);

    /* show after, as JSON */
    cr_assert_eq(run_tool((const char *[]){"show", "--json", b.fix, NULL}, &p), 0, "%s", p.err);
    lj *j = lj_parse(p.out, p.out_len);
    cr_assert_not_null(j, "show --json is not JSON:\n%s", p.out);
    const lj *frag = lj_at(lj_get(j, "fragments"), 0);
    cr_assert_not_null(frag);
    cr_expect(jbool(frag, "checked"));
    cr_expect_str_eq(jstr(frag, "target"), c->target_name);
    cr_expect_str_eq(jstr(frag, "unit"), "fix_module.c");
    cr_expect_str_eq(jstr(frag, "format"), c->pe ? "pe" : "elf");
    const lj *en = lj_at(lj_get(frag, "entries"), 0);
    cr_assert_not_null(en);
    cr_expect_str_eq(jstr(en, "name"), "svc_quote");
    cr_expect_eq(jnum(en, "rva"), b.rva_quote);
    const lj *s0 = lj_at(lj_get(frag, "slots"), 0), *s1 = lj_at(lj_get(frag, "slots"), 1);
    cr_assert(s0 && s1);
    cr_expect_str_eq(jstr(s0, "kind"), "symbol");
    cr_expect_eq(jnum(s0, "rva"), b.rva_var);
    cr_expect_eq(jnum(s0, "size"), 4);
    cr_expect_str_eq(jstr(s1, "kind"), "previous");
    lj_free(j);
    hpt_proc_free(&p);

    /* the target rebuilt with one line changed: another build */
    fill_fails(b.fix, b.target2, NULL, "the fix was compiled against the map of another build");

    /* another name */
    fill_fails(b.fix0, b.target, "other.bin", "the fix is for");

    /* corrupted manifests */
    const uint32_t small = 64, v7 = 7, outside = 0x7ffff000, kind9 = 9, nowhere = b.rva_quote + 1, one = 1;
    const uint64_t wrong = 0x1122334455667788ull;
    fill_fails(corrupt(&b, "size", offsetof(hp_fix_header, size), &small, 4), b.target, NULL,
               "size 64 does not match its counts");
    fill_fails(corrupt(&b, "magic", 0, "XPFIXMAN", 8), b.target, NULL, "bad magic");
    fill_fails(corrupt(&b, "version", offsetof(hp_fix_header, version), &v7, 4), b.target, NULL,
               "manifest version 7");
    const size_t entry = sizeof(hp_fix_header), slot = entry + sizeof(hp_fix_entry);
    fill_fails(corrupt(&b, "rva", entry + offsetof(hp_fix_entry, target_rva), &outside, 4), b.target, NULL,
               "target_rva 0x7ffff000 is not inside the code of");
    fill_fails(corrupt(&b, "hash", entry + offsetof(hp_fix_entry, hash), &wrong, 8), b.target, NULL,
               "its bytes in");
    fill_fails(corrupt(&b, "kind", slot + offsetof(hp_fix_slot, kind), &kind9, 4), b.target, NULL, "unknown kind 9");
    fill_fails(corrupt(&b, "prev", slot + sizeof(hp_fix_slot) + offsetof(hp_fix_slot, target_rva), &nowhere, 4),
               b.target, NULL, "no entry's target_rva");
    fill_fails(corrupt(&b, "slotrva", slot + offsetof(hp_fix_slot, target_rva), &outside, 4), b.target, NULL,
               "is not inside");
    if (c->pe)
        fill_fails(corrupt(&b, "tds", offsetof(hp_fix_header, time_date_stamp), &one, 4), b.target, NULL,
                   "time_date_stamp is 1");
    else
        fill_fails(corrupt(&b, "bid", offsetof(hp_fix_header, build_id_len), &one, 4), b.target, NULL,
                   "build_id is");
    /* PE: a pointer that leads outside the module (ELF keeps the pointers of x86-64 in the relocations) */
    if (c->pe) {
        const uint64_t stray = 0x10;
        fill_fails(corrupt(&b, "name", offsetof(hp_fix_header, target_name), &stray, 8), b.target, NULL,
                   "does not lead to a string inside the fix");
    }

    /* no temporary file was left next to the fix */
    char dir[sizeof b.fix];
    memcpy(dir, b.fix, sizeof dir);
    *strrchr(dir, '/') = 0;
    hpt_proc ls;
    cr_assert_eq(hpt_run((const char *[]){"sh", "-c", "ls \"$0\" | grep -c hpfix- || true", dir, NULL}, NULL, 30, &ls),
                 0);
    cr_expect_eq(atoi(ls.out), 0, "temporary files left in %s", dir);
    hpt_proc_free(&ls);
}

Test(manifest_fill, mingw_x64_dll)
{
    fill_case(&(fix_case){"manifest_fill_pe", "x86_64-w64-mingw32", 1, "target.dll"});
}

Test(manifest_fill, elf_x64_shared_object)
{
    fill_case(&(fix_case){"manifest_fill_elf64", "x86_64-linux-gnu", 0, "libtarget.so"});
}

Test(manifest_fill, elf_i386_shared_object)
{
    fill_case(&(fix_case){"manifest_fill_elf32", "i386-linux-gnu", 0, "libtarget.so"});
}

Test(manifest_fill, wrong_kind_of_target_or_fix)
{
    const char *d = hpt_scratch("manifest_fill_kinds");
    const char *dll = lpt_path(d, "target.dll"), *so = lpt_path(d, "libtarget.so");
    cc_ok("x86_64-w64-mingw32", (const char *[]){"-O1", "-shared", lpt_fixture("fix_target.c"), "-o", dll, NULL});
    cc_ok("x86_64-linux-gnu", (const char *[]){"-O1", "-fPIC", "-shared", lpt_fixture("fix_target.c"), "-o", so, NULL});
    hpt_proc p;
    /* a module without a manifest */
    cr_expect_eq(run_tool((const char *[]){"fill", "--target", dll, so, NULL}, &p), 1);
    cr_expect(strstr(p.err, "no .hpfix section"), "%s", p.err);
    hpt_proc_free(&p);
    cr_expect_eq(run_tool((const char *[]){"show", dll, NULL}, &p), 1);
    cr_expect(strstr(p.err, "no .hpfix section"), "%s", p.err);
    hpt_proc_free(&p);
    /* a fix that is not a PE or ELF file, a missing target */
    const char *txt = lpt_path(d, "fix.txt");
    FILE *f = fopen(txt, "w");
    cr_assert_not_null(f);
    fputs("not a module\n", f);
    fclose(f);
    cr_expect_eq(run_tool((const char *[]){"fill", "--target", dll, txt, NULL}, &p), 2);
    cr_expect(strstr(p.err, "not a PE or ELF file"), "%s", p.err);
    hpt_proc_free(&p);

    /* an ELF fix against a PE target */
    char inc[4200];
    snprintf(inc, sizeof inc, "-I%s", HPT_RUNTIME_INCLUDE);
    const char *fix = lpt_path(d, "libfix.so");
    cc_ok("x86_64-linux-gnu", (const char *[]){"-O1", "-fPIC", "-shared", inc, "-DTARGET_NAME=\"target.dll\"",
                                               "-DRVA_QUOTE=0x1000", "-DRVA_VAR=0x2000", "-DVAR_SIZE=4",
                                               lpt_fixture("fix_module.c"), "-o", fix, NULL});
    fill_fails(fix, dll, NULL, "is a PE image");
    const char *missing = lpt_path(d, "missing.dll");
    cr_expect_eq(run_tool((const char *[]){"fill", "--target", missing, fix, NULL}, &p), 2);
    cr_expect(strstr(p.err, missing), "%s", p.err);
    hpt_proc_free(&p);
}

/* ------------------------------------------------------------------------- */
/* The command line                                                           */
/* ------------------------------------------------------------------------- */

Test(manifest_cli, help_version_and_usage)
{
    hpt_proc p;
    cr_expect_eq(run_tool((const char *[]){"--help", NULL}, &p), 0);
    const char *words[] = {"fill --target IMAGE", "--target-name NAME", "show [--json] FIX", "map IMAGE",
                           "--source-root DIR", "-o OUT", "--version", "Exit status"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        cr_expect(strstr(p.out, words[i]) != NULL, "'%s' missing from --help", words[i]);
    cr_expect_str_eq(p.err, "");
    hpt_proc_free(&p);
    cr_expect_eq(run_tool((const char *[]){"--version", NULL}, &p), 0);
    cr_expect_str_eq(p.out, "hotpatch-manifest " HP_VERSION_STRING "\n");
    hpt_proc_free(&p);

    const struct {
        const char *args[6];
        const char *needle;
    } bad[] = {
        {{NULL}, "no subcommand"},
        {{"frobnicate", NULL}, "unknown subcommand"},
        {{"fill", "fix.dll", NULL}, "fill needs --target IMAGE and FIX"},
        {{"fill", "--target", NULL}, "missing value of '--target'"},
        {{"fill", "--target", "a", "--bogus", "b", NULL}, "fill: unknown option '--bogus'"},
        {{"show", NULL}, "show needs FIX"},
        {{"show", "a", "b", NULL}, "more than one FIX"},
        {{"map", NULL}, "map needs IMAGE"},
        {{"map", "x", "--pad", "3", NULL}, "--pad"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(run_tool(bad[i].args, &p), 2, "case %zu", i);
        cr_expect(strncmp(p.err, "hotpatch-manifest: error: ", 26) == 0 && strstr(p.err, bad[i].needle),
                  "case %zu: expected '%s' in: %s", i, bad[i].needle, p.err);
        hpt_proc_free(&p);
    }
    /* unreadable input: status 2, the file named */
    cr_expect_eq(run_tool((const char *[]){"show", "/nonexistent/fix.dll", NULL}, &p), 2);
    cr_expect(strstr(p.err, "/nonexistent/fix.dll"), "%s", p.err);
    hpt_proc_free(&p);
}

Test(manifest_cli, readme_documents_the_tool_and_its_statuses)
{
    size_t size = 0;
    char *readme = (char *)hpt_read_file(HPT_SOURCE_DIR "/lld-pass/README.md", &size);
    cr_assert_not_null(readme);
    const char *sec = strstr(readme, "## hotpatch-manifest");
    cr_assert_not_null(sec, "lld-pass/README.md has no hotpatch-manifest section");
    const char *words[] = {"fill --target IMAGE", "show [--json] FIX", "map IMAGE", "| 0 |", "| 1 |", "| 2 |",
                           "PE maps are written by hotpatch-link"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        cr_expect(strstr(sec, words[i]) != NULL, "'%s' missing from the README section", words[i]);
    free(readme);
}
