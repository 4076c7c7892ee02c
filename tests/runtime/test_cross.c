/*
 * test_cross.c — the site-rule program built for every other target
 * (cross/<triple>/tests/runtime/portable/) runs there and agrees with the
 * table: Windows x64 under Wine (MinGW and freestanding MSVC ABI), Linux i386
 * under qemu-i386. PE32 (i686) programs cannot run here (no 32-bit Wine):
 * they are checked to be real PE32 images for IA-32.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hpt.h"
#include "site_cases.h"

static void expect_all_cases_passed(const hpt_proc *p, const char *what)
{
    char want[64];
    snprintf(want, sizeof want, "%u passed, 0 failed\n", hpt_site_case_count);
    cr_assert(!p->timed_out, "%s timed out", what);
    cr_assert_eq(p->status, 0, "%s exited %d\nstdout:\n%s\nstderr:\n%s", what, p->status, p->out, p->err);
    cr_assert(strstr(p->out, want) != NULL, "%s: expected \"%s\" in\n%s", what, want, p->out);
}

/* Run the site-rule program of `triple` (under Wine, or qemu-i386 for Linux i386). */
static void run_site_program(const char *triple, int wine)
{
    char path[1024];
    hpt_proc p;
    snprintf(path, sizeof path, "%s/%s/tests/runtime/portable/hpt_site_rules%s", HPT_CROSS_DIR, triple,
             wine ? ".exe" : "");
    const char *argv[] = {path, NULL};
    cr_assert_eq(wine ? hpt_run_wine(argv, 120, &p) : hpt_run_i386(argv, 120, &p), 0);
    expect_all_cases_passed(&p, argv[0]);
    hpt_proc_free(&p);
}

Test(cross, site_rules_windows_x64_mingw_under_wine)
{
    run_site_program("x86_64-w64-mingw32", 1);
}

Test(cross, site_rules_windows_x64_msvc_freestanding_under_wine)
{
    run_site_program("x86_64-pc-windows-msvc", 1);
}

Test(cross, site_rules_linux_i386_under_qemu)
{
    run_site_program("i386-linux-gnu", 0);
}

/* Machine field of a PE image's COFF header. */
static unsigned pe_machine(const unsigned char *b, size_t n)
{
    if (n < 0x40 || b[0] != 'M' || b[1] != 'Z')
        return 0;
    size_t pe = (size_t)b[0x3C] | (size_t)b[0x3D] << 8 | (size_t)b[0x3E] << 16 | (size_t)b[0x3F] << 24;
    if (pe > n - 6 || memcmp(b + pe, "PE\0\0", 4) != 0)
        return 0;
    return (unsigned)b[pe + 4] | (unsigned)b[pe + 5] << 8;
}

Test(cross, site_rules_windows_x86_is_pe32_i386)
{
    size_t n;
    unsigned char *b = hpt_read_file(HPT_CROSS_DIR "/i686-w64-mingw32/tests/runtime/portable/hpt_site_rules.exe", &n);
    cr_assert(b != NULL, "the i686-w64-mingw32 program was not built");
    cr_expect_eq(pe_machine(b, n), 0x14c, "IMAGE_FILE_MACHINE_I386 expected");
    free(b);
    b = hpt_read_file(HPT_CROSS_DIR "/x86_64-w64-mingw32/tests/runtime/portable/hpt_site_rules.exe", &n);
    cr_assert(b != NULL);
    cr_expect_eq(pe_machine(b, n), 0x8664, "IMAGE_FILE_MACHINE_AMD64 expected");
    free(b);
}

Test(cross, runtime_libraries_built_for_every_target)
{
    static const char *const libs[] = {
        HPT_CROSS_DIR "/x86_64-w64-mingw32/runtime/libhotpatch.a",
        HPT_CROSS_DIR "/x86_64-w64-mingw32/runtime/hotpatch.dll",
        HPT_CROSS_DIR "/i686-w64-mingw32/runtime/libhotpatch.a",
        HPT_CROSS_DIR "/i686-w64-mingw32/runtime/hotpatch.dll",
        HPT_CROSS_DIR "/x86_64-pc-windows-msvc/runtime/hotpatch.lib",
        HPT_CROSS_DIR "/x86_64-pc-windows-msvc/runtime/hotpatch.dll",
        HPT_CROSS_DIR "/i386-linux-gnu/runtime/libhotpatch.a",
        HPT_CROSS_DIR "/i386-linux-gnu/runtime/libhotpatch.so",
    };
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        size_t n = 0;
        unsigned char *b = hpt_read_file(libs[i], &n);
        cr_expect(b != NULL && n > 0, "missing %s", libs[i]);
        free(b);
    }
}
