/*
 * hp_link.h — the status codes shared by every module of `hotpatch-link`
 * (lld-pass/): the command-line model, the lld runner, the bitcode rewriter,
 * the post-link pass and the map writer.
 *
 * The library never prints or exits: every fallible call returns an
 * hp_link_status, and messages for people are composed by main.c.
 */
#ifndef HP_LINK_H
#define HP_LINK_H

#ifdef __cplusplus
extern "C" {
#endif

/** Status of every fallible call of the post-link pass. Values are permanent (appended, never renumbered). */
typedef enum hp_link_status {
    HP_LINK_OK = 0,
    HP_LINK_ERR_ARGUMENT = 1,     /**< NULL or otherwise invalid argument (a bug in the caller) */
    HP_LINK_ERR_USAGE = 2,        /**< the command line is wrong (unknown --hotpatch-* option, bad value) */
    HP_LINK_ERR_NO_MEMORY = 3,    /**< out of memory */
    HP_LINK_ERR_IO = 4,           /**< a file could not be read, written or removed */
    HP_LINK_ERR_NO_LLD = 5,       /**< lld could not be found or started */
    HP_LINK_ERR_LLD_FAILED = 6,   /**< lld ran and failed (its exit status is reported separately) */
    HP_LINK_ERR_FORMAT = 7,       /**< an input or the output is not what it claims to be */
    HP_LINK_ERR_BITCODE = 8,      /**< LLVM could not read, rewrite or write a bitcode input */
    HP_LINK_ERR_VIOLATIONS = 9,   /**< the output image is not hotpatchable (findings listed) */
    HP_LINK_ERR_TOOL = 10,        /**< a helper tool (llvm-ar) failed */
} hp_link_status;

/** Name of a status ("HP_LINK_ERR_USAGE"); never NULL, "HP_LINK_STATUS_UNKNOWN" for unknown values. */
const char *hp_link_status_str(hp_link_status status);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_H */
