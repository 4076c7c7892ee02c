/*
 * test_package.c — `cmake --install` + find_package(Hotpatch) + hotpatch_enable()
 * end to end, on the example consumer (cmake/examples/consumer).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hpt.h"

static char prefix[4096], moved[4096];

/* Install once per test process into a scratch prefix, then move the prefix: the
   package must not remember where it was installed (relocatable). */
static void install(const char *name)
{
    const char *dir = hpt_scratch(name);
    cr_assert(dir);
    snprintf(prefix, sizeof prefix, "%s/prefix", dir);
    snprintf(moved, sizeof moved, "%s/moved-prefix", dir);
    hpt_proc p;
    const char *argv[] = {HPT_CMAKE, "--install", HPT_BINARY_DIR, "--prefix", prefix, NULL};
    cr_assert_eq(hpt_run(argv, NULL, 300, &p), 0);
    cr_assert_eq(p.status, 0, "cmake --install failed:\n%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
    cr_assert_eq(rename(prefix, moved), 0, "cannot move %s", prefix);
}

/* Configure and build a project against the moved prefix: `toolchain` is a file of the installed
   package (NULL: natively, with clang-19), `extra` more -D options (NULL-terminated, may be NULL).
   Returns the build's exit status, its output in *out. */
static int build_project(const char *src, const char *name, const char *toolchain, const char *const extra[],
                         hpt_proc *out)
{
    char bdir[4200], tc[4200], pp[4200];
    snprintf(bdir, sizeof bdir, "%s/../%s-build", moved, name);
    if (toolchain)
        snprintf(tc, sizeof tc, "-DCMAKE_TOOLCHAIN_FILE=%s/lib/cmake/Hotpatch/toolchains/%s.cmake", moved, toolchain);
    else
        snprintf(tc, sizeof tc, "-DCMAKE_C_COMPILER=%s", HPT_CLANG);
    snprintf(pp, sizeof pp, "-DCMAKE_PREFIX_PATH=%s", moved);
    const char *cfg[16] = {HPT_CMAKE, "-S", src, "-B", bdir, tc, pp};
    size_t n = 7;
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

static int build_consumer(const char *name, const char *const extra[], hpt_proc *out)
{
    return build_project(HPT_SOURCE_DIR "/cmake/examples/consumer", name, "x86_64-w64-mingw32", extra, out);
}

Test(package, consumer_builds_audits_and_patches_under_wine)
{
    install("package-ok");
    hpt_proc p;
    int rc = build_consumer("ok", NULL, &p);
    cr_assert_eq(rc, 0, "consumer build failed:\n%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "greet.dll: x64 image") != NULL && strstr(p.out, "coverage:") != NULL,
              "the audit did not run after the link:\n%s", p.out);
    hpt_proc_free(&p);

    /* hotpatch_enable(app): the executable went through hotpatch-link, whose map lists app.c's functions */
    char map[4300];
    snprintf(map, sizeof map, "%s/../ok-build/app.exe.hpmap", moved);
    size_t n = 0;
    unsigned char *m = hpt_read_file(map, &n);
    cr_expect(m != NULL, "no %s", map);
    cr_expect(m && strstr((const char *)m, "\"main\"") && strstr((const char *)m, "\"greet_version_v2\""),
              "the map of app.exe lacks main or greet_version_v2");
    free(m);

    char app[4300];
    snprintf(app, sizeof app, "%s/../ok-build/app.exe", moved);
    const char *argv[] = {app, NULL};
    cr_assert_eq(hpt_run_wine(argv, 120, &p), 0);
    /* Windows programs end lines with CR LF: the checks below look for the text only */
    cr_expect_eq(p.status, 0, "app.exe exited %d:\n%s\n%s", p.status, p.out, p.err);
    cr_expect(strstr(p.out, "before: greet_version() = 1") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "patched: greet_version() = 101") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "after: greet_version() = 1") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "consumer: OK") != NULL, "%s", p.out);
    hpt_proc_free(&p);
}

