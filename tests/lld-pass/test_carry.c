/*
 * test_carry.c — the code digests an object carries (hp_link_carry.h): the plugin adds them when it
 * compiles an object, they are what the link would compute from the object, a changed object's or
 * block's are not used, and a link gives the same image, map and .hpcode with them as without.
 *
 * The section's layout is read here with a reader of the test's own (section table, pointers), and
 * the object "as the compiler wrote it" is rebuilt by undoing what the README says the plugin does.
 */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_link_carry.h"
#include "hp_link_codefile.h"
#include "hp_link_digest.h"
#include "lpt.h"

static uint32_t rd16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t rd32(const unsigned char *p)
{
    return rd16(p) | rd16(p + 2) << 16;
}

static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* The test's view of a COFF object's header: section count, table offset, symbol pointer. */
typedef struct cview {
    int big;
    uint32_t nsec, symptr;
    size_t table;
} cview;

static cview view_of(const unsigned char *d, size_t n)
{
    cview v = {0};
    cr_assert(n >= 20);
    if (rd16(d) == 0 && rd16(d + 2) == 0xFFFF) {
        v.big = 1;
        v.nsec = rd32(d + 44);
        v.symptr = rd32(d + 48);
        v.table = 56;
    } else {
        v.nsec = rd16(d + 2);
        v.symptr = rd32(d + 8);
        v.table = 20 + rd16(d + 16);
    }
    cr_assert(v.table + 40ull * v.nsec <= n);
    return v;
}

/* The section header named `name`, or NULL. */
static const unsigned char *section(const unsigned char *d, size_t n, const char *name)
{
    cview v = view_of(d, n);
    for (uint32_t i = 0; i < v.nsec; i++) {
        const unsigned char *sh = d + v.table + 40ull * i;
        if (strncmp((const char *)sh, name, 8) == 0)
            return sh;
    }
    return NULL;
}

/* Undo what the plugin did: the last header out, every pointer 40 less, the block cut off. */
static unsigned char *without_block(const unsigned char *d, size_t n, size_t *out_n)
{
    cview v = view_of(d, n);
    const unsigned char *last = d + v.table + 40ull * (v.nsec - 1);
    cr_assert_eq(strncmp((const char *)last, ".hpcode", 8), 0, "the last section is .hpcode");
    size_t block_at = rd32(last + 20);
    cr_assert_eq(block_at + rd32(last + 16), n, "its bytes end the file");
    size_t table_end = v.table + 40ull * v.nsec, m = block_at - 40;
    unsigned char *o = malloc(m);
    cr_assert(o);
    memcpy(o, d, table_end - 40);
    memcpy(o + table_end - 40, d + table_end, block_at - table_end);
    if (v.big) {
        wr32(o + 44, v.nsec - 1);
        wr32(o + 48, v.symptr ? v.symptr - 40 : 0);
    } else {
        o[2] = (unsigned char)(v.nsec - 1);
        o[3] = (unsigned char)((v.nsec - 1) >> 8);
        wr32(o + 8, v.symptr ? v.symptr - 40 : 0);
    }
    for (uint32_t i = 0; i + 1 < v.nsec; i++)
        for (int f = 20; f <= 28; f += 4) {
            unsigned char *p = o + v.table + 40ull * i + f;
            if (rd32(p))
                wr32(p, rd32(p) - 40);
        }
    *out_n = m;
    return o;
}

/* fixtures/digest/base.c compiled with the plugin (extra args: NULL-terminated) into `dir`/base.o. */
static unsigned char *compiled(const char *triple, const char *dir, const char *const extra[], size_t *n,
                               char *obj, size_t obj_size)
{
    const char *d = hpt_scratch(dir);
    char root[4300];
    snprintf(obj, obj_size, "%s/base.o", d);
    snprintf(root, sizeof root, "-fplugin-arg-hotpatch-source-root=%s", lpt_fixture("digest"));
    const char *args[8] = {"-O2", root};
    size_t k = 2;
    for (size_t i = 0; extra && extra[i] && k < 7; i++)
        args[k++] = extra[i];
    args[k] = NULL;
    lpt_compile(triple, lpt_fixture("digest/base.c"), obj, 1, args);
    unsigned char *data = hpt_read_file(obj, n);
    cr_assert(data);
    return data;
}

