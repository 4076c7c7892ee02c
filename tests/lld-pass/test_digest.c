/*
 * test_digest.c — code digests (hp_link_digest.h), the .hpcode file (hp_link_codefile.h) and the fix
 * builder's comparison (hp_link_fixplan.h).
 *
 * Digests: fixtures/digest/base.c compiled with the plugin and again with one -D that changes one
 * thing; which digests must stay and which must change is what each variant means (a function added
 * before the others moves every address and every string after it, and changes nothing else).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_link_codefile.h"
#include "hp_link_digest.h"
#include "hp_link_fixplan.h"
#include "lpt.h"

/* an entry written by hand */
#define D(n, k, st, sz, dig) {.name = (n), .kind = (k), .is_static = (st), .size = (sz), .digest = (dig)}

/* fixtures/digest/base.c compiled for `triple` into <scratch name>/base.o (its path in `obj`) */
static void compile_base(const char *triple, const char *name, const char *const extra[], int plugin, char *obj,
                         size_t obj_size)
{
    const char *d = hpt_scratch(name);
    char root[4300];
    snprintf(obj, obj_size, "%s/base.o", d);
    snprintf(root, sizeof root, "-fplugin-arg-hotpatch-source-root=%s", lpt_fixture("digest"));
    const char *args[12] = {"-O2", plugin ? root : "-O2"};
    size_t n = 2;
    for (size_t i = 0; extra && extra[i] && n < 11; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    lpt_compile(triple, lpt_fixture("digest/base.c"), obj, plugin, args);
}

static hp_link_digest_unit *digest_of(const char *obj)
{
    size_t size;
    unsigned char *data = hpt_read_file(obj, &size);
    cr_assert(data, "%s", obj);
    hp_link_digest_unit *u = NULL;
    char msg[256] = "";
    hp_status st = hp_link_digest_object(data, size, 0, &u, msg, sizeof msg);
    free(data);
    cr_assert_eq(st, HP_OK, "%s: %s", obj, msg);
    return u;
}

static hp_link_digest_unit *digest(const char *triple, const char *name, const char *const extra[], int plugin)
{
    char obj[4300];
    compile_base(triple, name, extra, plugin, obj, sizeof obj);
    return digest_of(obj);
}

static const hp_link_digest *fn(const hp_link_digest_unit *u, const char *name)
{
    const hp_link_digest *d = hp_link_digest_find(u, name, HP_DIGEST_FUNCTION);
    cr_assert(d, "no function %s in %s", name, u->unit);
    return d;
}

static const hp_link_digest *var(const hp_link_digest_unit *u, const char *name)
{
    const hp_link_digest *d = hp_link_digest_find(u, name, HP_DIGEST_VARIABLE);
    cr_assert(d, "no variable %s in %s", name, u->unit);
    return d;
}

static const char *const functions[] = {"bump",    "calls", "words", "scaled", "set_scale",
                                        "dispatch", "pair_of", "quote", "loop"};
static const char *const variables[] = {"counter", "scale", "zpair"};

/* Every function and variable of base.c has the same digest in both, but those named in `changed`. */
static void expect_only(const hp_link_digest_unit *a, const hp_link_digest_unit *b, const char *const changed[],
                        const char *what)
{
    for (size_t i = 0; i < sizeof functions / sizeof *functions; i++) {
        int want = 0;
        for (size_t k = 0; changed[k]; k++)
            want |= strcmp(changed[k], functions[i]) == 0;
        cr_expect_eq(fn(a, functions[i])->digest != fn(b, functions[i])->digest, want, "%s: %s %s", what,
                     functions[i], want ? "did not change" : "changed");
    }
    for (size_t i = 0; i < sizeof variables / sizeof *variables; i++) {
        int want = 0;
        for (size_t k = 0; changed[k]; k++)
            want |= strcmp(changed[k], variables[i]) == 0;
        cr_expect_eq(var(a, variables[i])->digest != var(b, variables[i])->digest, want, "%s: variable %s %s",
                     what, variables[i], want ? "did not change" : "changed");
    }
}

Test(digest, the_unit_is_the_plugins_name_and_a_build_is_reproducible)
{
    hp_link_digest_unit *a = digest("x86_64-w64-mingw32", "digest_a", NULL, 1);
    hp_link_digest_unit *b = digest("x86_64-w64-mingw32", "digest_b", NULL, 1);
    cr_expect_str_eq(a->unit, "base.c");
    cr_expect_eq(a->machine, 0x8664);
    cr_expect_eq(fn(a, "bump")->is_static, 1, "bump is static");
    cr_expect_eq(fn(a, "calls")->is_static, 0);
    cr_expect_eq(var(a, "scale")->size, 8);
    cr_expect_eq(var(a, "counter")->size, 4);
    expect_only(a, b, (const char *[]){NULL}, "the same source twice");
    hp_link_digest_destroy(a);
    hp_link_digest_destroy(b);
}

Test(digest, a_function_added_before_the_others_moves_them_but_changes_none)
{
    hp_link_digest_unit *a = digest("x86_64-w64-mingw32", "digest_base", NULL, 1);
    hp_link_digest_unit *b = digest("x86_64-w64-mingw32", "digest_added", (const char *[]){"-DADD_BEFORE", NULL}, 1);
    expect_only(a, b, (const char *[]){NULL}, "ADD_BEFORE");
    cr_expect_null(hp_link_digest_find(a, "added_first", HP_DIGEST_FUNCTION));
    cr_expect_not_null(hp_link_digest_find(b, "added_first", HP_DIGEST_FUNCTION));
    hp_link_digest_destroy(a);
    hp_link_digest_destroy(b);
}

Test(digest, one_change_changes_one_digest)
{
    static const struct {
        const char *define, *changed;
    } cases[] = {
        {"-DWORD_TWO=\"TWO\"", "words"},   /* a string of a switch's lookup table */
        {"-DSCALE_CONSTANT=4.5", "scaled"}, /* a floating constant in read-only data */
        {"-DPRICE=13", "quote"},            /* an immediate */
        {"-DSCALE_INIT=3.5", "scale"},      /* a variable's initial value, no code */
        {"-DSWAP_PAIR", "zpair"},           /* a zero-initialised struct's fields reordered: its type */
    };
    hp_link_digest_unit *a = digest("x86_64-w64-mingw32", "digest_ref", NULL, 1);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[64];
        snprintf(name, sizeof name, "digest_case%zu", i);
        hp_link_digest_unit *b = digest("x86_64-w64-mingw32", name, (const char *[]){cases[i].define, NULL}, 1);
        expect_only(a, b, (const char *[]){cases[i].changed, NULL}, cases[i].define);
        hp_link_digest_destroy(b);
    }
    hp_link_digest_destroy(a);
}

