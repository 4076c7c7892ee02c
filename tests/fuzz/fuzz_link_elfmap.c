/*
 * fuzz_link_elfmap.c — libFuzzer target: `hotpatch-manifest map`, the map of an ELF image
 * (hp_link_elf_map_write, lld-pass/include/hp_link_manifest.h), over any bytes as the image: the
 * ELF view, the symbol tables (.symtab, .dynsym), the plugin's unit symbols, the site rules on every
 * function, the map's rendering.
 *
 * Besides memory safety it checks the writer against the map's own reader (hp_map_parse,
 * runtime/tools/include/hp_map.h), which is what every later tool reads it with:
 *   - the image is never written;
 *   - a failure says why and leaves no map;
 *   - a map that was written parses, says "elf" and the image's machine and build id, lists its
 *     functions in increasing RVA order with at most 64 bytes of padding, a site at 0 or 4, at most
 *     65,536 hashed bytes (none: the hash of nothing), and its units' indices in range.
 * The last input byte picks the options: bit 0 a source root, bits 1-2 the padding required (the
 * machine's default, 5, 8, 16).
 */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_files.h"
#include "hotpatch_fix.h"
#include "hp_link_manifest.h"
#include "hp_map.h"
#include "hp_tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t g_keep;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char image[512], map[600];
    fuzz_temp_path(image, sizeof image, "fuzz_link_elfmap", ".so");
    snprintf(map, sizeof map, "%s.hpmap", image);
    unlink(map);
    if (!fuzz_write_file(image, data, size))
        __builtin_trap(); /* the harness's own file: nothing to learn from here */
    uint8_t opts = size ? data[size - 1] : 0;
    static const uint32_t pads[4] = {0, 5, 8, 16};
    hp_link_elf_map_options o;
    memset(&o, 0, sizeof o);
    o.source_root = (opts & 1) ? "/src" : NULL;
    o.pad = pads[(opts >> 1) & 3];
    char msg[512] = "";
    hp_status st = hp_link_elf_map_write(image, &o, map, msg, sizeof msg);

    uint8_t *after = NULL;
    size_t after_size = 0;
    if (hp_file_read(image, &after, &after_size, NULL, 0) != HP_OK || after_size != size ||
        memcmp(after, data, size) != 0)
        __builtin_trap(); /* the image is never written */
    free(after);
    unlink(image);
    if (st != HP_OK) {
        if (!msg[0] || access(map, F_OK) == 0)
            __builtin_trap(); /* a failure: a message, and no map */
        return 0;
    }

    /* what was written reads back, and says what the image is */
    hp_map *m = NULL;
    char why[512] = "";
    if (hp_map_load(map, &m, why, sizeof why) != HP_OK)
        __builtin_trap();
    unlink(map);
    hp_elf elf;
    memset(&elf, 0, sizeof elf);
    if (hp_link_elf_open(&elf, data, size, "fuzz", NULL, 0) != HP_OK)
        __builtin_trap(); /* the writer read it as ELF */
    if (!m->format || strcmp(m->format, "elf") != 0 || !m->machine ||
        strcmp(m->machine, elf.hm == HP_MACHINE_X64 ? "x64" : "x86") != 0 || m->build_id_len != elf.build_id_len ||
        memcmp(m->build_id, elf.build_id, elf.build_id_len) != 0)
        __builtin_trap();
    for (size_t i = 0; i < m->function_count; i++) {
        const hp_map_function *f = &m->functions[i];
        if ((i && m->functions[i - 1].rva > f->rva) || f->padding > HP_MAX_PAD ||
            (f->site_offset != 0 && f->site_offset != 4) || f->hash_len > 65536 ||
            (f->hash_len == 0 && f->hash != HP_FIX_HASH_BASIS))
            __builtin_trap();
        g_keep += f->hash + (f->name ? strlen(f->name) : 0);
    }
    for (size_t i = 0; i < m->symbol_count; i++)
        if (m->symbols[i].unit >= 0 && (size_t)m->symbols[i].unit >= m->unit_count)
            __builtin_trap();
    hp_link_elf_close(&elf);
    hp_map_free(m);
    return 0;
}