/* The entry lines hotpatch-link writes for the object when it computes them. */
static char *computed_lines(const unsigned char *d, size_t n, size_t *len, hp_link_digest_unit **unit)
{
    char msg[256] = "";
    hp_link_digest_unit *u = NULL;
    cr_assert_eq(hp_link_digest_object(d, n, HP_DIGEST_UNSORTED, &u, msg, sizeof msg), HP_OK, "%s", msg);
    cr_assert(u);
    char *lines = NULL;
    cr_assert_eq(hp_link_code_unit_lines(u, &lines, len), HP_OK);
    cr_assert(lines && *len > 0);
    *unit = u;
    return lines;
}

/* `obj` (as the compiler wrote it: `data`, `size`) rewritten as /bigobj by GNU objcopy (clang writes
   one only past 65,279 sections; -Wa,-mbig-obj is GNU as's), into `out`; its bytes */
static unsigned char *as_bigobj(const char *obj, const unsigned char *data, size_t size, const char *out, size_t *n)
{
    char plain[4500];
    snprintf(plain, sizeof plain, "%s.plain", obj);
    FILE *f = fopen(plain, "wb");
    cr_assert(f && fwrite(data, 1, size, f) == size && fclose(f) == 0);
    hpt_proc p;
    cr_assert_eq(hpt_run((const char *[]){"x86_64-w64-mingw32-objcopy", "-O", "pe-bigobj-x86-64", plain, out, NULL},
                         NULL, 60, &p),
                 0);
    cr_assert_eq(p.status, 0, "%s", p.err);
    hpt_proc_free(&p);
    unsigned char *b = hpt_read_file(out, n);
    cr_assert(b && *n > 4 && rd16(b) == 0 && rd16(b + 2) == 0xFFFF, "%s is not /bigobj", out);
    return b;
}

