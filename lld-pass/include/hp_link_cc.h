/*
 * hp_link_cc.h — hotpatch-cc, the compiler wrapper: what a clang command line
 * asks for (does it compile C-family source to code? does it link? for which
 * target?), where the compiler, the plugin and hotpatch-link are, and the
 * command line that runs clang with the hotpatch options added.
 *
 * The rules (lld-pass/README.md, "hotpatch-cc: any build system"):
 *   - the plugin (-fplugin=, -fplugin-arg-hotpatch-…) is added when the invocation generates code
 *     (-c, -S, or a link) from at least one C-family source (C, C++, Objective-C, and their
 *     preprocessed forms): not for -E, -M, -MM, -fsyntax-only, headers, assembly, objects only;
 *   - the linker is hotpatch-link when the invocation links (no -c, -S, -E, -M/-MM, -fsyntax-only,
 *     -###, no query such as --version or -print-*) and the target is Windows: MinGW triples get
 *     -fuse-ld=<hotpatch-link>, MSVC-ABI triples -B<dir> -fuse-ld=<name of an lld-link link to it>;
 *   - every user argument reaches clang unchanged and in order; what is added comes after them
 *     (clang takes the last -fuse-ld=), before a `--` that ends clang's options.
 *
 * Response files (`@file`) are read (GNU quoting, nested ones relative to the file that names them,
 * 16 deep) to classify the command line; clang still receives the `@file` argument itself.
 *
 * Nothing here prints or exits (hp_link.h); cc_main.c does.
 */
#ifndef HP_LINK_CC_H
#define HP_LINK_CC_H

#include <stddef.h>

#include "hp_link.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How far clang goes. */
typedef enum hp_cc_phase {
    HP_CC_PHASE_QUERY = 0,   /**< nothing is compiled: no input, or --version, -dumpmachine, -print-*, --help */
    HP_CC_PHASE_NO_CODE = 1, /**< the front end only: -E, -M, -MM, -fsyntax-only, --analyze, --precompile */
    HP_CC_PHASE_COMPILE = 2, /**< -c or -S: objects or assembly */
    HP_CC_PHASE_LINK = 3,    /**< an image: the linker runs */
} hp_cc_phase;

/** The kind of a target triple, as the link step sees it. */
typedef enum hp_cc_abi {
    HP_CC_ABI_OTHER = 0, /**< not Windows (ELF and the rest): the plugin only */
    HP_CC_ABI_MINGW = 1, /**< *-mingw32, *-windows-gnu: -fuse-ld=<hotpatch-link> */
    HP_CC_ABI_MSVC = 2,  /**< *-windows-msvc, *-windows, *-win32: -B<dir> -fuse-ld=<lld-link name> */
} hp_cc_abi;

/** What a command line asks for (hp_cc_parse). */
typedef struct hp_cc_args {
    hp_cc_phase phase;
    size_t sources;   /**< C-family sources: the inputs the plugin sees */
    size_t others;    /**< other inputs: objects, archives, assembly, headers, -l, -Wl, -Xlinker */
    int dry_run;      /**< -###: clang prints its commands and runs none */
    int help;         /**< --hotpatch-cc-help */
    int verbose;      /**< --hotpatch-cc-verbose: print the command before running it */
    char target[256]; /**< the last --target= / -target / --target, or "" (the compiler's default) */
} hp_cc_args;

/**
 * Classify a clang command line: `argv[0..argc)` are the user's arguments (without the program
 * name). The wrapper's own options (`--hotpatch-cc-…`) are recognised here.
 * @return HP_OK; HP_ERR_USAGE for an unknown `--hotpatch-cc-` option (message names it);
 *         HP_ERR_BAD_VALUE for a target longer than hp_cc_args.target; HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 *         A response file that cannot be read is left to clang (it says so itself).
 */
hp_status hp_cc_parse(int argc, const char *const argv[], hp_cc_args *out, char *msg, size_t msg_size);

/** 1 when the plugin is to be added: code is generated (-c, -S, a link, also under -###) from a C-family source. */
int hp_cc_wants_plugin(const hp_cc_args *a);

/** 1 when the invocation links (and -### is not given): the linker options are added for Windows targets. */
int hp_cc_links(const hp_cc_args *a);

