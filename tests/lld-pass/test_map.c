/*
 * test_map.c — the .hpmap against the image, read independently of the map
 * writer: the table section's records, the export table, the headers.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpt.h"

typedef struct mfn {
    char name[64];
    uint32_t rva, padding;
    char entry[8];
    int table, exported;
} mfn;

/* Read the map's function lines (one object per line, as documented). */
static size_t read_map(const char *text, mfn *out, size_t max)
{
    size_t n = 0;
    for (const char *p = strstr(text, "{ \"name\": "); p && n < max; p = strstr(p + 1, "{ \"name\": ")) {
        mfn *f = &out[n];
        memset(f, 0, sizeof *f);
        const char *v = p + 10;
        if (*v == '"')
            sscanf(v + 1, "%63[^\"]", f->name);
        const char *r = strstr(p, "\"rva\": ");
        const char *pd = strstr(p, "\"padding\": ");
        const char *e = strstr(p, "\"entry_bytes\": \"");
        const char *t = strstr(p, "\"table\": ");
        const char *x = strstr(p, "\"exported\": ");
        cr_assert(r && pd && e && t && x);
        f->rva = (uint32_t)strtoul(r + 7, NULL, 10);
        f->padding = (uint32_t)strtoul(pd + 11, NULL, 10);
        memcpy(f->entry, e + 16, 4);
        f->table = strncmp(t + 9, "true", 4) == 0;
        f->exported = strncmp(x + 12, "true", 4) == 0;
        n++;
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
    lpt_image img;
    lpt_image_open(&img, img_path);

    char want[128];
    snprintf(want, sizeof want, "\"time_date_stamp\": %" PRIu32 ",", img.pe.time_date_stamp);
    cr_expect(strstr(text, want) != NULL, "%s", want);
    snprintf(want, sizeof want, "\"size_of_image\": %" PRIu32 ",", img.pe.size_of_image);
    cr_expect(strstr(text, want) != NULL, "%s", want);
    snprintf(want, sizeof want, "\"checksum\": %" PRIu32 ",", img.pe.checksum);
    cr_expect(strstr(text, want) != NULL, "%s", want);
    snprintf(want, sizeof want, "\"machine\": \"%s\"", img.pe.coff_machine == HP_PE_MACHINE_AMD64 ? "x64" : "x86");
    cr_expect(strstr(text, want) != NULL, "%s", want);

    mfn fns[64];
    size_t nf = read_map(text, fns, 64);
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
