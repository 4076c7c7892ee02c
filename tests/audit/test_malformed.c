/*
 * test_malformed.c — suite malformed: damaged images, objects and archives
 * must be refused with a precise message (exit 2), never crash or read out of
 * bounds (the suite runs under ASan/UBSan in the sanitizer build).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotpatch_pe.h"
#include "hpa_test.h"

static unsigned char *load(const char *name, size_t *size)
{
    unsigned char *b = hpt_read_file(hpa_fixture(name), size);
    cr_assert_not_null(b, "%s", name);
    return b;
}

/* Audit a buffer through the library; returns the file status and its message. */
static hp_status audit_bytes(const void *data, size_t size, const char **error, char *buf, size_t cap)
{
    hp_audit_report *r = NULL;
    cr_assert_eq(hp_audit_report_create(NULL, &r), HP_OK);
    /* a private copy of exactly `size` bytes, so that ASan sees any read past the end */
    unsigned char *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    hp_audit_buffer(r, "damaged.dll", copy, size);
    free(copy);
    hp_audit_report_finish(r);
    size_t n;
    const hp_audit_file_result *f = hp_audit_report_files(r, &n);
    hp_status st = f[0].status;
    snprintf(buf, cap, "%s", f[0].error ? f[0].error : "");
    *error = buf;
    hp_audit_report_destroy(r);
    return st;
}

static void put32(unsigned char *b, size_t off, uint32_t v)
{
    b[off] = (unsigned char)v;
    b[off + 1] = (unsigned char)(v >> 8);
    b[off + 2] = (unsigned char)(v >> 16);
    b[off + 3] = (unsigned char)(v >> 24);
}

static void put16(unsigned char *b, size_t off, uint16_t v)
{
    b[off] = (unsigned char)v;
    b[off + 1] = (unsigned char)(v >> 8);
}

static void expect(const unsigned char *b, size_t size, hp_status want, const char *detail)
{
    char buf[512];
    const char *err;
    hp_status st = audit_bytes(b, size, &err, buf, sizeof buf);
    cr_assert_eq(st, want, "status %d (%s), want %d (%s)", st, err, want, detail);
    if (detail)
        cr_assert(strstr(err, detail), "message '%s' lacks '%s'", err, detail);
}

Test(malformed, every_truncation_is_refused)
{
    static const char *const names[] = {"golden.dll", "plain-i686-w64-mingw32.dll", "patchable-x86_64-w64-mingw32.dll"};
    for (size_t k = 0; k < 3; k++) {
        size_t size;
        unsigned char *b = load(names[k], &size);
        /* a cut that removes only trailing zero padding (after MinGW's string table) loses nothing */
        size_t meaningful = size;
        while (meaningful > 0 && b[meaningful - 1] == 0)
            meaningful--;
        for (size_t len = 0; len < meaningful; len++) {
            char buf[512];
            const char *err;
            hp_status st = audit_bytes(b, len, &err, buf, sizeof buf);
            cr_assert_eq(st, HP_ERR_FORMAT, "%s cut at %zu: status %d", names[k], len, st);
            cr_assert(err[0], "%s cut at %zu: no message", names[k], len);
        }
        free(b);
    }
}

Test(malformed, header_boundaries_name_what_is_truncated)
{
    size_t size;
    unsigned char *b = load("golden.dll", &size);
    hp_pe pe;
    cr_assert_eq(hp_pe_open(&pe, b, size, HP_PE_LAYOUT_FILE, 0, NULL), HP_OK);
    expect(b, 0, HP_ERR_FORMAT, "empty file");
    expect(b, 63, HP_ERR_FORMAT, "truncated dos header");
    expect(b, pe.nt_offset + 2, HP_ERR_FORMAT, "nt headers outside the file");
    expect(b, pe.nt_offset + 4 + 10, HP_ERR_FORMAT, "truncated file header");
    expect(b, pe.nt_offset + 24 + 100, HP_ERR_FORMAT, "truncated optional header");
    expect(b, pe.section_table + 40, HP_ERR_FORMAT, "truncated section table");
    expect(b, pe.size_of_headers + 1, HP_ERR_FORMAT, "section data outside the file");
    free(b);
}

