/*
 * hp_link_bitcode.h — LLVM bitcode inputs (-flto objects, also members of
 * archives) that were compiled without the hotpatch plugin are brought under
 * the same policy: parsed with LLVM-C, run through the plugin's policy core
 * (plugin/include/hp_policy.h: hp_policy_instrument + hp_policy_emit_table,
 * one implementation), and written to temporary files that replace them on
 * lld's command line. The user's files are only read.
 *
 * The LLVM work runs in the helper `hotpatch-link-bitcode` (hp_link_rewrite.h),
 * started once per link and only when an input is bitcode: hotpatch-link itself
 * does not load libLLVM. Modules that already carry the plugin's table are
 * linked as they are.
 * Archives with at least one such member are rebuilt in the temporary
 * directory with llvm-ar (members in their order, symbol index regenerated).
 * ThinLTO summaries are not kept: a rewritten module links as regular LTO.
 *
 * Ownership: hp_link_bitcode_prepare() creates the set of temporaries,
 * hp_link_bitcode_destroy() removes them and frees it.
 */
#ifndef HP_LINK_BITCODE_H
#define HP_LINK_BITCODE_H

#include <stddef.h>

#include "hp_link_cmdline.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The temporaries of one link. Opaque. */
typedef struct hp_link_bitcode hp_link_bitcode;

/** How to rewrite. */
typedef struct hp_link_bitcode_options {
    unsigned pad;           /**< the policy's pad= (0 = its default) */
    const char *tmpdir;     /**< where to create the temporary directory (NULL = "/tmp") */
    const char *llvm_ar;    /**< llvm-ar to rebuild archives with (NULL: archives with bitcode fail) */
    const char *helper;     /**< hotpatch-link-bitcode (NULL: bitcode inputs fail) */
    const char *cache_dir;  /**< where archives found to hold no bitcode are remembered (hp_link_arcache.h);
                                 NULL: nowhere, every archive is read */
} hp_link_bitcode_options;

/** 1 when `data` is LLVM bitcode (raw "BC\xC0\xDE" or the wrapper 0x0B17C0DE). */
int hp_link_is_bitcode(const unsigned char *data, size_t size);

/** How many archives hp_link_bitcode_prepare() read member by member, and how many the cache knew to
    hold no bitcode (not read). */
void hp_link_bitcode_archives(const hp_link_bitcode *bc, unsigned *scanned, unsigned *from_cache);

/**
 * Scan the inputs of `cl`; rewrite every bitcode object and every archive with bitcode members
 * that lacks the plugin's policy, and replace those inputs in `cl` by the temporaries.
 * @param out receives the set (never NULL on success, possibly empty).
 * @return HP_OK; HP_ERR_IO (an input cannot be read, the temporaries cannot be written);
 *         HP_ERR_BITCODE (the helper failed: its message is on stderr); HP_ERR_TOOL (llvm-ar
 *         or the helper is missing or cannot be started, llvm-ar failed); HP_ERR_FORMAT (a
 *         malformed archive); HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT. `msg` (may be NULL) receives a
 *         one-line message for most failures; it stays empty when the status says everything.
 */
hp_status hp_link_bitcode_prepare(hp_link_cmdline *cl, const hp_link_bitcode_options *options,
                                  hp_link_bitcode **out, char *msg, size_t msg_size);

/** Number of inputs replaced. */
size_t hp_link_bitcode_count(const hp_link_bitcode *bc);

/** Input `index`: the user's path and the temporary that replaced it. */
void hp_link_bitcode_at(const hp_link_bitcode *bc, size_t index, const char **out_original, const char **out_temp);

/** Put the user's paths back into `cl` (for messages after the link). */
void hp_link_bitcode_restore(const hp_link_bitcode *bc, hp_link_cmdline *cl);

/** Remove the temporaries and free the set; NULL is a no-op. */
void hp_link_bitcode_destroy(hp_link_bitcode *bc);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_BITCODE_H */
