/*
 * test_package.c — `cmake --install` + find_package(Hotpatch) + hotpatch_enable()
 * end to end, on the example consumer (cmake/examples/consumer).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hotpatch_pe.h"
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

/* The README's demo (tests/demo): worker threads keep calling service.dll while the host loads the
   patch module built from service.c with fix1.patch applied, and unloads it; every report line must
   count zero failed calls, and the service's own static counter must have seen every call. */
Test(package, demo_switches_over_and_back_with_no_failed_call)
{
    install("package-demo");
    hpt_proc p;
    int rc = build_project(HPT_SOURCE_DIR "/tests/demo", "demo", "x86_64-w64-mingw32", NULL, &p);
    cr_assert_eq(rc, 0, "demo build failed:\n%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "service.dll: x64 image") != NULL, "service.dll was not audited:\n%s", p.out);
    cr_expect(strstr(p.out, "applying fix1.patch") != NULL, "%s", p.out);
    hpt_proc_free(&p);

    char host[4300];
    snprintf(host, sizeof host, "%s/../demo-build/host.exe", moved);
    const char *argv[] = {host, NULL};
    cr_assert_eq(hpt_run_wine(argv, 300, &p), 0);
    cr_expect_eq(p.status, 0, "host.exe exited %d:\n%s\n%s", p.status, p.out, p.err);
    cr_expect(strstr(p.out, "running, unpatched:") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "hp_module_load: HP_OK") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "running, fixed:") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "hp_module_unload: HP_OK") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "running, unloaded:") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "one counter, kept by the original and the fixed code alike") != NULL, "%s", p.out);
    /* three progress lines, each ending in "failed calls 0", and the summary's own count */
    size_t zero = 0;
    for (const char *q = p.out; (q = strstr(q, "failed calls 0")) != NULL; q++)
        zero++;
    cr_expect_eq(zero, 3, "a progress line counted failed calls:\n%s", p.out);
    cr_expect(strstr(p.out, ", 0 failed;") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "demo: OK") != NULL, "%s", p.out);
    hpt_proc_free(&p);
}

/* A Windows path for a file of the build tree, as Wine's Z: drive shows it. Ring of 8 buffers. */
static const char *win_path(const char *dir, const char *name)
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

/* Run tests/fix's host.exe from `dir` with the arguments; asserts "host: OK" when `ok`. */
static void run_host(const char *dir, const char *const args[], hpt_proc *p)
{
    char host[4400];
    snprintf(host, sizeof host, "%s/host.exe", dir);
    const char *argv[8] = {host};
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 7; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    cr_assert_eq(hpt_run_wine(argv, 300, p), 0);
}

static void copy_file(const char *from, const char *to)
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

/* Flip one byte of the PE file at `path` where `rva` is, read through the runtime's PE view. */
static void flip_rva(const char *path, uint32_t rva)
{
    size_t size;
    unsigned char *data = hpt_read_file(path, &size);
    cr_assert(data);
    hp_pe pe;
    cr_assert_eq(hp_pe_open(&pe, data, size, HP_PE_LAYOUT_FILE, 0, NULL), HP_OK);
    uint32_t off;
    cr_assert_eq(hp_pe_rva_to_offset(&pe, rva, &off, NULL), HP_OK);
    data[off] ^= 0x01;
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(data, 1, size, f), size);
    fclose(f);
    free(data);
}

/* The number after `"key": ` in the first object of the map that starts with `"name": "<name>"`. */
static unsigned long map_number(const char *map, const char *name, const char *key)
{
    char pat[256];
    snprintf(pat, sizeof pat, "{ \"name\": \"%s\",", name);
    const char *o = strstr(map, pat);
    cr_assert(o, "%s not in the map", name);
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *k = strstr(o, pat);
    cr_assert(k && k < strchr(o, '}'), "%s.%s not in the map", name, key);
    return strtoul(k + strlen(pat), NULL, 10);
}

/* Patch modules end to end (tests/fix): built by hotpatch_add_fix() from corrected copies of the
   release's sources, loaded into the running release under Wine by hp_module_load() while threads
   call it; stacked and unloaded in both orders; per-unit statics; refused for another build and for
   changed bytes; and a fix built in a build tree of its own for the released image's path. */