Test(carry, the_plugin_adds_the_digests_the_link_would_compute)
{
    static const struct {
        const char *triple, *dir, *extra;
    } cases[] = {
        {"x86_64-w64-mingw32", "carry_x64", NULL},
        {"i686-w64-mingw32", "carry_x86", NULL},
        {"x86_64-w64-mingw32", "carry_bigobj", "bigobj"}, /* the x64 object as /bigobj, digests added here */
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char obj[4400];
        size_t n;
        unsigned char *d = compiled(cases[c].triple, cases[c].dir, NULL, &n, obj, sizeof obj);
        if (cases[c].extra) {
            size_t m, bn;
            unsigned char *orig = without_block(d, n, &m);
            char big[4500];
            snprintf(big, sizeof big, "%s.big", obj);
            unsigned char *b = as_bigobj(obj, orig, m, big, &bn);
            free(orig);
            free(d);
            char msg[256] = "";
            cr_assert_eq(hp_link_carry_object(b, bn, &d, &n, msg, sizeof msg), HP_OK, "%s", msg);
            cr_assert(d, "nothing added to the /bigobj object");
            free(b);
        }
        const unsigned char *sh = section(d, n, ".hpcode");
        cr_assert(sh, "%s: no .hpcode section", cases[c].dir);
        cr_expect_eq(rd32(sh + 36), 0x00100A00u, "%s: LNK_INFO | LNK_REMOVE | ALIGN_1BYTES", cases[c].dir);
        cr_expect_eq(rd32(sh + 24), 0, "no relocations");

        hp_link_carried got;
        cr_assert_eq(hp_link_carried_find(d, n, &got), HP_CARRIED_OK, "%s", cases[c].dir);
        size_t len;
        hp_link_digest_unit *u;
        char *lines = computed_lines(d, n, &len, &u);
        cr_expect_eq(got.unit_len, strlen("base.c"));
        cr_expect(strncmp(got.unit, "base.c", got.unit_len) == 0);
        cr_expect_eq(got.unit_id, u->unit_id);
        cr_expect_eq(got.lines_len, len, "%s: %zu bytes of lines, computed %zu", cases[c].dir, got.lines_len, len);
        cr_expect(got.lines_len == len && memcmp(got.lines, lines, len) == 0, "%s: the lines differ", cases[c].dir);
        cr_expect(strstr(lines, " quote\n") && strstr(lines, "v s 8 "), "functions and variables");

        /* what the link takes: the lines, and the computed entries once the object changed */
        hp_link_digest_unit *t = NULL;
        hp_link_carried_state st = HP_CARRIED_NONE;
        char msg[256];
        cr_assert_eq(hp_link_digest_for_code(d, n, &t, &st, msg, sizeof msg), HP_OK);
        cr_expect_eq(st, HP_CARRIED_OK);
        cr_expect(t->lines && t->lines_len == len && t->count == 0);
        cr_expect_str_eq(t->unit, "base.c");
        cr_expect_eq(t->machine, u->machine);
        hp_link_digest_destroy(t);

        /* the object as the compiler wrote it: the plugin's output is exactly it plus the section */
        size_t m;
        unsigned char *orig = without_block(d, n, &m);
        unsigned char *again = NULL;
        size_t again_n = 0;
        cr_assert_eq(hp_link_carry_object(orig, m, &again, &again_n, msg, sizeof msg), HP_OK, "%s", msg);
        cr_assert(again, "%s: nothing added to the object without its block", cases[c].dir);
        cr_expect(again_n == n && memcmp(again, d, n) == 0, "%s: not the plugin's object", cases[c].dir);
        cr_expect_eq(hp_link_carried_find(orig, m, &got), HP_CARRIED_NONE);
        size_t olen;
        hp_link_digest_unit *ou;
        char *olines = computed_lines(orig, m, &olen, &ou);
        cr_expect(olen == len && memcmp(olines, lines, len) == 0, "the section changed the digests");
        /* carrying twice adds nothing */
        free(again);
        again = NULL;
        cr_expect_eq(hp_link_carry_object(d, n, &again, &again_n, msg, sizeof msg), HP_OK);
        cr_expect_null(again);
        free(olines);
        hp_link_digest_destroy(ou);
        free(orig);
        free(lines);
        hp_link_digest_destroy(u);
        free(d);
    }
}

Test(carry, the_portable_loops_write_what_the_sse2_ones_do)
{
    /* the binding hash and the lines' check have an SSE2 loop and a portable one: an object carried on
       a host of one kind must not be stale on the other (tests/lld-pass/carry_portable.c) */
    const char *const triples[] = {"x86_64-w64-mingw32", "i686-w64-mingw32", "x86_64-w64-mingw32"};
    for (int t = 0; t < 3; t++) {
        char obj[4400], plain[4500], out[4500], dir[32];
        size_t n, m;
        snprintf(dir, sizeof dir, "carry_portable_%d", t);
        unsigned char *d = compiled(triples[t], dir, NULL, &n, obj, sizeof obj);
        unsigned char *orig = without_block(d, n, &m);
        if (t == 2) { /* /bigobj, its digests added by the SSE2 build */
            char big[4500], msg[256] = "";
            snprintf(big, sizeof big, "%s.big", obj);
            free(d);
            unsigned char *b = as_bigobj(obj, orig, m, big, &m);
            free(orig);
            orig = b;
            cr_assert_eq(hp_link_carry_object(orig, m, &d, &n, msg, sizeof msg), HP_OK, "%s", msg);
            cr_assert(d);
        }
        snprintf(plain, sizeof plain, "%s.plain", obj);
        snprintf(out, sizeof out, "%s.portable", obj);
        FILE *f = fopen(plain, "wb");
        cr_assert(f && fwrite(orig, 1, m, f) == m && fclose(f) == 0);
        hpt_proc p;
        cr_assert_eq(hpt_run((const char *[]){LPT_CARRY_PORTABLE, plain, out, NULL}, NULL, 60, &p), 0);
        cr_assert_eq(p.status, 0, "%s", p.err);
        hpt_proc_free(&p);
        size_t k;
        unsigned char *q = hpt_read_file(out, &k);
        cr_assert(q);
        cr_expect(k == n && memcmp(q, d, n) == 0, "%s: the portable build wrote other bytes", triples[t]);
        free(q);
        free(orig);
        free(d);
    }
}

