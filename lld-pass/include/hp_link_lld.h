/*
 * hp_link_lld.h — finding lld, writing its command line with the link-side
 * settings hotpatching needs, and running it.
 *
 * Settings added after the user's arguments (lld takes the last of each):
 *   MSVC:  /functionpadmin[:N]  /opt:noicf
 *   MinGW: -Xlink=/functionpadmin[:N]  --icf=none  -Xlink=/opt:noicf
 * /functionpadmin pads only sections whose object carries the CodeView
 * hotpatch flag (lld 19), so it is a complement to the plugin's own padding,
 * not a replacement. /opt:noicf keeps patchable functions apart (folding would
 * make one patch redirect several functions). The PE checksum is written by
 * the post-link pass (hp_link_post.h), not by lld's /release: lld's byte loop
 * cost it more than the whole checksum costs the pass.
 */
#ifndef HP_LINK_LLD_H
#define HP_LINK_LLD_H

#include <stddef.h>

#include "hp_link_cmdline.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Find the lld driver for `flavor`: `override` when not NULL (it must be an
 * executable file), else ld.lld-19 / ld.lld (MinGW) or lld-link-19 / lld-link
 * (MSVC) in `default_dir` (may be NULL), then in the directories of `path_env`
 * (the PATH value; may be NULL).
 * @param out_path receives a malloc'd path (caller frees).
 * @return HP_OK; HP_ERR_NO_LINKER when none is found; HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_link_lld_find(hp_link_flavor flavor, const char *override, const char *default_dir,
                           const char *path_env, char **out_path);

/**
 * Find llvm-ar (llvm-ar-19 or llvm-ar) in `default_dir`, then on `path_env`.
 * @param out_path receives a malloc'd path, or NULL when none is found.
 * @return HP_OK; HP_ERR_NO_LINKER when none is found; HP_ERR_NO_MEMORY.
 */
hp_status hp_link_lld_find_tool(const char *default_dir, const char *path_env, char **out_path);

/**
 * The full lld command line: `lld`, the user's arguments (cl->args), then the
 * settings above with `cl->pad` (0 = lld's machine default).
 * @param out_argv receives a malloc'd, NULL-terminated array of malloc'd strings; free with
 *        hp_link_lld_argv_free().
 * @return HP_OK, HP_ERR_NO_MEMORY, HP_ERR_ARGUMENT.
 */
hp_status hp_link_lld_argv(const hp_link_cmdline *cl, const char *lld, char ***out_argv);

/** Append a copy of `arg` to an argv of hp_link_lld_argv(). @return HP_OK; HP_ERR_NO_MEMORY (argv unchanged). */
hp_status hp_link_lld_argv_append(char ***argv, const char *arg);

/** Free what hp_link_lld_argv() returned; NULL is a no-op. */
void hp_link_lld_argv_free(char **argv);

/**
 * Run argv[0] with argv (inheriting stdin, stdout, stderr) and wait for it.
 * @param out_exit receives its exit status (128 + signal when killed).
 * @return HP_OK when it ran and exited 0; HP_ERR_LINKER_FAILED when it ran and failed
 *         (*out_exit says how); HP_ERR_NO_LINKER when it could not be started.
 */
hp_status hp_link_lld_run(char *const argv[], int *out_exit);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_LLD_H */
