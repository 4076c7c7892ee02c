/*
 * test_pe.c — suite pe: the runtime's PE view (runtime/src/pe.c) over the
 * audit's fixture images, in file layout and in a simulated loader mapping.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotpatch_pe.h"
#include "hotpatch_table.h"
#include "hpa_test.h"

static unsigned char *load(const char *name, size_t *size)
{
    unsigned char *b = hpt_read_file(hpa_fixture(name), size);
    cr_assert_not_null(b, "%s", name);
    return b;
}

Test(pe, span_reader_checks_cannot_wrap)
{
    static const uint8_t bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    hp_pe_span s = {bytes, sizeof bytes}, sub;
    uint32_t v32;
    uint64_t v64;
    cr_assert(hp_pe_span_sub(s, 0, 8, &sub));
    cr_assert(hp_pe_span_sub(s, 8, 0, &sub));
    cr_assert(!hp_pe_span_sub(s, 9, 0, &sub));
    cr_assert(!hp_pe_span_sub(s, 4, UINT64_MAX, &sub), "a size that would wrap start + size");
    cr_assert(!hp_pe_span_sub(s, UINT64_MAX, 2, &sub));
    cr_assert(hp_pe_span_u32(s, 4, &v32));
    cr_assert_eq(v32, 0x08070605u);
    cr_assert(!hp_pe_span_u32(s, 5, &v32));
    cr_assert(!hp_pe_span_u32(s, UINT64_MAX - 1, &v32));
    cr_assert(hp_pe_span_u64(s, 0, &v64));
    cr_assert_eq(v64, 0x0807060504030201ull);
    size_t len;
    static const uint8_t str[4] = {'a', 'b', 0, 'c'};
    hp_pe_span t = {str, 4};
    cr_assert(hp_pe_span_strlen(t, 0, &len));
    cr_assert_eq(len, 2);
    cr_assert(!hp_pe_span_strlen(t, 3, &len), "no NUL before the end");
    /* against a byte-by-byte count: NULs at every distance from the start, spans ending at every
       distance from it, starting offsets that are not multiples of eight, bytes 0x01 and 0x80-0xFF
       (the word-at-a-time test's borrow cases) */
    uint8_t buf[80];
    uint32_t x = 99;
    for (unsigned round = 0; round < 20000; round++) {
        for (size_t i = 0; i < sizeof buf; i++) {
            x = x * 1103515245u + 12345u;
            unsigned r = (x >> 16) & 255;
            buf[i] = (uint8_t)(r < 8 ? 0x01 : r < 16 ? 0x80 + (r & 0x7F) : r < 24 ? 0xFF : 'a' + r % 26);
        }
        x = x * 1103515245u + 12345u;
        size_t size = (x >> 8) % (sizeof buf + 1), start = size ? (x >> 20) % (size + 1) : 0;
        if (round % 2 && size > start)
            buf[start + (x >> 4) % (size - start)] = 0;
        size_t naive = start;
        while (naive < size && buf[naive] != 0)
            naive++;
        hp_pe_span u = {buf, size};
        size_t got = 12345;
        int found = hp_pe_span_strlen(u, start, &got);
        cr_assert_eq(found, naive < size, "round %u: span %zu from %zu", round, size, start);
        if (found)
            cr_assert_eq(got, naive - start, "round %u: span %zu from %zu", round, size, start);
    }
}

