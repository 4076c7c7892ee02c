/*
 * test_post_walk.c — the post-link pass's two walks (hp_link_post_table.h):
 * an image the plugin compiled is judged by the pass's own walk from the
 * table, and its function list — names, sources, sites, extents, hashes —
 * and units are exactly those the audit's walk gives for the same file (the
 * audit's walk is asked for here by an exclusion that matches nothing). An
 * image where the audit has something to report makes the table walk
 * decline, and the findings are the audit's. options.check_walk runs both
 * and fails the pass on a difference.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotpatch_table.h"
#include "hp_link_post.h"
#include "hp_link_units.h"
#include "lpt.h"

/* an exclusion no function matches: the pass then takes the audit's walk */
static const char *const nothing[] = {"no function is named like this"};

static hp_link_post *run(const char *path, int audit, int check)
{
    hp_link_post_options o;
    memset(&o, 0, sizeof o);
    o.units = 1;
    o.check_walk = check;
    if (audit) {
        o.exclude = nothing;
        o.exclude_count = 1;
    }
    hp_link_post *post = NULL;
    char msg[512] = "";
    cr_assert_eq(hp_link_post_run(path, &o, &post, msg, sizeof msg), HP_OK, "%s: %s", path, msg);
    return post;
}

/* Two results of the same file: the same functions, field by field, the same findings and units. */
static void expect_same(const hp_link_post *t, const hp_link_post *a, const char *what)
{
    cr_assert_eq(t->fn_count, a->fn_count, "%s: functions", what);
    for (size_t i = 0; i < t->fn_count; i++) {
        const hp_link_fn *x = &t->fns[i], *y = &a->fns[i];
        const char *n = y->name ? y->name : "(unnamed)";
        cr_expect_eq(x->rva, y->rva, "%s: function %zu", what, i);
        cr_expect((!x->name && !y->name) || (x->name && y->name && strcmp(x->name, y->name) == 0),
                  "%s: %s named %s", what, n, x->name ? x->name : "(unnamed)");
        cr_expect_eq(x->from, y->from, "%s: %s: sources", what, n);
        cr_expect(x->patchable == y->patchable && x->padding == y->padding && x->site_offset == y->site_offset &&
                      memcmp(x->entry_bytes, y->entry_bytes, 2) == 0,
                  "%s: %s: site", what, n);
        cr_expect_eq(x->hash_len, y->hash_len, "%s: %s: extent", what, n);
        cr_expect_eq(x->hash, y->hash, "%s: %s: hash", what, n);
    }
    cr_assert_eq(t->violation_count, a->violation_count, "%s: findings", what);
    for (size_t i = 0; i < t->violation_count; i++) {
        cr_expect_eq(t->violations[i].rva, a->violations[i].rva, "%s: finding %zu", what, i);
        cr_expect_str_eq(t->violations[i].reason, a->violations[i].reason, "%s: finding %zu", what, i);
        cr_expect_str_eq(t->violations[i].message, a->violations[i].message, "%s: finding %zu", what, i);
    }
    cr_expect_eq(t->has_table, a->has_table, "%s", what);
    const hp_link_units *u = t->units, *v = a->units;
    cr_assert(u && v, "%s: units", what);
    cr_assert_eq(u->unit_count, v->unit_count, "%s: units", what);
    for (size_t i = 0; i < u->unit_count; i++)
        cr_expect_str_eq(u->units[i], v->units[i], "%s", what);
    cr_assert_eq(u->symbol_count, v->symbol_count, "%s: symbols", what);
    for (size_t i = 0; i < u->symbol_count; i++)
        cr_expect(strcmp(u->symbols[i].name, v->symbols[i].name) == 0 && u->symbols[i].rva == v->symbols[i].rva &&
                      u->symbols[i].unit == v->symbols[i].unit,
                  "%s: symbol %zu", what, i);
}

