/*
 * test_link.c — hotpatch-link end to end: fixtures compiled at test time for
 * x64 and x86, MinGW and MSVC ABI, linked through the driver, checked with the
 * audit CLI and the runtime's PE view, and run under Wine (x64).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_link_post.h"
#include "lpt.h"
#include "lpt_json.h"

/* hotpatch-audit on `image`: exit 0 and every export patchable. */
static void audit_passes(const char *image, const char *exports)
{
    const char *argv[] = {LPT_AUDIT, image, NULL};
    hpt_proc p;
    cr_assert_eq(hpt_run(argv, NULL, 120, &p), 0);
    cr_expect_eq(p.status, 0, "audit of %s failed:\n%s%s", image, p.out, p.err);
    char want[64];
    snprintf(want, sizeof want, "exports %s patchable (100.0%%)", exports);
    cr_expect(strstr(p.out, want) != NULL, "audit of %s: expected '%s' in:\n%s", image, want, p.out);
    hpt_proc_free(&p);
}

/* The plugin's padding before every table entry is int3 after the pass, and the checksum is the file's. */
static void filled_and_summed(const char *image, size_t expect_entries)
{
    lpt_image img;
    lpt_image_open(&img, image);
    uint32_t e[64];
    uint8_t pads[64];
    size_t n = lpt_table_entries(&img, e, 64, pads);
    cr_expect_eq(n, expect_entries, "%s: %zu table entries, expected %zu", image, n, expect_entries);
    for (size_t i = 0; i < n; i++) {
        size_t before;
        const uint8_t *p = lpt_bytes(&img, e[i], &before);
        cr_assert_geq(before, pads[i]);
        for (size_t k = 1; k <= pads[i]; k++)
            cr_expect_eq(p[-(ptrdiff_t)k], 0xCC, "%s: byte %zu before entry 0x%x is 0x%02x, not int3", image, k, e[i],
                         p[-(ptrdiff_t)k]);
    }
    size_t off = img.pe.nt_offset + 4 + 20 + 64;
    cr_expect_eq(img.pe.checksum, hp_link_pe_checksum(img.data, img.size, off), "%s: stale checksum", image);
    cr_expect_neq(img.pe.checksum, 0u);
    lpt_image_close(&img);
}

/* The number in "N padding bytes 0x90 -> 0xCC" of --hotpatch-verbose. */
static unsigned filled_count(const char *err)
{
    unsigned filled = 0;
    const char *at = strstr(err, " padding bytes 0x90 -> 0xCC");
    cr_assert_not_null(at, "%s", err);
    while (at > err && at[-1] >= '0' && at[-1] <= '9')
        at--;
    cr_assert_eq(sscanf(at, "%u", &filled), 1);
    return filled;
}

/* The plugin writes int3 padding itself: the pass rewrites nothing (with CET too: only the entry NOP
   moves behind endbr). Bitcode padded the way earlier plugins did (CC 90 90 .., all 90) gets its NOPs
   turned into int3 and the checksum recomputed over the rewritten image. */
Test(link, padding_rewritten_only_where_it_is_nops)
{
    const char *d = hpt_scratch("link_fill");
    const char *flags[2][3] = {{"-O2", NULL, NULL}, {"-O2", "-fcf-protection=branch", NULL}};
    for (int cet = 0; cet < 2; cet++) {
        char obj[4200], exe[4200];
        snprintf(obj, sizeof obj, "%s/prog%d.o", d, cet);
        snprintf(exe, sizeof exe, "%s/prog%d.exe", d, cet);
        lpt_compile("x86_64-w64-mingw32", lpt_fixture("prog.c"), obj, 1, flags[cet]);
        hpt_proc p;
        int st = lpt_link("x86_64-w64-mingw32", (const char *[]){obj, "-o", exe, "-Wl,--hotpatch-verbose", NULL}, &p);
        cr_assert_eq(st, 0, "link failed:\n%s", p.err);
        cr_expect_eq(filled_count(p.err), 0u, "the plugin's own padding is int3 already:\n%s", p.err);
        hpt_proc_free(&p);
        filled_and_summed(exe, 5);
    }
    const char *bc = lpt_path(d, "oldpad.o"), *dll = lpt_path(d, "oldpad.dll");
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("oldpad.ll"), bc, 0, (const char *[]){"-O2", "-flto", NULL});
    hpt_proc p;
    int st = lpt_link("x86_64-w64-mingw32",
                      (const char *[]){"-flto", "-shared", bc, "-o", dll, "-Wl,--hotpatch-verbose", NULL}, &p);
    cr_assert_eq(st, 0, "link failed:\n%s", p.err);
    cr_expect_eq(filled_count(p.err), 11u, "CC+5 NOPs and 6 NOPs rewritten:\n%s", p.err);
    hpt_proc_free(&p);
    filled_and_summed(dll, 2);
}