Test(pe, headers_of_each_target)
{
    static const struct {
        const char *name;
        uint16_t machine;
        int pe32plus;
    } cases[] = {{"plain-x86_64-w64-mingw32.dll", HP_PE_MACHINE_AMD64, 1},
                 {"plain-i686-w64-mingw32.dll", HP_PE_MACHINE_I386, 0},
                 {"plain-x86_64-pc-windows-msvc.dll", HP_PE_MACHINE_AMD64, 1}};
    for (size_t i = 0; i < 3; i++) {
        size_t size;
        unsigned char *b = load(cases[i].name, &size);
        hp_pe pe;
        const char *detail = NULL;
        cr_assert_eq(hp_pe_open(&pe, b, size, HP_PE_LAYOUT_FILE, 0, &detail), HP_OK, "%s: %s", cases[i].name, detail);
        cr_assert_eq(pe.coff_machine, cases[i].machine);
        cr_assert_eq(pe.pe32plus, cases[i].pe32plus);
        cr_assert_eq(pe.machine, cases[i].pe32plus ? HP_MACHINE_X64 : HP_MACHINE_X86);
        cr_assert(pe.characteristics & 0x2000, "a DLL");
        hp_pe_section s;
        cr_assert_eq(hp_pe_section_at(&pe, 0, &s), HP_OK);
        cr_assert_str_eq(s.name, ".text");
        cr_assert(hp_pe_section_is_code(&s));
        free(b);
    }
}

Test(pe, golden_identity_fields)
{
    size_t size;
    unsigned char *b = load("golden.dll", &size);
    hp_pe pe;
    cr_assert_eq(hp_pe_open(&pe, b, size, HP_PE_LAYOUT_FILE, 0, NULL), HP_OK);
    /* fixtures/golden.c: /timestamp:0, .text/.rdata/.data, no checksum */
    cr_assert_eq(pe.time_date_stamp, 0);
    cr_assert_eq(pe.size_of_image, 0x4000);
    cr_assert_eq(pe.checksum, 0);
    cr_assert_eq(pe.section_count, 3);
    hp_pe_codeview cv;
    cr_assert_eq(hp_pe_codeview_get(&pe, &cv, NULL), HP_OK);
    cr_assert_eq(cv.present, 0, "linked without /debug");
    free(b);
}

typedef struct seen {
    int count, first, second, value, code, data, fwd;
    const char *fwd_target;
} seen;

static int on_export(void *ctx, const hp_pe_export *e)
{
    seen *s = ctx;
    s->count++;
    s->code += e->kind == HP_PE_EXPORT_CODE;
    s->data += e->kind == HP_PE_EXPORT_DATA;
    if (e->kind == HP_PE_EXPORT_FORWARDER) {
        s->fwd++;
        s->fwd_target = e->forwarder;
    }
    if (e->name && strcmp(e->name, "first") == 0)
        s->first = (int)e->rva;
    if (e->name && strcmp(e->name, "second") == 0)
        s->second = (int)e->rva;
    if (e->name && strcmp(e->name, "value") == 0)
        s->value = (int)e->rva;
    return 0;
}

/* The image laid out as the loader would: every section at its RVA (the caller frees it). */
static unsigned char *lay_out(const hp_pe *pe, const unsigned char *file)
{
    unsigned char *img = calloc(1, pe->size_of_image);
    cr_assert_not_null(img);
    memcpy(img, file, pe->size_of_headers);
    for (uint32_t i = 0; i < pe->section_count; i++) {
        hp_pe_section sec;
        hp_pe_section_at(pe, i, &sec);
        uint32_t n = sec.raw_size < sec.virtual_size ? sec.raw_size : sec.virtual_size;
        memcpy(img + sec.virtual_address, file + sec.raw_offset, n);
    }
    return img;
}