Test(carry, a_changed_object_or_block_is_not_used)
{
    char obj[4400];
    size_t n;
    unsigned char *d = compiled("x86_64-w64-mingw32", "carry_changed", NULL, &n, obj, sizeof obj);
    const unsigned char *text = section(d, n, ".text");
    const unsigned char *sh = section(d, n, ".hpcode");
    cr_assert(text && sh);
    size_t code_at = rd32(text + 20), block_at = rd32(sh + 20);
    const char *block = (const char *)d + block_at;
    const char *nl = memchr(block, '\n', n - block_at);
    cr_assert(nl);
    size_t lines_at = block_at + (size_t)(nl - block + 1);
    hp_link_carried got;
    unsigned char *c = malloc(n + 1);
    cr_assert(c);

    /* one byte of code */
    memcpy(c, d, n);
    c[code_at + 3] ^= 0x40;
    cr_expect_eq(hp_link_carried_find(c, n, &got), HP_CARRIED_STALE);
    hp_link_digest_unit *u = NULL;
    hp_link_carried_state st;
    char msg[256];
    cr_assert_eq(hp_link_digest_for_code(c, n, &u, &st, msg, sizeof msg), HP_OK);
    cr_expect_eq(st, HP_CARRIED_STALE);
    cr_expect(u && !u->lines && u->count > 0, "a stale block's digests are computed");
    hp_link_digest_destroy(u);
    /* the symbol table (a name) */
    memcpy(c, d, n);
    cr_assert(section(c, n, ".text"));
    cview v = view_of(c, n);
    c[v.symptr + 1] ^= 1;
    cr_expect_eq(hp_link_carried_find(c, n, &got), HP_CARRIED_STALE);
    /* a digit of a digest in the lines */
    memcpy(c, d, n);
    char *dig = strstr((char *)c + lines_at, "\nf ");
    cr_assert(dig);
    dig = strchr(dig + 5, ' ') + 1; /* after "f e <size> " */
    *dig = *dig == '1' ? '2' : '1';
    cr_expect_eq(hp_link_carried_find(c, n, &got), HP_CARRIED_STALE);
    /* another algorithm */
    memcpy(c, d, n);
    char *alg = (char *)c + block_at + strlen("hotpatch-digests ");
    cr_assert_eq(*alg, '0' + HP_LINK_DIGEST_ALGORITHM);
    *alg = (char)('0' + HP_LINK_DIGEST_ALGORITHM + 1);
    cr_expect_eq(hp_link_carried_find(c, n, &got), HP_CARRIED_ALGORITHM);
    cr_expect_str_eq(hp_link_carried_state_str(HP_CARRIED_ALGORITHM), "of another version of the digests' algorithm");
    /* the section's flags, its size against the file's, a byte after it, a binding that is not hex */
    memcpy(c, d, n);
    c[(size_t)(sh - d) + 36] = 0x40;
    cr_expect_eq(hp_link_carried_find(c, n, &got), HP_CARRIED_MALFORMED);
    cr_expect_eq(hp_link_carried_find(d, n - 1, &got), HP_CARRIED_MALFORMED);
    memcpy(c, d, n);
    c[n] = '\n';
    cr_expect_eq(hp_link_carried_find(c, n + 1, &got), HP_CARRIED_MALFORMED);
    memcpy(c, d, n);
    c[lines_at - 2] = 'g';
    cr_expect_eq(hp_link_carried_find(c, n, &got), HP_CARRIED_MALFORMED);
    /* found by fuzz_link_code: a pointer field 40 below 4 GiB wrapped when moved, and the object the
       digests were added to did not match them; such an object gets none */
    size_t m;
    unsigned char *orig = without_block(d, n, &m);
    const unsigned char *osh = section(orig, m, ".text");
    cr_assert(osh);
    wr32(orig + (osh - orig) + 28, 0xFFFFFFF0u); /* PointerToLinenumbers */
    unsigned char *again = NULL;
    size_t again_n = 0;
    cr_expect_eq(hp_link_carry_object(orig, m, &again, &again_n, msg, sizeof msg), HP_OK);
    cr_expect(!again || hp_link_carried_find(again, again_n, &got) == HP_CARRIED_OK,
              "digests added that do not match the object");
    free(again);
    free(orig);
    /* the untouched object still carries its digests */
    cr_expect_eq(hp_link_carried_find(d, n, &got), HP_CARRIED_OK);
    free(c);
    free(d);
}