Test(malformed, damaged_headers)
{
    size_t size;
    unsigned char *orig = load("golden.dll", &size);
    hp_pe pe;
    cr_assert_eq(hp_pe_open(&pe, orig, size, HP_PE_LAYOUT_FILE, 0, NULL), HP_OK);
    unsigned char *b = malloc(size);
    uint32_t nt = pe.nt_offset, opt = nt + 24, sec = pe.section_table;

#define RESET() memcpy(b, orig, size)
    RESET();
    put32(b, 0x3C, 0xFFFFFFF0u); /* e_lfanew far away */
    expect(b, size, HP_ERR_FORMAT, "nt headers outside the file");
    RESET();
    put16(b, nt + 4 + 16, 0xFFFF); /* SizeOfOptionalHeader */
    expect(b, size, HP_ERR_FORMAT, "truncated optional header");
    RESET();
    put16(b, opt, 0x0107); /* optional header magic */
    expect(b, size, HP_ERR_FORMAT, "bad optional header magic");
    RESET();
    put16(b, nt + 4 + 2, 0xFFFF); /* NumberOfSections */
    expect(b, size, HP_ERR_FORMAT, "truncated section table");
    RESET();
    put32(b, sec + 8, 0);  /* VirtualSize */
    put32(b, sec + 16, 0); /* SizeOfRawData */
    expect(b, size, HP_ERR_FORMAT, "zero-size section");
    RESET();
    put32(b, sec + 40 + 12, pe.size_of_headers); /* second section's VA inside the first */
    put32(b, sec + 12, pe.size_of_headers);
    expect(b, size, HP_ERR_FORMAT, "overlapping sections");
    RESET();
    put32(b, sec + 20, 0xFFFFFF00u); /* PointerToRawData */
    expect(b, size, HP_ERR_FORMAT, "section data outside the file");
    RESET();
    put16(b, nt + 4, 0xAA64); /* ARM64 machine on a PE32+ image */
    expect(b, size, HP_ERR_UNSUPPORTED, "architecture not yet supported");
    RESET();
    put16(b, nt + 4, 0x014C); /* i386 machine with a PE32+ optional header */
    expect(b, size, HP_ERR_FORMAT, "pe32+ optional header on an x86 image");
    free(b);
    free(orig);
}

Test(malformed, damaged_export_directory)
{
    size_t size;
    unsigned char *orig = load("plain-x86_64-pc-windows-msvc.dll", &size);
    hp_pe pe;
    cr_assert_eq(hp_pe_open(&pe, orig, size, HP_PE_LAYOUT_FILE, 0, NULL), HP_OK);
    uint32_t dirs = pe.nt_offset + 24 + 112; /* PE32+ data directories */
    uint32_t ed;
    cr_assert_eq(hp_pe_rva_to_offset(&pe, pe.dirs[0].rva, &ed, NULL), HP_OK);
    uint32_t names_rva = orig[ed + 32] | orig[ed + 33] << 8 | orig[ed + 34] << 16 | (uint32_t)orig[ed + 35] << 24;
    uint32_t names;
    cr_assert_eq(hp_pe_rva_to_offset(&pe, names_rva, &names, NULL), HP_OK);
    uint32_t nnames = orig[ed + 24] | orig[ed + 25] << 8;
    unsigned char *b = malloc(size);

    RESET();
    put32(b, dirs, 0x7FFF0000u); /* export directory RVA outside the image */
    expect(b, size, HP_ERR_FORMAT, "export directory outside the file");
    RESET();
    put32(b, ed + 20, 0xFFFFFFFFu); /* NumberOfFunctions */
    expect(b, size, HP_ERR_FORMAT, "absurd export count");
    RESET();
    put32(b, ed + 20, 0x10000000u);
    expect(b, size, HP_ERR_FORMAT, "export address table outside the file");
    RESET();
    put32(b, ed + 24, 0x3FFFFFFFu); /* NumberOfNames */
    expect(b, size, HP_ERR_FORMAT, "export name table outside the file");
    RESET();
    put32(b, ed + 28, 0xFFFFFFF0u); /* AddressOfFunctions */
    expect(b, size, HP_ERR_FORMAT, "export address table outside the file");
    RESET();
    /* name RVAs that loop back into the name table itself, and into the directory: read, not followed */
    for (uint32_t i = 0; i < nnames; i++)
        put32(b, names + 4 * i, i % 2 ? names_rva : pe.dirs[0].rva);
    {
        char buf[512];
        const char *err;
        hp_status st = audit_bytes(b, size, &err, buf, sizeof buf);
        cr_assert(st == HP_OK || st == HP_ERR_FORMAT, "status %d", st);
    }
    RESET();
    put32(b, names, 0x7FFFFFF0u); /* one name outside the image */
    expect(b, size, HP_ERR_FORMAT, "export name outside the file");
    RESET();
    /* an ordinal past NumberOfFunctions */
    {
        uint32_t ords_rva = b[ed + 36] | b[ed + 37] << 8 | b[ed + 38] << 16 | (uint32_t)b[ed + 39] << 24, ords;
        cr_assert_eq(hp_pe_rva_to_offset(&pe, ords_rva, &ords, NULL), HP_OK);
        put16(b, ords, 0xFFFF);
        expect(b, size, HP_ERR_FORMAT, "export ordinal out of range");
    }
    free(b);
    free(orig);
}