Test(pe, exports_in_file_and_mapped_layout)
{
    size_t size;
    unsigned char *b = load("golden.dll", &size);
    hp_pe pe;
    cr_assert_eq(hp_pe_open(&pe, b, size, HP_PE_LAYOUT_FILE, 0, NULL), HP_OK);
    seen s = {0};
    cr_assert_eq(hp_pe_export_names(&pe, on_export, &s, NULL), HP_OK);
    /* fixtures/golden.c: first at 0x1000, second at 0x1018, value at 0x3000 */
    cr_assert_eq(s.count, 3);
    cr_assert_eq(s.first, 0x1000);
    cr_assert_eq(s.second, 0x1018);
    cr_assert_eq(s.value, 0x3000);
    cr_assert_eq(s.code, 2);
    cr_assert_eq(s.data, 1);

    unsigned char *img = lay_out(&pe, b);
    hp_pe m;
    cr_assert_eq(hp_pe_open(&m, img, pe.size_of_image, HP_PE_LAYOUT_MAPPED, 0, NULL), HP_OK);
    seen t = {0};
    cr_assert_eq(hp_pe_export_names(&m, on_export, &t, NULL), HP_OK);
    cr_assert_eq(t.count, 3);
    cr_assert_eq(t.second, 0x1018);
    hp_pe_export e;
    cr_assert_eq(hp_pe_export_find(&m, "second", &e, NULL), HP_OK);
    const uint8_t *p;
    size_t before, after;
    cr_assert_eq(hp_pe_rva_bytes(&m, e.rva, &p, &before, &after, NULL), HP_OK);
    cr_assert_eq(p, img + 0x1018, "mapped: RVA == offset");
    cr_assert_eq(p[0], 0x66);
    cr_assert_eq(p[1], 0x90);
    cr_assert_eq(p[-1], 0xCC);
    cr_assert_eq(before, 0x18);
    cr_assert_eq(hp_pe_export_find(&m, "third", &e, NULL), HP_ERR_ARGUMENT);
    free(img);
    free(b);
}

/* The cached lookups answer every RVA as the plain ones do, in both layouts, walking up and down
   (so that the cache is hit, missed and replaced), for the headers, each section and past them. */
Test(pe, cached_rva_lookups_agree)
{
    size_t size;
    unsigned char *b = load("golden.dll", &size);
    hp_pe pe;
    cr_assert_eq(hp_pe_open(&pe, b, size, HP_PE_LAYOUT_FILE, 0, NULL), HP_OK);
    unsigned char *img = lay_out(&pe, b);
    hp_pe m;
    cr_assert_eq(hp_pe_open(&m, img, pe.size_of_image, HP_PE_LAYOUT_MAPPED, 0, NULL), HP_OK);
    const hp_pe *views[2] = {&pe, &m};
    size_t hits = 0, cache_hits = 0;
    for (int v = 0; v < 2; v++) {
        hp_pe_rva_cache cache = {0};
        uint32_t end = pe.size_of_image + 0x2000;
        for (int dir = 0; dir < 2; dir++)
            for (uint32_t k = 0; k <= end; k += 7) {
                uint32_t rva = dir ? end - k : k;
                const uint8_t *p1 = NULL, *p2 = NULL;
                size_t b1 = 0, a1 = 0, b2 = 0, a2 = 0;
                hp_status s1 = hp_pe_rva_bytes(views[v], rva, &p1, &b1, &a1, NULL);
                /* the inline hit gives what the call gives, or nothing */
                const uint8_t *p3 = NULL;
                size_t b3 = 0, a3 = 0;
                if (hp_pe_rva_cache_hit(&cache, rva, &p3, &b3, &a3)) {
                    cr_assert_eq(hp_pe_rva_bytes(views[v], rva, &p2, &b2, &a2, NULL), HP_OK, "hit: view %d rva 0x%x", v, rva);
                    cr_assert(p3 == p2 && b3 == b2 && a3 == a2, "hit: view %d rva 0x%x", v, rva);
                    cache_hits++;
                }
                hp_status s2 = hp_pe_rva_bytes_cached(views[v], &cache, rva, &p2, &b2, &a2, NULL);
                cr_assert_eq(s1, s2, "view %d rva 0x%x", v, rva);
                if (s1 == HP_OK) {
                    cr_assert(p1 == p2 && b1 == b2 && a1 == a2, "view %d rva 0x%x", v, rva);
                    hits++;
                }
                hp_pe_span x, y;
                s1 = hp_pe_rva_span(views[v], rva, 16, &x, NULL);
                s2 = hp_pe_rva_span_cached(views[v], &cache, rva, 16, &y, NULL);
                cr_assert_eq(s1, s2, "span: view %d rva 0x%x", v, rva);
                if (s1 == HP_OK)
                    cr_assert(x.data == y.data && x.size == y.size, "span: view %d rva 0x%x", v, rva);
            }
    }
    cr_expect_gt(hits, 300u, "the walk found bytes (%zu)", hits);
    cr_expect_gt(cache_hits, 32u, "the cache answered without a call (%zu times)", cache_hits);
    free(img);
    free(b);
}

