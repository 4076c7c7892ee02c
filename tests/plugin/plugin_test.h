/*
 * plugin_test.h — helpers shared by the plugin's Criterion suites: build a
 * fixture with or without the plugin for one target, open the linked image,
 * read the plugin's table and judge entries with the site rules
 * (hp_site_analyze, the one definition of "hotpatchable").
 */
#ifndef HP_PLUGIN_TEST_H
#define HP_PLUGIN_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch.h"
#include "hotpatch_pe.h"
#include "hotpatch_table.h"
#include "hpt.h"

/* Targets the plugin tests build for (indices into pt_triples). */
enum { PT_X64_MINGW, PT_X86_MINGW, PT_X64_MSVC, PT_TARGET_COUNT };
extern const char *const pt_triples[PT_TARGET_COUNT];

/* Build configurations: an -O level, -g, -flto (indices into pt_configs). */
enum { PT_O0, PT_O1, PT_O2, PT_O3, PT_OS, PT_OZ, PT_O2_G, PT_O0_G, PT_O2_LTO, PT_OS_LTO, PT_CONFIG_COUNT };
extern const char *const pt_configs[PT_CONFIG_COUNT][3];

#define PT_MAX_ARGS 64

/** One compiler invocation under construction (NULL-terminated argv for hpt_cc). */
typedef struct pt_args {
    const char *v[PT_MAX_ARGS + 1];
    int n;
} pt_args;

void pt_args_add(pt_args *a, const char *arg);
/** Add every string of a NULL-terminated list (which may be NULL). */
void pt_args_addv(pt_args *a, const char *const *list);
/** -fplugin=<the plugin> */
void pt_args_plugin(pt_args *a);

/** Path of a fixture source: <tests/plugin/fixtures>/<name> (static buffer per call site: copy it). */
const char *pt_fixture(const char *name);

/**
 * Compile `fixture` into a CRT-less DLL for `target` with `config`, with the
 * plugin when `plugin` is nonzero (plus `plugin_args`, "NAME=VALUE" strings
 * turned into -fplugin-arg-hotpatch-...), plus `extra` compiler/linker
 * arguments. The DLL goes to <scratch dir `tag`>/out.dll, its path into `out`.
 * Fails the current test (cr_assert) when the build fails.
 */
void pt_build_dll(const char *tag, int target, int config, int plugin, const char *const *plugin_args,
                  const char *const *extra, const char *fixture, char *out, size_t out_size);

/** A linked image read into memory. */
typedef struct pt_image {
    unsigned char *bytes;
    size_t size;
    hp_pe pe;
} pt_image;

/** Load and parse a PE file; fails the test on error. */
void pt_image_load(pt_image *img, const char *path);
void pt_image_free(pt_image *img);

/** One table entry as a reader sees it. */
typedef struct pt_record {
    uint32_t rva;   /**< entry RVA (record RVA + where) */
    uint8_t pad;
    uint8_t flags;
    uint16_t version;
} pt_record;

/** Contents of the `.hotp` section. */
typedef struct pt_table {
    int present;    /**< the image has a .hotp section */
    int markers;    /**< records with where == 0 and the marker flag */
    int bracketed;  /**< the first and the last record are markers (begin in $a, end in $z) */
    int count;      /**< entries */
    int runs;       /**< records that start a run (one per object array; format version 2) */
    int blocks;     /**< block headers (one per object and header word; format version 3) */
    pt_record rec[256];
} pt_table;

/** Read the table of an image (straight from the section bytes, not through hp_pe_table_foreach). */
void pt_table_read(const pt_image *img, pt_table *t);
/** Index of the entry at `rva`, -1 when none. */
int pt_table_find(const pt_table *t, uint32_t rva);

/** RVA of the export `name`; fails the test when absent. */
uint32_t pt_export_rva(const pt_image *img, const char *name);
/** Number of exports by name. */
int pt_export_count(const pt_image *img);

/**
 * Run the site rules on the entry at `rva` with the machine's default padding,
 * the function's extent from .pdata when there is one (x64).
 */
hp_site_reason pt_site(const pt_image *img, uint32_t rva, hp_site *out);

/** Default padding of an image's machine (the site rules' default). */
unsigned pt_default_pad(const pt_image *img);

#endif /* HP_PLUGIN_TEST_H */
