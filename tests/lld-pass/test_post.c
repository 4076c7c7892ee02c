/*
 * test_post.c — the post-link pass on images it did not expect: truncated
 * files, table records pointing outside the code, malformed archives. It
 * must answer with a status or a finding, never crash (the suite runs under
 * ASan+UBSan). And the units and symbols it reads with the audit's walk of the
 * symbol table are those a walk of its own reads. The padding is filled as the
 * audit reads the table, and the image is written only when the audit
 * finished; the function list can be given back once the map is written.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotpatch_fix.h"
#include "hp_link_objfind.h"
#include "hp_link_post.h"
#include "hp_link_units.h"
#include "lpt.h"

static const char *linked_image(const char *dir)
{
    const char *obj = lpt_path(dir, "dll.obj"), *dll = lpt_path(dir, "x.dll");
    lpt_compile("x86_64-pc-windows-msvc", lpt_fixture("dll.c"), obj, 1, (const char *[]){"-O2", NULL});
    hpt_proc p;
    cr_assert_eq(lpt_link("x86_64-pc-windows-msvc", (const char *[]){"-shared", obj, "-o", dll, NULL}, &p), 0, "%s",
                 p.err);
    hpt_proc_free(&p);
    return dll;
}

static void write_bytes(const char *path, const unsigned char *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(d, 1, n, f), n);
    fclose(f);
}

/* The image's section `name`, asserted present; its index in *index when index is not NULL. */
static hp_pe_section section_named(const lpt_image *img, const char *name, uint32_t *index)
{
    hp_pe_section s;
    memset(&s, 0, sizeof s);
    uint32_t i = 0;
    for (; i < img->pe.section_count; i++) {
        cr_assert_eq(hp_pe_section_at(&img->pe, i, &s), HP_OK);
        if (strcmp(s.name, name) == 0)
            break;
    }
    cr_assert_lt(i, img->pe.section_count, "the image has a %s section", name);
    if (index)
        *index = i;
    return s;
}

/* The bytes of `img` (changed by the caller) as the file `name` in `dir`; the image is closed. */
static const char *write_image(const char *dir, const char *name, lpt_image *img)
{
    const char *path = lpt_path(dir, name);
    write_bytes(path, img->data, img->size);
    lpt_image_close(img);
    return path;
}

/* fn's hash is hp_fix_hash of its hash_len bytes in `img` (the file as the pass left it). */
static void expect_hash_of_bytes(const lpt_image *img, const hp_link_fn *fn)
{
    size_t before;
    const uint8_t *b = lpt_bytes(img, fn->rva, &before);
    cr_assert_not_null(b, "%s at 0x%x", fn->name ? fn->name : "?", fn->rva);
    cr_expect_eq(fn->hash, hp_fix_hash(b, fn->hash_len), "%s at 0x%x, %u bytes", fn->name ? fn->name : "?", fn->rva,
                 fn->hash_len);
}

Test(post, truncated_images_are_refused_or_checked_never_crash)
{
    const char *d = hpt_scratch("post_truncated");
    const char *dll = linked_image(d);
    size_t size = 0;
    unsigned char *img = hpt_read_file(dll, &size);
    cr_assert_not_null(img);
    const char *cut = lpt_path(d, "cut.dll");
    size_t refused = 0;
    for (size_t n = 0; n < size; n += n < 1024 ? 7 : 509) {
        write_bytes(cut, img, n);
        hp_link_post *post = NULL;
        char msg[256];
        hp_status st = hp_link_post_run(cut, NULL, &post, msg, sizeof msg);
        cr_expect(st == HP_OK || st == HP_ERR_FORMAT, "%zu bytes: %s", n, hp_status_str(st));
        refused += st == HP_ERR_FORMAT;
        hp_link_post_destroy(post);
    }
    cr_expect_gt(refused, 0u); /* at least the cuts inside the headers */
    free(img);
}