Test(malformed, random_damage_never_crashes)
{
    size_t size;
    unsigned char *orig = load("plain-x86_64-w64-mingw32.dll", &size);
    unsigned char *b = malloc(size);
    uint32_t seed = 12345;
    hp_pe pe;
    cr_assert_eq(hp_pe_open(&pe, orig, size, HP_PE_LAYOUT_FILE, 0, NULL), HP_OK);
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(b, orig, size);
        for (int k = 0; k < 4; k++) {
            seed = seed * 1103515245u + 12345u;
            /* mostly the headers and the export directory area, where the structure is */
            size_t off = (seed >> 8) % (iter % 2 ? size : (pe.size_of_headers < size ? pe.size_of_headers : size));
            seed = seed * 1103515245u + 12345u;
            b[off] = (unsigned char)(seed >> 16);
        }
        char buf[512];
        const char *err;
        (void)audit_bytes(b, size, &err, buf, sizeof buf);
    }
    free(b);
    free(orig);
}

Test(malformed, damaged_archives_and_objects)
{
    size_t size;
    unsigned char *orig = load("fixtures-msvc.lib", &size);
    unsigned char *b = malloc(size);
    RESET();
    memcpy(b + 8 + 48, "9999999999", 10); /* first member's size */
    expect(b, size, HP_ERR_FORMAT, "archive member extends past the end of the file");
    RESET();
    b[8 + 58] = 'x';
    expect(b, size, HP_ERR_FORMAT, "bad archive member header");
    for (size_t len = 8; len < size; len += 7) {
        char buf[512];
        const char *err;
        (void)audit_bytes(b, len, &err, buf, sizeof buf);
    }
    free(b);
    free(orig);

    orig = load("patchable-x64.obj", &size);
    b = malloc(size);
    RESET();
    put32(b, 12, 0x7FFFFFFFu); /* NumberOfSymbols */
    expect(b, size, HP_ERR_FORMAT, "symbol table outside the file");
    RESET();
    put16(b, 2, 0xFFFF); /* NumberOfSections */
    expect(b, size, HP_ERR_FORMAT, "truncated section table");
    for (size_t len = 20; len < size; len++) {
        char buf[512];
        const char *err;
        (void)audit_bytes(b, len, &err, buf, sizeof buf);
    }
    free(b);
    free(orig);
}

Test(malformed, cli_exits_2_with_a_message)
{
    size_t size;
    unsigned char *b = load("golden.dll", &size);
    const char *path = hpa_write(hpt_scratch("audit_malformed_cli"), "cut.dll", b, 200);
    hpt_proc p;
    cr_assert_eq(hpa_cli((const char *[]){path, NULL}, &p), 0);
    free(b);
    cr_assert_eq(p.status, 2);
    cr_assert(strstr(p.out, "cut.dll: error: "), "the text report names the file: %s", p.out);
    hpt_proc_free(&p);
    cr_assert_eq(hpa_cli((const char *[]){"--format", "sarif", path, NULL}, &p), 0);
    cr_assert_eq(p.status, 2);
    cr_assert(strstr(p.err, "cut.dll: "), "structured reports leave the message to stderr: %s", p.err);
    hpt_proc_free(&p);
}
