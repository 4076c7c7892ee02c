/*
 * test_bitcode.c — -flto objects compiled without the plugin, given directly
 * and inside an archive, come out patchable; the user's files are untouched.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hp_link_bitcode.h"
#include "hp_link_rewrite.h"
#include "lpt.h"

static int in_table(const lpt_image *img, uint32_t rva)
{
    uint32_t e[64];
    size_t n = lpt_table_entries(img, e, 64, NULL);
    for (size_t i = 0; i < n; i++)
        if (e[i] == rva)
            return 1;
    return 0;
}

Test(bitcode, lto_object_and_archive_member_become_patchable)
{
    const char *d = hpt_scratch("bitcode_lto");
    const char *T = "x86_64-w64-mingw32";
    const char *mo = lpt_path(d, "lto_main.o"), *lo = lpt_path(d, "lto_obj.o"), *ao = lpt_path(d, "lto_ar.o");
    const char *ar = lpt_path(d, "libltoar.a"), *exe = lpt_path(d, "lto.exe"), *plain = lpt_path(d, "plain.exe");
    lpt_compile(T, lpt_fixture("lto_main.c"), mo, 1, (const char *[]){"-O2", NULL});
    lpt_compile(T, lpt_fixture("lto_obj.c"), lo, 0, (const char *[]){"-O2", "-flto", NULL});
    lpt_compile(T, lpt_fixture("lto_ar.c"), ao, 0, (const char *[]){"-O2", "-flto", NULL});
    hpt_proc p;
    cr_assert_eq(hpt_run((const char *[]){LPT_LLVM_AR, "rcs", ar, ao, NULL}, NULL, 60, &p), 0);
    cr_assert_eq(p.status, 0, "%s", p.err);
    hpt_proc_free(&p);
    uint64_t h_obj = lpt_file_hash(lo), h_ar = lpt_file_hash(ar);

    /* control: plain lld links the bitcode as it is, without table records */
    cr_assert_eq(hpt_cc(T, (const char *[]){"-flto", mo, lo, ar, "-o", plain, NULL}, &p), 0, "%s", p.err);
    hpt_proc_free(&p);
    lpt_image img;
    lpt_image_open(&img, plain);
    cr_assert_neq(lpt_export_rva(&img, "lto_mul"), 0u);
    cr_expect_not(in_table(&img, lpt_export_rva(&img, "lto_mul")));
    cr_expect_not(in_table(&img, lpt_export_rva(&img, "lto_sub")));
    lpt_image_close(&img);

    int st = lpt_link(T, (const char *[]){"-flto", mo, lo, ar, "-o", exe, "-Wl,--hotpatch-verbose", NULL}, &p);
    cr_assert_eq(st, 0, "link failed:\n%s", p.err);
    char want[4400];
    snprintf(want, sizeof want, "bitcode '%s' was compiled without the hotpatch plugin", lo);
    cr_expect(strstr(p.err, want) != NULL, "%s", p.err);
    snprintf(want, sizeof want, "bitcode '%s' was compiled without the hotpatch plugin", ar);
    cr_expect(strstr(p.err, want) != NULL, "%s", p.err);
    hpt_proc_free(&p);

    lpt_image_open(&img, exe);
    uint32_t mul = lpt_export_rva(&img, "lto_mul"), sub = lpt_export_rva(&img, "lto_sub");
    cr_expect(mul && in_table(&img, mul), "lto_mul (0x%x) is not in the table", mul);
    cr_expect(sub && in_table(&img, sub), "lto_sub (0x%x) is not in the table", sub);
    size_t before;
    const uint8_t *e = lpt_bytes(&img, mul, &before);
    cr_expect(e[0] == 0x66 && e[1] == 0x90, "lto_mul does not start with the plugin's 66 90");
    lpt_image_close(&img);

    cr_expect_eq(lpt_file_hash(lo), h_obj, "the user's bitcode object was modified");
    cr_expect_eq(lpt_file_hash(ar), h_ar, "the user's archive was modified");

    cr_assert_eq(hpt_run_wine((const char *[]){exe, NULL}, 120, &p), 0);
    cr_expect_eq(p.status, 17, "exit %d: %s", p.status, p.err); /* 3 * 4 + (7 - 2) */
    hpt_proc_free(&p);
}

