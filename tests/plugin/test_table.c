/*
 * test_table.c — suite "table": the plugin's table survives linking with the
 * right entries, dead functions do not survive because of it (COFF
 * associative COMDATs, ELF SHF_LINK_ORDER), the markers survive /OPT:REF, the
 * ELF table is readable by the program itself, and objects are deterministic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "plugin_test.h"

/* ------------------------------------------------------------------------- */
/* COFF: garbage collection                                                   */
/* ------------------------------------------------------------------------- */

typedef struct gc_case {
    int id;
} gc_case;

/* Dead code can only be dropped when it has a section of its own
   (-ffunction-sections, or an LTO link); the table must not keep it alive. */
static const struct {
    int target;
    int config;
    const char *flags[3];
    int records; /* from fixtures/gc.c: live + entry, plus dead when it is not collected */
} k_gc[] = {
    {PT_X64_MSVC, PT_O2, {"-ffunction-sections", NULL}, 2},  /* lld-link: /OPT:REF without /DEBUG */
    {PT_X64_MSVC, PT_O2, {"-ffunction-sections", "-Wl,/opt:noref", NULL}, 3},
    {PT_X64_MSVC, PT_O2, {NULL}, 3},                          /* one .text: nothing to drop */
    {PT_X64_MSVC, PT_O2_LTO, {NULL}, 2},                      /* LTO code is in function sections */
    {PT_X64_MINGW, PT_O2, {"-ffunction-sections", "-Wl,--gc-sections", NULL}, 2},
    {PT_X64_MINGW, PT_O2, {"-ffunction-sections", NULL}, 3}, /* the MinGW driver does not collect by default */
    {PT_X64_MINGW, PT_O2_LTO, {"-Wl,--gc-sections", NULL}, 2},
    {PT_X86_MINGW, PT_O0, {"-ffunction-sections", "-Wl,--gc-sections", NULL}, 2},
    {PT_X86_MINGW, PT_O2, {"-Wl,--gc-sections", NULL}, 3},
};
#define GC_COUNT (int)(sizeof k_gc / sizeof k_gc[0])
static gc_case k_gc_ids[GC_COUNT];

ParameterizedTestParameters(table, gc_drops_records_of_dead_functions_only)
{
    int i;
    for (i = 0; i < GC_COUNT; i++)
        k_gc_ids[i].id = i;
    return cr_make_param_array(gc_case, k_gc_ids, GC_COUNT);
}

ParameterizedTest(gc_case *c, table, gc_drops_records_of_dead_functions_only)
{
    char tag[64], dll[1024], what[128];
    pt_image img;
    pt_table t;
    hp_site site;

    snprintf(tag, sizeof tag, "plugin-table-gc-%d", c->id);
    snprintf(what, sizeof what, "%s %s %s %s", pt_triples[k_gc[c->id].target], pt_configs[k_gc[c->id].config][0],
             k_gc[c->id].flags[0] ? k_gc[c->id].flags[0] : "", k_gc[c->id].flags[1] ? k_gc[c->id].flags[1] : "");
    pt_build_dll(tag, k_gc[c->id].target, k_gc[c->id].config, 1, NULL, k_gc[c->id].flags, pt_fixture("gc.c"), dll,
                 sizeof dll);
    pt_image_load(&img, dll);
    pt_table_read(&img, &t);
    cr_assert(t.present);
    cr_expect_eq(t.markers, 2, "%s: %d markers", what, t.markers);
    cr_expect_eq(t.count, k_gc[c->id].records, "%s: %d records", what, t.count);
    cr_expect(pt_table_find(&t, pt_export_rva(&img, "live")) >= 0);
    cr_expect(pt_table_find(&t, img.pe.entry_point) >= 0);
    /* every record that survived points at a live, patchable entry */
    for (int i = 0; i < t.count; i++)
        cr_expect_eq(pt_site(&img, t.rec[i].rva, &site), HP_SITE_OK);
    pt_image_free(&img);
}

/* ------------------------------------------------------------------------- */
/* ELF: the program reads its own table                                       */
/* ------------------------------------------------------------------------- */

typedef struct elf_case {
    int id;
} elf_case;

