/*
 * hp_link_rewrite.h — the LLVM side of "bitcode under policy": one bitcode
 * module parsed with LLVM-C and run through the plugin's policy core
 * (plugin/include/hp_policy.h: hp_policy_instrument + hp_policy_emit_table,
 * one implementation shared with the plugin).
 *
 * Linked only into the helper `hotpatch-link-bitcode` (and tests), never into
 * hotpatch-link itself: loading libLLVM costs more than a whole link of a
 * small program, so the driver starts the helper only when an input is bitcode.
 *
 * "Compiled with the plugin" means the module carries the core's table guard
 * (named metadata "hotpatch.table"); such modules are left as they are.
 */
#ifndef HP_LINK_REWRITE_H
#define HP_LINK_REWRITE_H

#include <stddef.h>

#include "hp_link.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Rewrite one bitcode module in memory under the policy.
 * @param name used in messages and as the module buffer's name.
 * @param pad the policy's pad= (0 = its default).
 * @param out_data receives a malloc'd buffer with the new bitcode (caller frees), or NULL when
 *        the module already carries the plugin's table (nothing to do).
 * @param msg receives LLVM's or the policy's message on failure (may be NULL).
 * @return HP_OK; HP_ERR_BITCODE (LLVM cannot read it, the policy failed); HP_ERR_USAGE
 *         (the policy refuses pad); HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_link_bitcode_rewrite(const unsigned char *data, size_t size, const char *name, unsigned pad,
                                       unsigned char **out_data, size_t *out_size, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_REWRITE_H */