Test(pe, forwarders_ordinals_and_pdata)
{
    size_t size;
    unsigned char *b = load("plain-x86_64-pc-windows-msvc.dll", &size);
    hp_pe pe;
    cr_assert_eq(hp_pe_open(&pe, b, size, HP_PE_LAYOUT_FILE, 0, NULL), HP_OK);
    seen s = {0};
    cr_assert_eq(hp_pe_export_addresses(&pe, on_export, &s, NULL), HP_OK);
    cr_assert_eq(s.fwd, 1);
    cr_assert_str_eq(s.fwd_target, "kernel32.Sleep");
    hp_pe_export_info info;
    cr_assert_eq(hp_pe_export_info_get(&pe, &info, NULL), HP_OK);
    cr_assert(info.present);
    cr_assert_geq(info.ordinal_base + info.function_count - 1, 42, "by_ordinal is @42");
    /* branch_e1 has unwind directives: one RUNTIME_FUNCTION, beginning at its entry */
    uint32_t n;
    cr_assert_eq(hp_pe_pdata_count(&pe, &n, NULL), HP_OK);
    cr_assert_eq(n, 1);
    hp_pe_export e;
    cr_assert_eq(hp_pe_export_find(&pe, "branch_e1", &e, NULL), HP_OK);
    hp_pe_runtime_function rf;
    cr_assert_eq(hp_pe_pdata_find(&pe, e.rva, &rf, NULL), HP_OK);
    cr_assert_gt(rf.end, rf.begin);
    /* the same entry as bytes in place: 12 an entry, little-endian */
    hp_pe_span ps;
    cr_assert_eq(hp_pe_pdata_span(&pe, &ps, NULL), HP_OK);
    cr_assert_eq(ps.size, 12u);
    uint32_t begin = 0, end = 0, unwind = 0;
    cr_assert(hp_pe_span_u32(ps, 0, &begin) && hp_pe_span_u32(ps, 4, &end) && hp_pe_span_u32(ps, 8, &unwind));
    cr_expect(begin == rf.begin && end == rf.end && unwind == rf.unwind);
    int present = 1;
    cr_assert_eq(hp_pe_table_foreach(&pe, (hp_pe_table_fn)NULL, NULL, &present, NULL), HP_ERR_ARGUMENT);
    free(b);
}

Test(pe, arm64_is_unsupported_but_named)
{
    size_t size;
    unsigned char *b = load("arm64.dll", &size);
    hp_pe pe;
    const char *detail = NULL;
    cr_assert_eq(hp_pe_open(&pe, b, size, HP_PE_LAYOUT_FILE, 0, &detail), HP_ERR_UNSUPPORTED);
    cr_assert_str_eq(detail, "architecture not yet supported (arm64)");
    cr_assert_str_eq(hp_pe_machine_name(pe.coff_machine), "arm64");
    cr_assert_eq(hp_pe_open(&pe, b, size, HP_PE_LAYOUT_FILE, HP_PE_OPEN_ANY_MACHINE, &detail), HP_OK);
    free(b);
}

