/*
 * hp_link_objfind.h — which input object defines a symbol: COFF objects given
 * on the command line and the members of archives (GNU and COFF `ar`), read
 * through the bounds-checked span reader of hotpatch_pe.h and the tools' COFF
 * symbol reader (hp_coff_symbols, hp_tools.h). Used only on the failure path,
 * to name the object behind an unpatchable function.
 */
#ifndef HP_LINK_OBJFIND_H
#define HP_LINK_OBJFIND_H

#include "hp_link_cmdline.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Find the first input (in command-line order) with an external definition of
 * `symbol` (also as `_symbol`, the x86 C decoration).
 * @param out_object receives a malloc'd "path" or "archive(member)" (caller frees), or NULL when none.
 * @return HP_OK (also when nothing was found); HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_link_objfind(const hp_link_cmdline *cl, const char *symbol, char **out_object);

/**
 * Walk the members of an archive in memory.
 * @param fn called per member with its name (NUL-terminated copy valid during the call) and bytes;
 *        return nonzero to stop.
 * @return HP_OK; HP_ERR_FORMAT when the bytes are not an archive or a header is out of range.
 */
hp_status hp_link_ar_foreach(const unsigned char *data, size_t size,
                             int (*fn)(void *ctx, const char *name, const unsigned char *member, size_t len),
                             void *ctx);

/** hp_link_ar_foreach() for callers that need only the members' bytes: `name` is NULL (the walk over
    thousands of import-library members then reads their headers' sizes only). */
hp_status hp_link_ar_foreach_bytes(const unsigned char *data, size_t size,
                                   int (*fn)(void *ctx, const char *name, const unsigned char *member, size_t len),
                                   void *ctx);

/** 1 when `data` starts with the archive signature "!<arch>\n". */
int hp_link_is_archive(const unsigned char *data, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_OBJFIND_H */