Test(carry, objects_that_carry_nothing)
{
    const char *dir = hpt_scratch("carry_none");
    char obj[4300], elf[4300];
    snprintf(obj, sizeof obj, "%s/plain.o", dir);
    snprintf(elf, sizeof elf, "%s/elf.o", dir);
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("digest/base.c"), obj, 0, (const char *[]){"-O2", NULL});
    lpt_compile("x86_64-linux-gnu", lpt_fixture("digest/base.c"), elf, 1, (const char *[]){"-O2", NULL});
    const char *const paths[2] = {obj, elf};
    for (int i = 0; i < 2; i++) {
        size_t n;
        unsigned char *d = hpt_read_file(paths[i], &n);
        cr_assert(d);
        if (i == 0)
            cr_expect_null(section(d, n, ".hpcode"), "%s: digests without a unit", paths[i]);
        else
            cr_expect_null(memmem(d, n, ".hpcode", 8), "%s: an ELF object gets no .hpcode", paths[i]);
        hp_link_carried got;
        cr_expect_eq(hp_link_carried_find(d, n, &got), HP_CARRIED_NONE);
        unsigned char *out = NULL;
        size_t out_n = 0;
        char msg[256] = "";
        cr_expect_eq(hp_link_carry_object(d, n, &out, &out_n, msg, sizeof msg), HP_OK, "%s", msg);
        cr_expect_null(out, "%s: nothing to add", paths[i]);
        free(d);
    }
    /* hp_link_carry_file: nothing written for an object without a unit; a missing file named */
    struct stat a, b;
    cr_assert_eq(stat(obj, &a), 0);
    int added = 1;
    char msg[512] = "";
    cr_expect_eq(hp_link_carry_file(obj, &added, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect_eq(added, 0);
    cr_assert_eq(stat(obj, &b), 0);
    cr_expect(a.st_ino == b.st_ino && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec, "the file was rewritten");
    char missing[4400];
    snprintf(missing, sizeof missing, "%s/missing.o", dir);
    cr_expect_neq(hp_link_carry_file(missing, &added, msg, sizeof msg), HP_OK);
    cr_expect(strstr(msg, "missing.o"), "the message names the file: %s", msg);
    static const unsigned char junk[] = {0x64, 0x86, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    hp_link_carried got;
    cr_expect_eq(hp_link_carried_find(junk, sizeof junk, &got), HP_CARRIED_NONE);
}

Test(carry, a_link_is_the_same_with_the_digests_carried_and_without)
{
    /* two units, each linked as the plugin wrote it, as the compiler wrote it, and with a digest of the
       carried lines changed (stale: computed again): the image, the map and the .hpcode agree byte for
       byte (lld drops the section; the link's digests are the same whether taken or computed) */
    const char *const triples[] = {"x86_64-w64-mingw32", "i686-w64-mingw32"};
    static const char *const kinds[3] = {"carried", "plain", "stale"};
    for (int t = 0; t < 2; t++) {
        char dir[3][4300], a_o[3][4400], b_o[3][4400], dll[3][4400], map[3][4400], code[3][4400];
        for (int k = 0; k < 3; k++) {
            char name[64];
            snprintf(name, sizeof name, "carry_link_%d_%s", t, kinds[k]);
            snprintf(dir[k], sizeof dir[k], "%s", hpt_scratch(name));
            snprintf(a_o[k], sizeof a_o[k], "%.4000s/a.o", dir[k]);
            snprintf(b_o[k], sizeof b_o[k], "%.4000s/b.o", dir[k]);
            snprintf(dll[k], sizeof dll[k], "%.4000s/units.dll", dir[k]);
            snprintf(map[k], sizeof map[k], "%.4000s/units.dll.hpmap", dir[k]);
            snprintf(code[k], sizeof code[k], "%.4000s/units.dll.hpcode", dir[k]);
        }
        lpt_compile_units(triples[t], a_o[0], b_o[0]);
        const char *objs[3][2] = {{a_o[0], b_o[0]}, {a_o[1], b_o[1]}, {a_o[2], b_o[2]}};
        for (int i = 0; i < 2; i++) {
            size_t n, m;
            unsigned char *d = hpt_read_file(objs[0][i], &n);
            cr_assert(d);
            unsigned char *orig = without_block(d, n, &m);
            FILE *f = fopen(objs[1][i], "wb");
            cr_assert(f && fwrite(orig, 1, m, f) == m && fclose(f) == 0);
            free(orig);
            /* the stale one: the first digest's first digit changed in the carried lines */
            char *line = memmem(d, n, "\nf ", 3);
            cr_assert(line);
            char *dig = strchr(line + 5, ' ') + 1;
            *dig = *dig == '1' ? '2' : '1';
            f = fopen(objs[2][i], "wb");
            cr_assert(f && fwrite(d, 1, n, f) == n && fclose(f) == 0);
            free(d);
        }
        static const char *const said[3] = {"(2 carried by their objects, 0 computed)",
                                            "(0 carried by their objects, 2 computed)",
                                            "its digests not used (stale: the object changed after its digests were added)"};
        for (int k = 0; k < 3; k++) {
            hpt_proc p;
            int st = lpt_link(triples[t],
                              (const char *[]){"-shared", "-Wl,--no-insert-timestamp", "-Wl,--hotpatch-verbose", "-o",
                                               dll[k], objs[k][0], objs[k][1], NULL},
                              &p);
            cr_assert_eq(st, 0, "%s", p.err);
            cr_expect(strstr(p.err, said[k]), "%s: %s", kinds[k], p.err);
            hpt_proc_free(&p);
        }
        for (int k = 1; k < 3; k++) {
            const char *const what[3][2] = {{dll[0], dll[k]}, {map[0], map[k]}, {code[0], code[k]}};
            for (int w = 0; w < 3; w++) {
                size_t n0, n1;
                unsigned char *x = hpt_read_file(what[w][0], &n0), *y = hpt_read_file(what[w][1], &n1);
                cr_assert(x && y);
                cr_expect(n0 == n1 && memcmp(x, y, n0) == 0, "%s and %s differ", what[w][0], what[w][1]);
                free(x);
                free(y);
            }
        }
    }
}

/* ---- the lines' check ---- */

Test(codefile, the_lines_check_takes_what_the_writer_writes_and_nothing_else)
{
    static const char good[] = "f e 15 469bff89384c4bf2 svc_quote\n"
                               "v s 4 e9474d87a60300c8 served\n"
                               "f s 4294967295 0000000000000000 x\n";
    size_t line = 99;
    cr_expect(hp_link_code_lines_valid(good, strlen(good), &line));
    cr_expect_eq(line, 0);
    cr_expect(hp_link_code_lines_valid("", 0, NULL), "no entries");
    static const struct {
        const char *text;
        size_t line;
    } bad[] = {
        {"x e 15 469bff89384c4bf2 a\n", 1},                                  /* kind */
        {"f q 15 469bff89384c4bf2 a\n", 1},                                  /* linkage */
        {"f e 1x 469bff89384c4bf2 a\n", 1},                                  /* size */
        {"f e 4294967296 469bff89384c4bf2 a\n", 1},                          /* size over 32 bits */
        {"f e 00000000001 469bff89384c4bf2 a\n", 1},                         /* eleven digits */
        {"f e  469bff89384c4bf2 a\n", 1},                                    /* no size */
        {"f e 15 469bff89384c4bf a\n", 1},                                   /* 15 hex digits */
        {"f e 15 469BFF89384C4BF2 a\n", 1},                                  /* upper case */
        {"f e 15 469bff89384c4bf2 \n", 1},                                   /* no name */
        {"f e 15 469bff89384c4bf2 a b\n", 1},                                /* a space in the name */
        {"f e 15 469bff89384c4bf2 a\r\n", 1},                                /* a carriage return */
        {"f e 15 469bff89384c4bf2 a\nf e 15 469bff89384c4bf2 b", 2},         /* no final line break */
        {"f e 15 469bff89384c4bf2 a\n\nf e 15 469bff89384c4bf2 b\n", 2},     /* an empty line */
        {"f e 15 469bff89384c4bf2 a\nunit 0000000 x.c\n", 2},                /* a unit line */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_expect_not(hp_link_code_lines_valid(bad[i].text, strlen(bad[i].text), &line), "accepted: %s", bad[i].text);
        cr_expect_eq(line, bad[i].line, "%s: line %zu", bad[i].text, line);
    }
    /* a NUL in a name */
    static const char nul[] = "f e 15 469bff89384c4bf2 a\0b\n";
    cr_expect_not(hp_link_code_lines_valid(nul, sizeof nul - 1, NULL));
}

/* ---- every compile of one command, and a compile in a process of its own ---- */

/* `path` carries digests of the unit `unit` */
static void expect_carried(const char *path, const char *unit)
{
    size_t n;
    unsigned char *d = hpt_read_file(path, &n);
    cr_assert(d, "%s was not written", path);
    hp_link_carried got;
    cr_expect_eq(hp_link_carried_find(d, n, &got), HP_CARRIED_OK, "%s", path);
    cr_expect(got.unit_len == strlen(unit) && memcmp(got.unit, unit, got.unit_len) == 0, "%s: unit", path);
    free(d);
}

Test(carry, every_object_of_one_command_gets_its_own_digests)
{
    /* clang -c a.c sub/b.c: two compiles in the driver's process, two objects in the current folder */
    const char *dir = hpt_scratch("carry_two");
    cr_assert_eq(chdir(dir), 0);
    char a_c[4300], b_c[4300], root[4300], fplugin[4300];
    snprintf(a_c, sizeof a_c, "%s", lpt_fixture("units/a.c"));
    snprintf(b_c, sizeof b_c, "%s", lpt_fixture("units/sub/b.c"));
    snprintf(root, sizeof root, "-fplugin-arg-hotpatch-source-root=%s", lpt_fixture("units"));
    snprintf(fplugin, sizeof fplugin, "-fplugin=%s", LPT_PLUGIN);
    hpt_proc p;
    cr_assert_eq(hpt_cc("x86_64-w64-mingw32", (const char *[]){"-O2", fplugin, root, "-c", a_c, b_c, NULL}, &p), 0,
                 "%s", p.err);
    hpt_proc_free(&p);
    expect_carried("a.o", "a.c");
    expect_carried("b.o", "sub/b.c");
    /* the compile in a process of its own (the driver's -fno-integrated-cc1) */
    cr_assert_eq(hpt_cc("i686-w64-mingw32",
                        (const char *[]){"-O2", "-fno-integrated-cc1", fplugin, root, "-c", a_c, "-o", "x86.o", NULL},
                        &p),
                 0, "%s", p.err);
    hpt_proc_free(&p);
    expect_carried("x86.o", "a.c");
    /* a relative -o under -working-directory: the object clang writes there */
    char wd[4500], sub[4400];
    snprintf(sub, sizeof sub, "%.4300s/wd", dir);
    cr_assert(mkdir(sub, 0755) == 0);
    snprintf(wd, sizeof wd, "-working-directory=%s", sub);
    cr_assert_eq(hpt_cc("x86_64-w64-mingw32", (const char *[]){"-O2", fplugin, root, wd, "-c", a_c, "-o", "w.o", NULL}, &p),
                 0, "%s", p.err);
    hpt_proc_free(&p);
    expect_carried("wd/w.o", "a.c");
}
