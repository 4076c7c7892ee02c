/*
 * test_package.c — `cmake --install` + find_package(Hotpatch) + hotpatch_enable()
 * end to end, on the example consumer (cmake/examples/consumer).
 */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hotpatch.h"
#include "hotpatch_pe.h"
#include "hpt.h"
#include "pkgt.h"

/* Run the example consumer's app (under Wine when `wine`): it exits 0, its patch took ("patched:
   greet_version() = 101") and it says "consumer: OK". The output stays in *p: the caller frees it. */
static void run_consumer_app(const char *app, int wine, hpt_proc *p)
{
    const char *argv[] = {app, NULL};
    cr_assert_eq(wine ? hpt_run_wine(argv, 120, p) : hpt_run(argv, NULL, 60, p), 0);
    /* Windows programs end lines with CR LF: the checks look for the text only */
    cr_expect_eq(p->status, 0, "%s exited %d:\n%s\n%s", app, p->status, p->out, p->err);
    cr_expect(strstr(p->out, "patched: greet_version() = 101") != NULL, "%s", p->out);
    cr_expect(strstr(p->out, "consumer: OK") != NULL, "%s", p->out);
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
    run_consumer_app(app, 1, &p);
    cr_expect(strstr(p.out, "before: greet_version() = 1") != NULL, "%s", p.out);
    cr_expect(strstr(p.out, "after: greet_version() = 1") != NULL, "%s", p.out);
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

    run_consumer_app(app, 1, &p);
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
    run_consumer_app(app, 0, &p);
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
    /* fix1.patch changes svc_quote and svc_tax, and nothing else: what the comparison must find */
    cr_expect(strstr(p.out, "changed:   svc_quote (service.c)\n           svc_tax (service.c)\n") != NULL,
              "the fix builder's report:\n%s", p.out);
    cr_expect(strstr(p.out, "new:") == NULL && strstr(p.out, "refused:") == NULL, "%s", p.out);
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

/* The "units" line of <dir>/<image>.hpmap (a static buffer; "" when there is none). */
static const char *map_units(const char *dir, const char *image)
{
    static char line[8192];
    char path[4600];
    snprintf(path, sizeof path, "%s/%s.hpmap", dir, image);
    line[0] = 0;
    size_t n = 0;
    unsigned char *raw = hpt_read_file(path, &n);
    char *map = raw ? realloc(raw, n + 1) : NULL;
    if (!map) {
        free(raw);
        return line;
    }
    map[n] = 0;
    const char *u = strstr(map, "\"units\"");
    if (u) {
        size_t len = strcspn(u, "\n");
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line - 1 ? len : sizeof line - 1), u);
    }
    free(map);
    return line;
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

/* The number in column `key` of the function row of the map that starts with `["<name>",`: the
   column where the map's "function_fields" names it (names and the columns before hold no comma). */