static const struct {
    int plugin;
    const char *args[6];
    const char *expected; /* from fixtures/elf_table.c: 5 live functions, fn_dead, and at -O0 the
                             non-inlined static inline hp_table_entry_addr() */
} k_elf[] = {
    {1, {"-O2", NULL}, "records=6 known=4 bad=0 endbr=0\n"},
    {1, {"-O2", "-fuse-ld=lld", "-ffunction-sections", "-Wl,--gc-sections", NULL}, "records=5 known=4 bad=0 endbr=0\n"},
    {1, {"-O2", "-flto", "-fuse-ld=lld", "-ffunction-sections", "-Wl,--gc-sections", NULL},
     "records=5 known=4 bad=0 endbr=0\n"},
    {1, {"-O2", "-fcf-protection=branch", NULL}, "records=6 known=4 bad=0 endbr=6\n"},
    {1, {"-O2", "-fcf-protection=branch", "-fplugin-arg-hotpatch-cet=off", NULL}, "records=6 known=4 bad=0 endbr=0\n"},
    {1, {"-O2", "-fplugin-arg-hotpatch-cet=on", NULL}, "records=6 known=4 bad=0 endbr=6\n"},
    {1, {"-O0", NULL}, "records=7 known=4 bad=0 endbr=0\n"},
    {1, {"-Oz", "-g", NULL}, "records=6 known=4 bad=0 endbr=0\n"},
    {0, {"-O2", NULL}, "records=0 known=0 bad=0 endbr=0\n"},
};
#define ELF_COUNT (int)(sizeof k_elf / sizeof k_elf[0])
static elf_case k_elf_ids[ELF_COUNT];

ParameterizedTestParameters(table, elf_program_walks_its_own_table)
{
    int i;
    for (i = 0; i < ELF_COUNT; i++)
        k_elf_ids[i].id = i;
    return cr_make_param_array(elf_case, k_elf_ids, ELF_COUNT);
}

ParameterizedTest(elf_case *c, table, elf_program_walks_its_own_table)
{
    char tag[64], exe[1024];
    const char *dir;
    pt_args a = {{0}, 0};
    hpt_proc proc;
    const char *argv[2];

    snprintf(tag, sizeof tag, "plugin-table-elf-%d", c->id);
    dir = hpt_scratch(tag);
    cr_assert(dir);
    snprintf(exe, sizeof exe, "%s/elf_table", dir);
    if (k_elf[c->id].plugin)
        pt_args_plugin(&a);
    pt_args_addv(&a, k_elf[c->id].args);
    pt_args_add(&a, "-I" HPT_RUNTIME_INCLUDE);
    pt_args_add(&a, pt_fixture("elf_table.c"));
    pt_args_add(&a, "-o");
    pt_args_add(&a, exe);
    cr_assert_eq(hpt_cc("x86_64-linux-gnu", a.v, &proc), 0, "%s", proc.err);
    hpt_proc_free(&proc);
    argv[0] = exe;
    argv[1] = NULL;
    cr_assert_eq(hpt_run(argv, NULL, 60, &proc), 0);
    cr_expect_eq(proc.status, 0, "status %d, stderr %s", proc.status, proc.err);
    cr_expect_str_eq(proc.out, k_elf[c->id].expected, "case %d", c->id);
    hpt_proc_free(&proc);
}

Test(table, elf_shared_objects_link_without_text_relocations)
{
    /* Default-visibility functions in a -fPIC shared object are preemptible:
       the records must point at local aliases, or the link fails with
       "relocation R_X86_64_PC32 cannot be used against symbol". */
    static const char *const linkers[] = {"-fuse-ld=lld", "-fuse-ld=bfd"};
    const char *dir = hpt_scratch("plugin-table-shared");
    int i;

    cr_assert(dir);
    for (i = 0; i < 2; i++) {
        char so[1024];
        pt_args a = {{0}, 0};
        hpt_proc proc;
        snprintf(so, sizeof so, "%s/libsites%d.so", dir, i);
        pt_args_plugin(&a);
        pt_args_add(&a, "-O2");
        pt_args_add(&a, "-fPIC");
        pt_args_add(&a, "-shared");
        pt_args_add(&a, "-Wl,-z,text");
        pt_args_add(&a, linkers[i]);
        pt_args_add(&a, pt_fixture("sites.c"));
        pt_args_add(&a, "-o");
        pt_args_add(&a, so);
        cr_expect_eq(hpt_cc("x86_64-linux-gnu", a.v, &proc), 0, "%s: %s", linkers[i], proc.err);
        hpt_proc_free(&proc);
    }
}

/* ------------------------------------------------------------------------- */
/* Determinism                                                                */
/* ------------------------------------------------------------------------- */

