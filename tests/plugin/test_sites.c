/*
 * test_sites.c — suite "sites": every function the plugin records in a linked
 * DLL is hotpatchable by the site rules, for every target and build
 * configuration; the same DLL built without the plugin is not.
 *
 * The fixture (fixtures/sites.c) defines 9 exported functions, 2 static ones
 * kept alive by their escaping address, and the DLL entry point: 12 functions,
 * all live in the DLL, so the table must hold exactly 12 entries.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "plugin_test.h"

#define SITES_FUNCTIONS 12

static const char *const k_exports[] = {
    "first_in_section", "bare_ret", "keeps_values", "frame_o0", "jump_table",
    "variadic_sum", "fib", "get_static_helper", "loop_to_entry",
};
#define EXPORT_COUNT (int)(sizeof k_exports / sizeof k_exports[0])

typedef struct build_param {
    int target;
    int config;
} build_param;

static build_param k_all[PT_TARGET_COUNT * PT_CONFIG_COUNT];

/* Every target with every configuration. */
static size_t all_builds(void)
{
    size_t n = 0;
    for (int t = 0; t < PT_TARGET_COUNT; t++)
        for (int c = 0; c < PT_CONFIG_COUNT; c++) {
            k_all[n].target = t;
            k_all[n].config = c;
            n++;
        }
    return n;
}

ParameterizedTestParameters(sites, every_recorded_function_is_patchable)
{
    size_t n = all_builds();
    return cr_make_param_array(build_param, k_all, n);
}

static const char *config_name(int config)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "%s%s%s", pt_configs[config][0], pt_configs[config][1] ? " " : "",
             pt_configs[config][1] ? pt_configs[config][1] : "");
    return buf;
}

ParameterizedTest(build_param *p, sites, every_recorded_function_is_patchable)
{
    char tag[64], dll[1024];
    pt_image img;
    pt_table table;
    unsigned pad;
    int i, exported = 0;

    snprintf(tag, sizeof tag, "plugin-sites-%d-%d", p->target, p->config);
    pt_build_dll(tag, p->target, p->config, 1, NULL, NULL, pt_fixture("sites.c"), dll, sizeof dll);
    pt_image_load(&img, dll);
    pt_table_read(&img, &table);
    pad = pt_default_pad(&img);

    cr_assert(table.present, "%s %s: no .hotp section", pt_triples[p->target], config_name(p->config));
    cr_expect_eq(table.markers, 2, "%s %s: begin and end markers expected, found %d", pt_triples[p->target],
                 config_name(p->config), table.markers);
    cr_expect(table.bracketed, "the markers are not the first and the last record");
    cr_assert_eq(table.count, SITES_FUNCTIONS, "%s %s: %d table entries, the fixture keeps %d functions",
                 pt_triples[p->target], config_name(p->config), table.count, SITES_FUNCTIONS);

    /* Every export and the entry point are in the table, exports flagged as such. */
    for (i = 0; i < EXPORT_COUNT; i++) {
        int k = pt_table_find(&table, pt_export_rva(&img, k_exports[i]));
        cr_assert(k >= 0, "%s %s: export %s not in the table", pt_triples[p->target], config_name(p->config),
                  k_exports[i]);
        cr_expect(table.rec[k].flags & HP_TABLE_F_EXPORTED, "%s not flagged exported", k_exports[i]);
    }
    cr_expect(pt_table_find(&table, img.pe.entry_point) >= 0, "the DLL entry point is not in the table");

    for (i = 0; i < table.count; i++) {
        hp_site site;
        hp_site_reason r = pt_site(&img, table.rec[i].rva, &site);
        cr_expect_eq(r, HP_SITE_OK, "%s %s: entry at rva 0x%x not patchable: %s (%s)", pt_triples[p->target],
                     config_name(p->config), table.rec[i].rva, hp_site_reason_str(r), hp_site_reason_text(r));
        cr_expect_eq(table.rec[i].pad, pad, "record pad %u, default %u", table.rec[i].pad, pad);
        cr_expect(table.rec[i].flags & HP_TABLE_F_ENTRY_NOP, "rva 0x%x: entry=nop not flagged", table.rec[i].rva);
        cr_expect(site.entry_bytes[0] == 0x66 && site.entry_bytes[1] == 0x90,
                  "rva 0x%x: entry bytes %02x %02x, the plugin writes 66 90", table.rec[i].rva, site.entry_bytes[0],
                  site.entry_bytes[1]);
        cr_expect_geq(site.pad_found, pad, "rva 0x%x: %u filler bytes before the entry", table.rec[i].rva,
                      site.pad_found);
        if (table.rec[i].flags & HP_TABLE_F_EXPORTED)
            exported++;
    }
    cr_expect_eq(exported, EXPORT_COUNT, "%d records flagged exported, the fixture exports %d", exported,
                 EXPORT_COUNT);
    pt_image_free(&img);
}

ParameterizedTestParameters(sites, without_plugin_some_exports_are_not_patchable)
{
    size_t n = all_builds();
    return cr_make_param_array(build_param, k_all, n);
}

ParameterizedTest(build_param *p, sites, without_plugin_some_exports_are_not_patchable)
{
    char tag[64], dll[1024];
    pt_image img;
    pt_table table;
    hp_site site;
    hp_site_reason r;

    snprintf(tag, sizeof tag, "plugin-sites-plain-%d-%d", p->target, p->config);
    pt_build_dll(tag, p->target, p->config, 0, NULL, NULL, pt_fixture("sites.c"), dll, sizeof dll);
    pt_image_load(&img, dll);
    pt_table_read(&img, &table);
    cr_expect(!table.present, "a DLL built without the plugin has a .hotp section");
    cr_expect_eq(pt_export_count(&img), EXPORT_COUNT);

    /* bare_ret is a lone `ret` (C3): a 1-byte first instruction at every -O level. */
    r = pt_site(&img, pt_export_rva(&img, "bare_ret"), &site);
    cr_expect_neq(r, HP_SITE_OK, "%s %s: bare_ret is patchable without the plugin", pt_triples[p->target],
                  config_name(p->config));
    pt_image_free(&img);
}
