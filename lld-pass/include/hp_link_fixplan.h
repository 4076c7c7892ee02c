/*
 * hp_link_fixplan.h — what a fix must replace: the corrected build's code
 * digests compared with the release's (hotpatch-fix; lld-pass/README.md,
 * "hotpatch-fix").
 *
 * Per function of a corrected unit: unchanged (same digest as the release's), changed (another
 * digest: replaced), new (the release has none: compiled into the fix, reached from the changed
 * ones), or refused (changed but not patchable in the release). Per variable: new, or refused
 * when its size or initial value changed (a swap of functions cannot change what the running
 * program holds). What the release has and the corrected unit lacks is reported as gone.
 *
 * Thread-safety: reentrant.
 */
#ifndef HP_LINK_FIXPLAN_H
#define HP_LINK_FIXPLAN_H

#include <stddef.h>

#include "hp_link_codefile.h"
#include "hp_map.h"

#ifdef __cplusplus
extern "C" {
#endif

/** hp_link_fix_item.what */
typedef enum hp_link_fix_what {
    HP_FIX_CHANGED = 1, /**< a function whose code differs: replaced */
    HP_FIX_NEW,         /**< a function or variable the release lacks: part of the fix */
    HP_FIX_GONE,        /**< in the release, not in the corrected unit: left as it is */
    HP_FIX_REFUSED,     /**< a change a swap of functions cannot make */
} hp_link_fix_what;

typedef struct hp_link_fix_item {
    const char *unit;   /**< the release's path of the unit */
    const char *name;
    uint8_t kind;       /**< HP_DIGEST_FUNCTION / HP_DIGEST_VARIABLE */
    uint8_t what;       /**< hp_link_fix_what */
    char *note;         /**< why (refused), or what else to know; NULL when nothing */
} hp_link_fix_item;

/** The outcome; owned, freed by hp_link_fix_plan_destroy(). */
typedef struct hp_link_fix_plan {
    hp_link_fix_item *items; /**< by unit (in the order given), then name */
    size_t count;
    size_t changed, added, refused, gone;
    size_t unchanged;        /**< functions with the release's digest */
    size_t units;            /**< units compared */
} hp_link_fix_plan;

/** One corrected unit: its digests, and the release's path of it (NULL: as the digests name it). */
typedef struct hp_link_fix_unit {
    const hp_link_digest_unit *digests;
    const char *release_path;
    const hp_link_call *calls; /**< the unit's calls before inlining (hp_link_object_calls at -O0); may be NULL */
    size_t call_count;
} hp_link_fix_unit;

/**
 * Compare corrected units with the release (its map and its code digests).
 * @return HP_OK (the plan says what, refusals included); HP_ERR_FORMAT when a unit the map knows has
 *         no digests in `release` (the message names it: built as bitcode, or by another tool);
 *         HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_link_fix_compare(const hp_map *map, const hp_link_code *release, const hp_link_fix_unit *units,
                              size_t unit_count, hp_link_fix_plan **out, char *msg, size_t msg_size);

/**
 * Name, for each changed function of `plan` that has no note yet, what it inlines: the functions it
 * calls in the source (units[k].calls, which hp_link_fix_compare() may not have had) that the
 * corrected build has no code for ("inlines a(), b()").
 * @return HP_OK; HP_ERR_NO_MEMORY (the notes written so far stay); HP_ERR_ARGUMENT.
 */
hp_status hp_link_fix_annotate(hp_link_fix_plan *plan, const hp_link_fix_unit *units, size_t unit_count);

/** Free; NULL is a no-op. */
void hp_link_fix_plan_destroy(hp_link_fix_plan *plan);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_FIXPLAN_H */