/* The DLL runtime as a first-class choice: app links Hotpatch::runtime_shared, imports hotpatch.dll
   (no libhotpatch inside app.exe) and patches greet.dll through it under Wine. */
Test(package, consumer_with_the_shared_runtime_under_wine)
{
    install("package-shared");
    hpt_proc p;
    const char *const extra[] = {"-DCONSUMER_RUNTIME_SHARED=ON", NULL};
    int rc = build_consumer("shared", extra, &p);
    cr_assert_eq(rc, 0, "consumer build with the shared runtime failed:\n%s\n%s", p.out, p.err);
    hpt_proc_free(&p);

    char app[4300], dll[4300];
    snprintf(app, sizeof app, "%s/../shared-build/app.exe", moved);
    snprintf(dll, sizeof dll, "%s/../shared-build/hotpatch.dll", moved);
    size_t n = 0;
    unsigned char *b = hpt_read_file(dll, &n);
    cr_expect(b != NULL && n > 0, "hotpatch.dll was not put next to app.exe");
    free(b);
    const char *dump[] = {HPT_LLVM_OBJDUMP, "-p", app, NULL};
    cr_assert_eq(hpt_run(dump, NULL, 60, &p), 0);
    cr_expect(strstr(p.out, "DLL Name: hotpatch.dll") != NULL, "app.exe does not import hotpatch.dll:\n%s", p.out);
    cr_expect(strstr(p.out, "hp_apply") != NULL, "app.exe does not import hp_apply:\n%s", p.out);
    hpt_proc_free(&p);

    const char *argv[] = {app, NULL};
    cr_assert_eq(hpt_run_wine(argv, 120, &p), 0);
    cr_expect_eq(p.status, 0, "app.exe exited %d:\n%s\n%s", p.status, p.out, p.err);
    cr_expect(strstr(p.out, "patched: greet_version() = 101") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "consumer: OK") != NULL, "%s", p.out);
    hpt_proc_free(&p);
}

