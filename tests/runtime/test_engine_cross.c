/*
 * test_engine_cross.c — the engine's portable programs built for the other
 * targets (cross/<triple>/tests/runtime/portable/) run there and pass every
 * case: Windows x64 under Wine (MinGW and freestanding MSVC ABI), Linux i386
 * under qemu-i386. hpt_runtime_module: patch modules (hp_module_*) with the
 * images built next to it. (PE32 programs are built but cannot run: no 32-bit Wine.)
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hpt.h"

static void run_and_expect(const char *triple, const char *prog, int wine)
{
    char path[1024];
    hpt_proc p;
    snprintf(path, sizeof path, "%s/%s/tests/runtime/portable/%s%s", HPT_CROSS_DIR, triple, prog,
             wine ? ".exe" : "");
    const char *argv[] = {path, NULL};
    cr_assert_eq(wine ? hpt_run_wine(argv, 600, &p) : hpt_run_i386(argv, 600, &p), 0, "cannot run %s", path);
    cr_expect(!p.timed_out, "%s timed out\nstdout:\n%s", path, p.out);
    cr_expect_eq(p.status, 0, "%s exited %d\nstdout:\n%s\nstderr:\n%s", path, p.status, p.out, p.err);
    cr_expect(strstr(p.out, " passed, 0 failed\n") != NULL, "%s:\n%s", path, p.out);
    cr_log_info("%s:\n%s", path, p.out);
    hpt_proc_free(&p);
}

Test(engine_cross, engine_windows_x64_mingw_under_wine)
{
    run_and_expect("x86_64-w64-mingw32", "hpt_runtime_engine", 1);
}

Test(engine_cross, engine_windows_x64_msvc_freestanding_under_wine)
{
    run_and_expect("x86_64-pc-windows-msvc", "hpt_runtime_engine", 1);
}

Test(engine_cross, engine_linux_i386_under_qemu)
{
    run_and_expect("i386-linux-gnu", "hpt_runtime_engine", 0);
}

Test(engine_cross, stress_windows_x64_mingw_under_wine)
{
    run_and_expect("x86_64-w64-mingw32", "hpt_runtime_stress", 1);
}

Test(engine_cross, stress_linux_i386_under_qemu)
{
    run_and_expect("i386-linux-gnu", "hpt_runtime_stress", 0);
}

Test(engine_cross, module_windows_x64_mingw_under_wine)
{
    run_and_expect("x86_64-w64-mingw32", "hpt_runtime_module", 1);
}

Test(engine_cross, module_windows_x64_msvc_freestanding_under_wine)
{
    run_and_expect("x86_64-pc-windows-msvc", "hpt_runtime_module", 1);
}

Test(engine_cross, module_linux_i386_under_qemu)
{
    run_and_expect("i386-linux-gnu", "hpt_runtime_module", 0);
}