Test(link, mingw_x64_program_is_patchable_and_runs_under_wine)
{
    const char *d = hpt_scratch("link_mingw_x64");
    const char *obj = lpt_path(d, "prog.o"), *exe = lpt_path(d, "prog.exe");
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("prog.c"), obj, 1, (const char *[]){"-O2", NULL});
    hpt_proc p;
    int st = lpt_link("x86_64-w64-mingw32", (const char *[]){obj, "-o", exe, NULL}, &p);
    cr_assert_eq(st, 0, "link failed:\n%s", p.err);
    hpt_proc_free(&p);
    audit_passes(exe, "2/2");
    filled_and_summed(exe, 5); /* add1, twice, mix, main, and printf: MinGW's stdio.h defines it inline */
    /* the map names static functions too: MinGW images keep their symbols */
    size_t msize = 0;
    char map[4200];
    snprintf(map, sizeof map, "%s.hpmap", exe);
    char *text = (char *)hpt_read_file(map, &msize);
    cr_assert_not_null(text);
    lj *parsed = lj_parse(text, msize);
    cr_assert_not_null(parsed, "the map is not JSON:\n%s", text);
    const lj *fns = lj_get(parsed, "functions");
    cr_assert(fns && fns->type == LJ_ARR);
    const char *names[] = {"add1", "twice", "mix", "main", "printf"};
    for (size_t i = 0; i < 5; i++) {
        /* once in "functions" (maps since version 2 name them again in "symbols") */
        size_t seen = 0;
        for (size_t k = 0; k < fns->count; k++) {
            const lj *n = lj_col(parsed, "function_fields", lj_at(fns, k), "name");
            seen += n && n->type == LJ_STR && strcmp(n->str, names[i]) == 0;
        }
        cr_expect_eq(seen, 1, "%s once in the map's functions:\n%s", names[i], text);
    }
    lj_free(parsed);
    free(text);
    cr_assert_eq(hpt_run_wine((const char *[]){exe, NULL}, 120, &p), 0);
    cr_expect(strncmp(p.out, "add1=21 twice=40 mix=23", 23) == 0 && strspn(p.out + 23, "\r\n") == p.out_len - 23,
              "stdout: %s", p.out);
    cr_expect_eq(p.status, 84);
    hpt_proc_free(&p);
}

Test(link, mingw_x86_program_is_patchable)
{
    const char *d = hpt_scratch("link_mingw_x86");
    const char *obj = lpt_path(d, "prog.o"), *exe = lpt_path(d, "prog.exe");
    lpt_compile("i686-w64-mingw32", lpt_fixture("prog.c"), obj, 1, (const char *[]){"-O2", NULL});
    hpt_proc p;
    int st = lpt_link("i686-w64-mingw32", (const char *[]){obj, "-o", exe, NULL}, &p);
    cr_assert_eq(st, 0, "link failed:\n%s", p.err);
    hpt_proc_free(&p);
    audit_passes(exe, "2/2");
    filled_and_summed(exe, 5); /* as on x64 */
    lpt_image img;
    lpt_image_open(&img, exe);
    cr_expect_eq(img.pe.coff_machine, HP_PE_MACHINE_I386);
    lpt_image_close(&img);
}

