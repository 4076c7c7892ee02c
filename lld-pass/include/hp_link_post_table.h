/*
 * hp_link_post_table.h — the post-link pass's own walk for the images it
 * normally sees: every function the plugin compiled, listed by its table,
 * judged from the table in address order with .pdata, the exports and the
 * symbol table looked up beside it (lld-pass/README.md, "The post-link
 * pass"). It gives the same function list as the audit's generic walk
 * (hp_audit.h with --all over the table) for an image it accepts, and
 * declines every image where the two could differ: anything the audit would
 * report (a site the rules refuse, folded functions or exports, a table
 * record outside the code, an export the table does not list), exclusions,
 * a damaged directory. A declined image goes to the audit's walk.
 *
 * Internal to hp_link (post.c); not installed.
 */
#ifndef HP_LINK_POST_TABLE_H
#define HP_LINK_POST_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch_pe.h"
#include "hp_link_post.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hp_table_record;
struct hp_link_units;

typedef struct hp_link_table_walk_options {
    uint32_t pad; /**< required padding, as hp_link_post_options.pad */
    int units;    /**< nonzero: the map's units and symbols from the same walk of the symbol table */
    /** each table record as read, before any site is judged (the fill); may be NULL */
    void (*on_table)(void *ctx, const struct hp_table_record *rec);
    void *on_table_ctx;
} hp_link_table_walk_options;

typedef struct hp_link_table_walk_result {
    hp_link_fn *fns; /**< one per table entry, by RVA; hash_len is the extent the site rules were given
                          (not yet capped or clamped), hash 0 */
    size_t fn_count;
    char *names;     /**< the block every fns[i].name points into (NULL when none is named) */
    struct hp_link_units *units; /**< with options.units */
} hp_link_table_walk_result;

/**
 * Judge the image `pe` (file layout) from the plugin's table.
 * @param why receives, when the walk declines the image, what made it decline (a static string).
 * @return 1 with *out set (the caller owns fns, names and units); 0 when the image is the audit's
 *         walk's to judge (nothing set; the table's records may have been passed to on_table);
 *         -1 out of memory.
 */
int hp_link_table_walk(const hp_pe *pe, const hp_link_table_walk_options *options, hp_link_table_walk_result *out,
                       const char **why);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_POST_TABLE_H */