/* The units fixture (two units, statics of one name in both, exported and static functions) and
   dll.c, linked for `triple` into dir: the image's path. */
static const char *link_units(const char *triple, const char *tag)
{
    const char *d = hpt_scratch(tag);
    const char *a_o = lpt_path(d, "a.o"), *b_o = lpt_path(d, "b.o"), *c_o = lpt_path(d, "dll.o");
    const char *dll = lpt_path(d, "u.dll");
    lpt_compile_units(triple, a_o, b_o);
    lpt_compile(triple, lpt_fixture("dll.c"), c_o, 1, (const char *[]){"-O2", NULL});
    lpt_link_dll(triple, (const char *[]){a_o, b_o, c_o, NULL}, dll);
    return dll;
}

static void walks_agree(const char *triple)
{
    char tag[96];
    snprintf(tag, sizeof tag, "post_walk_%s", triple);
    const char *dll = link_units(triple, tag);
    hp_link_post *t = run(dll, 0, 0), *a = run(dll, 1, 0), *c = run(dll, 0, 1);
    cr_expect_null(t->walk_declined, "%s: the table walk declined: %s", triple, t->walk_declined);
    cr_expect_not_null(a->walk_declined, "%s: an exclusion takes the audit's walk", triple);
    cr_expect_geq(t->fn_count, 6u, "%s: the fixtures' functions", triple);
    size_t exported = 0, named = 0;
    for (size_t i = 0; i < t->fn_count; i++) {
        exported += (t->fns[i].from & HP_LINK_FROM_EXPORT) != 0;
        named += t->fns[i].name != NULL;
    }
    cr_expect_gt(exported, 0u, "%s", triple);
    cr_expect_lt(exported, t->fn_count, "%s: functions named by symbols too", triple);
    expect_same(t, a, triple);
    cr_expect_null(c->walk_declined, "%s", triple);
    expect_same(c, a, triple);
    hp_link_post_destroy(t);
    hp_link_post_destroy(a);
    hp_link_post_destroy(c);
}

Test(post_walk, the_table_walk_gives_the_audits_functions_mingw_x64) { walks_agree("x86_64-w64-mingw32"); }
Test(post_walk, the_table_walk_gives_the_audits_functions_mingw_x86) { walks_agree("i686-w64-mingw32"); }
Test(post_walk, the_table_walk_gives_the_audits_functions_msvc_x64) { walks_agree("x86_64-pc-windows-msvc"); }
Test(post_walk, the_table_walk_gives_the_audits_functions_msvc_x86) { walks_agree("i686-pc-windows-msvc"); }

/* The image at `path` with one change made by `change`, as a new file: its path. */
static const char *changed_copy(const char *path, const char *name, void (*change)(lpt_image *))
{
    lpt_image img;
    lpt_image_open(&img, path);
    change(&img);
    char out[4200];
    snprintf(out, sizeof out, "%s.%s", path, name);
    FILE *f = fopen(out, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(img.data, 1, img.size, f), img.size);
    fclose(f);
    lpt_image_close(&img);
    return strdup(out);
}

/* the last table entry's first byte made `push rbp`/`push ebp`: a one-byte first instruction */
static void spoil_entry(lpt_image *img)
{
    uint32_t e[256];
    size_t n = lpt_table_entries(img, e, 256, NULL);
    cr_assert_gt(n, 1u);
    uint32_t off = 0;
    cr_assert_eq(hp_pe_rva_to_offset(&img->pe, e[n - 1], &off, NULL), HP_OK);
    img->data[off] = 0x55;
}

