/*
 * test_module.c — Criterion suites "manifest" and "module": the portable patch
 * module cases (portable/cases_manifest.c, portable/cases_module.c), one Test
 * each, in its own process. The images they load are built next to this
 * program (portable/module.cmake).
 *
 * Suite "module_fill": the test-only fill step of the build (hpt_fixfill, used
 * by portable/module.cmake where hotpatch-manifest cannot be) writes exactly
 * what `hotpatch-manifest fill` writes, on the unchecked module of this tree
 * and of every cross tree (PE32+ MinGW and MSVC ABI, PE32, ELF32); and what
 * the tool writes loads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criterion_cases.h"
#include "hpt.h"
#include "test_module_config.h"

HP_MANIFEST_CASES(HP_CRITERION_CASE)
HP_MODULE_CASES(HP_CRITERION_CASE)

static void copy_file(const char *from, const char *to)
{
    size_t n = 0;
    unsigned char *b = hpt_read_file(from, &n);
    cr_assert(b != NULL, "cannot read %s", from);
    FILE *f = fopen(to, "wb");
    cr_assert(f != NULL, "cannot write %s", to);
    cr_assert(fwrite(b, 1, n, f) == n && fclose(f) == 0, "cannot write %s", to);
    free(b);
}

static void run_ok(const char *const argv[], const char *what)
{
    hpt_proc p;
    cr_assert_eq(hpt_run(argv, NULL, 60, &p), 0, "cannot run %s", argv[0]);
    cr_expect(!p.timed_out && p.status == 0, "%s exited %d:\n%s%s", what, p.status, p.out, p.err);
    hpt_proc_free(&p);
}

/* Fill copies of `dir`'s unchecked module with both tools; the files must be equal. */
static void compare_fill(const char *dir, int windows, const char *tag)
{
    char target[1024], unchecked[1024], fill[1024], a[1024], b[1024];
    snprintf(target, sizeof target, "%s/%shpt_fix_target.%s", dir, windows ? "" : "lib", windows ? "dll" : "so");
    snprintf(unchecked, sizeof unchecked, "%s/hpt_fix_unchecked.%s", dir, windows ? "dll" : "so");
    snprintf(fill, sizeof fill, "%s/hpt_fixfill", dir);
    const char *scratch = hpt_scratch(tag);
    snprintf(a, sizeof a, "%s/by_tool", scratch);
    snprintf(b, sizeof b, "%s/by_test_step", scratch);
    copy_file(unchecked, a);
    copy_file(unchecked, b);
    const char *tool[] = {HPT_MANIFEST_TOOL, "fill", "--target", target, a, NULL};
    const char *step[] = {fill, "fill", target, b, NULL};
    run_ok(tool, "hotpatch-manifest fill");
    run_ok(step, "hpt_fixfill fill");
    size_t na = 0, nb = 0;
    unsigned char *da = hpt_read_file(a, &na), *db = hpt_read_file(b, &nb);
    cr_assert(da != NULL && db != NULL);
    size_t diff = 0;
    while (diff < na && diff < nb && da[diff] == db[diff])
        diff++;
    cr_expect(na == nb && diff == na, "%s: the two fills differ at byte 0x%zx (sizes %zu, %zu)", tag, diff, na, nb);
    free(da);
    free(db);
}

Test(module_fill, test_step_is_hotpatch_manifest_fill)
{
    if (HPT_MANIFEST_TOOL[0] == '\0')
        cr_skip_test("hotpatch-manifest is not built in this tree (HP_PARTS without lld-pass)");
    compare_fill(HPT_MODULE_DIR, 0, "module_fill_host");
    static const char *const triples[] = HPT_MODULE_CROSS_TRIPLES;
    for (size_t i = 0; triples[i] != NULL; i++) {
        char dir[1024], tag[128];
        snprintf(dir, sizeof dir, "%s/%s/tests/runtime/portable", HPT_CROSS_DIR, triples[i]);
        snprintf(tag, sizeof tag, "module_fill_%s", triples[i]);
        int windows = strstr(triples[i], "windows") != NULL || strstr(triples[i], "mingw") != NULL;
        compare_fill(dir, windows, tag);
    }
}

/* What the tool fills loads (here: the unchecked module, once the tool checked it). */
Test(module_fill, tool_filled_module_loads)
{
    if (HPT_MANIFEST_TOOL[0] == '\0')
        cr_skip_test("hotpatch-manifest is not built in this tree (HP_PARTS without lld-pass)");
    char target[1024], mod[1024];
    snprintf(target, sizeof target, "%s/libhpt_fix_target.so", HPT_MODULE_DIR);
    snprintf(mod, sizeof mod, "%s/hpt_fix_tool_filled.so", hpt_scratch("module_fill_load"));
    copy_file(HPT_MODULE_DIR "/hpt_fix_unchecked.so", mod);
    const char *tool[] = {HPT_MANIFEST_TOOL, "fill", "--target", target, mod, NULL};
    run_ok(tool, "hotpatch-manifest fill");
    void *lib = hp_test_lib_open(target);
    cr_assert(lib != NULL);
    int (*add)(int) = (int (*)(int))(uintptr_t)hp_test_lib_sym(lib, "tgt_add");
    char msg[512];
    hp_module_options o;
    memset(&o, 0, sizeof o);
    o.message = msg;
    o.message_size = sizeof msg;
    hp_module *m = NULL;
    hp_status st = hp_module_load(mod, &o, &m);
    cr_assert_eq(st, HP_OK, "%s: %s", hp_status_str(st), msg);
    cr_expect_eq(add(1), 1002);
    cr_expect_eq(hp_module_unload(m), HP_OK);
    cr_expect_eq(add(1), 2);
}
