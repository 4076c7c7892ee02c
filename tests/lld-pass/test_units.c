/*
 * test_units.c — the map's units and symbols (lld-pass/README.md, "The map"):
 * a release of two units that each have a `static ... count` (of different
 * sizes), a function-local static, a static function and external data,
 * linked by hotpatch-link for MinGW x64 and x86 and the MSVC ABI, with one
 * unit also given through an archive. The map is read with the tools' reader
 * (hp_map.h); where each static really is comes from the image itself: the
 * fixtures export a pointer to their `count`, whose value in the file is its
 * address.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hp_map.h"
#include "lpt.h"

/* The value of the pointer the export `name` holds, as an RVA of the image. */
static uint32_t pointed_rva(const lpt_image *img, const char *name)
{
    uint32_t rva = lpt_export_rva(img, name);
    cr_assert_neq(rva, 0u, "%s is not exported", name);
    size_t before;
    const uint8_t *p = lpt_bytes(img, rva, &before);
    uint64_t va = 0;
    unsigned width = img->pe.coff_machine == HP_PE_MACHINE_AMD64 ? 8 : 4;
    for (unsigned i = 0; i < width; i++)
        va |= (uint64_t)p[i] << (8 * i);
    cr_assert_geq(va, img->pe.image_base);
    return (uint32_t)(va - img->pe.image_base);
}

/* Build the release for `triple` (b.c through an archive when `archive`), return its map. */
static hp_map *release(const char *triple, int archive, lpt_image *img)
{
    char tag[128];
    snprintf(tag, sizeof tag, "units_%s_%d", triple, archive);
    const char *d = hpt_scratch(tag);
    const char *a_o = lpt_path(d, "a.o"), *b_o = lpt_path(d, "b.o"), *dll = lpt_path(d, "rel.dll");
    lpt_compile_units(triple, a_o, b_o);
    const char *b_in = b_o;
    if (archive) {
        b_in = lpt_path(d, "libb.a");
        const char *ar[] = {LPT_LLVM_AR, "rcs", b_in, b_o, NULL};
        hpt_proc p;
        cr_assert_eq(hpt_run(ar, NULL, 60, &p), 0);
        cr_assert_eq(p.status, 0, "%s", p.err);
        hpt_proc_free(&p);
    }
    int msvc = strstr(triple, "msvc") != NULL;
    const char *args[16] = {"-shared", a_o, b_in, "-o", dll};
    size_t n = 5;
    if (msvc) {
        args[n++] = "-nostdlib";
        args[n++] = "-Wl,/noentry";
    }
    if (archive && !msvc) /* nothing in a.c refers to b.c: pull the member in */
        args[n++] = strstr(triple, "i686") ? "-Wl,-u,_b_fn" : "-Wl,-u,b_fn";
    if (archive && msvc)
        args[n++] = strstr(triple, "i686") ? "-Wl,/include:_b_fn" : "-Wl,/include:b_fn";
    args[n] = NULL;
    hpt_proc p;
    cr_assert_eq(lpt_link(triple, args, &p), 0, "%s", p.err);
    hpt_proc_free(&p);
    char msg[512], map_path[4300];
    snprintf(map_path, sizeof map_path, "%s.hpmap", dll);
    hp_map *m = NULL;
    cr_assert_eq(hp_map_load(map_path, &m, msg, sizeof msg), HP_OK, "%s", msg);
    lpt_image_open(img, dll);
    return m;
}

