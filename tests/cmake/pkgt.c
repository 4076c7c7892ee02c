/*
 * pkgt.c — what the installed-package suites share (pkgt.h): one install per test
 * process into a prefix that is then moved, projects configured and built against it,
 * Windows paths for Wine, file copies.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpt.h"
#include "pkgt.h"

static char pkgt_prefix[4096];
char moved[4096];

/* Install once per test process into a scratch prefix, then move the prefix: the
   package must not remember where it was installed (relocatable). */
void install(const char *name)
{
    const char *dir = hpt_scratch(name);
    cr_assert(dir);
    snprintf(pkgt_prefix, sizeof pkgt_prefix, "%s/prefix", dir);
    snprintf(moved, sizeof moved, "%s/moved-prefix", dir);
    hpt_proc p;
    const char *argv[] = {HPT_CMAKE, "--install", HPT_BINARY_DIR, "--prefix", pkgt_prefix, NULL};
    cr_assert_eq(hpt_run(argv, NULL, 300, &p), 0);
    cr_assert_eq(p.status, 0, "cmake --install failed:\n%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
    cr_assert_eq(rename(pkgt_prefix, moved), 0, "cannot move %s", pkgt_prefix);
}

/* Configure and build a project against the moved prefix: `toolchain` is a file of the installed
   package, or the absolute path of a user's own (then no CMAKE_PREFIX_PATH is given: `extra` says how
   the package is found), NULL: natively, with clang-19; `extra` more -D options (NULL-terminated, may
   be NULL). Returns the build's exit status, its output in *out. */
int build_project(const char *src, const char *name, const char *toolchain, const char *const extra[],
                         hpt_proc *out)
{
    char bdir[4200], tc[4200], pp[4200];
    snprintf(bdir, sizeof bdir, "%s/../%s-build", moved, name);
    if (toolchain && toolchain[0] == '/')
        snprintf(tc, sizeof tc, "-DCMAKE_TOOLCHAIN_FILE=%s", toolchain);
    else if (toolchain)
        snprintf(tc, sizeof tc, "-DCMAKE_TOOLCHAIN_FILE=%s/lib/cmake/Hotpatch/toolchains/%s.cmake", moved, toolchain);
    else
        snprintf(tc, sizeof tc, "-DCMAKE_C_COMPILER=%s", HPT_CLANG);
    snprintf(pp, sizeof pp, "-DCMAKE_PREFIX_PATH=%s", moved);
    const char *cfg[16] = {HPT_CMAKE, "-S", src, "-B", bdir, tc, pp};
    size_t n = toolchain && toolchain[0] == '/' ? 6 : 7;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        cfg[n++] = extra[i];
    cfg[n] = NULL;
    hpt_proc p;
    cr_assert_eq(hpt_run(cfg, NULL, 300, &p), 0);
    cr_assert_eq(p.status, 0, "configuring %s failed:\n%s\n%s", src, p.out, p.err);
    hpt_proc_free(&p);
    const char *bld[] = {HPT_CMAKE, "--build", bdir, NULL};
    cr_assert_eq(hpt_run(bld, NULL, 300, out), 0);
    return out->status;
}

/* A Windows path for a file of the build tree, as Wine's Z: drive shows it. Ring of 8 buffers. */
const char *win_path(const char *dir, const char *name)
{
    static char ring[8][4400];
    static int next;
    char *b = ring[next++ % 8];
    snprintf(b, sizeof ring[0], "Z:%s/%s", dir, name);
    for (char *p = b; *p; p++)
        if (*p == '/')
            *p = '\\';
    return b;
}

void copy_file(const char *from, const char *to)
{
    size_t size;
    unsigned char *data = hpt_read_file(from, &size);
    cr_assert(data, "cannot read %s", from);
    FILE *f = fopen(to, "wb");
    cr_assert(f, "cannot write %s", to);
    cr_assert_eq(fwrite(data, 1, size, f), size);
    fclose(f);
    free(data);
}

