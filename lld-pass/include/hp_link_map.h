/*
 * hp_link_map.h — the map `<image>.hpmap` (JSON, version 3) written next to an
 * image for fix builders: by hotpatch-link for PE images (from its post-link
 * verdicts, the linker's map and the plugin's per-unit records) and by
 * hotpatch-manifest for ELF images (from the symbol table). The format is
 * documented in lld-pass/README.md ("The map"); hp_map.h (runtime/tools) reads it.
 *
 * Numbers are decimal; functions are sorted by RVA, symbols by name then unit;
 * strings are JSON-escaped. Each function and each symbol is a row (a JSON
 * array) whose columns the map names once, in "function_fields" and
 * "symbol_fields": the lists below, which readers check.
 */
#ifndef HP_LINK_MAP_H
#define HP_LINK_MAP_H

#include <stdio.h>

#include "hp_link_post.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The columns of a row of "functions", as the map's "function_fields" lists them (JSON text). */
#define HP_LINK_MAP_FUNCTION_FIELDS                                                                          \
    "[\"name\", \"rva\", \"padding\", \"site_offset\", \"entry_bytes\", \"hash_length\", \"fnv1a64\", \"table\", " \
    "\"exported\", \"patchable\"]"

/** The columns of a row of "symbols", as the map's "symbol_fields" lists them (JSON text). */
#define HP_LINK_MAP_SYMBOL_FIELDS "[\"name\", \"unit\", \"linkage\", \"kind\", \"rva\", \"size\"]"

/** One entry of the map's "symbols". */
typedef struct hp_link_map_symbol {
    const char *name; /**< C name, no decoration */
    int32_t unit;     /**< index into hp_link_map_data.units; -1: unknown (written as null) */
    int is_static;    /**< internal linkage */
    int is_function;  /**< 1: "function", 0: "variable" */
    uint32_t rva;
    uint32_t size;    /**< a variable's size; 0 for functions */
} hp_link_map_symbol;

/** Everything a map holds, whatever the image format. */
typedef struct hp_link_map_data {
    const char *name;          /**< the image's file name */
    const char *format;        /**< "pe" or "elf" */
    const char *machine;       /**< "x86" or "x64" */
    uint32_t time_date_stamp;  /**< PE */
    uint32_t size_of_image;    /**< PE */
    uint32_t checksum;         /**< PE */
    int has_codeview;          /**< PE: an RSDS record exists */
    uint8_t codeview_guid[16]; /**< as stored */
    uint32_t codeview_age;
    uint32_t build_id_len;     /**< ELF: 0 = none (null) */
    uint8_t build_id[32];
    const hp_link_fn *fns;     /**< sorted by RVA */
    size_t fn_count;
    const char *const *units;  /**< relative paths, '/'-separated */
    size_t unit_count;
    const hp_link_map_symbol *symbols; /**< any order: the writer sorts by name, then unit */
    size_t symbol_count;
} hp_link_map_data;

/**
 * Render a map.
 * @return HP_OK; HP_ERR_IO when writing to `out` failed; HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_link_map_render_data(const hp_link_map_data *map, FILE *out);

/** hp_link_map_render_data() into `path` (created or replaced). HP_ERR_IO when it cannot be written. */
hp_status hp_link_map_write_data(const hp_link_map_data *map, const char *path);

/**
 * Render the map of `post` for the image named `image_name` (the file name recorded in "name").
 * @return HP_OK; HP_ERR_IO when writing to `out` failed; HP_ERR_ARGUMENT.
 */
hp_status hp_link_map_render(const hp_link_post *post, const char *image_name, FILE *out);

/**
 * Write the map to `path` (created or replaced).
 * @return HP_OK; HP_ERR_IO; HP_ERR_ARGUMENT.
 */
hp_status hp_link_map_write(const hp_link_post *post, const char *image_name, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_MAP_H */