Test(package, unpatchable_object_fails_the_build_with_the_audit_message)
{
    install("package-bad");
    hpt_proc p;
    const char *const extra[] = {"-DCONSUMER_BAD_OBJECT=ON", NULL};
    int rc = build_consumer("bad", extra, &p);
    cr_expect_neq(rc, 0, "the build should fail:\n%s", p.out);
    /* hotpatch-link (with the audit library) fails the link and names the function and its object */
    cr_expect(strstr(p.out, "unpatched_noop") != NULL || strstr(p.err, "unpatched_noop") != NULL,
              "the function must be named:\n%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "unpatched.c.obj") != NULL || strstr(p.err, "unpatched.c.obj") != NULL,
              "the object must be named:\n%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "entry-short") != NULL || strstr(p.err, "entry-short") != NULL,
              "the reason must be given:\n%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
}

Test(package, warn_only_lets_the_build_pass_with_warnings)
{
    install("package-warn");
    hpt_proc p;
    const char *const extra[] = {"-DCONSUMER_BAD_OBJECT=ON", "-DCONSUMER_WARN_ONLY=ON", NULL};
    int rc = build_consumer("warn", extra, &p);
    cr_expect_eq(rc, 0, "a WARN_ONLY build should pass:\n%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "unpatched_noop") != NULL, "the findings are still reported:\n%s", p.out);
    cr_expect(strstr(p.out, "WARN_ONLY") != NULL || strstr(p.err, "WARN_ONLY") != NULL, "a warning says so:\n%s\n%s",
              p.out, p.err);
    hpt_proc_free(&p);
}

/* EXCLUDE reaches the link step and the audit, not only the plugin: an excluded function is neither
   padded nor reported, so the object compiled without the plugin no longer fails the build. */
Test(package, exclude_reaches_the_link_and_the_audit)
{
    install("package-exclude");
    hpt_proc p;
    const char *const extra[] = {"-DCONSUMER_BAD_OBJECT=ON", "-DCONSUMER_EXCLUDE=unpatched_*", NULL};
    int rc = build_consumer("exclude", extra, &p);
    cr_expect_eq(rc, 0, "an excluded function must not fail the build:\n%s\n%s", p.out, p.err);
    cr_expect_null(strstr(p.out, "unpatched_noop"), "nor be reported:\n%s", p.out);
    cr_expect_null(strstr(p.err, "unpatched_noop"), "nor be reported:\n%s", p.err);
    hpt_proc_free(&p);
}

Test(package, msvc_abi_module_is_linked_through_hotpatch_link_and_audited)
{
    install("package-msvc");
    hpt_proc p;
    const char *const extra[] = {"-DCONSUMER_MODULE_ONLY=ON", NULL};
    int rc = build_project(HPT_SOURCE_DIR "/cmake/examples/consumer", "msvc", "x86_64-pc-windows-msvc", extra, &p);
    cr_assert_eq(rc, 0, "the freestanding MSVC-ABI module should build:\n%s\n%s", p.out, p.err);
    /* greet_version and greet_add: both exports patchable */
    cr_expect(strstr(p.out, "coverage: exports 2/2 patchable") != NULL, "no audit of greet.dll:\n%s", p.out);
    hpt_proc_free(&p);
    char map[4300];
    snprintf(map, sizeof map, "%s/../msvc-build/greet.dll.hpmap", moved);
    size_t n = 0;
    unsigned char *b = hpt_read_file(map, &n);
    cr_expect(b != NULL && n > 0, "hotpatch-link did not write %s", map);
    cr_expect(b && strstr((const char *)b, "greet_version") != NULL, "the map does not list greet_version");
    free(b);
}

Test(package, linux_native_consumer_patches_itself)
{
    install("package-native");
    hpt_proc p;
    int rc = build_project(HPT_SOURCE_DIR "/cmake/examples/consumer", "native", NULL, NULL, &p);
    cr_assert_eq(rc, 0, "native consumer build failed:\n%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
    char app[4300];
    snprintf(app, sizeof app, "%s/../native-build/app", moved);
    const char *argv[] = {app, NULL};
    cr_assert_eq(hpt_run(argv, NULL, 60, &p), 0);
    cr_expect_eq(p.status, 0, "app exited %d:\n%s\n%s", p.status, p.out, p.err);
    cr_expect(strstr(p.out, "patched: greet_version() = 101") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "consumer: OK") != NULL, "%s", p.out);
    hpt_proc_free(&p);
}

/* The README's demo (tests/demo): worker threads keep calling service.dll while the host applies
   fix.dll in one transaction and rolls it back; every report line must count zero failed calls. */
Test(package, demo_switches_over_and_back_with_no_failed_call)
{
    install("package-demo");
    hpt_proc p;
    int rc = build_project(HPT_SOURCE_DIR "/tests/demo", "demo", "x86_64-w64-mingw32", NULL, &p);
    cr_assert_eq(rc, 0, "demo build failed:\n%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "service.dll: x64 image") != NULL, "service.dll was not audited:\n%s", p.out);
    hpt_proc_free(&p);

    char host[4300];
    snprintf(host, sizeof host, "%s/../demo-build/host.exe", moved);
    const char *argv[] = {host, NULL};
    cr_assert_eq(hpt_run_wine(argv, 300, &p), 0);
    cr_expect_eq(p.status, 0, "host.exe exited %d:\n%s\n%s", p.status, p.out, p.err);
    cr_expect(strstr(p.out, "running, unpatched:") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "running, patched:") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "running, rolled back:") != NULL, "%s", p.out);
    /* both transactions committed */
    const char *first = strstr(p.out, "hp_txn_commit: HP_OK");
    cr_expect(first != NULL && strstr(first + 1, "hp_txn_commit: HP_OK") != NULL, "%s", p.out);
    /* three progress lines, each ending in "failed calls 0", and the summary's own count */
    size_t zero = 0;
    for (const char *q = p.out; (q = strstr(q, "failed calls 0")) != NULL; q++)
        zero++;
    cr_expect_eq(zero, 3, "a progress line counted failed calls:\n%s", p.out);
    cr_expect(strstr(p.out, ", 0 failed;") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "demo: OK") != NULL, "%s", p.out);
    hpt_proc_free(&p);
}