Test(link, msvc_x64_freestanding_program_runs_under_wine)
{
    const char *d = hpt_scratch("link_msvc_x64");
    const char *obj = lpt_path(d, "f.obj"), *exe = lpt_path(d, "f.exe"), *lib = lpt_path(d, "kernel32.lib");
    hpt_proc p;
    const char *dt[] = {HPT_LLVM_DLLTOOL, "-m", "i386:x86-64", "-d", HPT_KERNEL32_DEF, "-l", lib, NULL};
    cr_assert_eq(hpt_run(dt, NULL, 60, &p), 0);
    cr_assert_eq(p.status, 0, "llvm-dlltool: %s", p.err);
    hpt_proc_free(&p);
    lpt_compile("x86_64-pc-windows-msvc", lpt_fixture("freestanding.c"), obj, 1, (const char *[]){"-O2", NULL});
    int st = lpt_link("x86_64-pc-windows-msvc",
                      (const char *[]){obj, lib, "-o", exe, "-Wl,/entry:mainCRTStartup", "-Wl,/subsystem:console", NULL},
                      &p);
    cr_assert_eq(st, 0, "link failed:\n%s", p.err);
    hpt_proc_free(&p);
    audit_passes(exe, "2/2");
    filled_and_summed(exe, 3); /* add1, twice, mainCRTStartup */
    cr_assert_eq(hpt_run_wine((const char *[]){exe, NULL}, 120, &p), 0);
    cr_expect_eq(p.status, 61, "exit %d, stderr %s", p.status, p.err);
    hpt_proc_free(&p);
}

Test(link, msvc_x86_dll_is_patchable)
{
    const char *d = hpt_scratch("link_msvc_x86");
    const char *obj = lpt_path(d, "dll.obj"), *dll = lpt_path(d, "x86.dll");
    lpt_compile("i686-pc-windows-msvc", lpt_fixture("dll.c"), obj, 1, (const char *[]){"-O2", NULL});
    hpt_proc p;
    int st = lpt_link("i686-pc-windows-msvc", (const char *[]){"-shared", obj, "-o", dll, NULL}, &p);
    cr_assert_eq(st, 0, "link failed:\n%s", p.err);
    hpt_proc_free(&p);
    audit_passes(dll, "2/2");
    filled_and_summed(dll, 3);
}

/* clang's own hotpatch route (-fms-hotpatch, CodeView, one section per function, lld's /functionpadmin)
   makes patchable functions that lld's ICF folds; through hotpatch-link they stay apart. */
Test(link, icf_request_is_ignored_with_a_warning)
{
    const char *d = hpt_scratch("link_icf");
    const char *obj = lpt_path(d, "icf.obj"), *plain = lpt_path(d, "plain.dll"), *dll = lpt_path(d, "icf.dll");
    lpt_compile("x86_64-pc-windows-msvc", lpt_fixture("icf.c"), obj, 0,
                (const char *[]){"-O2", "-fms-hotpatch", "-g", "-gcodeview", "-ffunction-sections", NULL});
    hpt_proc p;
    /* control: plain lld folds them */
    int st = hpt_cc("x86_64-pc-windows-msvc",
                    (const char *[]){"-shared", obj, "-o", plain, "-Wl,/opt:icf", "-Wl,/functionpadmin", NULL}, &p);
    cr_assert_eq(st, 0, "%s", p.err);
    hpt_proc_free(&p);
    lpt_image img;
    lpt_image_open(&img, plain);
    cr_assert_eq(lpt_export_rva(&img, "same_a"), lpt_export_rva(&img, "same_b"), "the fixture no longer folds");
    lpt_image_close(&img);
    /* the post-link pass calls that an error */
    hp_link_post *post = NULL;
    cr_assert_eq(hp_link_post_run(plain, NULL, &post, NULL, 0), HP_OK);
    int folded = 0;
    for (size_t i = 0; i < post->violation_count; i++)
        folded += strcmp(post->violations[i].reason, "folded-exports") == 0 &&
                  strstr(post->violations[i].message, "same_a") &&
                  strstr(post->violations[i].message, "same_b");
    cr_expect_eq(folded, 1);
    hp_link_post_destroy(post);

    st = lpt_link("x86_64-pc-windows-msvc", (const char *[]){"-shared", obj, "-o", dll, "-Xlinker", "/opt:ref,icf", NULL}, &p);
    cr_assert_eq(st, 0, "link failed:\n%s", p.err);
    cr_expect(strstr(p.err, "warning: ignoring '/opt:ref,icf': identical-code folding would merge patchable "
                            "functions") != NULL,
              "stderr: %s", p.err);
    hpt_proc_free(&p);
    lpt_image_open(&img, dll);
    uint32_t a = lpt_export_rva(&img, "same_a"), b = lpt_export_rva(&img, "same_b");
    cr_expect(a && b && a != b, "same_a 0x%x same_b 0x%x", a, b);
    lpt_image_close(&img);
    audit_passes(dll, "2/2");
}