/* Table records walked in order: self-relative, runs (format version 2), markers, damage. */
Test(pe, table_records_self_relative_and_in_runs)
{
    hp_table_cursor c = HP_TABLE_CURSOR_INIT;
    uint32_t e = 0;

    /* a record outside any run: RVA of the record + where (modulo 2^32) */
    cr_expect_eq(hp_table_next(&c, 0x5000, 0x100, HP_TABLE_F_ENTRY_NOP, &e), 1);
    cr_expect_eq(e, 0x5100u);
    cr_expect_eq(hp_table_next(&c, 0x5008, -0x4008, 0, &e), 1);
    cr_expect_eq(e, 0x1000u);
    /* an in-run record before any run start: damaged */
    cr_expect_eq(hp_table_next(&c, 0x5010, 0x40, HP_TABLE_F_IN_RUN, &e), -1);
    /* markers and filler are no entries and leave the cursor alone */
    cr_expect_eq(hp_table_next(&c, 0x5018, 0, HP_TABLE_F_MARKER, &e), 0);
    /* a run: its first record is self-relative, the others count from it */
    cr_expect_eq(hp_table_next(&c, 0x6000, -0x5000, HP_TABLE_F_RUN_START, &e), 1);
    cr_expect_eq(e, 0x1000u);
    cr_expect_eq(hp_table_next(&c, 0x6008, -0x4f00, HP_TABLE_F_IN_RUN, &e), 1);
    cr_expect_eq(e, 0x1100u, "from the run's start 0x6000, not from the record 0x6008");
    cr_expect_eq(hp_table_next(&c, 0x6010, 0, 0, &e), 0, "filler between objects");
    cr_expect_eq(hp_table_next(&c, 0x6018, 0x80, 0, &e), 1, "a COMDAT record between runs: self-relative");
    cr_expect_eq(e, 0x6098u);
    cr_expect_eq(hp_table_next(&c, 0x6020, -0x4e00, HP_TABLE_F_IN_RUN, &e), 1, "still the same run");
    cr_expect_eq(e, 0x1200u);
    /* the next run replaces the base */
    cr_expect_eq(hp_table_next(&c, 0x7000, -0x5000, HP_TABLE_F_RUN_START, &e), 1);
    cr_expect_eq(hp_table_next(&c, 0x7008, -0x5f00, HP_TABLE_F_IN_RUN, &e), 1);
    cr_expect_eq(e, 0x1100u);
}

static void put_record(uint8_t *at, uint32_t where, uint8_t pad, uint8_t flags, uint16_t version)
{
    at[0] = (uint8_t)where;
    at[1] = (uint8_t)(where >> 8);
    at[2] = (uint8_t)(where >> 16);
    at[3] = (uint8_t)(where >> 24);
    at[4] = pad;
    at[5] = flags;
    at[6] = (uint8_t)version;
    at[7] = (uint8_t)(version >> 8);
}

/* A whole table walked with the iterator: a marker, a block of three RVAs (odd: a zero word
   follows), a self-relative record, a run of two, a block of two, a damaged entry, the end
   marker. The section is at RVA 0x9000. */
