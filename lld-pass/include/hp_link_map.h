/*
 * hp_link_map.h — the map `<image>.hpmap` (JSON) that hotpatch-link writes
 * next to the image for patch-module builders and the runtime's module
 * loader. Format (version 1), documented in lld-pass/README.md:
 *
 *   { "format": "hotpatch-map", "version": 1,
 *     "image": { "name": "app.exe", "machine": "x64", "time_date_stamp": 1234,
 *                "size_of_image": 16384, "checksum": 51234,
 *                "codeview": { "guid": "1B4E28BA-2FA1-11D2-883F-0016D3CCA427", "age": 1 } | null },
 *     "functions": [ { "name": "add1" | null, "rva": 4176, "padding": 6, "site_offset": 0,
 *                      "entry_bytes": "6690", "hash_length": 16,
 *                      "hash": "fnv1a64:0123456789abcdef", "table": true, "exported": true,
 *                      "patchable": true }, ... ] }
 *
 * Numbers are decimal; functions are sorted by RVA; strings are JSON-escaped.
 */
#ifndef HP_LINK_MAP_H
#define HP_LINK_MAP_H

#include <stdio.h>

#include "hp_link_post.h"

#ifdef __cplusplus
extern "C" {
#endif

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