Test(link, mingw_icf_request_is_ignored_with_a_warning)
{
    const char *d = hpt_scratch("link_icf_mingw");
    const char *obj = lpt_path(d, "icf.o"), *dll = lpt_path(d, "icf.dll");
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("icf.c"), obj, 1, (const char *[]){"-O2", NULL});
    hpt_proc p;
    int st = lpt_link("x86_64-w64-mingw32", (const char *[]){"-shared", obj, "-o", dll, "-Wl,--icf=all", NULL}, &p);
    cr_assert_eq(st, 0, "link failed:\n%s", p.err);
    cr_expect(strstr(p.err, "warning: ignoring '--icf=all'") != NULL, "stderr: %s", p.err);
    hpt_proc_free(&p);
    lpt_image img;
    lpt_image_open(&img, dll);
    cr_expect_neq(lpt_export_rva(&img, "same_a"), lpt_export_rva(&img, "same_b"));
    lpt_image_close(&img);
}

static void link_plain(const char *dir, const char *extra, hpt_proc *p, int *status, const char **exe)
{
    const char *po = lpt_path(dir, "plain.o"), *uo = lpt_path(dir, "uses_plain.o");
    *exe = lpt_path(dir, "up.exe");
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("plain.c"), po, 0, (const char *[]){"-O0", NULL});
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("uses_plain.c"), uo, 1, (const char *[]){"-O2", NULL});
    *status = lpt_link("x86_64-w64-mingw32", (const char *[]){uo, po, "-o", *exe, extra, NULL}, p);
}

Test(link, unpatchable_object_fails_the_link_naming_functions_and_object)
{
    const char *d = hpt_scratch("link_unpatchable");
    hpt_proc p;
    int st;
    const char *exe;
    link_plain(d, NULL, &p, &st, &exe);
    cr_expect_neq(st, 0);
    char want[4200];
    for (int k = 0; k < 2; k++) {
        snprintf(want, sizeof want, "error: %s: '%s' at 0x", exe, k ? "plain_b" : "plain_a");
        cr_expect(strstr(p.err, want) != NULL, "missing '%s' in:\n%s", want, p.err);
    }
    snprintf(want, sizeof want, "(from %s/plain.o) is not hotpatchable: entry-short", d);
    cr_expect_eq(lpt_count(p.err, want), 2, "'%s' twice in:\n%s", want, p.err);
    cr_expect(strstr(p.err, "was removed") != NULL);
    cr_expect_neq(access(exe, F_OK), 0, "the image was kept");
    hpt_proc_free(&p);
}

Test(link, warn_only_keeps_the_image_with_the_same_findings)
{
    const char *d = hpt_scratch("link_warn_only");
    hpt_proc p;
    int st;
    const char *exe;
    link_plain(d, "-Wl,--hotpatch-warn-only", &p, &st, &exe);
    cr_expect_eq(st, 0, "%s", p.err);
    char want[4200];
    snprintf(want, sizeof want, "(from %s/plain.o) is not hotpatchable: entry-short", d);
    cr_expect_eq(lpt_count(p.err, want), 2, "'%s' twice in:\n%s", want, p.err);
    cr_expect_eq(lpt_count(p.err, "warning: "), 2, "%s", p.err);
    cr_expect_eq(lpt_count(p.err, "error: "), 0, "%s", p.err);
    cr_expect_eq(access(exe, F_OK), 0, "the image was removed");
    hpt_proc_free(&p);
}