Test(bitcode, plugin_bitcode_is_left_alone)
{
    const char *d = hpt_scratch("bitcode_plugin");
    const char *lo = lpt_path(d, "lto_obj.o");
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("lto_obj.c"), lo, 1, (const char *[]){"-O2", "-flto", NULL});
    size_t size = 0;
    unsigned char *data = hpt_read_file(lo, &size);
    cr_assert_not_null(data);
    cr_assert(hp_link_is_bitcode(data, size));
    unsigned char *out = NULL;
    size_t n = 0;
    cr_expect_eq(hp_link_bitcode_rewrite(data, size, lo, 0, &out, &n, NULL, 0), HP_OK);
    cr_expect_null(out, "bitcode compiled with the plugin was rewritten");
    free(data);
}

Test(bitcode, garbage_that_looks_like_bitcode_is_an_error)
{
    const unsigned char bad[] = {'B', 'C', 0xC0, 0xDE, 1, 2, 3, 4, 5, 6, 7, 8};
    unsigned char *out = NULL;
    size_t n = 0;
    char msg[256];
    cr_expect_eq(hp_link_bitcode_rewrite(bad, sizeof bad, "bad.o", 0, &out, &n, msg, sizeof msg),
                 HP_ERR_BITCODE);
    cr_expect(strncmp(msg, "llvm cannot read the bitcode of 'bad.o': ", 41) == 0, "%s", msg);
    cr_expect_null(out);
}

Test(bitcode, archive_found_through_l_becomes_patchable)
{
    const char *d = hpt_scratch("bitcode_lib");
    const char *T = "x86_64-w64-mingw32";
    const char *mo = lpt_path(d, "lto_main.o"), *lo = lpt_path(d, "lto_obj.o"), *ao = lpt_path(d, "lto_ar.o");
    const char *ar = lpt_path(d, "libltoar.a"), *exe = lpt_path(d, "lto.exe");
    lpt_compile(T, lpt_fixture("lto_main.c"), mo, 1, (const char *[]){"-O2", NULL});
    lpt_compile(T, lpt_fixture("lto_obj.c"), lo, 1, (const char *[]){"-O2", "-flto", NULL}); /* with the plugin */
    lpt_compile(T, lpt_fixture("lto_ar.c"), ao, 0, (const char *[]){"-O2", "-flto", NULL});
    hpt_proc p;
    cr_assert_eq(hpt_run((const char *[]){LPT_LLVM_AR, "rcs", ar, ao, NULL}, NULL, 60, &p), 0);
    cr_assert_eq(p.status, 0, "%s", p.err);
    hpt_proc_free(&p);
    uint64_t h_ar = lpt_file_hash(ar);
    char ldir[4200];
    snprintf(ldir, sizeof ldir, "-L%s", d);
    int st = lpt_link(T, (const char *[]){"-flto", mo, lo, ldir, "-lltoar", "-o", exe, "-Wl,--hotpatch-verbose", NULL},
                      &p);
    cr_assert_eq(st, 0, "link failed:\n%s", p.err);
    cr_expect(strstr(p.err, "bitcode '-lltoar' was compiled without the hotpatch plugin") != NULL, "%s", p.err);
    char want[4400];
    snprintf(want, sizeof want, "bitcode '%s'", lo);
    cr_expect(strstr(p.err, want) == NULL, "bitcode compiled with the plugin was rewritten:\n%s", p.err);
    hpt_proc_free(&p);
    lpt_image img;
    lpt_image_open(&img, exe);
    uint32_t mul = lpt_export_rva(&img, "lto_mul"), sub = lpt_export_rva(&img, "lto_sub");
    cr_expect(mul && in_table(&img, mul), "lto_mul (0x%x) is not in the table", mul);
    cr_expect(sub && in_table(&img, sub), "lto_sub (0x%x) is not in the table", sub);
    lpt_image_close(&img);
    cr_expect_eq(lpt_file_hash(ar), h_ar, "the user's archive was modified");
}

/* Archives found to hold no bitcode are remembered (--hotpatch-cache): the next link does not read
   them again; an archive replaced by one with LLVM bitcode in it is read, and its bitcode rewritten. */