/* The image's export address table: its first slot (in the image's bytes) and its length. */
static unsigned char *export_addresses(lpt_image *img, uint32_t *count)
{
    const hp_pe_dir *dir = &img->pe.dirs[HP_PE_DIR_EXPORT];
    uint32_t dir_off = 0, eat_rva, eat_off = 0;
    cr_assert(dir->rva && dir->size);
    cr_assert_eq(hp_pe_rva_to_offset(&img->pe, dir->rva, &dir_off, NULL), HP_OK);
    memcpy(count, img->data + dir_off + 20, 4);    /* NumberOfFunctions, little-endian host */
    memcpy(&eat_rva, img->data + dir_off + 28, 4); /* AddressOfFunctions */
    cr_assert_eq(hp_pe_rva_to_offset(&img->pe, eat_rva, &eat_off, NULL), HP_OK);
    return img->data + eat_off;
}

static int exported_at(lpt_image *img, uint32_t rva)
{
    uint32_t count, a;
    const unsigned char *eat = export_addresses(img, &count);
    for (uint32_t k = 0; k < count; k++)
        if (memcpy(&a, eat + 4 * k, 4), a == rva)
            return 1;
    return 0;
}

/* the first export of a table entry moved two bytes into its function (past the plugin's 2-byte NOP):
   an export the table does not list */
static void export_off_the_table(lpt_image *img)
{
    uint32_t e[256], count;
    size_t n = lpt_table_entries(img, e, 256, NULL);
    unsigned char *eat = export_addresses(img, &count);
    for (uint32_t k = 0; k < count; k++) {
        uint32_t rva;
        memcpy(&rva, eat + 4 * k, 4);
        for (size_t j = 0; j < n; j++)
            if (e[j] == rva) {
                rva += 2;
                memcpy(eat + 4 * k, &rva, 4);
                return;
            }
    }
    cr_assert_fail("no export is a table entry");
}

/* A function symbol of one table entry moved onto another entry (value and section), exported or not
   as `exported` asks: two function symbols at one entry, folded functions to the audit (HP2007). */
static void fold_symbol(lpt_image *img, int exported)
{
    uint32_t e[256];
    size_t n = lpt_table_entries(img, e, 256, NULL);
    uint32_t symptr, nsyms;
    memcpy(&symptr, img->data + img->pe.nt_offset + 4 + 8, 4); /* PointerToSymbolTable, little-endian host */
    memcpy(&nsyms, img->data + img->pe.nt_offset + 4 + 12, 4);
    cr_assert(symptr && nsyms && symptr + 18ull * nsyms <= img->size, "a symbol table");
    unsigned char *target = NULL, *moved = NULL;
    for (uint32_t k = 0; k < nsyms && !(target && moved); k++) {
        unsigned char *r = img->data + symptr + 18u * k;
        uint32_t value;
        int16_t section;
        uint16_t type;
        memcpy(&value, r + 8, 4);
        memcpy(&section, r + 12, 2);
        memcpy(&type, r + 14, 2);
        k += r[17]; /* aux records */
        hp_pe_section sec;
        if (type != 0x20 || section < 1 || hp_pe_section_at(&img->pe, (uint32_t)section - 1, &sec) != HP_OK)
            continue;
        uint32_t rva = sec.virtual_address + value;
        int in_table = 0;
        for (size_t j = 0; j < n; j++)
            in_table |= e[j] == rva;
        if (!in_table)
            continue;
        int is_export = exported_at(img, rva);
        if (!target && is_export == exported)
            target = r;
        else if (!moved && !is_export)
            moved = r;
    }
    cr_assert(target && moved && target != moved, "two function symbols of table entries");
    memcpy(moved + 8, target + 8, 6); /* value and section */
}

static void fold_onto_static(lpt_image *img) { fold_symbol(img, 0); }
static void fold_onto_export(lpt_image *img) { fold_symbol(img, 1); }

/* the second export of a table entry made to point at the first's: exports that share an entry */
static void alias_exports(lpt_image *img)
{
    uint32_t e[256], count, first = 0;
    size_t n = lpt_table_entries(img, e, 256, NULL);
    unsigned char *eat = export_addresses(img, &count);
    for (uint32_t k = 0; k < count; k++) {
        uint32_t rva;
        memcpy(&rva, eat + 4 * k, 4);
        for (size_t j = 0; j < n; j++)
            if (e[j] == rva) {
                if (!first) {
                    first = rva;
                    break;
                }
                memcpy(eat + 4 * k, &first, 4);
                return;
            }
    }
    cr_assert_fail("fewer than two exports are table entries");
}