Test(digest, x86_objects_and_bigobj_objects_are_read_alike)
{
    hp_link_digest_unit *a = digest("i686-w64-mingw32", "digest_x86", NULL, 1);
    hp_link_digest_unit *b = digest("i686-w64-mingw32", "digest_x86_added", (const char *[]){"-DADD_BEFORE", NULL}, 1);
    cr_expect_eq(a->machine, 0x14c);
    cr_expect_not_null(hp_link_digest_find(a, "calls", HP_DIGEST_FUNCTION), "x86 names lose their '_'");
    expect_only(a, b, (const char *[]){NULL}, "x86 ADD_BEFORE");
    hp_link_digest_destroy(b);
    b = digest("i686-w64-mingw32", "digest_x86_price", (const char *[]){"-DPRICE=13", NULL}, 1);
    expect_only(a, b, (const char *[]){"quote", NULL}, "x86 PRICE");
    hp_link_digest_destroy(a);
    hp_link_digest_destroy(b);

    /* /bigobj: clang writes one only past 65,279 sections (-Wa,-mbig-obj is GNU as's), so GNU objcopy
       writes the object both ways, plain and /bigobj (its rewrite itself changes a few digests against
       clang's object: trailing fill, alignment), and the two are compared */
    char obj[4300], plain[4400], big[4400];
    compile_base("x86_64-w64-mingw32", "digest_bigobj", NULL, 1, obj, sizeof obj);
    snprintf(plain, sizeof plain, "%s.plain", obj);
    snprintf(big, sizeof big, "%s.big", obj);
    static const char *const formats[2] = {"pe-x86-64", "pe-bigobj-x86-64"};
    const char *outs[2] = {plain, big};
    for (int k = 0; k < 2; k++) {
        hpt_proc p;
        cr_assert_eq(hpt_run((const char *[]){"x86_64-w64-mingw32-objcopy", "-O", formats[k], obj, outs[k], NULL}, NULL,
                             60, &p),
                     0);
        cr_assert_eq(p.status, 0, "%s", p.err);
        hpt_proc_free(&p);
    }
    size_t n;
    unsigned char *data = hpt_read_file(big, &n);
    cr_assert(data && n > 4 && data[0] == 0 && data[1] == 0 && data[2] == 0xFF && data[3] == 0xFF, "not /bigobj");
    free(data);
    a = digest_of(plain);
    b = digest_of(big);
    expect_only(a, b, (const char *[]){NULL}, "/bigobj");
    hp_link_digest_destroy(a);
    hp_link_digest_destroy(b);
}

