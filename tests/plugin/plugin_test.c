/*
 * plugin_test.c — helpers of the plugin suites (see plugin_test.h).
 */
#include "plugin_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

const char *const pt_triples[PT_TARGET_COUNT] = {
    "x86_64-w64-mingw32",
    "i686-w64-mingw32",
    "x86_64-pc-windows-msvc",
};

const char *const pt_configs[PT_CONFIG_COUNT][3] = {
    {"-O0", NULL, NULL}, {"-O1", NULL, NULL}, {"-O2", NULL, NULL},   {"-O3", NULL, NULL},
    {"-Os", NULL, NULL}, {"-Oz", NULL, NULL}, {"-O2", "-g", NULL},   {"-O0", "-g", NULL},
    {"-O2", "-flto", NULL}, {"-Os", "-flto", NULL},
};

void pt_args_add(pt_args *a, const char *arg)
{
    cr_assert(a->n < PT_MAX_ARGS, "too many compiler arguments");
    a->v[a->n++] = arg;
    a->v[a->n] = NULL;
}

void pt_args_addv(pt_args *a, const char *const *list)
{
    for (; list && *list; list++)
        pt_args_add(a, *list);
}

void pt_args_plugin(pt_args *a)
{
    pt_args_add(a, "-fplugin=" HPT_PLUGIN_PATH);
}

const char *pt_fixture(const char *name)
{
    static char path[4][1024];
    static int next;
    char *p = path[next++ & 3];
    snprintf(p, sizeof path[0], "%s/%s", HPT_PLUGIN_FIXTURES, name);
    return p;
}

void pt_build_dll(const char *tag, int target, int config, int plugin, const char *const *plugin_args,
                  const char *const *extra, const char *fixture, char *out, size_t out_size)
{
    static char plugin_arg_buf[16][160];
    const char *dir = hpt_scratch(tag);
    pt_args a = {{0}, 0};
    hpt_proc proc;
    int i, st;

    cr_assert(dir != NULL, "no scratch directory for %s", tag);
    snprintf(out, out_size, "%s/out.dll", dir);
    pt_args_addv(&a, pt_configs[config]);
    pt_args_add(&a, "-DFX_DLL");
    pt_args_add(&a, "-I" HPT_PLUGIN_FIXTURES);
    if (plugin) {
        pt_args_plugin(&a);
        for (i = 0; plugin_args && plugin_args[i]; i++) {
            cr_assert(i < 16);
            snprintf(plugin_arg_buf[i], sizeof plugin_arg_buf[i], "-fplugin-arg-hotpatch-%s", plugin_args[i]);
            pt_args_add(&a, plugin_arg_buf[i]);
        }
    }
    pt_args_add(&a, "-shared");
    pt_args_add(&a, "-nostdlib");
    pt_args_addv(&a, extra);
    pt_args_add(&a, fixture);
    pt_args_add(&a, "-o");
    pt_args_add(&a, out);
    st = hpt_cc(pt_triples[target], a.v, &proc);
    cr_assert_eq(st, 0, "build of %s for %s %s %s failed (%d):\n%s", fixture, pt_triples[target],
                 pt_configs[config][0], pt_configs[config][1] ? pt_configs[config][1] : "", st, proc.err);
    hpt_proc_free(&proc);
}

void pt_image_load(pt_image *img, const char *path)
{
    const char *detail = NULL;
    hp_status st;

    memset(img, 0, sizeof *img);
    img->bytes = hpt_read_file(path, &img->size);
    cr_assert(img->bytes != NULL, "cannot read %s", path);
    st = hp_pe_open(&img->pe, img->bytes, img->size, HP_PE_LAYOUT_FILE, 0, &detail);
    cr_assert_eq(st, HP_OK, "%s is not a PE image: %s", path, detail ? detail : "?");
}

void pt_image_free(pt_image *img)
{
    free(img->bytes);
    img->bytes = NULL;
}

