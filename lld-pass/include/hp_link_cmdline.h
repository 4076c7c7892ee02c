/*
 * hp_link_cmdline.h — the command-line model of `hotpatch-link`: response
 * files expanded, the linker flavour detected, the `--hotpatch-*` options
 * (and `--lld=`) taken out, and what the post-link pass needs to know about
 * the user's link (output path, inputs, an explicit ICF request) found.
 *
 * Every other argument is kept, in order, for lld: hotpatch-link passes every
 * user option through unchanged.
 *
 * Ownership: a command line is created by hp_link_cmdline_parse() and freed
 * by hp_link_cmdline_destroy(); every string reachable from it is owned by it.
 * Thread-safety: none needed (one command line per process).
 */
#ifndef HP_LINK_CMDLINE_H
#define HP_LINK_CMDLINE_H

#include <stddef.h>

#include "hp_link.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Which lld driver the command line is written for. */
typedef enum hp_link_flavor {
    HP_LINK_FLAVOR_UNKNOWN = 0,
    HP_LINK_FLAVOR_MINGW = 1, /**< GNU-style `ld.lld -m i386pep ...` as clang's MinGW driver writes it */
    HP_LINK_FLAVOR_MSVC = 2,  /**< `lld-link /out:... ...` (MSVC ABI), options with `/` or `-` */
} hp_link_flavor;

/** Name of a flavour: "mingw", "msvc" or "unknown". Never NULL. */
const char *hp_link_flavor_name(hp_link_flavor flavor);

/**
 * The flavour implied by the name the program was started as: a basename
 * ending in "ld.lld" (e.g. hotpatch-ld.lld) is MinGW, one ending in
 * "lld-link" or "link.exe" is MSVC, anything else (hotpatch-link) is
 * HP_LINK_FLAVOR_UNKNOWN: the arguments decide.
 */
hp_link_flavor hp_link_flavor_from_name(const char *argv0);

/**
 * Split the text of a response file into arguments: Windows quoting rules
 * for MSVC (as lld-link reads them on every host), GNU rules otherwise (as
 * ld.lld reads them on Linux). Nested `@file` arguments are not expanded here.
 * @param out_args receives a malloc'd array of malloc'd strings (free each, then the array).
 * @param out_count receives the number of arguments.
 * @return HP_LINK_OK, HP_LINK_ERR_ARGUMENT, HP_LINK_ERR_NO_MEMORY.
 */
hp_link_status hp_link_rsp_split(const char *text, size_t len, hp_link_flavor flavor, char ***out_args,
                                 size_t *out_count);

/** The parsed command line. Fields are read-only for callers. */
typedef struct hp_link_cmdline {
    hp_link_flavor flavor;  /**< never UNKNOWN after a successful parse */
    char **args;            /**< arguments for lld, without argv[0]; NULL-terminated */
    size_t arg_count;       /**< number of entries in args */
    size_t *inputs;         /**< indices into args of input files (objects, archives), in order */
    size_t input_count;
    const char *output;     /**< the output image (-o / /out:, or lld-link's default name); never NULL */
    const char *icf_arg;    /**< the argument that asked for identical-code folding, or NULL */
    int is_dll;             /**< the output is a DLL (-shared / /dll) */
    int want_help;          /**< --help was given: print help, link nothing */
    /* --hotpatch-* options */
    unsigned pad;           /**< --hotpatch-pad=N (1..64), 0 = the machine's default */
    int warn_only;          /**< --hotpatch-warn-only */
    int verbose;            /**< --hotpatch-verbose */
    int map_none;           /**< --hotpatch-map=none */
    const char *map_path;   /**< --hotpatch-map=PATH, or NULL for <output>.hpmap */
    const char *lld_path;   /**< --lld=PATH, or NULL to search */
} hp_link_cmdline;

/**
 * Parse `argv[1..argc)` (argv[0] gives the flavour by name, see
 * hp_link_flavor_from_name()). `@file` arguments are expanded, recursively.
 *
 * @param file_exists callback telling whether a path names an existing file
 *        (lld-link treats a `/`-argument that is no option as an input path);
 *        may be NULL, then no `/`-argument is taken for a path.
 * @param msg receives a one-line message on failure (lower-case, no period); may be NULL.
 * @return HP_LINK_OK; HP_LINK_ERR_USAGE (unknown --hotpatch-* option, bad value, flavour
 *         undecidable, missing value); HP_LINK_ERR_IO (a response file cannot be read);
 *         HP_LINK_ERR_NO_MEMORY; HP_LINK_ERR_ARGUMENT.
 */
hp_link_status hp_link_cmdline_parse(int argc, const char *const argv[], int (*file_exists)(const char *path),
                                     hp_link_cmdline **out, char *msg, size_t msg_size);

/**
 * Replace argument `index` (an input) by `value` (copied). Used to link a
 * rewritten temporary copy instead of the user's file.
 * @return HP_LINK_OK, HP_LINK_ERR_ARGUMENT, HP_LINK_ERR_NO_MEMORY.
 */
hp_link_status hp_link_cmdline_replace(hp_link_cmdline *cl, size_t index, const char *value);

/** Free a command line; NULL is a no-op. */
void hp_link_cmdline_destroy(hp_link_cmdline *cl);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_CMDLINE_H */
