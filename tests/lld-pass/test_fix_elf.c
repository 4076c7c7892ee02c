/*
 * test_fix_elf.c — a patch module for an ELF shared library, by the documented
 * command lines (README.md, "Fixes: patch modules from corrected source"): the
 * release built with the plugin and a build-id, its map written by
 * `hotpatch-manifest map`, the corrected unit compiled in the plugin's fix
 * mode, the module linked and then checked by `hotpatch-manifest fill`, and a
 * host program on Linux that loads it with hp_module_load() while threads call
 * the release (fixtures/fixelf/host.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "lpt.h"

static void cc(const char *const args[])
{
    hpt_proc p;
    int rc = hpt_cc("x86_64-linux-gnu", args, &p);
    cr_assert_eq(rc, 0, "clang failed:\n%s", p.err);
    hpt_proc_free(&p);
}

static void manifest(const char *const args[], hpt_proc *p)
{
    const char *argv[16] = {LPT_MANIFEST};
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    cr_assert_eq(hpt_run(argv, NULL, 120, p), 0);
}

Test(fix_elf, a_fix_from_corrected_source_is_applied_and_reverted_live)
{
    const char *d = hpt_scratch("fix_elf");
    char plugin[4200], root[4200], fixfor[4400], svc_o[4200], other_o[4200], so[4200], fix_o[4200], fix_so[4200],
        map[4300], host[4200], rpath[4300];
    snprintf(plugin, sizeof plugin, "-fplugin=%s", LPT_PLUGIN);
    snprintf(root, sizeof root, "-fplugin-arg-hotpatch-source-root=%s", lpt_fixture("fixelf"));
    snprintf(svc_o, sizeof svc_o, "%s/svc.o", d);
    snprintf(other_o, sizeof other_o, "%s/other.o", d);
    snprintf(so, sizeof so, "%s/libsvc.so", d);
    snprintf(map, sizeof map, "%s.hpmap", so);
    snprintf(fix_o, sizeof fix_o, "%s/fix.o", d);
    snprintf(fix_so, sizeof fix_so, "%s/fix.so", d);
    snprintf(host, sizeof host, "%s/host", d);
    snprintf(fixfor, sizeof fixfor, "-fplugin-arg-hotpatch-fix-for=%s", map);
    snprintf(rpath, sizeof rpath, "-Wl,-rpath,%s", d);

    /* the release */
    cc((const char *[]){"-O2", "-fPIC", plugin, root, "-c", lpt_fixture("fixelf/svc.c"), "-o", svc_o, NULL});
    cc((const char *[]){"-O2", "-fPIC", plugin, root, "-c", lpt_fixture("fixelf/other.c"), "-o", other_o, NULL});
    cc((const char *[]){"-shared", "-fuse-ld=lld", "-Wl,--build-id", svc_o, other_o, "-o", so, NULL});
    hpt_proc p;
    manifest((const char *[]){"map", so, "-o", map, NULL}, &p);
    cr_assert_eq(p.status, 0, "hotpatch-manifest map: %s", p.err);
    hpt_proc_free(&p);

    /* the fix: fix/svc.c is svc.c corrected; its unit in the release is "svc.c" */
    cc((const char *[]){"-O2", "-fPIC", plugin, fixfor, "-fplugin-arg-hotpatch-fix-functions=svc_quote",
                        "-fplugin-arg-hotpatch-fix-unit=svc.c", "-I" HPT_SOURCE_DIR "/runtime/include", "-c",
                        lpt_fixture("fixelf/fix/svc.c"), "-o", fix_o, NULL});
    cc((const char *[]){"-shared", "-fuse-ld=lld", fix_o, "-o", fix_so, NULL});
    /* not loadable before the check */
    manifest((const char *[]){"show", fix_so, NULL}, &p);
    cr_assert_eq(p.status, 0, "%s", p.err);
    cr_expect(strstr(p.out, "svc_quote") != NULL, "%s", p.out);
    hpt_proc_free(&p);
    manifest((const char *[]){"fill", "--target", so, fix_so, NULL}, &p);
    cr_assert_eq(p.status, 0, "hotpatch-manifest fill: %s%s", p.out, p.err);
    hpt_proc_free(&p);

    /* the host, linked with the release and the runtime */
    cc((const char *[]){"-O1", "-I" HPT_SOURCE_DIR "/runtime/include", LPT_SANITIZE, lpt_fixture("fixelf/host.c"), so,
                        rpath, LPT_RUNTIME_LIB, "-lZydis", "-lpthread", "-ldl", "-o", host, NULL});
    const char *argv[] = {host, fix_so, NULL};
    cr_assert_eq(hpt_run(argv, NULL, 120, &p), 0);
    cr_expect_eq(p.status, 0, "host exited %d:\n%s\n%s", p.status, p.out, p.err);
    cr_expect(strstr(p.out, "host: OK") != NULL, "%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
}