static void units_and_statics(const char *triple, int archive)
{
    lpt_image img;
    hp_map *m = release(triple, archive, &img);
    cr_expect_eq(m->version, 3u);
    int32_t ua = hp_map_unit(m, "a.c"), ub = hp_map_unit(m, "sub/b.c");
    cr_assert(ua >= 0 && ub >= 0 && ua != ub, "units: a.c %d, sub/b.c %d (of %zu)", ua, ub, m->unit_count);
    cr_expect_eq(m->unit_count, 2u);

    /* two statics named count, each in its unit, at the address its unit's pointer holds */
    const hp_map_symbol *ca = hp_map_find(m, ua, "count"), *cb = hp_map_find(m, ub, "count");
    cr_assert(ca && cb, "count of a.c %p, of sub/b.c %p", (const void *)ca, (const void *)cb);
    cr_expect(ca->is_static && cb->is_static);
    cr_expect_eq(ca->kind, HP_MAP_VARIABLE);
    cr_expect_eq(ca->size, 4u);
    cr_expect_eq(cb->size, 8u);
    cr_expect_eq(ca->rva, pointed_rva(&img, "a_count_addr"), "a.c's count");
    cr_expect_eq(cb->rva, pointed_rva(&img, "b_count_addr"), "sub/b.c's count");
    cr_expect_null(hp_map_find(m, -1, "count"), "a static is no external symbol");

    /* external data and functions: at their exports */
    const hp_map_symbol *total = hp_map_find(m, -1, "total");
    cr_assert(total);
    cr_expect(!total->is_static && total->unit == ua && total->kind == HP_MAP_VARIABLE && total->size == 4);
    cr_expect_eq(total->rva, lpt_export_rva(&img, "total"));
    /* external functions: in "functions" under their names, not repeated in "symbols" */
    cr_expect_null(hp_map_find(m, -1, "a_fn"));
    const hp_map_function *afn = hp_map_function_named(m, "a_fn"), *bfn = hp_map_function_named(m, "b_fn");
    cr_assert(afn && bfn);
    cr_expect_eq(afn->rva, lpt_export_rva(&img, "a_fn"));
    cr_expect_eq(bfn->rva, lpt_export_rva(&img, "b_fn"));

    /* a function-local static and a static function, in their unit */
    const hp_map_symbol *calls = hp_map_find(m, ua, "a_fn.calls"), *helper = hp_map_find(m, ua, "helper");
    cr_assert(calls && helper);
    cr_expect(calls->is_static && calls->kind == HP_MAP_VARIABLE && calls->size == 4);
    cr_expect(helper->is_static && helper->kind == HP_MAP_FUNCTION);
    /* the static function is in "functions" too, named (MSVC-ABI images have no symbol table of their own) */
    const hp_map_function *hf = hp_map_function_at(m, helper->rva);
    cr_assert(hf, "helper at 0x%x is not among the functions", helper->rva);
    /* (x86 MinGW images name it by their own symbol table, decorated, as "functions" always did) */
    const char *want = strcmp(triple, "i686-w64-mingw32") == 0 ? "_helper" : "helper";
    cr_expect(hf->name && strcmp(hf->name, want) == 0, "its name: %s", hf->name ? hf->name : "null");
    /* the plugin's table markers are no symbols of a unit */
    cr_expect_null(hp_map_find(m, -1, "__hp_table_begin"));
    hp_map_free(m);
    lpt_image_close(&img);
}

Test(units, mingw_x64) { units_and_statics("x86_64-w64-mingw32", 0); }
Test(units, mingw_x64_member_of_an_archive) { units_and_statics("x86_64-w64-mingw32", 1); }
Test(units, mingw_x86_names_lose_their_decoration) { units_and_statics("i686-w64-mingw32", 0); }
Test(units, msvc_x64) { units_and_statics("x86_64-pc-windows-msvc", 0); }
Test(units, msvc_x64_member_of_an_archive) { units_and_statics("x86_64-pc-windows-msvc", 1); }

Test(units, without_a_source_root_the_unit_is_its_absolute_path)
{
    const char *d = hpt_scratch("units_nomap");
    const char *a_o = lpt_path(d, "a.o"), *dll = lpt_path(d, "x.dll");
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("units/a.c"), a_o, 1, (const char *[]){"-O2", NULL});
    hpt_proc p;
    cr_assert_eq(lpt_link("x86_64-w64-mingw32", (const char *[]){"-shared", a_o, "-o", dll, NULL}, &p), 0, "%s", p.err);
    hpt_proc_free(&p);
    /* the map names the unit by its absolute path (no source-root=) */
    char map_path[4300], msg[512];
    snprintf(map_path, sizeof map_path, "%s.hpmap", dll);
    hp_map *m = NULL;
    cr_assert_eq(hp_map_load(map_path, &m, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect_eq(m->unit_count, 1u);
    cr_expect_eq(hp_map_unit(m, lpt_fixture("units/a.c")) , 0, "unit: %s", m->unit_count ? m->units[0] : "none");
    hp_map_free(m);
}

/* Regression (zlib's example.c): constants the optimizer merges after the plugin named them in its
   unit symbols must still link, and both keep their place in the map. */
Test(units, merged_constants_still_link_and_are_named)
{
    const char *d = hpt_scratch("units_merge");
    const char *o = lpt_path(d, "merge.o"), *dll = lpt_path(d, "merge.dll");
    char root[4200];
    snprintf(root, sizeof root, "-fplugin-arg-hotpatch-source-root=%s", lpt_fixture("units"));
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("units/merge.c"), o, 1, (const char *[]){"-O2", root, NULL});
    hpt_proc p;
    cr_assert_eq(lpt_link("x86_64-w64-mingw32", (const char *[]){"-shared", o, "-o", dll, NULL}, &p), 0, "%s", p.err);
    hpt_proc_free(&p);
    char map_path[4300], msg[512];
    snprintf(map_path, sizeof map_path, "%s.hpmap", dll);
    hp_map *m = NULL;
    cr_assert_eq(hp_map_load(map_path, &m, msg, sizeof msg), HP_OK, "%s", msg);
    int32_t u = hp_map_unit(m, "merge.c");
    const hp_map_symbol *a = hp_map_find(m, u, "hello"), *b = hp_map_find(m, u, "dictionary");
    cr_expect(a && b && a->size == 6 && b->size == 6, "hello %p, dictionary %p", (const void *)a, (const void *)b);
    hp_map_free(m);
}