Test(table, objects_are_byte_identical_run_to_run)
{
    static const char *const triples[] = {"x86_64-w64-mingw32", "i686-w64-mingw32", "x86_64-pc-windows-msvc",
                                          "x86_64-linux-gnu"};
    static const char *const modes[][3] = {{"-O2", "-g", NULL}, {"-O0", NULL, NULL}, {"-O2", "-flto", NULL}};
    const char *dir = hpt_scratch("plugin-table-determinism");
    int t, m, run;

    cr_assert(dir);
    for (t = 0; t < 4; t++)
        for (m = 0; m < 3; m++) {
            char obj[2][1024];
            unsigned char *bytes[2];
            size_t size[2];
            for (run = 0; run < 2; run++) {
                pt_args a = {{0}, 0};
                hpt_proc proc;
                /* the same output path both times: CodeView records it (LF_BUILDINFO) */
                snprintf(obj[run], sizeof obj[run], "%s/sites-%d-%d.o", dir, t, m);
                pt_args_plugin(&a);
                pt_args_addv(&a, modes[m]);
                pt_args_add(&a, "-DFX_DLL");
                /* clang stamps MSVC-triple objects with the time unless asked not to (/Brepro):
                   that is clang's, not the plugin's, non-determinism */
                if (strstr(triples[t], "msvc"))
                    pt_args_add(&a, "-mno-incremental-linker-compatible");
                pt_args_add(&a, "-c");
                pt_args_add(&a, pt_fixture("sites.c"));
                pt_args_add(&a, "-o");
                pt_args_add(&a, obj[run]);
                cr_assert_eq(hpt_cc(triples[t], a.v, &proc), 0, "%s", proc.err);
                hpt_proc_free(&proc);
                bytes[run] = hpt_read_file(obj[run], &size[run]);
                cr_assert(bytes[run]);
            }
            cr_expect(size[0] == size[1] && memcmp(bytes[0], bytes[1], size[0]) == 0,
                      "%s %s %s: two compilations differ", triples[t], modes[m][0], modes[m][1] ? modes[m][1] : "");
            free(bytes[0]);
            free(bytes[1]);
        }
}

/* ------------------------------------------------------------------------- */
/* Several objects                                                            */
/* ------------------------------------------------------------------------- */

Test(table, markers_of_several_objects_do_not_collide)
{
    /* Both objects carry __hp_table_begin/__hp_table_end: COMDAT any, one copy kept. */
    int target;

    for (target = 0; target < PT_TARGET_COUNT; target++) {
        const char *extra[] = {pt_fixture("second.c"), NULL};
        char tag[64], dll[1024];
        pt_image img;
        pt_table t;

        snprintf(tag, sizeof tag, "plugin-table-two-%d", target);
        pt_build_dll(tag, target, PT_O2, 1, NULL, extra, pt_fixture("sites.c"), dll, sizeof dll);
        pt_image_load(&img, dll);
        pt_table_read(&img, &t);
        cr_expect_eq(t.markers, 2, "%s: %d markers", pt_triples[target], t.markers);
        cr_expect(t.bracketed, "%s: the markers do not bracket the records", pt_triples[target]);
        /* sites.c keeps 12 functions in a DLL, second.c adds 1 */
        cr_expect_eq(t.count, 13, "%s: %d records", pt_triples[target], t.count);
        cr_expect(pt_table_find(&t, pt_export_rva(&img, "second_unit")) >= 0);
        /* MinGW objects without function sections write their records as blocks, one per object
           and header word: sites.c has exported and other functions (2), second.c only an
           export (1). The x86 DLL entry is stdcall (_DllMainCRTStartup@12): a decorated name
           the assembler route leaves to a run of IR records. */
        if (target == PT_X64_MINGW || target == PT_X86_MINGW) {
            cr_expect_eq(t.blocks, 3, "%s: %d blocks", pt_triples[target], t.blocks);
            cr_expect_eq(t.runs, target == PT_X86_MINGW, "%s: %d runs", pt_triples[target], t.runs);
        }
        pt_image_free(&img);
    }
}

/* MinGW exports every global of a DLL with --export-all-symbols (and with auto-export, when nothing
   is exported explicitly): the table's markers must never be among them, and the table stays whole. */
Test(table, markers_are_never_exported)
{
    int targets[] = {PT_X64_MINGW, PT_X86_MINGW};
    for (size_t i = 0; i < 2; i++) {
        const char *extra[] = {"-Wl,--export-all-symbols", NULL};
        char tag[64], dll[1024];
        pt_image img;
        pt_table t;

        snprintf(tag, sizeof tag, "plugin-table-export-all-%d", targets[i]);
        pt_build_dll(tag, targets[i], PT_O2, 1, NULL, extra, pt_fixture("sites.c"), dll, sizeof dll);
        pt_image_load(&img, dll);
        hp_pe_export e;
        cr_expect_neq(hp_pe_export_find(&img.pe, "__hp_table_begin", &e, NULL), HP_OK, "%s: begin marker exported",
                      pt_triples[targets[i]]);
        cr_expect_neq(hp_pe_export_find(&img.pe, "__hp_table_end", &e, NULL), HP_OK, "%s: end marker exported",
                      pt_triples[targets[i]]);
        cr_expect_eq(hp_pe_export_find(&img.pe, "fx_opaque", &e, NULL), HP_OK,
                     "%s: --export-all-symbols did export the other globals", pt_triples[targets[i]]);
        pt_table_read(&img, &t);
        cr_expect_eq(t.markers, 2, "%s: %d markers", pt_triples[targets[i]], t.markers);
        cr_expect(t.bracketed, "%s", pt_triples[targets[i]]);
        pt_image_free(&img);
    }
}
