/*
 * hp_link_rsp.h — response files (`@file`): one file read and its text split
 * into arguments with the quoting rules of the linker that would read it.
 *
 * This module knows quoting and nothing else: which rules a command line
 * uses (its flavour), nested `@file` arguments and their depth limit belong
 * to the command-line model (hp_link_cmdline.h), which calls down to here.
 *
 * Ownership: the argument arrays returned here are freed with hp_link_rsp_free().
 * Thread-safety: every function is reentrant.
 */
#ifndef HP_LINK_RSP_H
#define HP_LINK_RSP_H

#include <stddef.h>

#include "hp_link.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The quoting rules of a response file. */
typedef enum hp_link_quoting {
    /** ld.lld on Linux (LLVM's TokenizeGNUCommandLine): whitespace separates, '...' is literal,
        "..." groups, a backslash escapes the next character outside single quotes. */
    HP_LINK_QUOTING_GNU = 0,
    /** lld-link on every host (CommandLineToArgvW, LLVM's TokenizeWindowsCommandLine): 2n
        backslashes before a quote give n and the quote toggles quoting, 2n+1 give n and a literal
        quote; inside quotes "" is a literal quote; other backslashes are literal. */
    HP_LINK_QUOTING_WINDOWS = 1,
} hp_link_quoting;

/**
 * Split the `len` bytes of `text` (no NUL needed; NULL only when `len` is 0) into arguments.
 * Nested `@file` arguments are returned as they are, not expanded.
 * @param out_args receives a malloc'd, NULL-terminated array of malloc'd strings, never NULL on
 *        success (free with hp_link_rsp_free()).
 * @param out_count receives the number of arguments.
 * @return HP_OK; HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_link_rsp_split(const char *text, size_t len, hp_link_quoting quoting, char ***out_args,
                            size_t *out_count);

/**
 * Read the response file at `path` (a regular file, read whole with hp_file_read()) and split it
 * as hp_link_rsp_split() does. A UTF-8 byte order mark at the start is not part of the first argument.
 * @param msg receives a one-line message naming the file on failure (may be NULL).
 * @return HP_OK; HP_ERR_IO (the file cannot be read, or is no regular file); HP_ERR_NO_MEMORY;
 *         HP_ERR_ARGUMENT.
 */
hp_status hp_link_rsp_read(const char *path, hp_link_quoting quoting, char ***out_args, size_t *out_count,
                           char *msg, size_t msg_size);

/** Free `count` arguments and the array that holds them; NULL is a no-op. */
void hp_link_rsp_free(char **args, size_t count);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_RSP_H */