Test(package, patch_modules_from_corrected_sources_apply_whole_and_only_to_their_build)
{
    install("package-fix");
    hpt_proc p;
    int rc = build_project(HPT_SOURCE_DIR "/tests/fix", "fix", "x86_64-w64-mingw32", NULL, &p);
    cr_assert_eq(rc, 0, "tests/fix build failed:\n%s\n%s", p.out, p.err);
    /* the release inlined unit_price() away: fix_a brings its own, and the compiler says so */
    cr_expect(strstr(p.err, "hotpatch fix: new function 'unit_price' (not in 'svc.dll'): the fix's own") != NULL ||
                  strstr(p.out, "hotpatch fix: new function 'unit_price' (not in 'svc.dll'): the fix's own") != NULL,
              "%s\n%s", p.out, p.err);
    cr_expect(strstr(p.err, "hotpatch fix: replaces 'svc_quote' of 'svc.dll'") != NULL ||
                  strstr(p.out, "hotpatch fix: replaces 'svc_quote' of 'svc.dll'") != NULL,
              "%s\n%s", p.out, p.err);
    hpt_proc_free(&p);

    char dir[4300];
    snprintf(dir, sizeof dir, "%s/../fix-build", moved);
    static const char *const scen[][5] = {
        {"threads", "fix_a.dll", NULL},
        {"stack", "fix_a.dll", "fix_b.dll", "ab", NULL},
        {"stack", "fix_a.dll", "fix_b.dll", "ba", NULL},
        {"other", "fix_other.dll", NULL},
    };
    for (size_t s = 0; s < sizeof scen / sizeof scen[0]; s++) {
        const char *args[6] = {scen[s][0]};
        size_t n = 1;
        for (size_t i = 1; scen[s][i]; i++)
            args[n++] = strstr(scen[s][i], ".dll") ? win_path(dir, scen[s][i]) : scen[s][i];
        args[n] = NULL;
        run_host(dir, args, &p);
        cr_expect_eq(p.status, 0, "host %s exited %d:\n%s\n%s", scen[s][0], p.status, p.out, p.err);
        cr_expect(strstr(p.out, "host: OK") != NULL, "host %s:\n%s\n%s", scen[s][0], p.out, p.err);
        hpt_proc_free(&p);
    }

    /* a fix built for another build of svc.dll (one line changed): refused by identity */
    const char *v2[] = {"expect", "HP_ERR_IDENTITY", win_path(dir, "fix_for_v2.dll"), NULL};
    run_host(dir, v2, &p);
    cr_expect_eq(p.status, 0, "%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "host: OK") != NULL, "%s\n%s", p.out, p.err);
    hpt_proc_free(&p);

    /* the same build with svc_quote's bytes changed on disk: refused by hash, naming the function */
    char hdir[4400], path[4500], from[4500], map_path[4500];
    snprintf(hdir, sizeof hdir, "%s/hash", dir);
    mkdir(hdir, 0755);
    static const char *const files[] = {"host.exe", "fix_a.dll", "svc.dll"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(from, sizeof from, "%s/%s", dir, files[i]);
        snprintf(path, sizeof path, "%s/%s", hdir, files[i]);
        copy_file(from, path);
    }
    snprintf(map_path, sizeof map_path, "%s/svc.dll.hpmap", dir);
    size_t msize;
    char *map = (char *)hpt_read_file(map_path, &msize);
    cr_assert(map);
    unsigned long rva = map_number(map, "svc_quote", "rva"), len = map_number(map, "svc_quote", "hash_length");
    free(map);
    cr_assert_gt(len, 4);
    flip_rva(path, (uint32_t)(rva + len - 1));
    const char *hash[] = {"expect", "HP_ERR_HASH", win_path(hdir, "fix_a.dll"), NULL};
    run_host(hdir, hash, &p);
    cr_expect_eq(p.status, 0, "%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "HP_ERR_HASH: ") != NULL && strstr(strstr(p.out, "HP_ERR_HASH: "), "svc_quote") != NULL,
              "the message does not name the entry:\n%s", p.out);
    cr_expect(strstr(p.out, "host: OK") != NULL, "%s\n%s", p.out, p.err);
    hpt_proc_free(&p);

    /* long after the release: a build tree of its own, FOR the released image's path */
    char release[4500], def[4600];
    snprintf(release, sizeof release, "%s/svc.dll", dir);
    snprintf(def, sizeof def, "-DRELEASE_IMAGE=%s", release);
    const char *const later_args[] = {def, NULL};
    rc = build_project(HPT_SOURCE_DIR "/tests/fix", "fixlater", "x86_64-w64-mingw32", later_args, &p);
    cr_assert_eq(rc, 0, "the later fix build failed:\n%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
    char later[4300];
    snprintf(later, sizeof later, "%s/../fixlater-build", moved);
    const char *lt[] = {"threads", win_path(later, "fix_a.dll"), NULL};
    run_host(dir, lt, &p);
    cr_expect_eq(p.status, 0, "%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "host: OK") != NULL, "%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
}