void pt_table_read(const pt_image *img, pt_table *t)
{
    hp_pe_section s;
    hp_pe_span span;
    uint32_t i, k, n, run = 0;
    int have_run = 0;

    memset(t, 0, sizeof *t);
    for (i = 0; i < img->pe.section_count; i++) {
        cr_assert_eq(hp_pe_section_at(&img->pe, i, &s), HP_OK);
        if (strcmp(s.name, HP_TABLE_COFF_SECTION) == 0)
            break;
    }
    if (i == img->pe.section_count)
        return;
    t->present = 1;
    /* VirtualSize is the size the linker gave the merged .hotp$a/$m/$z. */
    cr_assert_eq(s.virtual_size % HP_TABLE_RECORD_SIZE, 0, ".hotp size %u is not a whole number of records",
                 s.virtual_size);
    cr_assert_eq(hp_pe_rva_span(&img->pe, s.virtual_address, s.virtual_size, &span, NULL), HP_OK);
    n = s.virtual_size / HP_TABLE_RECORD_SIZE;
    cr_assert(n > 0);
    t->bracketed = span.data[5] == HP_TABLE_F_MARKER && span.data[(size_t)(n - 1) * HP_TABLE_RECORD_SIZE + 5] ==
                   HP_TABLE_F_MARKER;
    for (k = 0; k < n; k++) {
        uint32_t where, base = s.virtual_address + k * HP_TABLE_RECORD_SIZE;
        uint16_t version;
        const uint8_t *r = span.data + (size_t)k * HP_TABLE_RECORD_SIZE;
        cr_assert(hp_pe_span_u32(span, (uint64_t)k * HP_TABLE_RECORD_SIZE, &where));
        cr_assert(hp_pe_span_u16(span, (uint64_t)k * HP_TABLE_RECORD_SIZE + 6, &version));
        cr_assert_eq(version, HP_TABLE_VERSION, "record %u has version %u", k, version);
        if (where == 0) {
            cr_assert_eq(r[5], HP_TABLE_F_MARKER, "record %u with where 0 is not a marker", k);
            t->markers++;
            continue;
        }
        /* blocks (format version 3): `where` entry RVAs follow the header, then a zero word when
           their count is odd */
        if (r[5] & HP_TABLE_F_RVA_BLOCK) {
            uint32_t j, rva, words = where + (where & 1);
            cr_assert_eq(r[5] & (HP_TABLE_F_RUN_START | HP_TABLE_F_IN_RUN), 0, "record %u: a block in a run", k);
            cr_assert_leq(words / 2, n - k - 1, "block at record %u runs past the section", k);
            for (j = 0; j < words; j++) {
                cr_assert(hp_pe_span_u32(span, (uint64_t)k * HP_TABLE_RECORD_SIZE + 8 + 4 * j, &rva));
                if (j == where) {
                    cr_assert_eq(rva, 0, "block at record %u: the filler word is %#x", k, rva);
                    continue;
                }
                cr_assert_neq(rva, 0, "block at record %u: entry %u is 0", k, j);
                cr_assert(t->count < 256);
                t->rec[t->count].rva = rva;
                t->rec[t->count].pad = r[4];
                t->rec[t->count].flags = r[5];
                t->rec[t->count].version = version;
                t->count++;
            }
            t->blocks++;
            k += words / 2;
            continue;
        }
        cr_assert(t->count < 256);
        /* runs (format version 2): in-run records count from the run's first record, the nearest
           run start before them; every other record from itself */
        if (r[5] & HP_TABLE_F_RUN_START) {
            cr_assert(!(r[5] & HP_TABLE_F_IN_RUN), "record %u starts a run and is in one", k);
            run = base;
            have_run = 1;
            t->runs++;
        }
        if (r[5] & HP_TABLE_F_IN_RUN) {
            cr_assert(have_run, "record %u is in a run that never started", k);
            base = run;
        }
        t->rec[t->count].rva = base + where;
        t->rec[t->count].pad = r[4];
        t->rec[t->count].flags = r[5];
        t->rec[t->count].version = version;
        t->count++;
    }
}

int pt_table_find(const pt_table *t, uint32_t rva)
{
    int i;
    for (i = 0; i < t->count; i++)
        if (t->rec[i].rva == rva)
            return i;
    return -1;
}

uint32_t pt_export_rva(const pt_image *img, const char *name)
{
    hp_pe_export e;
    cr_assert_eq(hp_pe_export_find(&img->pe, name, &e, NULL), HP_OK, "no export '%s'", name);
    return e.rva;
}

static int count_one(void *ctx, const hp_pe_export *e)
{
    (void)e;
    (*(int *)ctx)++;
    return 0;
}

int pt_export_count(const pt_image *img)
{
    int n = 0;
    cr_assert_eq(hp_pe_export_names(&img->pe, count_one, &n, NULL), HP_OK);
    return n;
}

unsigned pt_default_pad(const pt_image *img)
{
    return img->pe.machine == HP_MACHINE_X64 ? HP_DEFAULT_PAD_X64 : HP_DEFAULT_PAD_X86;
}

hp_site_reason pt_site(const pt_image *img, uint32_t rva, hp_site *out)
{
    hp_site_input in;
    hp_pe_runtime_function rf;
    const uint8_t *p;
    size_t before = 0, after = 0;

    cr_assert_eq(hp_pe_rva_bytes(&img->pe, rva, &p, &before, &after, NULL), HP_OK, "rva 0x%x has no bytes", rva);
    memset(&in, 0, sizeof in);
    in.entry = p;
    in.before = before;
    in.after = after;
    in.address = rva;
    in.machine = img->pe.machine;
    in.pad = 0;
    if (hp_pe_pdata_find(&img->pe, rva, &rf, NULL) == HP_OK && rf.end > rf.begin && rf.end - rf.begin <= after)
        in.body_size = rf.end - rf.begin;
    return hp_site_analyze(&in, out);
}
