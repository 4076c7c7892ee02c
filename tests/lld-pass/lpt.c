/* lpt.c — helpers of the lld-pass suites (lpt.h). */
#include "lpt.h"

#include "hotpatch_table.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *lpt_fixture(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", LPT_FIXTURES, name);
    return buf;
}

const char *lpt_path(const char *dir, const char *name)
{
    static char ring[8][4096];
    static unsigned next;
    char *b = ring[next++ % 8];
    snprintf(b, 4096, "%s/%s", dir, name);
    return b;
}

void lpt_compile(const char *triple, const char *src, const char *obj, int plugin, const char *const extra[])
{
    const char *args[64];
    size_t n = 0;
    static char fplugin[4200];
    snprintf(fplugin, sizeof fplugin, "-fplugin=%s", LPT_PLUGIN);
    args[n++] = "-c";
    args[n++] = src;
    args[n++] = "-o";
    args[n++] = obj;
    if (plugin)
        args[n++] = fplugin;
    if (strcmp(triple, "i686-pc-windows-msvc") == 0) {
        args[n++] = "-ffreestanding";
        args[n++] = "-fno-stack-protector";
        args[n++] = "-mno-stack-arg-probe";
    }
    for (size_t i = 0; extra && extra[i] && n < 62; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    hpt_proc p;
    int st = hpt_cc(triple, args, &p);
    cr_assert_eq(st, 0, "compiling %s for %s failed:\n%s", src, triple, p.err);
    hpt_proc_free(&p);
}

void lpt_compile_units(const char *triple, const char *a_o, const char *b_o)
{
    char root[4200];
    snprintf(root, sizeof root, "-fplugin-arg-hotpatch-source-root=%s", lpt_fixture("units"));
    const char *const extra[] = {"-O2", root, NULL};
    lpt_compile(triple, lpt_fixture("units/a.c"), a_o, 1, extra);
    lpt_compile(triple, lpt_fixture("units/sub/b.c"), b_o, 1, extra);
}

int lpt_link(const char *triple, const char *const args[], hpt_proc *out)
{
    const char *a[96];
    size_t n = 0;
    static char fuse[4200], bdir[4200];
    int msvc = strstr(triple, "msvc") != NULL;
    if (msvc) {
        snprintf(bdir, sizeof bdir, "-B%s", LPT_LINK_DIR);
        a[n++] = bdir;
        a[n++] = "-fuse-ld=hotpatch-lld-link";
        if (strcmp(triple, "i686-pc-windows-msvc") == 0)
            a[n++] = "-nostdlib";
    } else {
        snprintf(fuse, sizeof fuse, "-fuse-ld=%s", LPT_LINK);
        a[n++] = fuse;
    }
    for (size_t i = 0; args[i] && n < 94; i++)
        a[n++] = args[i];
    a[n] = NULL;
    return hpt_cc(triple, a, out);
}

void lpt_link_dll(const char *triple, const char *const objs[], const char *dll)
{
    const char *args[12] = {"-shared"};
    size_t n = 1;
    for (size_t i = 0; objs[i]; i++) {
        cr_assert_lt(i, 6u, "at most six objects");
        args[n++] = objs[i];
    }
    args[n++] = "-o";
    args[n++] = dll;
    if (strstr(triple, "msvc")) {
        args[n++] = "-nostdlib";
        args[n++] = "-Wl,/noentry";
    }
    args[n] = NULL;
    hpt_proc p;
    cr_assert_eq(lpt_link(triple, args, &p), 0, "%s", p.err);
    hpt_proc_free(&p);
}

int lpt_run_link(const char *const args[], hpt_proc *out)
{
    const char *a[96];
    size_t n = 0;
    a[n++] = LPT_LINK;
    for (size_t i = 0; args[i] && n < 94; i++)
        a[n++] = args[i];
    a[n] = NULL;
    cr_assert_eq(hpt_run(a, NULL, 300, out), 0, "cannot start %s", LPT_LINK);
    return out->status;
}

void lpt_image_open(lpt_image *img, const char *path)
{
    img->data = hpt_read_file(path, &img->size);
    cr_assert_not_null(img->data, "cannot read %s", path);
    const char *detail = NULL;
    cr_assert_eq(hp_pe_open(&img->pe, img->data, img->size, HP_PE_LAYOUT_FILE, 0, &detail), HP_OK, "%s: %s", path,
                 detail ? detail : "?");
}

void lpt_image_close(lpt_image *img)
{
    free(img->data);
    img->data = NULL;
}

size_t lpt_table_entries(const lpt_image *img, uint32_t *out, size_t max, uint8_t *pads)
{
    size_t k = 0;
    for (uint32_t i = 0; i < img->pe.section_count; i++) {
        hp_pe_section s;
        cr_assert_eq(hp_pe_section_at(&img->pe, i, &s), HP_OK);
        if (strcmp(s.name, ".hotp") != 0)
            continue;
        const unsigned char *sec = img->data + s.raw_offset;
        uint32_t size = s.virtual_size < s.raw_size ? s.virtual_size : s.raw_size;
        uint32_t run = 0;
        int have_run = 0;
        for (uint32_t off = 0; off + 8 <= size; off += 8) {
            int32_t where;
            uint8_t flags = sec[off + 5];
            uint32_t base = s.virtual_address + off;
            memcpy(&where, sec + off, 4); /* little-endian host */
            if (where == 0)
                continue;
            /* format version 3: a block header, then `where` entry RVAs (padded to 8 bytes) */
            if (flags & HP_TABLE_F_RVA_BLOCK) {
                uint32_t words = (uint32_t)where + ((uint32_t)where & 1);
                cr_assert_leq(off + 8 + 4 * words, size, "block at .hotp+%u runs past the section", off);
                for (uint32_t j = 0; j < (uint32_t)where; j++) {
                    cr_assert_lt(k, max);
                    memcpy(&out[k], sec + off + 8 + 4 * j, 4);
                    if (pads)
                        pads[k] = sec[off + 4];
                    k++;
                }
                off += 4 * words;
                continue;
            }
            /* format version 2: in-run records count from their run's first record */
            if (flags & HP_TABLE_F_RUN_START) {
                run = base;
                have_run = 1;
            }
            if (flags & HP_TABLE_F_IN_RUN) {
                cr_assert(have_run, "in-run record at .hotp+%u without a run start", off);
                base = run;
            }
            cr_assert_lt(k, max);
            out[k] = base + (uint32_t)where;
            if (pads)
                pads[k] = sec[off + 4];
            k++;
        }
    }
    return k;
}

uint32_t lpt_export_rva(const lpt_image *img, const char *name)
{
    hp_pe_export e;
    if (hp_pe_export_find(&img->pe, name, &e, NULL) != HP_OK)
        return 0;
    return e.rva;
}

const uint8_t *lpt_bytes(const lpt_image *img, uint32_t rva, size_t *before)
{
    const uint8_t *p;
    size_t b = 0, a = 0;
    cr_assert_eq(hp_pe_rva_bytes(&img->pe, rva, &p, &b, &a, NULL), HP_OK, "rva 0x%x", rva);
    if (before)
        *before = b;
    return p;
}

uint64_t lpt_file_hash(const char *path)
{
    size_t size = 0;
    unsigned char *d = hpt_read_file(path, &size);
    cr_assert_not_null(d, "cannot read %s", path);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < size; i++) {
        h ^= d[i];
        h *= 0x100000001b3ull;
    }
    free(d);
    return h ^ (uint64_t)size;
}

size_t lpt_count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += len)
        n++;
    return n;
}