Test(digest, objects_the_plugin_did_not_compile_and_bad_input)
{
    hp_link_digest_unit *u = digest("x86_64-w64-mingw32", "digest_noplugin", NULL, 0);
    cr_expect_null(u, "an object without the plugin's unit label has no digests");
    static const unsigned char junk[] = {0x64, 0x86, 0xff, 0xff, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0x7f};
    char msg[256] = "";
    cr_expect_eq(hp_link_digest_object(junk, sizeof junk, 0, &u, msg, sizeof msg), HP_ERR_FORMAT);
    cr_expect(msg[0], "no message");
    static const unsigned char elf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x3e, 0};
    cr_expect_eq(hp_link_digest_object(elf, sizeof elf, 0, &u, msg, sizeof msg), HP_ERR_FORMAT);
    cr_expect_str_eq(msg, "not a COFF object of x86 or x86-64");
}

/* ---- the .hpcode file ---- */

Test(codefile, what_is_written_is_read_back)
{
    hp_link_digest e1[] = {D("alpha", HP_DIGEST_FUNCTION, 0, 40, 0x0123456789abcdefull),
                           D("beta", HP_DIGEST_VARIABLE, 1, 8, 0xfedcba9876543210ull)};
    hp_link_digest_unit u = {
        .unit = "src/a file.c", .unit_id = 0x1234abcd, .machine = 0x8664, .entries = e1, .count = 2};
    hp_link_digest_unit *units[] = {&u};
    hp_link_code c = {"x64", 11, 22, 33, "app.dll", units, 1};
    char path[4300], msg[256] = "";
    snprintf(path, sizeof path, "%s/app.dll.hpcode", hpt_scratch("codefile"));
    cr_assert_eq(hp_link_code_write(path, &c, msg, sizeof msg), HP_OK, "%s", msg);
    size_t n;
    char *text = (char *)hpt_read_file(path, &n);
    cr_assert(text);
    static const char want[] = "hotpatch-code 1\n"
                               "image x64 11 22 33 app.dll\n"
                               "unit 1234abcd src/a file.c\n"
                               "f e 40 0123456789abcdef alpha\n"
                               "v s 8 fedcba9876543210 beta\n";
    cr_expect_eq(n, sizeof want - 1);
    cr_expect(memcmp(text, want, n < sizeof want ? n : sizeof want) == 0, "%.*s", (int)n, text);
    free(text);
    hp_link_code *r = NULL;
    cr_assert_eq(hp_link_code_load(path, &r, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect_str_eq(r->machine, "x64");
    cr_expect_eq(r->time_date_stamp, 11);
    cr_expect_eq(r->size_of_image, 22);
    cr_expect_eq(r->checksum, 33);
    cr_expect_str_eq(r->image_name, "app.dll");
    const hp_link_digest_unit *ru = hp_link_code_unit(r, "src/a file.c");
    cr_assert(ru);
    cr_expect_eq(ru->unit_id, 0x1234abcd);
    const hp_link_digest *d = hp_link_digest_find(ru, "beta", HP_DIGEST_VARIABLE);
    cr_assert(d);
    cr_expect_eq(d->digest, 0xfedcba9876543210ull);
    cr_expect_eq(d->is_static, 1);
    cr_expect_eq(d->size, 8);
    cr_expect_null(hp_link_digest_find(ru, "beta", HP_DIGEST_FUNCTION));
    hp_link_code_destroy(r);
}

/* found by fuzz_link_code: a crafted object's symbol with an empty name, or a space in it, was written
   as a line the reader refuses (the whole file with it) */
Test(codefile, names_the_reader_cannot_read_back_are_left_out)
{
    hp_link_digest e[] = {D("", HP_DIGEST_FUNCTION, 1, 0, 0), D("a b", HP_DIGEST_FUNCTION, 0, 1, 1),
                          D("x\ny", HP_DIGEST_VARIABLE, 0, 1, 2), D("ok", HP_DIGEST_FUNCTION, 0, 3, 3)};
    hp_link_digest_unit u = {.unit = "a.c", .unit_id = 1, .machine = 0x8664, .entries = e, .count = 4};
    hp_link_digest_unit *units[] = {&u};
    hp_link_code c = {"x64", 1, 2, 3, "a.dll", units, 1};
    char path[4300], msg[256] = "";
    snprintf(path, sizeof path, "%s/a.dll.hpcode", hpt_scratch("codefile_names"));
    cr_assert_eq(hp_link_code_write(path, &c, msg, sizeof msg), HP_OK, "%s", msg);
    hp_link_code *r = NULL;
    cr_assert_eq(hp_link_code_load(path, &r, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect_eq(hp_link_code_unit(r, "a.c")->count, 1);
    cr_expect_not_null(hp_link_digest_find(hp_link_code_unit(r, "a.c"), "ok", HP_DIGEST_FUNCTION));
    hp_link_code_destroy(r);
    char *lines = NULL;
    size_t len = 0;
    cr_assert_eq(hp_link_code_unit_lines(&u, &lines, &len), HP_OK);
    cr_expect(len == strlen("f e 3 0000000000000003 ok\n") && memcmp(lines, "f e 3 0000000000000003 ok\n", len) == 0,
              "%.*s", (int)len, lines);
    free(lines);
}

/* found by fuzz_link_code: a unit with nothing in it sorted a NULL array */
Test(codefile, a_unit_without_functions_or_variables_is_read)
{
    static const char text[] = "hotpatch-code 1\nimage x86 1 2 3 a b.dll\nunit 00000001 empty.c\nunit 00000002 x.c\n"
                               "f s 1 00000000000000ff only\n";
    hp_link_code *c = NULL;
    char msg[256] = "";
    cr_assert_eq(hp_link_code_parse(text, sizeof text - 1, &c, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect_str_eq(c->image_name, "a b.dll");
    cr_expect_eq(hp_link_code_unit(c, "empty.c")->count, 0);
    cr_expect_eq(hp_link_code_unit(c, "x.c")->count, 1);
    hp_link_code_destroy(c);
}

Test(codefile, malformed_files_are_refused_with_the_line)
{
    static const struct {
        const char *text, *msg;
        hp_status st;
    } cases[] = {
        {"hotpatch-map 1\n", "line 1: not a hotpatch code file (it starts with 'hotpatch-code <version>')",
         HP_ERR_FORMAT},
        {"hotpatch-code 2\n", "line 1: version 2 is not one this reader knows (1)", HP_ERR_MANIFEST_VERSION},
        {"hotpatch-code 1\nimage x64 1 2\n", "line 2: size_of_image is not a decimal 32-bit number", HP_ERR_FORMAT},
        {"hotpatch-code 1\nimage x64 1 2 3 a.dll\nf e 1 0000000000000001 f\n",
         "line 3: a function or variable before any 'unit'", HP_ERR_FORMAT},
        {"hotpatch-code 1\nimage x64 1 2 3 a.dll\nunit 0000000g a.c\n", "line 3: not 'unit <8 hex digits> <path>'",
         HP_ERR_FORMAT},
        {"hotpatch-code 1\nimage x64 1 2 3 a.dll\nunit 00000001 a.c\nf x 1 0000000000000001 f\n",
         "line 4: linkage is not 's' or 'e'", HP_ERR_FORMAT},
        {"hotpatch-code 1\nimage x64 1 2 3 a.dll\nunit 00000001 a.c\nf e 4294967296 0000000000000001 f\n",
         "line 4: size is not a decimal 32-bit number", HP_ERR_FORMAT},
        {"hotpatch-code 1\nimage x64 1 2 3 a.dll\nunit 00000001 a.c\nf e 1 00000000000001 f\n",
         "line 4: digest is not 16 hex digits", HP_ERR_FORMAT},
        {"hotpatch-code 1\nimage x64 1 2 3 a.dll\nunit 00000001 a.c\nv e 1 0000000000000001 \n",
         "line 4: the name is missing or has a space or NUL", HP_ERR_FORMAT},
        {"hotpatch-code 1\nimage x64 1 2 3 a.dll\nunit 00000001 a.c\nunit 00000002 a.c\n", "line 4: a unit named twice",
         HP_ERR_FORMAT},
        {"hotpatch-code 1\nimage x64 1 2 3 a.dll\nunit 00000001 a.c\nf e 1 0000000000000001 f\n"
         "f s 2 0000000000000002 f\n",
         "unit a.c: 'f' twice", HP_ERR_FORMAT},
        {"hotpatch-code 1\nimage x64 1 2 3 a.dll\nsymbol x\n", "line 3: not a 'unit', 'f' or 'v' record", HP_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        hp_link_code *c = NULL;
        char msg[256] = "";
        hp_status st = hp_link_code_parse(cases[i].text, strlen(cases[i].text), &c, msg, sizeof msg);
        cr_expect_eq(st, cases[i].st, "case %zu: %s", i, hp_status_str(st));
        cr_expect_str_eq(msg, cases[i].msg, "case %zu", i);
        cr_expect_null(c);
    }
}

/* ---- the comparison ---- */

/* A map of a release with svc.c (unit 0): patchable external f, g, static h; x excluded (not in the
   map); and units a.c (no digests: linked as bitcode) */
static const char map_text[] =
    "{\"format\": \"hotpatch-map\", \"version\": 2,\n"
    " \"image\": {\"name\": \"svc.dll\", \"format\": \"pe\", \"machine\": \"x64\", \"time_date_stamp\": 1,"
    " \"size_of_image\": 2, \"checksum\": 3, \"codeview\": null},\n"
    " \"functions\": [\n"
    "  {\"name\": \"f\", \"rva\": 4096, \"padding\": 6, \"site_offset\": 0, \"entry_bytes\": \"6690\","
    " \"hash_length\": 16, \"hash\": \"fnv1a64:0000000000000000\", \"table\": true, \"exported\": true,"
    " \"patchable\": true},\n"
    "  {\"name\": \"g\", \"rva\": 4160, \"padding\": 6, \"site_offset\": 0, \"entry_bytes\": \"6690\","
    " \"hash_length\": 16, \"hash\": \"fnv1a64:0000000000000000\", \"table\": true, \"exported\": true,"
    " \"patchable\": true},\n"
    "  {\"name\": null, \"rva\": 4224, \"padding\": 6, \"site_offset\": 0, \"entry_bytes\": \"6690\","
    " \"hash_length\": 16, \"hash\": \"fnv1a64:0000000000000000\", \"table\": true, \"exported\": false,"
    " \"patchable\": true}],\n"
    " \"units\": [\"svc.c\", \"a.c\"],\n"
    " \"symbols\": [\n"
    "  {\"name\": \"h\", \"unit\": 0, \"static\": true, \"kind\": \"function\", \"rva\": 4224, \"size\": 0},\n"
    "  {\"name\": \"count\", \"unit\": 0, \"static\": true, \"kind\": \"variable\", \"rva\": 8192, \"size\": 4}]}\n";

static hp_link_fix_plan *compare(hp_link_digest *now, size_t n, const char *unit, hp_status want, char *msg)
{
    static hp_link_digest was[] = {
        D("count", HP_DIGEST_VARIABLE, 1, 4, 100), D("f", HP_DIGEST_FUNCTION, 0, 10, 1),
        D("g", HP_DIGEST_FUNCTION, 0, 10, 2),      D("h", HP_DIGEST_FUNCTION, 1, 10, 3),
        D("old", HP_DIGEST_FUNCTION, 1, 10, 4),    D("x", HP_DIGEST_FUNCTION, 0, 10, 5),
    };
    hp_link_digest_unit release = {.unit = "svc.c", .unit_id = 1, .machine = 0x8664, .entries = was,
                                   .count = sizeof was / sizeof *was};
    hp_link_digest_unit *units[] = {&release};
    hp_link_code code = {"x64", 1, 2, 3, "svc.dll", units, 1};
    hp_map *map = NULL;
    char why[256];
    cr_assert_eq(hp_map_parse(map_text, strlen(map_text), &map, why, sizeof why), HP_OK, "%s", why);
    hp_link_digest_unit fixed = {
        .unit = (char *)unit, .unit_id = 1, .machine = 0x8664, .entries = now, .count = n};
    hp_link_fix_unit fu = {&fixed, NULL, NULL, 0};
    hp_link_fix_plan *plan = NULL;
    hp_status st = hp_link_fix_compare(map, &code, &fu, 1, &plan, msg, 256);
    cr_expect_eq(st, want, "%s", msg);
    hp_map_free(map);
    return plan;
}

static const hp_link_fix_item *item(const hp_link_fix_plan *p, const char *name)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return &p->items[i];
    return NULL;
}

Test(fixplan, changed_new_gone_and_unchanged)
{
    /* f changed, g the same, h changed (static, found through its unit), old gone, n new; a new variable */
    hp_link_digest now[] = {
        D("count", HP_DIGEST_VARIABLE, 1, 4, 100), D("f", HP_DIGEST_FUNCTION, 0, 10, 91),
        D("g", HP_DIGEST_FUNCTION, 0, 10, 2),      D("h", HP_DIGEST_FUNCTION, 1, 10, 93),
        D("n", HP_DIGEST_FUNCTION, 1, 10, 7),      D("nv", HP_DIGEST_VARIABLE, 1, 4, 8),
        D("x", HP_DIGEST_FUNCTION, 0, 10, 5),
    };
    char msg[256] = "";
    hp_link_fix_plan *p = compare(now, sizeof now / sizeof *now, "svc.c", HP_OK, msg);
    cr_assert(p);
    cr_expect_eq(p->changed, 2);
    cr_expect_eq(p->added, 2);
    cr_expect_eq(p->gone, 1);
    cr_expect_eq(p->refused, 0);
    cr_expect_eq(p->unchanged, 2); /* g, x */
    cr_expect_eq(item(p, "f")->what, HP_FIX_CHANGED);
    cr_expect_eq(item(p, "h")->what, HP_FIX_CHANGED);
    cr_expect_eq(item(p, "n")->what, HP_FIX_NEW);
    cr_expect_eq(item(p, "nv")->what, HP_FIX_NEW);
    cr_expect_eq(item(p, "old")->what, HP_FIX_GONE);
    cr_expect_null(item(p, "g"));
    hp_link_fix_plan_destroy(p);
}

Test(fixplan, what_a_swap_cannot_do_is_refused_by_name)
{
    hp_link_digest now[] = {
        D("count", HP_DIGEST_VARIABLE, 1, 8, 100), /* another size */
        D("x", HP_DIGEST_FUNCTION, 0, 10, 95),     /* changed, but not patchable in the release */
    };
    char msg[256] = "";
    hp_link_fix_plan *p = compare(now, 2, "svc.c", HP_OK, msg);
    cr_assert(p);
    cr_expect_eq(p->refused, 2);
    cr_expect_str_eq(item(p, "count")->note,
                     "its size changed from 4 to 8 bytes (type or layout): the running program's variable keeps its "
                     "size, and code of both versions would use it");
    cr_expect(strstr(item(p, "x")->note, "the release has no patchable function 'x'") != NULL, "%s",
              item(p, "x")->note);
    hp_link_fix_plan_destroy(p);

    hp_link_digest value[] = {D("count", HP_DIGEST_VARIABLE, 1, 4, 101)};
    p = compare(value, 1, "svc.c", HP_OK, msg);
    cr_assert(p);
    cr_expect_eq(p->refused, 1);
    cr_expect(strncmp(item(p, "count")->note, "its initial value changed", 25) == 0, "%s", item(p, "count")->note);
    hp_link_fix_plan_destroy(p);
}

/* stats.0 in the release (the one field it writes), stats.0 and stats.1 in the fix (a second field
   written now): the fix may not keep a field of the running program's variable of its own */
Test(fixplan, a_variable_split_into_other_fields_is_refused)
{
    hp_link_digest now[] = {
        D("count", HP_DIGEST_VARIABLE, 1, 4, 100), D("count.1", HP_DIGEST_VARIABLE, 1, 4, 7),
        D("f", HP_DIGEST_FUNCTION, 0, 10, 1),
    };
    char msg[256] = "";
    hp_link_fix_plan *p = compare(now, sizeof now / sizeof *now, "svc.c", HP_OK, msg);
    cr_assert(p);
    cr_expect_eq(p->refused, 1);
    const hp_link_fix_item *it = item(p, "count.1");
    cr_assert(it);
    cr_expect_eq(it->what, HP_FIX_REFUSED);
    cr_expect(strstr(it->note, "the release has it as 'count', this build as 'count.1'") != NULL, "%s", it->note);
    hp_link_fix_plan_destroy(p);
}

Test(fixplan, a_unit_the_release_has_no_digests_of_is_an_error)
{
    hp_link_digest now[] = {D("f", HP_DIGEST_FUNCTION, 0, 10, 1)};
    char msg[256] = "";
    hp_link_fix_plan *p = compare(now, 1, "a.c", HP_ERR_FORMAT, msg);
    cr_expect_null(p);
    cr_expect(strstr(msg, "the release has no code digests of unit 'a.c'") != NULL, "%s", msg);
}