Test(post, table_records_outside_the_code_are_findings)
{
    const char *d = hpt_scratch("post_bad_table");
    const char *dll = linked_image(d);
    lpt_image img;
    lpt_image_open(&img, dll);
    /* point every entry far away (each to a different place, also in a run or a block): each
       becomes a finding, none is followed */
    size_t n = 0;
    hp_pe_section s = section_named(&img, ".hotp", NULL);
    for (uint32_t off = 0; off + 8 <= s.virtual_size && off + 8 <= s.raw_size; off += 8) {
        unsigned char *rec = img.data + s.raw_offset + off;
        if ((rec[0] | rec[1] | rec[2] | rec[3]) && (rec[5] & HP_TABLE_F_RVA_BLOCK)) {
            /* a block: its entries are RVAs; each moves to 1 GiB + its own offset */
            uint32_t count = (uint32_t)rec[0] | (uint32_t)rec[1] << 8;
            for (uint32_t j = 0; j < count; j++) {
                uint32_t at = off + 8 + 4 * j, rva = 0x40000000u + at;
                cr_assert_leq(at + 4, s.raw_size);
                memcpy(img.data + s.raw_offset + at, &rva, 4); /* little-endian host */
                n++;
            }
            off += 4 * (count + (count & 1));
        } else if (rec[0] | rec[1] | rec[2] | rec[3]) {
            rec[0] = (unsigned char)(off & 0xFF);
            rec[1] = (unsigned char)(off >> 8);
            rec[2] = 0x00;
            rec[3] = 0x40; /* +1 GiB + this record's offset */
            n++;
        }
    }
    cr_assert_eq(n, 3u, "dll.c defines add1, twice and the entry point");
    const char *bad = write_image(d, "bad.dll", &img);
    hp_link_post *post = NULL;
    cr_assert_eq(hp_link_post_run(bad, NULL, &post, NULL, 0), HP_OK);
    size_t outside = 0;
    for (size_t i = 0; i < post->violation_count; i++)
        outside += strcmp(post->violations[i].reason, "table-entry-not-code") == 0;
    cr_expect_eq(outside, 3u);
    hp_link_post_destroy(post);
}

/* A DLL linked into dir and opened as *img: the file offset of its first table entry, and the entry's
   padding in *pad. */
static uint32_t first_entry(const char *dir, lpt_image *img, uint8_t *pad)
{
    lpt_image_open(img, linked_image(dir));
    uint32_t e[8];
    uint8_t pads[8];
    cr_assert_gt(lpt_table_entries(img, e, 8, pads), 0u);
    uint32_t off = 0;
    cr_assert_eq(hp_pe_rva_to_offset(&img->pe, e[0], &off, NULL), HP_OK);
    cr_assert_geq(off, pads[0]);
    *pad = pads[0];
    return off;
}

/* The plugin's padding before a table entry turned back into NOPs (as older plugins and LTO bitcode
   under the policy leave it) and the table damaged after that entry: the audit reads the entry (the
   fill would rewrite it), then fails on the damage. The pass reports the audit's error and writes
   nothing: no fill, no checksum, the file as lld left it. */