/* Whatever makes the audit report something makes the table walk decline: the findings are the
   audit's, and check_walk has nothing to compare. */
static void declines_in(const char *image, const char *triple, const char *name, void (*change)(lpt_image *))
{
    const char *dll = changed_copy(image, name, change);
    hp_link_post *t = run(dll, 0, 1), *a = run(dll, 1, 0);
    cr_expect_not_null(t->walk_declined, "%s: %s: the table walk judged it", triple, name);
    cr_expect_gt(a->violation_count, 0u, "%s: %s: the audit reports it", triple, name);
    expect_same(t, a, name);
    hp_link_post_destroy(t);
    hp_link_post_destroy(a);
    free((void *)dll);
}

static void declines(const char *triple, const char *name, void (*change)(lpt_image *))
{
    char tag[96];
    snprintf(tag, sizeof tag, "post_walk_declines_%s_%s", name, triple);
    declines_in(link_units(triple, tag), triple, name, change);
}

Test(post_walk, a_refused_site_is_the_audits_to_report)
{
    declines("x86_64-w64-mingw32", "entry", spoil_entry);
    declines("i686-w64-mingw32", "entry", spoil_entry);
}

Test(post_walk, an_export_the_table_does_not_list_is_the_audits_to_judge)
{
    declines("x86_64-w64-mingw32", "export", export_off_the_table);
    declines("x86_64-pc-windows-msvc", "export", export_off_the_table);
}

Test(post_walk, exports_that_share_an_entry_are_the_audits_to_report)
{
    declines("x86_64-w64-mingw32", "alias", alias_exports);
    declines("i686-pc-windows-msvc", "alias", alias_exports);
}

Test(post_walk, folded_function_symbols_are_the_audits_to_report)
{
    declines("x86_64-w64-mingw32", "fold_static", fold_onto_static);
    declines("x86_64-w64-mingw32", "fold_export", fold_onto_export);
}

/* the symbol table said to run past the end of the file */
static void symbols_past_the_end(lpt_image *img)
{
    uint32_t n = 0x7FFFFFF0u;
    memcpy(img->data + img->pe.nt_offset + 4 + 12, &n, 4); /* NumberOfSymbols */
}

/* A damaged symbol table: the table walk declines without a crash (a fuzzed image found that it asked
   the symbol reader without room for its detail: a null store under UBSan) and the pass fails with the
   audit's message, the file untouched. */
Test(post_walk, a_damaged_symbol_table_is_the_audits_to_report)
{
    const char *dll = changed_copy(link_units("x86_64-w64-mingw32", "post_walk_symtab"), "symtab",
                                   symbols_past_the_end);
    uint64_t before = lpt_file_hash(dll);
    hp_link_post_options o;
    memset(&o, 0, sizeof o);
    o.check_walk = 1;
    hp_link_post *post = NULL;
    char msg[512] = "";
    cr_expect_eq(hp_link_post_run(dll, &o, &post, msg, sizeof msg), HP_ERR_FORMAT);
    cr_expect_null(post);
    cr_expect(strstr(msg, dll) && strstr(msg, "symbol"), "%s", msg);
    cr_expect_eq(lpt_file_hash(dll), before, "the file was written");
    free((void *)dll);
}

