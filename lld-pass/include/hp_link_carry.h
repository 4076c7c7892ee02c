/*
 * hp_link_carry.h — code digests carried in the object they describe
 * (lld-pass/README.md, "Digests carried in the object").
 *
 * The plugin computes an object's code digests (hp_link_digest.h) when the compiler has written it
 * and adds them to it as a section `.hpcode` that the linker drops (IMAGE_SCN_LNK_REMOVE); the link
 * then takes them from there instead of computing them again. The section is the object's last,
 * its bytes at the end of the file; it holds text:
 *
 *     hotpatch-digests <algorithm> <binding>      the digests' algorithm (HP_LINK_DIGEST_ALGORITHM)
 *                                                 and 16 hex digits: a hash of the object as it was
 *                                                 before the section was added and of the lines below
 *     unit <8 hex digits> <path>                  the unit, as `.hpcode` names it
 *     f e 15 469bff89384c4bf2 svc_quote           the unit's entries, as `.hpcode` has them
 *
 * A block of another algorithm, one whose binding does not match (the object was changed after:
 * objcopy, strip, a rewrite), or one that is malformed is not used: the link computes the digests.
 *
 * Thread-safety: reentrant. The input is untrusted: every read is bounded.
 */
#ifndef HP_LINK_CARRY_H
#define HP_LINK_CARRY_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch.h"
#include "hp_link_digest.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The version of the digests' algorithm (src/digest.c): raised with every change that gives the
    same code another digest, so that digests an older hotpatch left in an object are not used. */
#define HP_LINK_DIGEST_ALGORITHM 1

/**
 * The object in `data` with its digests added as the section `.hpcode`, in `*out` (malloc'd,
 * `*out_size` bytes). `*out` is NULL (with HP_OK) when there is nothing to add: not a COFF object
 * of x86 or x86-64, not compiled by the plugin (no unit), its unit's path has a line break, or it
 * already carries a `.hpcode` section.
 * @return HP_OK; HP_ERR_FORMAT (the object is malformed: the message says how); HP_ERR_NO_MEMORY;
 *         HP_ERR_ARGUMENT.
 */
hp_status hp_link_carry_object(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size, char *msg,
                               size_t msg_size);

/**
 * hp_link_carry_object() on the file `path`, which is replaced whole (a temporary file renamed over
 * it) when there is something to add: `*added` is 1 then, else 0 and the file is not touched.
 * @return as hp_link_carry_object(); HP_ERR_IO (the message names the path).
 */
hp_status hp_link_carry_file(const char *path, int *added, char *msg, size_t msg_size);

/** What an object carries (hp_link_carried_find()). */
typedef enum hp_link_carried_state {
    HP_CARRIED_NONE = 0,      /**< no `.hpcode` section (or not a COFF object) */
    HP_CARRIED_OK = 1,        /**< digests of this object, by this algorithm */
    HP_CARRIED_ALGORITHM = 2, /**< digests by another version of the algorithm */
    HP_CARRIED_STALE = 3,     /**< the object or the lines changed after the digests were added */
    HP_CARRIED_MALFORMED = 4, /**< a `.hpcode` section that is not one this library writes */
} hp_link_carried_state;

/** The digests an object carries: pointers into the object's bytes. */
typedef struct hp_link_carried {
    uint32_t unit_id;
    const char *unit;  /**< the unit's path, `unit_len` bytes (no NUL, no line break) */
    size_t unit_len;
    const char *lines; /**< the entry lines, `lines_len` bytes, each ending in '\n' (valid as
                            hp_link_code_lines_valid() says) */
    size_t lines_len;
} hp_link_carried;

/** Find and check the digests the object in `data` carries; `*out` is set for HP_CARRIED_OK. */
hp_link_carried_state hp_link_carried_find(const uint8_t *data, size_t size, hp_link_carried *out);

/**
 * The digests of the object in `data` for a `.hpcode` file: those it carries when they are
 * HP_CARRIED_OK (`lines` set, no entries), else computed (hp_link_digest_object, the object's
 * order). `*state` (if not NULL) tells which was found.
 * @return as hp_link_digest_object().
 */
hp_status hp_link_digest_for_code(const uint8_t *data, size_t size, hp_link_digest_unit **out,
                                  hp_link_carried_state *state, char *msg, size_t msg_size);

/** A short text for a state ("stale: the object changed after its digests were added", ...). */
const char *hp_link_carried_state_str(hp_link_carried_state state);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_CARRY_H */
