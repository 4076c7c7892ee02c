/*
 * pkgt.h — helpers of the installed-package suites (test_package.c, test_fixbuilder.c).
 */
#ifndef PKGT_H
#define PKGT_H

#include "hpt.h"

/** Where install() put the package (the moved prefix). */
extern char moved[4096];

/** Install the build tree once per test process into a scratch prefix named after `name`, then move
    the prefix (the package must be relocatable). */
void install(const char *name);

/** Configure and build project `src` in <moved>/../<name>-build against the package, with `toolchain`
    (a file of the package, a user's absolute path, or NULL: native clang-19) and `extra` -D options
    (NULL-terminated, may be NULL). Returns the build's exit status, its output in *out. */
int build_project(const char *src, const char *name, const char *toolchain, const char *const extra[],
                  hpt_proc *out);

/** A Windows path (Wine's Z: drive) of <dir>/<name>. Ring of 8 static buffers. */
const char *win_path(const char *dir, const char *name);

/** Copy a file, asserting success. */
void copy_file(const char *from, const char *to);

#endif