Test(bitcode, archives_without_bitcode_are_remembered_until_they_change)
{
    const char *d = hpt_scratch("bitcode_cache");
    const char *T = "x86_64-w64-mingw32";
    const char *mo = lpt_path(d, "lto_main.o"), *lo = lpt_path(d, "lto_obj.o"), *po = lpt_path(d, "plain_ar.o");
    const char *bo = lpt_path(d, "lto_ar.o"), *ar = lpt_path(d, "libltoar.a"), *exe = lpt_path(d, "lto.exe");
    const char *cache = lpt_path(d, "cache");
    lpt_compile(T, lpt_fixture("lto_main.c"), mo, 1, (const char *[]){"-O2", NULL});
    lpt_compile(T, lpt_fixture("lto_obj.c"), lo, 1, (const char *[]){"-O2", NULL});
    lpt_compile(T, lpt_fixture("lto_ar.c"), po, 1, (const char *[]){"-O2", NULL}); /* machine code */
    lpt_compile(T, lpt_fixture("lto_ar.c"), bo, 0, (const char *[]){"-O2", "-flto", NULL}); /* bitcode */
    hpt_proc p;
    cr_assert_eq(hpt_run((const char *[]){LPT_LLVM_AR, "rcs", ar, po, NULL}, NULL, 60, &p), 0);
    cr_assert_eq(p.status, 0, "%s", p.err);
    hpt_proc_free(&p);
    char ldir[4200], opt[4300];
    snprintf(ldir, sizeof ldir, "-L%s", d);
    snprintf(opt, sizeof opt, "-Wl,--hotpatch-cache=%s", cache);
    const char *args[] = {"-flto", mo, lo, ldir, "-lltoar", "-o", exe, opt, "-Wl,--hotpatch-verbose", NULL};

    /* 1. every archive read (ours and the system's), and remembered */
    cr_assert_eq(lpt_link(T, args, &p), 0, "link failed:\n%s", p.err);
    unsigned read1 = 0, known1 = 0;
    const char *line = strstr(p.err, "archives read for bitcode: ");
    cr_assert_not_null(line, "%s", p.err);
    cr_assert_eq(sscanf(line, "archives read for bitcode: %u; known to hold none (cache %*[^)]): %u", &read1, &known1),
                 2, "%s", line);
    cr_expect_geq(read1, 1u);
    cr_expect_eq(known1, 0u, "a fresh cache knew archives:\n%s", p.err);
    hpt_proc_free(&p);

    /* 2. none read again */
    cr_assert_eq(lpt_link(T, args, &p), 0, "link failed:\n%s", p.err);
    unsigned read2 = 9, known2 = 0;
    line = strstr(p.err, "archives read for bitcode: ");
    cr_assert_not_null(line, "%s", p.err);
    cr_assert_eq(sscanf(line, "archives read for bitcode: %u; known to hold none (cache %*[^)]): %u", &read2, &known2),
                 2, "%s", line);
    cr_expect_eq(read2, 0u, "archives read again:\n%s", p.err);
    cr_expect_eq(known2, read1);
    hpt_proc_free(&p);

    /* 3. the archive replaced by one holding bitcode compiled without the plugin: read, and rewritten */
    cr_assert_eq(remove(ar), 0);
    cr_assert_eq(hpt_run((const char *[]){LPT_LLVM_AR, "rcs", ar, bo, NULL}, NULL, 60, &p), 0);
    cr_assert_eq(p.status, 0, "%s", p.err);
    hpt_proc_free(&p);
    cr_assert_eq(lpt_link(T, args, &p), 0, "link failed:\n%s", p.err);
    cr_expect(strstr(p.err, "bitcode '-lltoar' was compiled without the hotpatch plugin") != NULL,
              "the changed archive was taken from the cache:\n%s", p.err);
    cr_expect(strstr(p.err, "archives read for bitcode: 1;") != NULL, "%s", p.err);
    hpt_proc_free(&p);
    lpt_image img;
    lpt_image_open(&img, exe);
    uint32_t mul = lpt_export_rva(&img, "lto_mul");
    cr_expect(mul && in_table(&img, mul), "lto_mul (0x%x) is not in the table", mul);
    lpt_image_close(&img);

    /* 4. with --hotpatch-cache=none every archive is read and nothing is written */
    const char *cache2 = lpt_path(d, "cache2");
    char opt2[4300];
    snprintf(opt2, sizeof opt2, "-Wl,--hotpatch-cache=none");
    const char *args2[] = {"-flto", mo, lo, ldir, "-lltoar", "-o", exe, opt2, "-Wl,--hotpatch-verbose", NULL};
    setenv("XDG_CACHE_HOME", cache2, 1);
    cr_assert_eq(lpt_link(T, args2, &p), 0, "link failed:\n%s", p.err);
    unsetenv("XDG_CACHE_HOME");
    cr_expect(strstr(p.err, "(cache none): 0") != NULL, "%s", p.err);
    struct stat st;
    cr_expect_neq(stat(cache2, &st), 0, "--hotpatch-cache=none wrote a cache");
    hpt_proc_free(&p);
}
