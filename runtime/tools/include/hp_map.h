/*
 * hp_map.h — the reader of `<image>.hpmap` (format: lld-pass/README.md, "The map"), for the
 * tools that build fixes against a released image: the plugin's fix mode, hotpatch-manifest.
 *
 * Versions 1 (functions only), 2 (also units and symbols) and 3 (the same, each function and
 * symbol a row of the columns that "function_fields" and "symbol_fields" name, which must be
 * exactly version 3's) are read. The reader is a strict
 * JSON parser (RFC 8259: objects, arrays, strings with every escape, numbers, true/false/null)
 * followed by a check of the map's schema; unknown members are ignored so that later versions
 * may add fields. Every read is bounded by the length given; no recursion deeper than 64.
 *
 * Thread-safety: reentrant; a loaded map is immutable.
 */
#ifndef HP_MAP_H
#define HP_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One function of the map's "functions" (the link step's verdicts). */
typedef struct hp_map_function {
    const char *name;      /**< NULL for an unnamed function ("name": null) */
    uint32_t rva;
    uint32_t padding;
    uint32_t site_offset;
    uint32_t hash_len;     /**< "hash_length" */
    uint64_t hash;         /**< "fnv1a64": <16 hex digits> (versions 1, 2: "hash": "fnv1a64:<16 hex digits>") */
    uint8_t entry_bytes[2];
    uint8_t table, exported, patchable; /**< 0 / 1 */
} hp_map_function;

/** hp_map_symbol.kind */
typedef enum hp_map_kind { HP_MAP_FUNCTION = 1, HP_MAP_VARIABLE = 2 } hp_map_kind;

/** One entry of the map's "symbols" (versions 2 and 3): what a fix can refer to. */
typedef struct hp_map_symbol {
    const char *name;  /**< the symbol's name in its unit (C name, no decoration) */
    int32_t unit;      /**< index into hp_map.units; -1 when the map does not know the unit */
    uint8_t is_static; /**< internal linkage ("linkage": "static"): only meaningful with its unit */
    uint8_t kind;      /**< hp_map_kind */
    uint32_t rva;
    uint32_t size;     /**< bytes of a variable; 0 when unknown (functions) */
} hp_map_symbol;

/** A loaded map. Every pointer stays valid until hp_map_free(). */
typedef struct hp_map {
    uint32_t version;            /**< 1, 2 or 3 */
    const char *image_name;      /**< image.name */
    const char *format;          /**< image.format: "pe" or "elf" ("pe" for version 1) */
    const char *machine;         /**< image.machine: "x64", "x86", ... */
    uint32_t time_date_stamp;    /**< PE */
    uint32_t size_of_image;      /**< PE */
    uint32_t checksum;           /**< PE */
    uint8_t has_codeview;        /**< image.codeview not null */
    uint8_t codeview_guid[16];   /**< bytes as stored in the image's RSDS record */
    uint32_t codeview_age;
    uint32_t build_id_len;       /**< ELF: image.build_id as hex; 0 when null or absent */
    uint8_t build_id[32];
    const hp_map_function *functions;
    size_t function_count;
    const char *const *units;    /**< "units": relative paths of the translation units */
    size_t unit_count;
    const hp_map_symbol *symbols;
    size_t symbol_count;
    const hp_map_function *const *functions_by_name; /**< the named functions, sorted by name (then RVA) */
    size_t named_function_count;
} hp_map;

/**
 * Parse a map from `len` bytes of text (NUL not needed).
 * @param out receives the map (free with hp_map_free); written only on HP_OK.
 * @param msg receives, on failure, what is wrong and where: "line 12, column 5: <what>", and for a
 *        field of the map its path too ("line 40, column 38: functions[3].rva: not an unsigned
 *        32-bit integer").
 * @return HP_OK; HP_ERR_FORMAT (not JSON, or not a hotpatch map: format/version/field types);
 *         HP_ERR_MANIFEST_VERSION (a hotpatch map of a version this reader does not know);
 *         HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT (NULL text or out).
 */
hp_status hp_map_parse(const char *text, size_t len, hp_map **out, char *msg, size_t msg_size);

/** hp_map_parse() of a file; HP_ERR_IO when it cannot be read. Every message starts with the path. */
hp_status hp_map_load(const char *path, hp_map **out, char *msg, size_t msg_size);

/** Free a map; NULL is a no-op. */
void hp_map_free(hp_map *map);

/** Index of `path` in map->units, or -1. */
int32_t hp_map_unit(const hp_map *map, const char *path);

/**
 * The symbol `name`: with unit >= 0 the one of that unit (static or external); with unit -1 the
 * external one (is_static 0) of any unit (the first in the map's order). NULL when the map has none,
 * and for a unit below -1. O(log n): the map keeps its symbols sorted by name (strcmp), then unit
 * (-1 first), whatever order the file had.
 */
const hp_map_symbol *hp_map_find(const hp_map *map, int32_t unit, const char *name);

/**
 * The function of "functions" named `name` (the first by RVA when several are), or NULL. External
 * functions are found here: the map's "symbols" do not repeat them.
 */
const hp_map_function *hp_map_function_named(const hp_map *map, const char *name);

/** The function of "functions" at `rva` (the first when several share it), or NULL. O(log n): the map
 *  keeps its functions sorted by RVA, whatever order the file had. */
const hp_map_function *hp_map_function_at(const hp_map *map, uint32_t rva);

#ifdef __cplusplus
}
#endif

#endif /* HP_MAP_H */