/** The kind of `triple` (case-insensitive): MinGW, MSVC ABI, or other (NULL and "" are other). */
hp_cc_abi hp_cc_abi_of(const char *triple);

/** Where the tools are, and what hp_cc_command() adds. */
typedef struct hp_cc_tools {
    const char *compiler;    /**< argv[0] of the command: the real clang */
    const char *plugin;      /**< hotpatch-plugin.so; NULL: no plugin options */
    const char *source_root; /**< -fplugin-arg-hotpatch-source-root= when not NULL or "" (HOTPATCH_SOURCE_ROOT) */
    const char *plugin_args; /**< space-separated NAME[=VALUE]: -fplugin-arg-hotpatch-NAME[=VALUE] (HOTPATCH_PLUGIN_ARGS) */
    hp_cc_abi abi;           /**< linker options for MINGW and MSVC; none for OTHER */
    const char *link;        /**< MINGW: absolute path of hotpatch-link */
    const char *ld_dir;      /**< MSVC: the -B directory */
    const char *ld_name;     /**< MSVC: the -fuse-ld= name found there ("lld" or "hotpatch-lld-link") */
} hp_cc_tools;

/**
 * The compiler's command line: `t->compiler`, the user's arguments without the wrapper's own
 * options, then the plugin options (when t->plugin) and the linker options (by t->abi), inserted
 * before the first `--` argument when there is one.
 * @param out_argv receives a malloc'd, NULL-terminated array of malloc'd strings (hp_cc_command_free()).
 * @return HP_OK; HP_ERR_BAD_VALUE for a HOTPATCH_PLUGIN_ARGS word that starts with '-' or '=' (message);
 *         HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_cc_command(int argc, const char *const argv[], const hp_cc_tools *t, char ***out_argv, char *msg,
                        size_t msg_size);

/** Free what hp_cc_command() returned; NULL is a no-op. */
void hp_cc_command_free(char **argv);

/**
 * The real compiler: `env_cc` (HOTPATCH_CC) when not NULL or "" — a path when it has a '/', else
 * a name looked up on `path_env` — otherwise clang-19 in `default_dir` (may be NULL), then on `path_env`.
 * @param out_path receives a malloc'd path.
 * @return HP_OK; HP_ERR_TOOL with a message (none found, or HOTPATCH_CC is no executable); HP_ERR_NO_MEMORY.
 */
hp_status hp_cc_find_compiler(const char *env_cc, const char *default_dir, const char *path_env, char **out_path,
                              char *msg, size_t msg_size);

/**
 * The plugin: `env_plugin` (HOTPATCH_PLUGIN) when not NULL or "", else
 * `<self_dir>/<rel_pkglib>/hotpatch-plugin.so` (an installed tree: bin/../lib/hotpatch), else
 * `build_plugin` (the build tree's, may be NULL).
 * @return HP_OK; HP_ERR_TOOL with a message naming where it looked; HP_ERR_NO_MEMORY.
 */
hp_status hp_cc_find_plugin(const char *env_plugin, const char *self_dir, const char *rel_pkglib,
                            const char *build_plugin, char **out_path, char *msg, size_t msg_size);

/**
 * The linker for `abi` (MINGW or MSVC), filled into t->link or t->ld_dir/t->ld_name as malloc'd
 * strings the caller frees (ld_name is a static string). MINGW: `<self_dir>/hotpatch-link`. MSVC:
 * `<self_dir>/<rel_pkglib>/ld` holding `lld-link` (installed: -fuse-ld=lld), else `self_dir` holding
 * `hotpatch-lld-link` (the build tree).
 * @return HP_OK; HP_ERR_TOOL with a message; HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT (abi OTHER).
 */
hp_status hp_cc_find_linker(hp_cc_abi abi, const char *self_dir, const char *rel_pkglib, char **out_link,
                            char **out_ld_dir, const char **out_ld_name, char *msg, size_t msg_size);

/**
 * The compiler's default target: `compiler -dumpmachine`, with the `--config` options of
 * `argv[0..argc)` (a configuration file may set the target).
 * @param out receives the triple without the newline.
 * @return HP_OK; HP_ERR_TOOL with a message (it could not run, failed, or printed nothing);
 *         HP_ERR_NO_MEMORY.
 */
hp_status hp_cc_default_target(const char *compiler, int argc, const char *const argv[], char *out,
                               size_t out_size, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_CC_H */