/* the padding before every table entry made NOPs, as older plugins and bitcode under the policy leave it */
static void nop_padding(lpt_image *img)
{
    uint32_t e[256];
    uint8_t pads[256];
    size_t n = lpt_table_entries(img, e, 256, pads);
    cr_assert_gt(n, 1u);
    for (size_t i = 0; i < n; i++) {
        uint32_t off = 0;
        cr_assert_eq(hp_pe_rva_to_offset(&img->pe, e[i], &off, NULL), HP_OK);
        cr_assert_geq(off, pads[i]);
        memset(img->data + off - pads[i], 0x90, pads[i]);
    }
}

/* The fill happens as the table walk reads the table: alone (no check_walk, whose audit's walk would
   fill too), every NOP of the padding becomes int3, and the walk judged the image. */
Test(post_walk, the_table_walk_fills_the_padding)
{
    const char *dll = changed_copy(link_units("x86_64-w64-mingw32", "post_walk_fill"), "nops", nop_padding);
    lpt_image img;
    lpt_image_open(&img, dll);
    uint32_t e[256];
    uint8_t pads[256];
    size_t n = lpt_table_entries(&img, e, 256, pads), nops = 0;
    for (size_t i = 0; i < n; i++)
        nops += pads[i];
    lpt_image_close(&img);
    hp_link_post *post = run(dll, 0, 0);
    cr_expect_null(post->walk_declined, "%s", post->walk_declined);
    cr_expect_eq(post->filled, nops);
    cr_expect(post->rewritten);
    hp_link_post_destroy(post);
    lpt_image_open(&img, dll);
    for (size_t i = 0; i < n; i++) {
        size_t before = 0;
        const uint8_t *b = lpt_bytes(&img, e[i], &before);
        for (size_t k = 1; k <= pads[i]; k++)
            cr_expect_eq(b[-(long)k], 0xCC, "entry 0x%x, byte -%zu", e[i], k);
    }
    lpt_image_close(&img);
    free((void *)dll);
}

/* the last entry of the table's first block of RVAs (the plugin's format 3) moved to the top of the
   address space: a table of a few entries spread over 4 GiB */
static void entry_at_the_top(lpt_image *img)
{
    hp_pe_section s;
    uint32_t i = 0;
    for (; i < img->pe.section_count; i++) {
        cr_assert_eq(hp_pe_section_at(&img->pe, i, &s), HP_OK);
        if (strcmp(s.name, ".hotp") == 0)
            break;
    }
    cr_assert_lt(i, img->pe.section_count, "a .hotp section");
    unsigned char *sec = img->data + s.raw_offset;
    for (uint32_t off = 0; off + 8 <= s.raw_size; off += 8) {
        uint32_t count = (uint32_t)sec[off] | (uint32_t)sec[off + 1] << 8;
        if (!count || !(sec[off + 5] & HP_TABLE_F_RVA_BLOCK))
            continue;
        cr_assert_leq(off + 8 + 4 * count, s.raw_size);
        uint32_t top = 0xFFFFFFF0u;
        memcpy(sec + off + 8 + 4 * (count - 1), &top, 4); /* little-endian host */
        return;
    }
    cr_assert_fail("no block of RVAs in the table");
}

/* A table of three entries spread over 4 GiB (a fuzzed image: the index of the entries then shifted a
   32-bit offset by 32, undefined) is the audit's to report: one entry outside the code. */
Test(post_walk, a_table_spread_over_the_address_space_is_the_audits_to_report)
{
    const char *d = hpt_scratch("post_walk_top");
    const char *obj = lpt_path(d, "dll.o"), *dll = lpt_path(d, "d.dll");
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("dll.c"), obj, 1, (const char *[]){"-O2", NULL});
    lpt_link_dll("x86_64-w64-mingw32", (const char *[]){obj, NULL}, dll);
    lpt_image img;
    lpt_image_open(&img, dll);
    uint32_t e[8];
    cr_assert_lt(lpt_table_entries(&img, e, 8, NULL), 4u, "fewer than four entries: one bucket a 4 GiB");
    lpt_image_close(&img);
    declines_in(dll, "x86_64-w64-mingw32", "top", entry_at_the_top);
}