static unsigned long map_number(const char *map, const char *name, const char *key)
{
    char pat[256];
    const char *fields = strstr(map, "\"function_fields\": [");
    cr_assert(fields, "the map names no function columns");
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *k = strstr(fields, pat), *end = strchr(fields, ']');
    cr_assert(k && k < end, "no column %s in the map", key);
    size_t column = 0;
    for (const char *c = fields; c < k; c++)
        column += *c == ',';
    snprintf(pat, sizeof pat, "[\"%s\",", name);
    const char *o = strstr(map, pat);
    cr_assert(o, "%s not in the map", name);
    const char *row_end = strchr(o, ']');
    for (size_t i = 0; i < column; i++) {
        o = strchr(o + 1, ',');
        cr_assert(o && o < row_end, "%s has no column %zu", name, column);
    }
    return strtoul(o + 1, NULL, 10);
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

/* Write `text` to <scratch>/<rel> (directories made as needed); returns the path (static ring of 4). */
static const char *write_scratch(const char *rel, const char *text)
{
    static char ring[4][4400];
    static int next;
    char *path = ring[next++ % 4];
    snprintf(path, sizeof ring[0], "%s/../%s", moved, rel);
    for (char *q = path + strlen(moved) + 4; (q = strchr(q, '/')) != NULL; q++) {
        *q = '\0';
        mkdir(path, 0755);
        *q = '/';
    }
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    cr_assert_eq(fputs(text, f) >= 0, 1);
    fclose(f);
    return path;
}

/* A user's own MinGW toolchain file, as found in the wild: clang-19 on PATH, lld, the MinGW sysroot
   as the find root (packages ONLY there), no HP_TARGET_TRIPLE and nothing of this package. The
   target is given by `target_line`: CMAKE_C_COMPILER_TARGET or --target= in the flags. */
static const char *user_toolchain_for(const char *name, const char *processor, const char *sysroot,
                                      const char *target_line)
{
    static char text[2048];
    snprintf(text, sizeof text,
             "set(CMAKE_SYSTEM_NAME Windows)\n"
             "set(CMAKE_SYSTEM_PROCESSOR %s)\n"
             "set(CMAKE_C_COMPILER clang-19)\n"
             "%s\n"
             "set(CMAKE_EXE_LINKER_FLAGS_INIT -fuse-ld=lld)\n"
             "set(CMAKE_SHARED_LINKER_FLAGS_INIT -fuse-ld=lld)\n"
             "set(CMAKE_MODULE_LINKER_FLAGS_INIT -fuse-ld=lld)\n"
             "set(CMAKE_FIND_ROOT_PATH %s)\n"
             "set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)\n"
             "set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)\n"
             "set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)\n"
             "set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)\n",
             processor, target_line, sysroot);
    return write_scratch(name, text);
}

static const char *user_toolchain(const char *name, const char *target_line)
{
    return user_toolchain_for(name, "AMD64", "/usr/x86_64-w64-mingw32", target_line);
}

/* find_package(Hotpatch) takes the target from the compiler, not from HP_TARGET_TRIPLE (which only the
   package's own toolchain files set): the example consumer builds with a user's toolchain file. */
Test(package, any_mingw_toolchain_file_finds_the_runtime)
{
    install("package-usertc");
    const char *tc = user_toolchain("user-mingw.cmake", "set(CMAKE_C_COMPILER_TARGET x86_64-w64-mingw32)");
    char dir[4300];
    snprintf(dir, sizeof dir, "-DHotpatch_DIR=%s/lib/cmake/Hotpatch", moved);   /* packages: ONLY the sysroot */
    const char *const extra[] = {dir, NULL};
    hpt_proc p;
    int rc = build_project(HPT_SOURCE_DIR "/cmake/examples/consumer", "usertc", tc, extra, &p);
    cr_assert_eq(rc, 0, "consumer build with a user's toolchain file failed:\n%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "greet.dll: x64 image") != NULL, "greet.dll was not audited:\n%s", p.out);
    hpt_proc_free(&p);

    char app[4300];
    snprintf(app, sizeof app, "%s/../usertc-build/app.exe", moved);
    run_consumer_app(app, 1, &p);
    hpt_proc_free(&p);
}

/* A 32-bit target (i686-w64-windows-gnu, clang's spelling) with a user's toolchain file: the package
   serves it (its version file is architecture-independent) with lib/hotpatch/i686-w64-mingw32/; the
   PE32 module is linked through hotpatch-link and audited (32-bit Wine is not installed here). */
Test(package, a_32_bit_mingw_toolchain_file_finds_its_runtime)
{
    install("package-usertc32");
    const char *tc = user_toolchain_for("user-mingw32.cmake", "X86", "/usr/i686-w64-mingw32",
                                        "set(CMAKE_C_COMPILER_TARGET i686-w64-windows-gnu)");
    char dir[4300];
    snprintf(dir, sizeof dir, "-DHotpatch_DIR=%s/lib/cmake/Hotpatch", moved);
    const char *const extra[] = {dir, "-DCONSUMER_MODULE_ONLY=ON", NULL};
    hpt_proc p;
    int rc = build_project(HPT_SOURCE_DIR "/cmake/examples/consumer", "usertc32", tc, extra, &p);
    cr_assert_eq(rc, 0, "the 32-bit consumer build failed:\n%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "greet.dll: x86 image") != NULL && strstr(p.out, "coverage: exports 2/2 patchable") != NULL,
              "greet.dll was not audited as a PE32 image:\n%s", p.out);
    hpt_proc_free(&p);
    char map[4300];
    snprintf(map, sizeof map, "%s/../usertc32-build/greet.dll.hpmap", moved);
    size_t n = 0;
    unsigned char *b = hpt_read_file(map, &n);
    cr_expect(b != NULL && n > 0, "hotpatch-link did not write %s", map);
    free(b);
}

/* -DCMAKE_PROJECT_INCLUDE=<prefix>/lib/cmake/Hotpatch/HotpatchAll.cmake on a project that does not know
   hotpatch: a DLL of two files that links a static library of a subdirectory, and a program in another
   subdirectory. The target is --target=x86_64-w64-windows-gnu in the flags (clang's spelling, found by
   -dumpmachine). Both images are linked through hotpatch-link (maps) and audited after the link. */
Test(package, project_include_makes_an_unmodified_project_hotpatchable)
{
    install("package-all");
    write_scratch("plain/CMakeLists.txt",
                  "cmake_minimum_required(VERSION 3.20)\n"
                  "project(plain C)\n"
                  "set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)\n"
                  "add_subdirectory(util)\n"
                  "add_library(calc SHARED calc_add.c calc_mul.c)\n"
                  "target_include_directories(calc PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})\n"
                  "target_link_libraries(calc PRIVATE util)\n"
                  "add_subdirectory(app)\n");
    write_scratch("plain/calc.h", "#ifdef calc_EXPORTS\n#define CALC_API __declspec(dllexport)\n#else\n"
                                  "#define CALC_API __declspec(dllimport)\n#endif\n"
                                  "CALC_API int calc_add(int a, int b);\nCALC_API int calc_mul(int a, int b);\n"
                                  "CALC_API int calc_twice(int a);\n");
    write_scratch("plain/calc_add.c", "#include \"calc.h\"\nint calc_add(int a, int b) { return a + b; }\n");
    write_scratch("plain/calc_mul.c", "#include \"calc.h\"\nint util_twice(int x);\n"
                                      "int calc_mul(int a, int b) { return a * b; }\n"
                                      "int calc_twice(int a) { return util_twice(a); }\n");
    write_scratch("plain/util/CMakeLists.txt", "add_library(util STATIC util.c)\n");
    write_scratch("plain/util/util.c", "int util_twice(int x) { return 2 * x; }\n");
    write_scratch("plain/app/CMakeLists.txt", "add_executable(calcapp main.c)\n"
                                              "target_link_libraries(calcapp PRIVATE calc)\n");
    write_scratch("plain/app/main.c", "#include <stdio.h>\n#include \"calc.h\"\n"
                                      "int main(void) {\n"
                                      "    printf(\"plain: %d %d %d\\n\", calc_add(2, 3), calc_mul(4, 5), calc_twice(21));\n"
                                      "    return 0;\n}\n");
    const char *tc = user_toolchain("user-mingw-flags.cmake", "set(CMAKE_C_FLAGS_INIT --target=x86_64-w64-windows-gnu)");
    char src[4300], inc[4300];
    snprintf(src, sizeof src, "%s/../plain", moved);
    snprintf(inc, sizeof inc, "-DCMAKE_PROJECT_INCLUDE=%s/lib/cmake/Hotpatch/HotpatchAll.cmake", moved);
    const char *const extra[] = {inc, NULL};
    hpt_proc p;
    int rc = build_project(src, "plain", tc, extra, &p);
    cr_assert_eq(rc, 0, "the unmodified project failed to build:\n%s\n%s", p.out, p.err);
    /* the audit ran after each link: the DLL's (a post-build step) and the program's (its directory's
       target is not the top level's: an audit step of the top level) */
    cr_expect(strstr(p.out, "libcalc.dll: x64 image") != NULL && strstr(p.out, "coverage:") != NULL,
              "libcalc.dll was not audited after its link:\n%s", p.out);
    cr_expect(strstr(p.out, "calcapp.exe: x64 image") != NULL, "calcapp.exe was not audited:\n%s", p.out);
    hpt_proc_free(&p);

    char bin[4300], dll[4400], map[4400], app[4400];
    snprintf(bin, sizeof bin, "%s/../plain-build/bin", moved);
    snprintf(dll, sizeof dll, "%s/libcalc.dll", bin);
    snprintf(map, sizeof map, "%s/libcalc.dll.hpmap", bin);
    snprintf(app, sizeof app, "%s/calcapp.exe.hpmap", bin);
    size_t n = 0;
    unsigned char *m = hpt_read_file(map, &n);
    cr_expect(m != NULL, "no %s: the DLL was not linked through hotpatch-link", map);
    /* util_twice comes from the static library of another directory: compiled with the plugin too */
    cr_expect(m && strstr((const char *)m, "\"calc_add\"") && strstr((const char *)m, "\"calc_mul\"") &&
                  strstr((const char *)m, "\"util_twice\""),
              "the map of libcalc.dll lacks calc_add, calc_mul or util_twice:\n%s", m ? (const char *)m : "");
    free(m);
    m = hpt_read_file(app, &n);
    cr_expect(m && strstr((const char *)m, "\"main\""), "no map of calcapp.exe listing main");
    free(m);

    char audit[4300];
    snprintf(audit, sizeof audit, "%s/bin/hotpatch-audit", moved);
    const char *av[] = {audit, dll, NULL};
    cr_assert_eq(hpt_run(av, NULL, 60, &p), 0);
    cr_expect_eq(p.status, 0, "hotpatch-audit libcalc.dll exited %d:\n%s\n%s", p.status, p.out, p.err);
    cr_expect(strstr(p.out, "exports 3/3 patchable") != NULL, "%s", p.out);
    hpt_proc_free(&p);

    snprintf(app, sizeof app, "%s/calcapp.exe", bin);
    const char *argv[] = {app, NULL};
    cr_assert_eq(hpt_run_wine(argv, 120, &p), 0);
    cr_expect_eq(p.status, 0, "calcapp.exe exited %d:\n%s\n%s", p.status, p.out, p.err);
    cr_expect(strstr(p.out, "plain: 5 20 42") != NULL, "%s", p.out);
    hpt_proc_free(&p);
}

/* pkg-config output, trimmed, split at blanks into argv[from..] (at most max-1 words, NULL-terminated). */
static size_t split_words(char *text, const char **argv, size_t from, size_t max)
{
    size_t n = from;
    for (char *w = strtok(text, " \t\r\n"); w && n + 1 < max; w = strtok(NULL, " \t\r\n"))
        argv[n++] = w;
    argv[n] = NULL;
    return n;
}

/* Run pkg-config with one environment entry; asserts success; the output stays in *p. */
static void pkg_config(const char *env_entry, const char *const args[], hpt_proc *p)
{
    const char *argv[8] = {"pkg-config"};
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 7; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    const char *env[] = {env_entry, NULL};
    cr_assert_eq(hpt_run(argv, env, 60, p), 0, "pkg-config cannot be run");
    cr_assert_eq(p->status, 0, "pkg-config %s (%s) failed:\n%s\n%s", args[0], env_entry, p->out, p->err);
}

/* pkg-config per target: hotpatch-x86_64-w64-mingw32 names the MinGW static library; the same file as
   plain `hotpatch` in the triple's own directory; a program linked by clang from `--cflags --libs`
   runs under Wine, with the static runtime and with hotpatch.dll (hotpatch-dll-<triple>). */
Test(package, pkg_config_per_target_links_a_mingw_program)
{
    install("package-pc");
    char env_path[4300], env_libdir[4300];
    snprintf(env_path, sizeof env_path, "PKG_CONFIG_PATH=%s/lib/pkgconfig", moved);
    snprintf(env_libdir, sizeof env_libdir, "PKG_CONFIG_LIBDIR=%s/lib/hotpatch/x86_64-w64-mingw32/pkgconfig", moved);
    hpt_proc p;
    const char *libs_args[] = {"--libs", "hotpatch-x86_64-w64-mingw32", NULL};
    pkg_config(env_path, libs_args, &p);
    char lib[4400] = "";
    sscanf(p.out, "%4399s", lib);
    hpt_proc_free(&p);
    cr_expect(strstr(lib, "/hotpatch/x86_64-w64-mingw32/libhotpatch.a") != NULL, "--libs says '%s'", lib);
    struct stat st;
    cr_expect(stat(lib, &st) == 0 && S_ISREG(st.st_mode), "%s does not exist", lib);

    const char *plain_args[] = {"--libs", "hotpatch", NULL};
    pkg_config(env_libdir, plain_args, &p);
    char lib2[4400] = "";
    sscanf(p.out, "%4399s", lib2);
    hpt_proc_free(&p);
    cr_expect(strstr(lib2, "/hotpatch/x86_64-w64-mingw32/libhotpatch.a") != NULL && stat(lib2, &st) == 0,
              "PKG_CONFIG_LIBDIR=<triple>/pkgconfig: --libs hotpatch says '%s'", lib2);

    const char *prog = write_scratch("pc/hello.c", "#include <stdio.h>\n#include \"hotpatch.h\"\n"
                                                   "int main(void) {\n"
                                                   "    printf(\"pkg-config: hp_version() = %s\\n\", hp_version());\n"
                                                   "    return 0;\n}\n");
    static const char *const pkgs[] = {"hotpatch-x86_64-w64-mingw32", "hotpatch-dll-x86_64-w64-mingw32"};
    for (size_t k = 0; k < 2; k++) {
        char exe[4400];
        snprintf(exe, sizeof exe, "%s/../pc/hello%zu.exe", moved, k);
        const char *flags_args[] = {"--cflags", "--libs", pkgs[k], NULL};
        pkg_config(env_path, flags_args, &p);
        const char *cc[64] = {HPT_CLANG, "--target=x86_64-w64-mingw32", "-fuse-ld=lld", prog, "-o", exe};
        split_words(p.out, cc, 6, 64);
        hpt_proc c;
        cr_assert_eq(hpt_run(cc, NULL, 120, &c), 0);
        cr_assert_eq(c.status, 0, "clang with `pkg-config --cflags --libs %s` (%s) failed:\n%s", pkgs[k], p.out, c.err);
        hpt_proc_free(&c);
        hpt_proc_free(&p);
        if (k == 1) {   /* the DLL next to the program */
            const char *var_args[] = {"--variable=dll", pkgs[k], NULL};
            pkg_config(env_path, var_args, &p);
            char dll[4400] = "", to[4400];
            sscanf(p.out, "%4399s", dll);
            hpt_proc_free(&p);
            snprintf(to, sizeof to, "%s/../pc/hotpatch.dll", moved);
            copy_file(dll, to);
            const char *dump[] = {HPT_LLVM_OBJDUMP, "-p", exe, NULL};
            cr_assert_eq(hpt_run(dump, NULL, 60, &p), 0);
            cr_expect(strstr(p.out, "DLL Name: hotpatch.dll") != NULL, "hello1.exe does not import hotpatch.dll");
            hpt_proc_free(&p);
        }
        const char *argv[] = {exe, NULL};
        cr_assert_eq(hpt_run_wine(argv, 120, &p), 0);
        cr_expect_eq(p.status, 0, "%s exited %d:\n%s\n%s", exe, p.status, p.out, p.err);
        cr_expect(strstr(p.out, "pkg-config: hp_version() = " HP_VERSION_STRING) != NULL, "%s:\n%s", pkgs[k], p.out);
        hpt_proc_free(&p);
    }
}

/* The real-code tests' audit: every export of the hotpatchable `dll` in `hot` patchable (and, with
   `check_map`, its map beside it: hotpatch-link linked it); the plain one in `plain` has findings. */
static void audit_hot_and_plain(const char *hot, const char *plain, const char *dll, int check_map)
{
    char audit[4300], path[4500], map[4600];
    snprintf(audit, sizeof audit, "%s/bin/hotpatch-audit", moved);
    snprintf(path, sizeof path, "%s/%s", hot, dll);
    if (check_map) {
        snprintf(map, sizeof map, "%s.hpmap", path);
        struct stat sb;
        cr_expect_eq(stat(map, &sb), 0, "%s is missing: hotpatch-link did not link %s", map, dll);
    }
    hpt_proc p;
    const char *a1[] = {audit, path, NULL};
    cr_assert_eq(hpt_run(a1, NULL, 120, &p), 0);
    cr_expect_eq(p.status, 0, "the hotpatchable %s fails the audit:\n%s\n%s", dll, p.out, p.err);
    cr_expect(strstr(p.out, "patchable (100.0%)") != NULL, "%s", p.out);
    hpt_proc_free(&p);
    /* --all: every function the plugin compiled (a record in its table) is patchable; the MinGW CRT and
       startup code it did not compile is reported apart (its verdicts are not the codebase's) */
    const char *a3[] = {audit, "--all", "--format", "json", path, NULL};
    cr_assert_eq(hpt_run(a3, NULL, 120, &p), 0);
    size_t compiled = 0, other = 0;
    for (const char *l = strstr(p.out, "\"sources\": ["); l; l = strstr(l + 1, "\"sources\": [")) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        const char *close = memchr(l, ']', len);
        int table = close && memmem(l, (size_t)(close - l), "\"table\"", 7) != NULL;
        int ok = memmem(l, len, "\"patchable\": true", 17) != NULL;
        if (table) {
            compiled++;
            cr_expect(ok, "%s: a function the plugin compiled is not patchable: %.*s", dll, (int)len, l);
        } else {
            other++;
        }
    }
    cr_expect_gt(compiled, 0, "%s: hotpatch-audit --all found no function of the plugin's table:\n%s", dll, p.out);
    printf("%s: --all: %zu functions the plugin compiled, all patchable; %zu other (CRT, startup)\n", dll, compiled,
           other);
    hpt_proc_free(&p);
    snprintf(path, sizeof path, "%s/%s", plain, dll);
    const char *a2[] = {audit, path, NULL};
    cr_assert_eq(hpt_run(a2, NULL, 120, &p), 0);
    cr_expect_eq(p.status, 1, "the plain %s was expected to have findings:\n%s", dll, p.out);
    hpt_proc_free(&p);
}

/* A real-code fix: the project tests/realworld/<what>/fix built in <name>-build FOR the release (`args`),
   the compiler saying it `replaces` (NULL: not checked), then `host module <fix_dll>` under Wine. */
static void fix_loaded_live(const char *what, const char *name, const char *const args[], const char *replaces,
                            const char *host, const char *fix_dll)
{
    char project[4300], fixdir[4300];
    snprintf(project, sizeof project, "%s/tests/realworld/%s/fix", HPT_SOURCE_DIR, what);
    hpt_proc p;
    int st = build_project(project, name, "x86_64-w64-mingw32", args, &p);
    cr_assert_eq(st, 0, "the %s fix failed to build:\n%s\n%s", what, p.out, p.err);
    if (replaces)
        cr_expect(strstr(p.out, replaces) != NULL || strstr(p.err, replaces) != NULL, "%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
    snprintf(fixdir, sizeof fixdir, "%s/../%s-build", moved, name);
    const char *md[] = {host, "module", win_path(fixdir, fix_dll), NULL};
    cr_assert_eq(hpt_run_wine(md, 300, &p), 0);
    cr_expect_eq(p.status, 0, "the %s host, module:\n%s\n%s", what, p.out, p.err);
    cr_expect(strstr(p.out, "hp_module_load: HP_OK") != NULL, "%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "host: OK") != NULL, "%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
}

/* ------------------------------------------------------------------------- */
/* Real code: zlib through its own CMakeLists (tests/realworld/zlib)           */
/* ------------------------------------------------------------------------- */

/* Debian's source package `package`, fetched once into the build tree (deb-src is set up by
   scripts/setup-deps) and its orig tarball unpacked there: the directory `unpacked`, which must hold
   `probe`. Returns a static buffer. */
static const char *debian_source(const char *package, const char *unpacked, const char *probe)
{
    static char dir[4400];
    const char *cache = HPT_BINARY_DIR "/realworld-src";
    snprintf(dir, sizeof dir, "%s/%s", cache, unpacked);
    char path[4500];
    snprintf(path, sizeof path, "%s/%s", dir, probe);
    FILE *f = fopen(path, "r");
    if (f) {
        fclose(f);
        return dir;
    }
    mkdir(cache, 0755);
    char script[4800];
    snprintf(script, sizeof script,
             "cd '%s' && '%s/scripts/debian-source' --download-only '%s' >/dev/null && "
             "tar xf \"$(ls '%s'_*.orig.tar.* | grep -v '[.]asc$' | head -n 1)\" && test -f '%s/%s'",
             cache, HPT_SOURCE_DIR, package, package, unpacked, probe);
    const char *argv[] = {"sh", "-c", script, NULL};
    hpt_proc p;
    cr_assert_eq(hpt_run(argv, NULL, 300, &p), 0);
    cr_assert_eq(p.status, 0, "fetching Debian's %s source failed (deb-src entries: scripts/setup-deps):\n%s\n%s",
                 package, p.out, p.err);
    hpt_proc_free(&p);
    return dir;
}

/* zlib 1.2.13 built by its own CMakeLists with HotpatchAll.cmake as CMAKE_PROJECT_INCLUDE, and plainly:
   every export of the hotpatchable DLL passes the audit (the plain one does not); zlib's example and a
   minigzip round trip give the same results with both under Wine; a host swaps crc32_z 1,000 times on
   and off while 4 threads call it; a fix from a corrected crc32.c, built in a tree of its own FOR the
   released DLL, is loaded and unloaded live. */
Test(package, zlib_made_hotpatchable_through_its_own_cmakelists_and_patched_live, .timeout = 900)
{
    install("package-zlib");
    const char *src = debian_source("zlib", "zlib-1.2.13.dfsg", "CMakeLists.txt");
    /* Debian's source (dfsg) leaves out win32/, whose zlib1.rc (a version resource, no code) zlib's
       CMakeLists compiles for MinGW: the resource compiler given to it writes an empty object */
    char rcc[4400], rc[4500];
    snprintf(rcc, sizeof rcc, "%s/../empty-rc.sh", moved);
    FILE *f = fopen(rcc, "w");
    cr_assert(f);
    fprintf(f, "#!/bin/sh\n# stands in for windres: writes an empty COFF object where -o says\n"
               "while [ $# -gt 0 ]; do [ \"$1\" = -o ] && out=$2; shift; done\n"
               "exec %s --target=x86_64-w64-mingw32 -c -x c /dev/null -o \"$out\"\n",
            HPT_CLANG);
    fclose(f);
    chmod(rcc, 0755);
    snprintf(rc, sizeof rc, "-DCMAKE_RC_COMPILER=%s", rcc);
    char include[4300];
    snprintf(include, sizeof include, "-DCMAKE_PROJECT_INCLUDE=%s/lib/cmake/Hotpatch/HotpatchAll.cmake", moved);
    const char *hot_args[] = {include, "-DCMAKE_BUILD_TYPE=Release", rc, NULL};
    const char *plain_args[] = {"-DCMAKE_BUILD_TYPE=Release", rc, NULL};
    hpt_proc p;
    int st = build_project(src, "zlib-hot", "x86_64-w64-mingw32", hot_args, &p);
    cr_assert_eq(st, 0, "zlib (hotpatchable) failed to build:\n%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
    st = build_project(src, "zlib-plain", "x86_64-w64-mingw32", plain_args, &p);
    cr_assert_eq(st, 0, "zlib (plain) failed to build:\n%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
    char hot[4300], plain[4300], audit[4300];
    snprintf(hot, sizeof hot, "%s/../zlib-hot-build", moved);
    snprintf(plain, sizeof plain, "%s/../zlib-plain-build", moved);
    snprintf(audit, sizeof audit, "%s/bin/hotpatch-audit", moved);

    /* the audit: every export patchable in the hotpatchable DLL, not in the plain one */
    audit_hot_and_plain(hot, plain, "libzlib.dll", 0);

    /* zlib's own tests, both builds: example's output alike, minigzip round trips */
    char *out[2] = {NULL, NULL};
    const char *dirs[2] = {hot, plain};
    for (int b = 0; b < 2; b++) {
        char exe[4400];
        snprintf(exe, sizeof exe, "%s/example.exe", dirs[b]);
        const char *ex[] = {exe, NULL};
        cr_assert_eq(chdir(dirs[b]), 0, "cannot enter %s", dirs[b]); /* example writes foo.gz where it runs */
        cr_assert_eq(hpt_run_wine(ex, 120, &p), 0);
        cr_expect_eq(p.status, 0, "example (%s) exited %d:\n%s\n%s", dirs[b], p.status, p.out, p.err);
        out[b] = malloc(p.out_len + 1);
        cr_assert(out[b]);
        memcpy(out[b], p.out, p.out_len + 1);
        hpt_proc_free(&p);
        char data[4400], gz[4450], from[4450];
        snprintf(from, sizeof from, "%s/ChangeLog", src);
        snprintf(data, sizeof data, "%s/roundtrip.txt", dirs[b]);
        snprintf(gz, sizeof gz, "%s.gz", data);
        remove(gz);
        copy_file(from, data);
        snprintf(exe, sizeof exe, "%s/minigzip.exe", dirs[b]);
        const char *z1[] = {exe, win_path(dirs[b], "roundtrip.txt"), NULL};
        cr_assert_eq(hpt_run_wine(z1, 120, &p), 0);
        cr_expect_eq(p.status, 0, "minigzip: %s", p.err);
        hpt_proc_free(&p);
        const char *z2[] = {exe, "-d", win_path(dirs[b], "roundtrip.txt.gz"), NULL};
        cr_assert_eq(hpt_run_wine(z2, 120, &p), 0);
        cr_expect_eq(p.status, 0, "minigzip -d: %s", p.err);
        hpt_proc_free(&p);
        size_t n1, n2;
        unsigned char *d1 = hpt_read_file(from, &n1), *d2 = hpt_read_file(data, &n2);
        cr_expect(d1 && d2 && n1 == n2 && memcmp(d1, d2, n1) == 0, "minigzip's round trip changed the data (%s)",
                  dirs[b]);
        free(d1);
        free(d2);
    }
    cr_expect(out[0] && out[1] && strcmp(out[0], out[1]) == 0, "example differs:\n%s\n---\n%s", out[0], out[1]);
    cr_expect(out[0] && strstr(out[0], "inflate with dictionary") != NULL, "%s", out[0]);
    free(out[0]);
    free(out[1]);

    /* live: the host, linked with the hotpatchable DLL and the runtime */
    char host[4400], inc1[4450], inc2[4400], implib[4400], rt[4400];
    snprintf(host, sizeof host, "%s/zhost.exe", hot);
    snprintf(inc1, sizeof inc1, "-I%s", src);
    snprintf(inc2, sizeof inc2, "-I%s", hot);
    snprintf(implib, sizeof implib, "%s/libzlib.dll.a", hot);
    snprintf(rt, sizeof rt, "%s/lib/hotpatch/x86_64-w64-mingw32/libhotpatch.a", moved);
    const char *cc[] = {"-O1", "-fuse-ld=lld", "-DZLIB_DLL", "-I" HPT_SOURCE_DIR "/runtime/include", inc1, inc2,
                        HPT_SOURCE_DIR "/tests/realworld/zlib/host.c", implib, rt, "-o", host, NULL};
    cr_assert_eq(hpt_cc("x86_64-w64-mingw32", cc, &p), 0, "%s", p.err);
    hpt_proc_free(&p);
    const char *tg[] = {host, "toggle", NULL};
    cr_assert_eq(hpt_run_wine(tg, 300, &p), 0);
    cr_expect_eq(p.status, 0, "host toggle:\n%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "host: OK") != NULL, "%s\n%s", p.out, p.err);
    hpt_proc_free(&p);

    /* a fix from a corrected crc32.c, in a build tree of its own, for the released DLL: the functions
       found by comparing its code with the release's (crc32.patch changes one line of crc32_z) */
    char rel[4400], zsrc[4450], zbuild[4400];
    snprintf(rel, sizeof rel, "-DRELEASE=%s/libzlib.dll", hot);
    snprintf(zsrc, sizeof zsrc, "-DZLIB_SRC=%s", src);
    snprintf(zbuild, sizeof zbuild, "-DZLIB_BUILD=%s", hot);
    const char *fix_args[] = {rel, zsrc, zbuild, "-DCMAKE_BUILD_TYPE=Release", NULL};
    fix_loaded_live("zlib", "zlib-fix", fix_args, "changed:   crc32_z (crc32.c)", host, "zfix.dll");
    char list[4400];
    snprintf(list, sizeof list, "%s/../zlib-fix-build/zfix.functions", moved);
    size_t n = 0;
    char *functions = (char *)hpt_read_file(list, &n);
    cr_assert(functions, "no %s", list);
    cr_expect(n == strlen("crc32_z\tcrc32.c\n") && memcmp(functions, "crc32_z\tcrc32.c\n", n) == 0,
              "the fix replaces more than crc32_z:\n%.*s",
              (int)n, functions);
    free(functions);
}

/* ------------------------------------------------------------------------- */
/* Real code: Lua 5.4 through its own Makefile (tests/realworld/lua)           */
/* ------------------------------------------------------------------------- */

/* Lua's own `make mingw` (lua54.dll and lua.exe, LUA_BUILD_AS_DLL) in a fresh copy of the source tree
   at <moved>/../<name>, with `cc` as CC; returns make's exit status, its output in *out. The units are
   named relative to that copy's src/ (HOTPATCH_SOURCE_ROOT, read by hotpatch-cc: "lapi.c", ...). The
   mingw target runs `strip --strip-unneeded` on lua54.dll after its link (as RANLIB, on the sub-make's
   command line, so no override reaches it): the image shipped would not be the one hotpatch-link
   mapped (SizeOfImage, checksum, no symbol table) and no fix could be built for it, so a `strip` that
   keeps the file as linked comes first in PATH. */
static int make_lua(const char *src, const char *name, const char *cc, hpt_proc *out)
{
    char shim[4300], script[32768];
    snprintf(shim, sizeof shim, "%s/../keep-symbols", moved);
    snprintf(script, sizeof script,
             "mkdir -p '%s' && printf '#!/bin/sh\\n# keeps the image as hotpatch-link mapped it\\nexit 0\\n' "
             "> '%s/strip' && chmod +x '%s/strip' && "
             "rm -rf '%s/../%s' && cp -R '%s' '%s/../%s' && cd '%s/../%s/src' && "
             "PATH='%s':\"$PATH\" HOTPATCH_SOURCE_ROOT=\"$PWD\" "
             "make -j2 mingw CC='%s' AR='llvm-ar-19 rcu' RANLIB=llvm-ranlib-19",
             shim, shim, shim, moved, name, src, moved, name, moved, name, shim, cc);
    const char *argv[] = {"sh", "-c", script, NULL};
    cr_assert_eq(hpt_run(argv, NULL, 300, out), 0);
    return out->status;
}

/* Lua 5.4.4 (Debian's lua5.4 source) built by its own Makefile's mingw target, unmodified, with
   CC=hotpatch-cc and with plain clang-19: every export of the hotpatchable lua54.dll passes the
   installed audit and hotpatch-link wrote its map (the plain DLL has findings); the scripts of
   tests/realworld/lua print the same with both builds' lua.exe under Wine; a host swaps
   lua_pushinteger 1,000 times on and off while 4 threads, each with a lua_State, call it; a fix from a
   corrected lapi.c, built in a tree of its own FOR the released DLL, is loaded and unloaded live. */
Test(package, lua_made_hotpatchable_through_its_own_makefile_and_patched_live, .timeout = 900)
{
    install("package-lua");
    const char *src = debian_source("lua5.4", "lua-5.4.4", "src/Makefile");
    char hotcc[4400];
    snprintf(hotcc, sizeof hotcc, "%s/bin/hotpatch-cc --target=x86_64-w64-mingw32", moved);
    hpt_proc p;
    int st = make_lua(src, "lua-hot", hotcc, &p);
    cr_assert_eq(st, 0, "Lua (hotpatchable) failed to build:\n%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
    st = make_lua(src, "lua-plain", HPT_CLANG " --target=x86_64-w64-mingw32 -fuse-ld=lld", &p);
    cr_assert_eq(st, 0, "Lua (plain) failed to build:\n%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
    char hot[4300], plain[4300], audit[4300], dll[4400];
    snprintf(hot, sizeof hot, "%s/../lua-hot/src", moved);
    snprintf(plain, sizeof plain, "%s/../lua-plain/src", moved);
    snprintf(audit, sizeof audit, "%s/bin/hotpatch-audit", moved);

    /* the audit: every export patchable in the hotpatchable DLL, linked by hotpatch-link (its map) */
    audit_hot_and_plain(hot, plain, "lua54.dll", 1);

    /* the scripts, copied to one directory (error messages name their path; gc_io.lua writes its
       temporary file next to itself), run one after the other by run.lua in one lua.exe of each
       build (a Wine start each, not one per script): every one ran, the same output */
    static const char *const scripts[] = {"run.lua",    "strings.lua", "tables.lua", "functions.lua",
                                          "errors.lua", "numbers.lua", "gc_io.lua"};
    const size_t nscripts = sizeof scripts / sizeof scripts[0];
    char sdir[4300];
    snprintf(sdir, sizeof sdir, "%s/../lua-scripts", moved);
    mkdir(sdir, 0755);
    for (size_t i = 0; i < nscripts; i++) {
        char from[4400], to[4400];
        snprintf(from, sizeof from, "%s/tests/realworld/lua/%s", HPT_SOURCE_DIR, scripts[i]);
        snprintf(to, sizeof to, "%s/%s", sdir, scripts[i]);
        copy_file(from, to);
    }
    char *out[2] = {NULL, NULL};
    const char *dirs[2] = {hot, plain};
    for (int b = 0; b < 2; b++) {
        char exe[4400];
        snprintf(exe, sizeof exe, "%s/lua.exe", dirs[b]);
        const char *run[16] = {exe, win_path(sdir, "run.lua")};
        for (size_t i = 1; i < nscripts; i++)
            run[i + 1] = scripts[i];
        run[nscripts + 1] = NULL;
        cr_assert_eq(hpt_run_wine(run, 120, &p), 0);
        cr_expect_eq(p.status, 0, "the scripts (%s) exited %d:\n%s\n%s", dirs[b], p.status, p.out, p.err);
        out[b] = malloc(p.out_len + 1);
        cr_assert(out[b]);
        memcpy(out[b], p.out, p.out_len + 1);
        hpt_proc_free(&p);
    }
    for (size_t i = 1; i < nscripts; i++) {
        char head[64];
        snprintf(head, sizeof head, "== %s", scripts[i]);
        cr_expect(strstr(out[0], head) != NULL, "%s did not run:\n%s", scripts[i], out[0]);
    }
    cr_expect(strstr(out[0], "== all 6 scripts ran") != NULL, "%s", out[0]);
    cr_expect(strcmp(out[0], out[1]) == 0, "the scripts' output differs:\n%s\n---\n%s", out[0], out[1]);
    free(out[0]);
    free(out[1]);

    /* live: the host, linked with the hotpatchable DLL itself (lld reads a DLL as its import
       library, as Lua's Makefile links lua.exe) and the runtime */
    char host[4400], inc[4400], rt[4400];
    snprintf(host, sizeof host, "%s/lhost.exe", hot);
    snprintf(inc, sizeof inc, "-I%s", hot);
    snprintf(dll, sizeof dll, "%s/lua54.dll", hot);
    snprintf(rt, sizeof rt, "%s/lib/hotpatch/x86_64-w64-mingw32/libhotpatch.a", moved);
    const char *cc[] = {"-O1", "-fuse-ld=lld", "-DLUA_BUILD_AS_DLL", "-I" HPT_SOURCE_DIR "/runtime/include", inc,
                        HPT_SOURCE_DIR "/tests/realworld/lua/host.c", dll, rt, "-o", host, NULL};
    cr_assert_eq(hpt_cc("x86_64-w64-mingw32", cc, &p), 0, "%s", p.err);
    hpt_proc_free(&p);
    const char *hr[] = {host, "toggle", NULL};
    cr_assert_eq(hpt_run_wine(hr, 300, &p), 0);
    cr_expect_eq(p.status, 0, "the Lua host:\n%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "host: OK") != NULL, "%s\n%s", p.out, p.err);
    hpt_proc_free(&p);

    /* the release's units are relative to its src/ (HOTPATCH_SOURCE_ROOT) */
    cr_expect(strstr(map_units(hot, "lua54.dll"), "\"lapi.c\"") != NULL, "lua54.dll's units: %s",
              map_units(hot, "lua54.dll"));
    /* a fix from a corrected lapi.c (its lua_pushinteger counts its calls), in a build tree of its own,
       for the released DLL: loaded while the host's 4 threads run, then unloaded */
    char rel[4500], lsrc[4500];
    snprintf(rel, sizeof rel, "-DRELEASE=%s/lua54.dll", hot);
    snprintf(lsrc, sizeof lsrc, "-DLUA_SRC=%s", hot);
    const char *fix_args[] = {rel, lsrc, NULL};
    fix_loaded_live("lua", "lua-fix", fix_args, "hotpatch fix: replaces 'lua_pushinteger' of 'lua54.dll'", host,
                    "lfix.dll");
}

/* ------------------------------------------------------------------------- */
/* Real code: SQLite 3 through its amalgamation (tests/realworld/sqlite)       */
/* ------------------------------------------------------------------------- */

/* SQLite's amalgamation (sqlite3.c, shell.c, sqlite3.h) made by SQLite's own build, configured
   natively (`make sqlite3.c shell.c`: its code generators run on the build machine, with tclsh),
   out of tree, once, next to the unpacked source; returns its directory (a static buffer).
   SQLite's configure/Makefile cannot give a usable MinGW DLL from this source: its `dll` target
   writes sqlite3.def from `nm ... | grep ' _sqlite3_'`, the leading underscore of 32-bit symbols,
   so an x86_64 sqlite3.dll would export nothing, and its sqlite3.exe compiles the amalgamation in
   (through libtool) instead of linking a DLL. So the amalgamation is compiled as SQLite documents
   for a DLL (SQLITE_API=__declspec(dllexport)) by tests/realworld/sqlite/Makefile. */
static const char *sqlite_amalgamation(const char *src)
{
    static char dir[4450];
    snprintf(dir, sizeof dir, "%s/../sqlite3-amalgamation", src);
    char script[16384];
    snprintf(script, sizeof script,
             "mkdir -p '%s' && cd '%s' && { test -f Makefile || '%s/configure' CC=%s >/dev/null; } && "
             "make -j2 sqlite3.c shell.c sqlite3.h >/dev/null",
             dir, dir, src, HPT_CLANG);
    const char *argv[] = {"sh", "-c", script, NULL};
    hpt_proc p;
    cr_assert_eq(hpt_run(argv, NULL, 300, &p), 0);
    cr_assert_eq(p.status, 0, "SQLite's `make sqlite3.c shell.c` failed:\n%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
    return dir;
}

/* SQLite 3.40.1 (Debian's sqlite3 source): its amalgamation compiled into sqlite3.dll (every public
   function exported) and the shell sqlite3.exe with CC=hotpatch-cc and with plain clang-19, -O2, by
   one `make -j2` (tests/realworld/sqlite/Makefile): the hotpatchable DLL has its .hpmap and passes
   the installed audit with 100% of its exports (the plain one fails it); workload.sql (100,000-row
   inserts, indexes, aggregates, window and JSON functions, rollbacks) prints the same with both
   shells under Wine, and the values checked here by hand; a host swaps sqlite3_result_int64 1,000
   times on and off while 4 threads, each with its own database, run a query calling a user function
   that answers through it. */
Test(package, sqlite_amalgamation_made_hotpatchable_with_hotpatch_cc_and_patched_live, .timeout = 900)
{
    install("package-sqlite");
    const char *src = debian_source("sqlite3", "sqlite3-3.40.1", "configure");
    char amalg[4450];
    snprintf(amalg, sizeof amalg, "%s", sqlite_amalgamation(src));
    char bdir[4300], script[32768];
    snprintf(bdir, sizeof bdir, "%s/../sqlite-build", moved);
    mkdir(bdir, 0755);
    snprintf(script, sizeof script,
             "cd '%s' && make -j2 -f '%s/tests/realworld/sqlite/Makefile' AMALG='%s' "
             "HOTCC='%s/bin/hotpatch-cc --target=x86_64-w64-mingw32' "
             "PLAINCC='%s --target=x86_64-w64-mingw32 -fuse-ld=lld'",
             bdir, HPT_SOURCE_DIR, amalg, moved, HPT_CLANG);
    const char *mk[] = {"sh", "-c", script, NULL};
    hpt_proc p;
    cr_assert_eq(hpt_run(mk, NULL, 600, &p), 0);
    cr_assert_eq(p.status, 0, "SQLite failed to build:\n%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
    char hot[4400], plain[4400], audit[4300], dll[4500];
    snprintf(hot, sizeof hot, "%s/hot", bdir);
    snprintf(plain, sizeof plain, "%s/plain", bdir);
    snprintf(audit, sizeof audit, "%s/bin/hotpatch-audit", moved);

    /* the audit: every export patchable in the hotpatchable DLL, linked by hotpatch-link (its map) */
    audit_hot_and_plain(hot, plain, "sqlite3.dll", 1);

    /* the workload in both builds' shells: the same output, and lines computed by hand */
    char read[4500];
    snprintf(read, sizeof read, ".read Z:%s/tests/realworld/sqlite/workload.sql", HPT_SOURCE_DIR);
    char *out[2] = {NULL, NULL};
    const char *dirs[2] = {hot, plain};
    for (int b = 0; b < 2; b++) {
        char exe[4500];
        snprintf(exe, sizeof exe, "%s/sqlite3.exe", dirs[b]);
        const char *run[] = {exe, "-bail", ":memory:", read, NULL};
        cr_assert_eq(hpt_run_wine(run, 120, &p), 0);
        cr_expect_eq(p.status, 0, "the workload (%s) exited %d:\n%s\n%s", dirs[b], p.status, p.out, p.err);
        out[b] = malloc(p.out_len + 1);
        cr_assert(out[b]);
        memcpy(out[b], p.out, p.out_len + 1);
        hpt_proc_free(&p);
    }
    static const char *const want[] = {
        "count|100000",                     /* rows 1..100000 */
        "sums|5000050000|49950000|0|999",   /* 100000*100001/2; 7x mod 1000 is each of 0..999 100 times */
        "avg|499.500",                      /* 49950000 / 100000 */
        "log|100000|300000",                /* x mod 7: 14285 cycles of 21, then 1+2+3+4+5 */
        "grp|0|10000|500050000",            /* 10 + 20 + ... + 100000 */
        "distinct|1000",
        "win|3|21|42|2|14",                 /* 7+14+21; the 2nd odd id; val of id 2 */
        "json|{\"n\":100000,\"max\":999}",
        "during|90000|54990000",            /* grp 3 (val sum 4960000) gone, grp 4 +1000 each */
        "after rollback|100000|49950000",
        "after savepoint|99990|99990",
        "done",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(out[0] && strstr(out[0], want[i]) != NULL, "the workload did not print \"%s\":\n%s", want[i],
                  out[0]);
    cr_expect(out[0] && out[1] && strcmp(out[0], out[1]) == 0, "the workload's output differs:\n%s\n---\n%s",
              out[0], out[1]);
    free(out[0]);
    free(out[1]);

    /* live: the host, linked with the hotpatchable DLL itself and the runtime */
    char host[4500], inc[4500], rt[4400];
    snprintf(host, sizeof host, "%s/shost.exe", hot);
    snprintf(inc, sizeof inc, "-I%s", amalg);
    snprintf(dll, sizeof dll, "%s/sqlite3.dll", hot);
    snprintf(rt, sizeof rt, "%s/lib/hotpatch/x86_64-w64-mingw32/libhotpatch.a", moved);
    const char *cc[] = {"-O1", "-fuse-ld=lld", "-I" HPT_SOURCE_DIR "/runtime/include", inc,
                        HPT_SOURCE_DIR "/tests/realworld/sqlite/host.c", dll, rt, "-o", host, NULL};
    cr_assert_eq(hpt_cc("x86_64-w64-mingw32", cc, &p), 0, "%s", p.err);
    hpt_proc_free(&p);
    const char *hr[] = {host, NULL};
    cr_assert_eq(hpt_run_wine(hr, 300, &p), 0);
    cr_expect_eq(p.status, 0, "the SQLite host:\n%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "host: OK") != NULL, "%s\n%s", p.out, p.err);
    hpt_proc_free(&p);

    /* a fix from a corrected sqlite3.c (tests/realworld/sqlite/fix/sqlite3.patch), in a tree of its own
       FOR the released DLL, loaded and unloaded while the 4 threads query; it reads SQLite's file-static
       sqlite3Config through fix mode's slots: the running library's, initialised at run time */
    char rel[4500], am[4500];
    snprintf(rel, sizeof rel, "-DRELEASE=%s/sqlite3.dll", hot);
    snprintf(am, sizeof am, "-DAMALG=%s", amalg);
    const char *fix_args[] = {rel, am, NULL};
    fix_loaded_live("sqlite", "sqlite-fix", fix_args,
                    "hotpatch fix: replaces 'sqlite3_result_int64' of 'sqlite3.dll'", host, "sfix.dll");
}
