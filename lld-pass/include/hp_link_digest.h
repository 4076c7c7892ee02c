/*
 * hp_link_digest.h — digests of the generated code of one COFF object, by
 * function and by variable, that compare two builds of one translation unit
 * (lld-pass/README.md, "Code digests").
 *
 * A function's digest covers its instruction bytes with every relocated field
 * cleared and, in its place, what the relocation refers to by name: a function
 * or variable by its symbol (so that a callee that moved is not a change), a
 * string literal or other unnamed constant by its bytes, a label of the
 * function itself by its offset from the entry. The padding before the next
 * function and the assembler's alignment fill after the last instruction are
 * not covered. A variable's digest covers its size and initial bytes, with its
 * relocations named the same way.
 *
 * Objects compiled by the hotpatch plugin name their unit (plugin/src/units.c:
 * `__hp_unit$<id>$<hex path>`); other objects (the CRT, code built without the
 * plugin) are reported as such and not digested. x86-64 and x86 COFF, plain
 * and /bigobj.
 *
 * Thread-safety: reentrant. The input is untrusted: every read is bounded.
 */
#ifndef HP_LINK_DIGEST_H
#define HP_LINK_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch.h"

#ifdef __cplusplus
extern "C" {
#endif

/** hp_link_digest.kind */
typedef enum hp_link_digest_kind { HP_DIGEST_FUNCTION = 1, HP_DIGEST_VARIABLE = 2 } hp_link_digest_kind;

/** One function or variable of the unit. */
typedef struct hp_link_digest {
    char *name;         /**< C name (x86 decoration removed), in the unit's name block */
    uint32_t name_at;   /**< where the name is in that block (kept while the unit is built) */
    uint8_t kind;       /**< hp_link_digest_kind */
    uint8_t is_static;  /**< internal linkage */
    uint32_t size;      /**< bytes covered: code after trimming, or the variable's size */
    uint64_t digest;
} hp_link_digest;

/** The digests of one object; owned, freed by hp_link_digest_destroy(). */
typedef struct hp_link_digest_unit {
    char *unit;                /**< the unit's path as the plugin named it (relative to its source root) */
    uint32_t unit_id;          /**< the plugin's id of the unit (FNV-1a 32 of the path) */
    uint16_t machine;          /**< COFF machine: 0x8664 or 0x14c */
    hp_link_digest *entries;   /**< sorted by name, then kind (unless HP_DIGEST_UNSORTED) */
    size_t count;
    size_t entries_cap;
    char *names;               /**< every entry's name, NUL-terminated, one after another */
    size_t names_len, names_cap;
    char *lines;               /**< or the entries as `.hpcode` lines, as an object carried them
                                    (hp_link_carry.h); then `entries` is empty. Owned. */
    size_t lines_len;
} hp_link_digest_unit;

/** hp_link_digest_object() flags: leave the entries in the object's order (hp_link_digest_find() needs
    them sorted; a writer does not). */
#define HP_DIGEST_UNSORTED 1u

/**
 * Digest every function and variable of the COFF object in `data`.
 * @param out receives the digests; NULL (with HP_OK) when the object was not compiled by the plugin
 *        (it names no unit).
 * @return HP_OK; HP_ERR_FORMAT (not a COFF object of x86 or x86-64, or a structure outside the file:
 *         the message says which); HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_link_digest_object(const uint8_t *data, size_t size, unsigned flags, hp_link_digest_unit **out,
                                char *msg, size_t msg_size);

/**
 * Append an entry to `unit` (building one: hp_link_digest_object, the .hpcode reader); its name is
 * copied into the unit's name block. hp_link_digest_seal() must follow the last one.
 * @return HP_OK; HP_ERR_NO_MEMORY.
 */
hp_status hp_link_digest_add(hp_link_digest_unit *unit, const char *name, size_t len, int kind, int is_static,
                             uint32_t size, uint64_t digest);

/** Point every entry's name into the unit's name block, which may have moved while entries were added. */
void hp_link_digest_seal(hp_link_digest_unit *unit);

/** Sort a sealed unit's entries by name, then kind (what hp_link_digest_find() needs); the second of
    the first two entries of one name and kind, or NULL when there is none. */
const hp_link_digest *hp_link_digest_sort(hp_link_digest_unit *unit);

/** The entry `name` of `kind`, or NULL. O(log n). */
const hp_link_digest *hp_link_digest_find(const hp_link_digest_unit *unit, const char *name, int kind);

/** Free; NULL is a no-op. */
void hp_link_digest_destroy(hp_link_digest_unit *unit);

/** A direct reference from one function of an object to another function the object defines. */
typedef struct hp_link_call {
    char *caller;
    char *callee;
} hp_link_call;

/**
 * The direct references between the functions an object defines (by relocation: calls, jumps,
 * addresses taken). Compiled without inlining (-O0), they are the calls of the source.
 * @param out receives the pairs (free with hp_link_calls_free); NULL when there are none.
 * @return as hp_link_digest_object().
 */
hp_status hp_link_object_calls(const uint8_t *data, size_t size, hp_link_call **out, size_t *out_count, char *msg,
                               size_t msg_size);

/** Free what hp_link_object_calls() returned. */
void hp_link_calls_free(hp_link_call *calls, size_t count);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_DIGEST_H */