Test(link, unpatchable_archive_member_is_named_with_its_archive)
{
    const char *d = hpt_scratch("link_unpatchable_ar");
    const char *po = lpt_path(d, "plain.o"), *uo = lpt_path(d, "uses_plain.o"), *ar = lpt_path(d, "libplain.a");
    const char *exe = lpt_path(d, "up.exe");
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("plain.c"), po, 0, (const char *[]){"-O0", NULL});
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("uses_plain.c"), uo, 1, (const char *[]){"-O2", NULL});
    hpt_proc p;
    cr_assert_eq(hpt_run((const char *[]){LPT_LLVM_AR, "rcs", ar, po, NULL}, NULL, 60, &p), 0);
    cr_assert_eq(p.status, 0, "%s", p.err);
    hpt_proc_free(&p);
    int st = lpt_link("x86_64-w64-mingw32", (const char *[]){uo, ar, "-o", exe, NULL}, &p);
    cr_expect_neq(st, 0);
    char want[4200];
    snprintf(want, sizeof want, "(from %s(plain.o)) is not hotpatchable: entry-short", ar);
    cr_expect_eq(lpt_count(p.err, want), 2, "'%s' twice in:\n%s", want, p.err);
    hpt_proc_free(&p);
}

Test(link, checksum_matches_lld_release)
{
    /* lld's own /release checksum of an image is what hp_link_pe_checksum computes for it */
    const char *d = hpt_scratch("link_checksum");
    const char *obj = lpt_path(d, "prog.o"), *exe = lpt_path(d, "prog.exe");
    lpt_compile("x86_64-w64-mingw32", lpt_fixture("prog.c"), obj, 1, (const char *[]){"-O2", NULL});
    hpt_proc p;
    cr_assert_eq(hpt_cc("x86_64-w64-mingw32", (const char *[]){obj, "-o", exe, "-Wl,-Xlink=/release", NULL}, &p), 0,
                 "%s", p.err);
    hpt_proc_free(&p);
    lpt_image img;
    lpt_image_open(&img, exe);
    cr_assert_neq(img.pe.checksum, 0u);
    cr_expect_eq(hp_link_pe_checksum(img.data, img.size, img.pe.nt_offset + 4 + 20 + 64), img.pe.checksum);
    lpt_image_close(&img);

    /* hotpatch-link leaves /release out and writes the checksum itself: its image is the one lld makes
       of the same objects with the same settings and /release, byte for byte (x64, and x86 where the
       optional header is PE32) */
    const char *const triples[] = {"x86_64-w64-mingw32", "i686-w64-mingw32"};
    for (size_t t = 0; t < 2; t++) {
        const char *hobj = lpt_path(d, t ? "hot32.o" : "hot.o"), *hot = lpt_path(d, t ? "hot32.exe" : "hot.exe");
        const char *ref = lpt_path(d, t ? "ref32.exe" : "ref.exe");
        lpt_compile(triples[t], lpt_fixture("prog.c"), hobj, 1, (const char *[]){"-O2", NULL});
        /* lld's link first, under the same output name (the image holds its own name), then moved aside;
           both without a time stamp (two links a second apart would differ in it, and so in the checksum) */
        cr_assert_eq(hpt_cc(triples[t],
                            (const char *[]){hobj, "-o", hot, "-Wl,-Xlink=/functionpadmin", "-Wl,--icf=none",
                                             "-Wl,-Xlink=/opt:noicf", "-Wl,-Xlink=/release", "-Wl,--no-insert-timestamp",
                                             NULL},
                            &p),
                     0, "%s", p.err);
        hpt_proc_free(&p);
        cr_assert_eq(rename(hot, ref), 0);
        cr_assert_eq(lpt_link(triples[t],
                              (const char *[]){hobj, "-o", hot, "-Wl,--hotpatch-map=none", "-Wl,--no-insert-timestamp",
                                               NULL},
                              &p),
                     0, "%s", p.err);
        hpt_proc_free(&p);
        lpt_image_open(&img, hot);
        cr_expect_neq(img.pe.checksum, 0u, "%s: no checksum", hot);
        lpt_image_close(&img);
        cr_expect_eq(lpt_file_hash(hot), lpt_file_hash(ref), "%s differs from lld's /release link %s", hot, ref);
    }
}
