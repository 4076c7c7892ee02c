/*
 * hp_link_cmdline.h — the command-line model of `hotpatch-link`: response
 * files expanded (nested ones too, up to 16 deep; each read and split by
 * hp_link_rsp.h with the flavour's quoting), the linker flavour detected, the
 * `--hotpatch-*` options (and `--lld=`, `--help`, `--version`) taken out, and
 * what the post-link pass needs to know about the user's link (output path,
 * inputs, an explicit ICF request) found.
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
#include <stdint.h>

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

/** The parsed command line. Fields are read-only for callers. */
typedef struct hp_link_cmdline {
    hp_link_flavor flavor;  /**< never UNKNOWN after a successful parse, unless want_help / want_version */
    char **args;            /**< arguments for lld, without argv[0]; NULL-terminated */
    size_t arg_count;       /**< number of entries in args */
    size_t *inputs;         /**< indices into args of input files (objects, archives), in order */
    size_t input_count;
    const char *output;     /**< the output image (-o / /out:, or lld-link's default name); never NULL */
    const char *icf_arg;    /**< the argument that asked for identical-code folding, or NULL */
    int is_dll;             /**< the output is a DLL (-shared / /dll) */
    int want_help;          /**< --help was given: print help, link nothing */
    int want_version;       /**< --version was given: print the version, link nothing */
    /* --hotpatch-* options */
    uint32_t pad;           /**< --hotpatch-pad=N (5..64, hp_pad_parse), 0 = the machine's default */
    int warn_only;          /**< --hotpatch-warn-only */
    int verbose;            /**< --hotpatch-verbose */
    int map_none;           /**< --hotpatch-map=none */
    const char *map_path;   /**< --hotpatch-map=PATH, or NULL for <output>.hpmap */
    int cache_none;         /**< --hotpatch-cache=none */
    const char *cache_dir;  /**< --hotpatch-cache=DIR, or NULL for the default (hp_link_arcache_default_dir) */
    const char *lld_path;   /**< --lld=PATH, or NULL to search */
    const char *fix_for;    /**< --hotpatch-fix-for=IMAGE: the output is a patch module for IMAGE, or NULL */
    const char **excludes;  /**< --hotpatch-exclude=GLOB, each (hp_glob_match): functions neither checked nor reported */
    size_t exclude_count;
} hp_link_cmdline;

/**
 * Parse `argv[1..argc)` (argv[0] gives the flavour by name, see
 * hp_link_flavor_from_name()). `@file` arguments are expanded, recursively.
 *
 * @param file_exists callback telling whether a path names an existing file
 *        (lld-link treats a `/`-argument that is no option as an input path);
 *        may be NULL, then no `/`-argument is taken for a path.
 * @param msg receives a one-line message on failure (lower-case, no period); may be NULL.
 * @return HP_OK; HP_ERR_USAGE (unknown --hotpatch-* option, missing value, flavour
 *         undecidable, response files nested too deeply); HP_ERR_BAD_VALUE (a value out of
 *         range: --hotpatch-pad, --hotpatch-flavor); HP_ERR_IO (a response file cannot be
 *         read); HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT. With --help or --version the flavour
 *         need not be decidable, and inputs and output are not filled in.
 */
hp_status hp_link_cmdline_parse(int argc, const char *const argv[], int (*file_exists)(const char *path),
                                hp_link_cmdline **out, char *msg, size_t msg_size);

/**
 * Replace argument `index` (an input) by `value` (copied). Used to link a
 * rewritten temporary copy instead of the user's file.
 * @return HP_OK, HP_ERR_ARGUMENT, HP_ERR_NO_MEMORY.
 */
hp_status hp_link_cmdline_replace(hp_link_cmdline *cl, size_t index, const char *value);

/** Free a command line; NULL is a no-op. */
void hp_link_cmdline_destroy(hp_link_cmdline *cl);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_CMDLINE_H */