Test(post, a_damaged_table_fails_and_nothing_is_written)
{
    const char *d = hpt_scratch("post_damaged_table");
    lpt_image img;
    uint8_t pad = 0;
    uint32_t off = first_entry(d, &img, &pad);
    memset(img.data + off - pad, 0x90, pad);
    const char *nops = lpt_path(d, "nops.dll");
    write_bytes(nops, img.data, img.size);
    /* the table's last record (the end marker) made an in-run record without its run start */
    hp_pe_section s = section_named(&img, ".hotp", NULL);
    uint32_t size = s.virtual_size < s.raw_size ? s.virtual_size : s.raw_size;
    unsigned char *rec = img.data + s.raw_offset + (size & ~7u) - 8;
    cr_assert_eq(rec[0] | rec[1] | rec[2] | rec[3], 0, "the table ends with its marker");
    rec[0] = 8;
    rec[5] = HP_TABLE_F_IN_RUN;
    const char *bad = lpt_path(d, "damaged.dll");
    write_bytes(bad, img.data, img.size);
    hp_link_post *post = NULL;
    char msg[256] = "";
    cr_assert_eq(hp_link_post_run(bad, NULL, &post, msg, sizeof msg), HP_ERR_FORMAT, "%s", msg);
    cr_expect_null(post);
    cr_expect(strstr(msg, "damaged.dll") && strstr(msg, "table"), "the message names the file and the table: %s", msg);
    size_t after_size = 0;
    unsigned char *after = hpt_read_file(bad, &after_size);
    cr_assert_not_null(after);
    cr_expect(after_size == img.size && memcmp(after, img.data, img.size) == 0,
              "the image was written although the audit failed");
    free(after);
    lpt_image_close(&img);
    /* the same NOPs with the table whole: filled as the audit reads the table, the image written */
    cr_assert_eq(hp_link_post_run(nops, NULL, &post, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect_eq(post->filled, pad);
    cr_expect(post->rewritten);
    cr_expect_eq(post->violation_count, 0u, "filled padding is padding");
    hp_link_post_destroy(post);
    lpt_image_open(&img, nops);
    for (uint32_t k = 1; k <= pad; k++)
        cr_expect_eq(img.data[off - k], 0xCC, "byte %u before the entry", k);
    cr_expect_eq(img.pe.checksum, hp_link_pe_checksum(img.data, img.size, img.pe.nt_offset + 4 + 20 + 64));
    lpt_image_close(&img);
}

/* hp_link_post_release_functions: the list is gone, the rest of the result (violations and their
   strings, which share a block with the functions' names) stays whole. */
Test(post, functions_released_the_rest_stays)
{
    const char *d = hpt_scratch("post_release");
    lpt_image img;
    uint8_t pad = 0;
    uint32_t off = first_entry(d, &img, &pad);
    img.data[off - 1] = 0xC3; /* one finding to keep: the first entry's padding not filler (code) */
    const char *bad = write_image(d, "finding.dll", &img);
    hp_link_post *post = NULL;
    char msg[256] = "";
    cr_assert_eq(hp_link_post_run(bad, NULL, &post, msg, sizeof msg), HP_OK, "%s", msg);
    cr_assert_gt(post->fn_count, 0u);
    cr_assert_gt(post->violation_count, 0u, "the damaged padding is a finding");
    char fn[256], reason[64];
    snprintf(fn, sizeof fn, "%s", post->violations[0].function);
    snprintf(reason, sizeof reason, "%s", post->violations[0].reason);
    hp_link_post_release_functions(post);
    cr_expect_null(post->fns);
    cr_expect_eq(post->fn_count, 0u);
    cr_assert_gt(post->violation_count, 0u);
    cr_expect_str_eq(post->violations[0].function, fn);
    cr_expect_str_eq(post->violations[0].reason, reason);
    hp_link_post_release_functions(post); /* twice: nothing left to free */
    hp_link_post_release_functions(NULL);
    hp_link_post_destroy(post);
}

/* A DLL of 41 functions of very different lengths (one-line ones, long switch and loop bodies). */
static const char *sizes_image(const char *d)
{
    const char *src = lpt_path(d, "sizes.c"), *obj = lpt_path(d, "sizes.obj"), *dll = lpt_path(d, "sizes.dll");
    FILE *f = fopen(src, "w");
    cr_assert_not_null(f);
    fprintf(f, "volatile int sink;\nint __stdcall _DllMainCRTStartup(void *m, unsigned r, void *p) { return 1; }\n");
    for (int i = 0; i < 41; i++) {
        /* every seventh function long: a switch of i * 3 cases, a loop; the others a line or two */
        fprintf(f, "__declspec(dllexport) int f%d(int x) {\n", i);
        if (i % 7 == 3) {
            fprintf(f, "  int s = 0;\n  for (int k = 0; k < x; k++) {\n    switch ((k * %d) %% %d) {\n", i + 1, 3 * i + 5);
            for (int c = 0; c < 3 * i + 5; c++)
                fprintf(f, "    case %d: s += sink * %d + k; sink = s ^ %d; break;\n", c, c + i, c * 7);
            fprintf(f, "    }\n  }\n  return s;\n");
        } else {
            fprintf(f, "  return x * %d + sink;\n", i + 2);
        }
        fprintf(f, "}\n");
    }
    cr_assert_eq(fclose(f), 0);
    lpt_compile("x86_64-pc-windows-msvc", src, obj, 1, (const char *[]){"-O2", NULL});
    hpt_proc p;
    cr_assert_eq(lpt_link("x86_64-pc-windows-msvc", (const char *[]){"-shared", obj, "-o", dll, NULL}, &p), 0, "%s",
                 p.err);
    hpt_proc_free(&p);
    return dll;
}

/* Every function's hash is hp_fix_hash of its bytes in the image, over hash_len: functions of very
   different lengths, which the pass hashes side by side. */
Test(post, every_hash_is_the_hash_of_the_functions_bytes)
{
    const char *dll = sizes_image(hpt_scratch("post_hashes"));
    hp_link_post *post = NULL;
    char msg[256] = "";
    cr_assert_eq(hp_link_post_run(dll, NULL, &post, msg, sizeof msg), HP_OK, "%s", msg);
    lpt_image img;
    lpt_image_open(&img, dll);
    size_t shortest = SIZE_MAX, longest = 0;
    cr_assert_geq(post->fn_count, 41u);
    for (size_t i = 0; i < post->fn_count; i++) {
        const hp_link_fn *fn = &post->fns[i];
        cr_assert_gt(fn->hash_len, 0u, "%s", fn->name ? fn->name : "?");
        expect_hash_of_bytes(&img, fn);
        shortest = fn->hash_len < shortest ? fn->hash_len : shortest;
        longest = fn->hash_len > longest ? fn->hash_len : longest;
    }
    cr_expect_gt(longest, 20 * shortest, "lengths that differ: %zu to %zu bytes", shortest, longest);
    lpt_image_close(&img);
    hp_link_post_destroy(post);
}

/* A crafted image whose .text is read from file offset 4, over the headers (the fuzzer's find): the
   pass rewrites the checksum field, which then lies inside a function's bytes. Every hash must be
   of the bytes as the pass left them: hashed after the checksum, not before. */
Test(post, hashes_are_of_the_final_bytes_even_over_the_checksum_field)
{
    const char *d = hpt_scratch("post_hash_checksum");
    const char *dll = sizes_image(d);
    lpt_image img;
    lpt_image_open(&img, dll);
    uint32_t i = 0;
    hp_pe_section s = section_named(&img, ".text", &i);
    size_t hdr = img.pe.section_table + 40u * i, csum = (size_t)img.pe.nt_offset + 4 + 20 + 64;
    cr_assert_gt(s.raw_size, csum + 4, "the section is long enough to cover the field from offset 4");
    img.data[hdr + 20] = 4; /* PointerToRawData = 4 */
    img.data[hdr + 21] = img.data[hdr + 22] = img.data[hdr + 23] = 0;
    memset(img.data + csum, 0, 4); /* no checksum: the pass computes and writes one */
    const char *bad = write_image(d, "over_headers.dll", &img);

    hp_link_post *post = NULL;
    char msg[256] = "";
    cr_assert_eq(hp_link_post_run(bad, NULL, &post, msg, sizeof msg), HP_OK, "%s", msg);
    cr_assert(post->rewritten, "the checksum was rewritten");
    lpt_image fin;
    lpt_image_open(&fin, bad);
    size_t covering = 0;
    for (size_t k = 0; k < post->fn_count; k++) {
        const hp_link_fn *fn = &post->fns[k];
        if (!fn->hash_len)
            continue;
        uint32_t off = 0;
        cr_assert_eq(hp_pe_rva_to_offset(&fin.pe, fn->rva, &off, NULL), HP_OK);
        covering += off <= csum + 3 && csum < off + fn->hash_len;
        expect_hash_of_bytes(&fin, fn);
    }
    cr_expect_gt(covering, 0u, "a function's hashed bytes cover the checksum field");
    lpt_image_close(&fin);
    hp_link_post_destroy(post);
}

static int count_member(void *ctx, const char *name, const unsigned char *m, size_t len)
{
    (void)name;
    (void)m;
    (void)len;
    (*(size_t *)ctx)++;
    return 0;
}

Test(post, malformed_archives_are_refused)
{
    /* "!<arch>\n", one member "a.o/" of 4 bytes, then a header that claims more bytes than exist */
    unsigned char ar[8 + 60 + 4 + 60];
    memset(ar, ' ', sizeof ar);
    memcpy(ar, "!<arch>\n", 8);
    memcpy(ar + 8, "a.o/", 4);
    memcpy(ar + 8 + 48, "4", 1);
    memcpy(ar + 8 + 58, "`\n", 2);
    memcpy(ar + 68, "abcd", 4);
    memcpy(ar + 72, "b.o/", 4);
    memcpy(ar + 72 + 48, "999999", 6);
    memcpy(ar + 72 + 58, "`\n", 2);
    size_t members = 0;
    cr_expect_eq(hp_link_ar_foreach(ar, 72, count_member, &members), HP_OK);
    cr_expect_eq(members, 1u);
    members = 0;
    cr_expect_eq(hp_link_ar_foreach(ar, sizeof ar, count_member, &members), HP_ERR_FORMAT);
    cr_expect_eq(hp_link_ar_foreach(ar, 70, count_member, &members), HP_ERR_FORMAT); /* cut inside a member */
    cr_expect_eq(hp_link_ar_foreach((const unsigned char *)"!<thin>\n", 8, count_member, &members),
                 HP_ERR_FORMAT);
}

/* options.units: what the pass collects from the records the audit hands over equals what
   hp_link_units_read() finds in the same image on its own, for MinGW x64 and x86 (symbols decorated)
   and the MSVC ABI (lld-link's /debug:symtab); without the option there are none. */
static void units_match(const char *triple)
{
    char tag[96];
    snprintf(tag, sizeof tag, "post_units_%s", triple);
    const char *d = hpt_scratch(tag);
    const char *a_o = lpt_path(d, "a.o"), *b_o = lpt_path(d, "b.o"), *dll = lpt_path(d, "u.dll");
    lpt_compile_units(triple, a_o, b_o);
    lpt_link_dll(triple, (const char *[]){a_o, b_o, NULL}, dll);

    hp_link_post_options o;
    memset(&o, 0, sizeof o);
    o.units = 1;
    hp_link_post *post = NULL;
    char msg[512] = "";
    cr_assert_eq(hp_link_post_run(dll, &o, &post, msg, sizeof msg), HP_OK, "%s", msg);
    const hp_link_units *u = post->units;
    cr_assert_not_null(u);
    size_t size = 0;
    unsigned char *bytes = hpt_read_file(dll, &size);
    cr_assert_not_null(bytes);
    hp_link_units *r = NULL;
    cr_assert_eq(hp_link_units_read(bytes, size, 0, &r, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect(u->has_symtab && r->has_symtab);
    cr_expect_eq(u->unit_count, 2u, "the two units");
    cr_assert_eq(u->unit_count, r->unit_count);
    for (size_t i = 0; i < u->unit_count; i++)
        cr_expect_str_eq(u->units[i], r->units[i]);
    cr_expect_gt(u->symbol_count, 0u);
    cr_assert_eq(u->symbol_count, r->symbol_count);
    for (size_t i = 0; i < u->symbol_count; i++) {
        const hp_link_map_symbol *x = &u->symbols[i], *y = &r->symbols[i];
        cr_expect_str_eq(x->name, y->name, "symbol %zu", i);
        cr_expect(x->unit == y->unit && x->is_static == y->is_static && x->is_function == y->is_function &&
                      x->rva == y->rva && x->size == y->size,
                  "symbol %zu (%s) differs", i, x->name);
    }
    hp_link_units_destroy(r);
    free(bytes);
    hp_link_post_destroy(post);
    o.units = 0;
    cr_assert_eq(hp_link_post_run(dll, &o, &post, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect_null(post->units);
    hp_link_post_destroy(post);
}

Test(post, units_from_the_audits_walk_are_a_walk_of_their_own) { units_match("x86_64-w64-mingw32"); }
Test(post, units_from_the_audits_walk_x86) { units_match("i686-w64-mingw32"); }
Test(post, units_from_the_audits_walk_msvc) { units_match("x86_64-pc-windows-msvc"); }

/* The checksum as MapFileAndCheckSum defines it, one word at a time (written here for the test): the
   16-bit little-endian words summed with end-around carry, the CheckSum field's four bytes as zero,
   an odd last byte a word of its own, the file's size added. */
static uint32_t reference_checksum(const unsigned char *d, size_t size, size_t field)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < size; i += 2) {
        uint32_t lo = i >= field && i < field + 4 ? 0 : d[i];
        uint32_t hi = i + 1 >= size || (i + 1 >= field && i + 1 < field + 4) ? 0 : d[i + 1];
        uint32_t w = lo | hi << 8;
        sum += w;
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return sum + (uint32_t)size;
}

/* hp_link_pe_checksum sums sixteen bytes a step in 32-bit lanes that it empties every 2^14 steps:
   sizes around the step and around the emptying, an odd size, all-0xFF bytes (the lanes' fastest
   growth) and random ones, against the word-by-word definition. */
Test(post, checksum_is_the_word_sum_at_every_size)
{
    size_t big = 16 * 16384 * 3 + 37;
    unsigned char *d = malloc(big);
    cr_assert_not_null(d);
    const size_t sizes[] = {0, 1, 2, 15, 16, 17, 31, 33, 255, 4096, 16 * 16384 - 1, 16 * 16384, 16 * 16384 + 1,
                            16 * 16384 + 15, 16 * 16384 * 2 + 2, big};
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int fill = 0; fill < 2; fill++) {
        for (size_t i = 0; i < big; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            d[i] = fill ? (unsigned char)x : 0xFF;
        }
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            size_t n = sizes[k], field = n > 300 ? 216 : n + 8; /* small ones: no field inside */
            cr_expect_eq(hp_link_pe_checksum(d, n, field), reference_checksum(d, n, field),
                         "%s bytes, size %zu", fill ? "random" : "0xFF", n);
        }
    }
    free(d);
}

/* The field counts as zero at any offset: a crafted image with an odd e_lfanew puts it across three
   words (a fuzzed image found the field's first byte counted: the pass wrote a checksum that its own
   sum of the written file did not give). Writing the sum into the field leaves the sum as it was. */
Test(post, checksum_ignores_its_field_at_any_offset)
{
    unsigned char d[1001];
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (size_t i = 0; i < sizeof d; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        d[i] = (unsigned char)x;
    }
    const size_t fields[] = {200, 201, 202, 203, 995, 996, 997, 998, 999};
    for (size_t k = 0; k < sizeof fields / sizeof *fields; k++) {
        size_t field = fields[k];
        uint32_t sum = hp_link_pe_checksum(d, sizeof d, field);
        cr_expect_eq(sum, reference_checksum(d, sizeof d, field), "field at %zu", field);
        for (size_t b = 0; b < 4 && field + b < sizeof d; b++)
            d[field + b] = (unsigned char)(sum >> (8 * b));
        cr_expect_eq(hp_link_pe_checksum(d, sizeof d, field), sum, "field at %zu, written", field);
    }
}
