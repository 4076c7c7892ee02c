/*
 * hp_link_post.h — the post-link pass over the image lld wrote: verify every
 * function of the plugin's table and every export against the site rules
 * (runtime/include/hotpatch.h; by the pass's own walk from the table, or the
 * audit library's walk: lld-pass/README.md, "The post-link pass"), find
 * aliasing patchable functions, rewrite the plugin's 0x90 padding to 0xCC,
 * recompute the PE checksum, and collect what the map (hp_link_map.h) lists.
 *
 * Ownership: a result is created by hp_link_post_run() and freed by
 * hp_link_post_destroy(); every string reachable from it is owned by it.
 * Thread-safety: different results may be used from different threads.
 */
#ifndef HP_LINK_POST_H
#define HP_LINK_POST_H

#include <stddef.h>
#include <stdint.h>

#include "hp_link.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What the pass does. Zero-initialised options are the defaults. */
typedef struct hp_link_post_options {
    uint32_t pad;  /**< required padding; 0 = the machine's default (5 on x86, 6 on x64) */
    int no_fill;   /**< nonzero: leave 0x90 padding as it is (and the file untouched) */
    const char *const *exclude; /**< globs (hp_glob_match) of functions neither checked nor reported */
    size_t exclude_count;
    int units;     /**< nonzero: also the image's units and symbols (hp_link_units.h, without external
                        functions), read from the symbol table records the audit walks anyway */
    int check_walk; /**< nonzero: an image the table walk judged (hp_link_post.walk_declined NULL) is judged
                         by the audit's walk too, and any difference in the function list fails the pass
                         (HP_ERR_FORMAT, the message says where): the tests' guard of the two walks */
} hp_link_post_options;

struct hp_link_units;

/** hp_link_fn.from bits. */
#define HP_LINK_FROM_TABLE  0x01u /**< a record of the plugin's table points at it */
#define HP_LINK_FROM_EXPORT 0x02u /**< the export table names it */

/** One function the pass checked (a table entry, an export, or both). */
typedef struct hp_link_fn {
    const char *name;       /**< export or symbol name; NULL when the image names it nowhere */
    uint64_t hash;          /**< FNV-1a 64 of those bytes */
    uint32_t rva;           /**< entry RVA */
    uint32_t hash_len;      /**< bytes hashed from the entry: the function's extent, at most 65,536, never into the next function's padding */
    uint16_t padding;       /**< filler bytes found before the entry (at most 64) */
    uint16_t site_offset;   /**< offset of the 2-byte swap site from the entry (4 after endbr) */
    uint8_t entry_bytes[2]; /**< the two bytes at the site */
    uint8_t from;           /**< HP_LINK_FROM_* */
    uint8_t patchable;      /**< 1 when the site rules accept it */
    /* 32 bytes: 60,000 of them are the largest block a link holds (a page fault every 128) */
} hp_link_fn;

/** One reason the image is not hotpatchable. */
typedef struct hp_link_violation {
    const char *function; /**< function name, or "sub_<rva>" when the image names it nowhere */
    uint32_t rva;         /**< its entry RVA */
    const char *reason;   /**< stable id: a site reason ("entry-short", ...), "folded", "table-entry-not-code" */
    const char *message;  /**< one line, lower-case, no period */
    const char *object;   /**< the input object that defined it, filled by the caller (NULL = unknown) */
} hp_link_violation;

/** The outcome of the pass. */
typedef struct hp_link_post {
    const char *machine;       /**< "x86" or "x64" */
    uint32_t time_date_stamp;  /**< IMAGE_FILE_HEADER.TimeDateStamp */
    uint32_t size_of_image;    /**< SizeOfImage */
    uint32_t checksum;         /**< CheckSum after the pass */
    int has_codeview;          /**< 1 when an RSDS record exists */
    uint8_t codeview_guid[16]; /**< its GUID, as stored */
    uint32_t codeview_age;     /**< its age */
    int has_table;             /**< 1 when the image has a .hotp section */
    const char *walk_declined; /**< NULL when the pass's own walk from the plugin's table judged the image
                                    (hp_link_post_table.h); else why the audit's walk judged it (a static
                                    string: "exclusions", "a site the rules refuse", ...) */
    hp_link_fn *fns;           /**< every checked function, by RVA */
    size_t fn_count;
    hp_link_violation *violations; /**< in RVA order */
    size_t violation_count;
    uint32_t filled;           /**< padding bytes rewritten from 0x90 to 0xCC */
    int rewritten;             /**< 1 when the file was written back (fill or checksum) */
    struct hp_link_units *units; /**< with options.units: what hp_link_units_read(..., 0, ...) gives for the
                                      image (owned by the result) */
} hp_link_post;

/**
 * Run the pass over the image at `path` and write it back when the fill or
 * the checksum changed it — only once the audit has finished: a call that
 * fails before that (not an image, the audit's error, out of memory) leaves
 * the file as it was. Violations are results, not failures: the call returns
 * HP_OK with violation_count > 0.
 * @param options may be NULL (defaults).
 * @param out receives the result (free with hp_link_post_destroy()).
 * @param msg receives a one-line message on failure; may be NULL.
 * @return HP_OK; HP_ERR_IO; HP_ERR_FORMAT (not a PE image of x86/x64);
 *         HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_link_post_run(const char *path, const hp_link_post_options *options, hp_link_post **out,
                                char *msg, size_t msg_size);

/** Set violation `index`'s input object (copied). @return HP_OK, HP_ERR_ARGUMENT, HP_ERR_NO_MEMORY. */
hp_status hp_link_post_set_object(hp_link_post *post, size_t index, const char *object);

/**
 * Free the function list (fns, fn_count become NULL, 0) once nothing needs it any more: hotpatch-link
 * calls it when the map is written, so that the code digests that follow take its memory instead of
 * fresh pages. Their names stay (violations share their block). NULL is a no-op.
 */
void hp_link_post_release_functions(hp_link_post *post);

/** Free a result; NULL is a no-op. */
void hp_link_post_destroy(hp_link_post *post);

/**
 * The PE checksum of a file image (the algorithm of MapFileAndCheckSum: 16-bit
 * one's-complement-style sum of the file with the CheckSum field taken as 0,
 * folded, plus the file length).
 * @param checksum_offset file offset of the CheckSum field.
 */
uint32_t hp_link_pe_checksum(const uint8_t *data, size_t size, size_t checksum_offset);


#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_POST_H */
