/*
 * hp_link_units.h — the map's "units" and "symbols" for a PE image: which
 * translation unit defines which function and variable, file-statics
 * included, so that a fix compiled later from one unit reaches the running
 * program's own state (lld-pass/README.md, "The map").
 *
 * They are read from the image's COFF symbol table, where lld put them at no
 * cost to the link (MinGW images keep one; hotpatch-link asks lld-link for one
 * with /debug:symtab): the plugin gave each unit it compiled a label naming it
 * and an alias of every file-static and every variable carrying the unit and
 * the variable's size (plugin/src/units.c):
 *
 *   __hp_unit$<id>$<hex of path>   <name>$hps<id>[$s<size>]   <name>$hpe<id>$s<size>
 *
 * On request, external functions are taken by their own symbols too (unit
 * unknown: -1), code the plugin did not compile included, to name the functions
 * the image names nowhere else (MSVC-ABI images); external variables only with
 * an alias (their size is known then).
 */
#ifndef HP_LINK_UNITS_H
#define HP_LINK_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "hp_link_map.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What hp_link_units_read() found; owned, freed by hp_link_units_destroy(). */
typedef struct hp_link_units {
    char **units;                 /**< relative paths */
    size_t unit_count;
    hp_link_map_symbol *symbols;  /**< sorted by name, then unit; no duplicates */
    size_t symbol_count;
    int has_symtab;               /**< the image has a COFF symbol table at all */
} hp_link_units;

/**
 * Read the units and symbols of the PE image in `data` (its file bytes); with `functions`, also
 * every external function symbol (unit -1).
 * @param out receives the result (also when the image has no symbol table: has_symtab 0)
 * @return HP_OK; HP_ERR_FORMAT (not a PE image, or its symbol table lies outside the file: the
 *         message says which); HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_link_units_read(const uint8_t *data, size_t size, int functions, hp_link_units **out, char *msg,
                             size_t msg_size);

/** Free; NULL is a no-op. */
void hp_link_units_destroy(hp_link_units *units);

struct hp_pe;
struct hp_coff_symbol;

/** The same reading, one symbol record at a time, for a caller that walks the symbol table anyway
    (hotpatch-link's post-link pass takes the records as the audit reads them: one walk, not two). */
typedef struct hp_link_units_walk hp_link_units_walk;

/** Start a walk over the image `pe` (which must stay valid until the walk ends); NULL when out of
    memory. `functions` as for hp_link_units_read(). */
hp_link_units_walk *hp_link_units_begin(const struct hp_pe *pe, int functions);

/** One record of the image's COFF symbol table (hp_coff_symbols()), in table order. */
void hp_link_units_symbol(hp_link_units_walk *walk, const struct hp_coff_symbol *sym);

/** End the walk: *out as hp_link_units_read() gives it. The walk is freed in every case.
    @return HP_OK; HP_ERR_NO_MEMORY. */
hp_status hp_link_units_end(hp_link_units_walk *walk, hp_link_units **out);

/** End a walk whose result is not wanted (the table could not be read); NULL is a no-op. */
void hp_link_units_abandon(hp_link_units_walk *walk);

/** Exactly `n` (1 to 16) lower-case hex digits at `p`, as the plugin and hotpatch-link write them:
    1 with their value in *out, else 0. */
int hp_link_hex(const char *p, size_t n, uint64_t *out);

/**
 * The plugin's unit label, `__hp_unit$<8 hex digits: id>$<hex of the path>` (a symbol name of `len`
 * bytes; `___hp_unit$` too, as an x86 assembler may prefix it).
 * @return 1 with *id and *path (malloc'd, NUL-terminated; the caller frees it); 0 when the name is not
 *         one; -1 when out of memory.
 */
int hp_link_unit_label(const char *name, size_t len, uint32_t *id, char **path);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_UNITS_H */