Test(pe, table_iterator_walks_blocks_runs_and_records)
{
    uint8_t t[10 * 8];
    hp_table_iter it;
    hp_table_entry e;
    const uint8_t blk = HP_TABLE_F_RVA_BLOCK | HP_TABLE_F_ENTRY_NOP;

    memset(t, 0, sizeof t);
    put_record(t + 0, 0, 0, HP_TABLE_F_MARKER, 3);
    put_record(t + 8, 3, 6, blk, 3);
    memcpy(t + 16, "\x00\x10\x00\x00\x40\x10\x00\x00", 8); /* RVAs 0x1000, 0x1040 */
    memcpy(t + 24, "\x80\x10\x00\x00\x00\x00\x00\x00", 8); /* third RVA 0x1080, zero word */
    put_record(t + 32, (uint32_t)(0x2000 - 0x9020), 5, 0, 1);   /* self-relative, version 1 */
    put_record(t + 40, (uint32_t)(0x3000 - 0x9028), 6, HP_TABLE_F_RUN_START, 2);
    put_record(t + 48, 0x10, 6, HP_TABLE_F_IN_RUN | HP_TABLE_F_EXPORTED, 2); /* 0x9028 + 0x10 */
    put_record(t + 56, 2, 7, blk | HP_TABLE_F_EXPORTED, 3);
    memcpy(t + 64, "\x00\x40\x00\x00\x00\x00\x00\x00", 8); /* 0x4000, then an entry of 0 */
    put_record(t + 72, 0, 0, HP_TABLE_F_MARKER, 3);

    hp_table_iter_init(&it, t, 80, 0x9000);
    cr_assert_eq(hp_table_iter_next(&it, &e), 1);
    cr_expect(e.rva == 0x1000 && e.pad == 6 && e.flags == blk && e.version == 3);
    cr_assert_eq(hp_table_iter_next(&it, &e), 1);
    cr_expect_eq(e.rva, 0x1040u);
    cr_assert_eq(hp_table_iter_next(&it, &e), 1);
    cr_expect_eq(e.rva, 0x1080u);
    cr_assert_eq(hp_table_iter_next(&it, &e), 1, "the zero word after an odd count is skipped");
    cr_expect(e.rva == 0x2000 && e.pad == 5 && e.version == 1, "rva %#x", e.rva);
    cr_assert_eq(hp_table_iter_next(&it, &e), 1);
    cr_expect_eq(e.rva, 0x3000u);
    cr_assert_eq(hp_table_iter_next(&it, &e), 1);
    cr_expect(e.rva == 0x9038 && (e.flags & HP_TABLE_F_EXPORTED), "rva %#x", e.rva);
    cr_assert_eq(hp_table_iter_next(&it, &e), 1);
    cr_expect(e.rva == 0x4000 && e.pad == 7 && (e.flags & HP_TABLE_F_EXPORTED));
    cr_expect_eq(hp_table_iter_next(&it, &e), -1, "an entry RVA of 0 is damage");
    cr_expect_eq(hp_table_iter_next(&it, &e), 0, "then the end marker, then the end");
    cr_expect_eq(hp_table_iter_next(&it, &e), 0);

    /* a block that claims more RVAs than the table holds ends the walk */
    put_record(t + 56, 5, 7, blk, 3);
    hp_table_iter_init(&it, t + 56, 24, 0x9038);
    cr_expect_eq(hp_table_iter_next(&it, &e), -1);
    cr_expect_eq(hp_table_iter_next(&it, &e), 0);
    /* a negative count too */
    put_record(t + 56, 0x80000000u, 7, blk, 3);
    hp_table_iter_init(&it, t + 56, 24, 0x9038);
    cr_expect_eq(hp_table_iter_next(&it, &e), -1);
    /* a table shorter than a record has no entry */
    hp_table_iter_init(&it, t, 7, 0x9000);
    cr_expect_eq(hp_table_iter_next(&it, &e), 0);
}

static int count_entry(void *ctx, const hp_table_record *rec)
{
    (void)rec;
    (*(int *)ctx)++;
    return 0;
}

/* The table of a plugin-built MinGW DLL is one RVA block per header word (format 3): the PE view
   hands out its four entries; a block whose count runs past the section is refused, not read. */
Test(pe, table_blocks_of_a_plugin_built_dll)
{
    size_t size;
    unsigned char *b = load("tabled-x86_64-w64-mingw32.dll", &size);
    hp_pe pe;
    hp_pe_section s;
    const char *detail = NULL;
    int present = 0, entries = 0, blocks = 0;
    uint32_t i;

    cr_assert_eq(hp_pe_open(&pe, b, size, HP_PE_LAYOUT_FILE, 0, NULL), HP_OK);
    cr_assert_eq(hp_pe_table_foreach(&pe, count_entry, &entries, &present, NULL), HP_OK);
    cr_expect(present);
    cr_expect_eq(entries, 4, "tabled_api_a, tabled_api_b, tabled_square, tabled_twice");
    for (i = 0; i < pe.section_count; i++) {
        cr_assert_eq(hp_pe_section_at(&pe, i, &s), HP_OK);
        if (strcmp(s.name, HP_TABLE_COFF_SECTION) == 0)
            break;
    }
    cr_assert_lt(i, pe.section_count);
    for (uint32_t off = 0; off + 8 <= s.raw_size; off += 8) {
        unsigned char *r = b + s.raw_offset + off;
        if (!(r[5] & HP_TABLE_F_RVA_BLOCK) || r[0] == 0)
            continue;
        blocks++;
        r[0] = 0xF0; /* 240 RVAs: far more than the section holds */
        break;
    }
    cr_assert_eq(blocks, 1, "no block in the table");
    entries = 0;
    cr_expect_eq(hp_pe_table_foreach(&pe, count_entry, &entries, &present, &detail), HP_ERR_FORMAT);
    cr_expect(detail && strstr(detail, "damaged table record"), "%s", detail ? detail : "(none)");
    free(b);
}
