/*
 * pe.c — the PE view (see hotpatch_pe.h).
 *
 * Rules kept throughout this file:
 *   - every read of the input goes through the hp_pe_span_* reader; an offset
 *     or count taken from the input is only ever compared as
 *     `size <= end - start`, never added first;
 *   - sizes computed from input counts are carried in uint64_t so that a
 *     product of two 32-bit values cannot wrap;
 *   - no libc: this file builds freestanding for the MSVC target, where the
 *     runtime has no CRT. Strings are scanned by hand.
 */
#include "hotpatch_pe.h"

#define FAIL(detail_text)                                                                                    \
    do {                                                                                                     \
        if (out_detail)                                                                                      \
            *out_detail = (detail_text);                                                                     \
        return HP_ERR_FORMAT;                                                                                \
    } while (0)

/* Sizes of the fixed-layout structures (PE/COFF specification). */
enum {
    DOS_HEADER_SIZE = 64,     /* IMAGE_DOS_HEADER; e_lfanew at 0x3C */
    FILE_HEADER_SIZE = 20,    /* IMAGE_FILE_HEADER */
    OPT32_FIXED = 96,         /* IMAGE_OPTIONAL_HEADER32 up to the data directories */
    OPT64_FIXED = 112,        /* IMAGE_OPTIONAL_HEADER64 up to the data directories */
    SECTION_HEADER_SIZE = 40, /* IMAGE_SECTION_HEADER */
    EXPORT_DIR_SIZE = 40,     /* IMAGE_EXPORT_DIRECTORY */
    RUNTIME_FUNCTION_SIZE = 12,
    DEBUG_DIR_SIZE = 28,      /* IMAGE_DEBUG_DIRECTORY */
    DEBUG_TYPE_CODEVIEW = 2,
};

#define MAGIC_MZ 0x5A4Du       /* "MZ" */
#define MAGIC_PE 0x00004550u   /* "PE\0\0" */
#define MAGIC_PE32 0x010Bu
#define MAGIC_PE32PLUS 0x020Bu
#define MAGIC_RSDS 0x53445352u /* "RSDS" */

int hp_pe_span_strlen(hp_pe_span s, uint64_t off, size_t *out_len)
{
    if (off > s.size)
        return 0;
    size_t i = (size_t)off;
#if defined(__GNUC__) || defined(__clang__)
    /* eight bytes at a time (symbol and export names run long): the lowest byte that is zero, read
       as a little-endian word whatever the host */
    for (; s.size - i >= 8; i += 8) {
        const uint8_t *p = s.data + i;
        uint64_t w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
                     (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
        uint64_t zero = (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull; /* exact at the lowest */
        if (zero) {
            i += (size_t)__builtin_ctzll(zero) / 8;
            if (out_len)
                *out_len = i - (size_t)off;
            return 1;
        }
    }
#endif
    for (; i < s.size; i++) {
        if (s.data[i] == 0) {
            if (out_len)
                *out_len = i - (size_t)off;
            return 1;
        }
    }
    return 0;
}

const char *hp_pe_machine_name(uint16_t coff_machine)
{
    switch (coff_machine) {
    case HP_PE_MACHINE_I386: return "x86";
    case HP_PE_MACHINE_AMD64: return "x64";
    case HP_PE_MACHINE_ARM64: return "arm64";
    case HP_PE_MACHINE_ARM64EC: return "arm64ec";
    case HP_PE_MACHINE_ARM64X: return "arm64x";
    case HP_PE_MACHINE_ARMNT: return "arm";
    default: return "unknown";
    }
}

/* A little-endian u32 at `p`, inside a span already checked to hold it (a section header). */
static inline uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Decode section header `index`; the section table was bounds-checked by hp_pe_open() (a header
   outside the image decodes as zeros: fail closed). One span check, then reads inside it. */
static void section_decode(const hp_pe *pe, uint32_t index, hp_pe_section *out)
{
    hp_pe_span h;
    int ok = hp_pe_span_sub(pe->image, (uint64_t)pe->section_table + (uint64_t)index * SECTION_HEADER_SIZE,
                            SECTION_HEADER_SIZE, &h);
    for (int i = 0; i < 8; i++)
        out->name[i] = ok ? (char)h.data[i] : 0;
    out->name[8] = 0;
    out->virtual_size = ok ? le32_at(h.data + 8) : 0;
    out->virtual_address = ok ? le32_at(h.data + 12) : 0;
    out->raw_size = ok ? le32_at(h.data + 16) : 0;
    out->raw_offset = ok ? le32_at(h.data + 20) : 0;
    out->characteristics = ok ? le32_at(h.data + 36) : 0;
    out->index = index;
}

/* Extent of a section in memory: VirtualSize, or SizeOfRawData when a linker left VirtualSize 0. */
static uint32_t section_vsize(const hp_pe_section *s)
{
    return s->virtual_size ? s->virtual_size : s->raw_size;
}

/* Bytes of the section present in the file (file layout): the raw data, but never past the virtual extent. */
static uint32_t section_fsize(const hp_pe_section *s)
{
    uint32_t v = section_vsize(s);
    return s->raw_size < v ? s->raw_size : v;
}

hp_status hp_pe_open(hp_pe *pe, const void *data, size_t size, hp_pe_layout layout, unsigned flags,
                     const char **out_detail)
{
    if (!pe)
        return HP_ERR_ARGUMENT;
    {
        static const hp_pe zero;
        *pe = zero;
    }
    if ((!data && size) || (layout != HP_PE_LAYOUT_FILE && layout != HP_PE_LAYOUT_MAPPED))
        return HP_ERR_ARGUMENT;

    hp_pe_span img = {(const uint8_t *)data, size};
    uint16_t mz;
    uint32_t lfanew, sig;
    if (img.size < DOS_HEADER_SIZE)
        FAIL("truncated dos header");
    hp_pe_span_u16(img, 0, &mz);
    if (mz != MAGIC_MZ)
        FAIL("not a pe image (no MZ signature)");
    hp_pe_span_u32(img, 0x3C, &lfanew);
    if (!hp_pe_span_u32(img, lfanew, &sig))
        FAIL("nt headers outside the file");
    if (sig != MAGIC_PE)
        FAIL("bad pe signature");

    hp_pe_span fh, opt;
    if (!hp_pe_span_sub(img, (uint64_t)lfanew + 4, FILE_HEADER_SIZE, &fh))
        FAIL("truncated file header");
    uint16_t size_of_opt;
    hp_pe_span_u16(fh, 0, &pe->coff_machine);
    hp_pe_span_u16(fh, 2, &pe->section_count);
    hp_pe_span_u32(fh, 4, &pe->time_date_stamp);
    hp_pe_span_u16(fh, 16, &size_of_opt);
    hp_pe_span_u16(fh, 18, &pe->characteristics);
    uint64_t opt_off = (uint64_t)lfanew + 4 + FILE_HEADER_SIZE;
    if (!hp_pe_span_sub(img, opt_off, size_of_opt, &opt))
        FAIL("truncated optional header");

    uint16_t magic;
    if (!hp_pe_span_u16(opt, 0, &magic))
        FAIL("truncated optional header");
    uint32_t fixed;
    if (magic == MAGIC_PE32) {
        fixed = OPT32_FIXED;
        pe->pe32plus = 0;
    } else if (magic == MAGIC_PE32PLUS) {
        fixed = OPT64_FIXED;
        pe->pe32plus = 1;
    } else {
        FAIL("bad optional header magic");
    }
    if (opt.size < fixed)
        FAIL("truncated optional header");

    hp_pe_span_u32(opt, 16, &pe->entry_point);
    if (pe->pe32plus) {
        hp_pe_span_u64(opt, 24, &pe->image_base);
    } else {
        uint32_t base32;
        hp_pe_span_u32(opt, 28, &base32);
        pe->image_base = base32;
    }
    hp_pe_span_u32(opt, 32, &pe->section_alignment);
    hp_pe_span_u32(opt, 36, &pe->file_alignment);
    hp_pe_span_u32(opt, 56, &pe->size_of_image);
    hp_pe_span_u32(opt, 60, &pe->size_of_headers);
    hp_pe_span_u32(opt, 64, &pe->checksum);
    hp_pe_span_u16(opt, 68, &pe->subsystem);
    hp_pe_span_u16(opt, 70, &pe->dll_characteristics);

    uint32_t ndirs;
    hp_pe_span_u32(opt, fixed - 4, &ndirs);
    if (ndirs > HP_PE_DIR_COUNT)
        ndirs = HP_PE_DIR_COUNT; /* the loader looks at no more than 16 either */
    if (ndirs > (opt.size - fixed) / 8)
        FAIL("data directories exceed the optional header");
    pe->dir_count = ndirs;
    for (uint32_t i = 0; i < ndirs; i++) {
        hp_pe_span_u32(opt, fixed + 8 * i, &pe->dirs[i].rva);
        hp_pe_span_u32(opt, fixed + 8 * i + 4, &pe->dirs[i].size);
    }

    uint64_t sec_off = opt_off + size_of_opt;
    hp_pe_span sections;
    if (!hp_pe_span_sub(img, sec_off, (uint64_t)pe->section_count * SECTION_HEADER_SIZE, &sections))
        FAIL("truncated section table");
    pe->section_table = (uint32_t)sec_off;
    pe->nt_offset = lfanew;

    if (layout == HP_PE_LAYOUT_MAPPED) {
        if (img.size > pe->size_of_image)
            img.size = pe->size_of_image;
        if (sec_off + sections.size > img.size)
            FAIL("headers extend past SizeOfImage");
    }
    pe->image = img;
    pe->layout = layout;

    /* Sections: non-empty, sorted by address, not overlapping each other or the headers. */
    uint64_t prev_end = pe->size_of_headers;
    for (uint32_t i = 0; i < pe->section_count; i++) {
        hp_pe_section s;
        section_decode(pe, i, &s);
        uint32_t vsize = section_vsize(&s);
        if (vsize == 0)
            FAIL("zero-size section");
        if (s.virtual_address < prev_end)
            FAIL("overlapping sections");
        uint64_t end = (uint64_t)s.virtual_address + vsize;
        if (end > pe->size_of_image)
            FAIL("section extends past SizeOfImage");
        prev_end = end;
        hp_pe_span raw;
        if (layout == HP_PE_LAYOUT_FILE && s.raw_size != 0 && !hp_pe_span_sub(img, s.raw_offset, s.raw_size, &raw))
            FAIL("section data outside the file");
    }

    switch (pe->coff_machine) {
    case HP_PE_MACHINE_I386:
        if (pe->pe32plus)
            FAIL("pe32+ optional header on an x86 image");
        pe->machine = HP_MACHINE_X86;
        break;
    case HP_PE_MACHINE_AMD64:
        if (!pe->pe32plus)
            FAIL("pe32 optional header on an x64 image");
        pe->machine = HP_MACHINE_X64;
        break;
    case HP_PE_MACHINE_ARM64:
    case HP_PE_MACHINE_ARM64EC:
    case HP_PE_MACHINE_ARM64X:
        if (flags & HP_PE_OPEN_ANY_MACHINE)
            break;
        if (out_detail)
            *out_detail = "architecture not yet supported (arm64)";
        return HP_ERR_UNSUPPORTED;
    default:
        if (flags & HP_PE_OPEN_ANY_MACHINE)
            break;
        if (out_detail)
            *out_detail = "architecture not supported";
        return HP_ERR_UNSUPPORTED;
    }
    return HP_OK;
}

hp_status hp_pe_section_at(const hp_pe *pe, uint32_t index, hp_pe_section *out)
{
    if (!pe || !out || index >= pe->section_count)
        return HP_ERR_ARGUMENT;
    section_decode(pe, index, out);
    return HP_OK;
}

/* Index of the section containing `rva` in memory, or -1. Only the addresses and sizes are read
   while looking (every RVA lookup comes here: a whole decode per header was most of its cost); the
   table lies inside the image (hp_pe_open()). */
static int32_t section_find(const hp_pe *pe, uint32_t rva, hp_pe_section *out)
{
    hp_pe_span table;
    if (!hp_pe_span_sub(pe->image, pe->section_table, (uint64_t)pe->section_count * SECTION_HEADER_SIZE, &table))
        return -1;
    for (uint32_t i = 0; i < pe->section_count; i++) {
        const uint8_t *h = table.data + (size_t)i * SECTION_HEADER_SIZE;
        uint32_t vsize = le32_at(h + 8), va = le32_at(h + 12);
        if (!vsize)
            vsize = le32_at(h + 16);
        if (rva >= va && rva - va < vsize) {
            section_decode(pe, i, out);
            return (int32_t)i;
        }
    }
    return -1;
}

hp_status hp_pe_section_of_rva(const hp_pe *pe, uint32_t rva, hp_pe_section *out, const char **out_detail)
{
    if (!pe || !out)
        return HP_ERR_ARGUMENT;
    if (section_find(pe, rva, out) < 0)
        FAIL("rva outside every section");
    return HP_OK;
}

/*
 * Resolve `rva` to the span of its section's bytes that exist in the buffer,
 * and the offset of `rva` inside that span. Headers count as one region at
 * RVA 0 (the same in both layouts). With a `cache` (may be NULL), a section
 * found is remembered and an RVA inside it needs no lookup (the headers are not
 * cached).
 */
static hp_status region_of_rva(const hp_pe *pe, hp_pe_rva_cache *cache, uint32_t rva, hp_pe_span *out_region,
                               size_t *out_pos, const char **out_detail)
{
    if (cache && cache->vsize && rva >= cache->va && rva - cache->va < cache->vsize) {
        uint32_t pos = rva - cache->va;
        if (pos > cache->region.size)
            FAIL("rva in the zero-filled part of a section");
        *out_region = cache->region;
        *out_pos = pos;
        return HP_OK;
    }
    hp_pe_section s;
    if (section_find(pe, rva, &s) >= 0) {
        uint64_t start, len;
        if (pe->layout == HP_PE_LAYOUT_FILE) {
            start = s.raw_offset;
            len = section_fsize(&s);
        } else {
            start = s.virtual_address;
            len = section_vsize(&s);
            if (start > pe->image.size)
                FAIL("section outside the mapped image");
            if (len > pe->image.size - start)
                len = pe->image.size - start;
        }
        if (!hp_pe_span_sub(pe->image, start, len, out_region))
            FAIL("section data outside the file");
        if (cache) {
            cache->va = s.virtual_address;
            cache->vsize = section_vsize(&s);
            cache->region = *out_region;
        }
        uint32_t pos = rva - s.virtual_address;
        if (pos > out_region->size)
            FAIL("rva in the zero-filled part of a section");
        *out_pos = pos;
        return HP_OK;
    }
    if (rva < pe->size_of_headers) {
        uint64_t len = pe->size_of_headers < pe->image.size ? pe->size_of_headers : pe->image.size;
        hp_pe_span_sub(pe->image, 0, len, out_region);
        if (rva > out_region->size)
            FAIL("rva outside the file");
        *out_pos = rva;
        return HP_OK;
    }
    FAIL("rva outside every section");
}

hp_status hp_pe_rva_bytes_cached(const hp_pe *pe, hp_pe_rva_cache *cache, uint32_t rva, const uint8_t **out_ptr,
                                 size_t *out_before, size_t *out_after, const char **out_detail)
{
    if (!pe || !out_ptr)
        return HP_ERR_ARGUMENT;
    hp_pe_span region;
    size_t pos;
    hp_status st = region_of_rva(pe, cache, rva, &region, &pos, out_detail);
    if (st != HP_OK)
        return st;
    *out_ptr = region.data + pos;
    if (out_before)
        *out_before = pos;
    if (out_after)
        *out_after = region.size - pos;
    return HP_OK;
}

hp_status hp_pe_rva_span_cached(const hp_pe *pe, hp_pe_rva_cache *cache, uint32_t rva, uint32_t size,
                                hp_pe_span *out, const char **out_detail)
{
    if (!pe || !out)
        return HP_ERR_ARGUMENT;
    hp_pe_span region;
    size_t pos;
    hp_status st = region_of_rva(pe, cache, rva, &region, &pos, out_detail);
    if (st != HP_OK)
        return st;
    if (!hp_pe_span_sub(region, pos, size, out))
        FAIL("data runs past the end of its section");
    return HP_OK;
}

hp_status hp_pe_rva_bytes(const hp_pe *pe, uint32_t rva, const uint8_t **out_ptr, size_t *out_before,
                          size_t *out_after, const char **out_detail)
{
    return hp_pe_rva_bytes_cached(pe, NULL, rva, out_ptr, out_before, out_after, out_detail);
}

hp_status hp_pe_rva_span(const hp_pe *pe, uint32_t rva, uint32_t size, hp_pe_span *out, const char **out_detail)
{
    return hp_pe_rva_span_cached(pe, NULL, rva, size, out, out_detail);
}

hp_status hp_pe_rva_to_offset(const hp_pe *pe, uint32_t rva, uint32_t *out_offset, const char **out_detail)
{
    if (!pe || !out_offset)
        return HP_ERR_ARGUMENT;
    hp_pe_span region;
    size_t pos;
    hp_status st = region_of_rva(pe, NULL, rva, &region, &pos, out_detail);
    if (st != HP_OK)
        return st;
    *out_offset = (uint32_t)((size_t)(region.data - pe->image.data) + pos);
    return HP_OK;
}

/* ------------------------------------------------------------------------- */
/* Exports                                                                    */
/* ------------------------------------------------------------------------- */

/* The validated tables of the export directory. */
typedef struct export_tables {
    hp_pe_export_info info;
    hp_pe_dir dir;
    hp_pe_span functions; /* NumberOfFunctions x u32 */
    hp_pe_span names;     /* NumberOfNames x u32 */
    hp_pe_span ordinals;  /* NumberOfNames x u16 */
} export_tables;

static hp_status export_tables_get(const hp_pe *pe, export_tables *t, const char **out_detail)
{
    static const export_tables zero;
    *t = zero;
    if (pe->dir_count <= HP_PE_DIR_EXPORT || pe->dirs[HP_PE_DIR_EXPORT].rva == 0)
        return HP_OK;
    t->dir = pe->dirs[HP_PE_DIR_EXPORT];
    if (t->dir.size < EXPORT_DIR_SIZE)
        FAIL("truncated export directory");
    hp_pe_span d;
    if (hp_pe_rva_span(pe, t->dir.rva, EXPORT_DIR_SIZE, &d, NULL) != HP_OK)
        FAIL("export directory outside the file");
    uint32_t name_rva, fn_rva, names_rva, ords_rva;
    hp_pe_span_u32(d, 4, &t->info.time_date_stamp);
    hp_pe_span_u32(d, 12, &name_rva);
    hp_pe_span_u32(d, 16, &t->info.ordinal_base);
    hp_pe_span_u32(d, 20, &t->info.function_count);
    hp_pe_span_u32(d, 24, &t->info.name_count);
    hp_pe_span_u32(d, 28, &fn_rva);
    hp_pe_span_u32(d, 32, &names_rva);
    hp_pe_span_u32(d, 36, &ords_rva);

    /* Counts are checked against the bytes present: a count whose table would
       leave its section is refused, so no walk can run past the image. */
    if (t->info.function_count > UINT32_MAX / 4 || t->info.name_count > UINT32_MAX / 4)
        FAIL("absurd export count");
    if (t->info.function_count &&
        hp_pe_rva_span(pe, fn_rva, t->info.function_count * 4, &t->functions, NULL) != HP_OK)
        FAIL("export address table outside the file");
    if (t->info.name_count) {
        if (hp_pe_rva_span(pe, names_rva, t->info.name_count * 4, &t->names, NULL) != HP_OK)
            FAIL("export name table outside the file");
        if (hp_pe_rva_span(pe, ords_rva, t->info.name_count * 2, &t->ordinals, NULL) != HP_OK)
            FAIL("export ordinal table outside the file");
    }
    if (name_rva) {
        const uint8_t *p;
        size_t after, len;
        if (hp_pe_rva_bytes(pe, name_rva, &p, NULL, &after, NULL) != HP_OK)
            FAIL("export dll name outside the file");
        hp_pe_span s = {p, after};
        if (!hp_pe_span_strlen(s, 0, &len))
            FAIL("export dll name not terminated");
        t->info.dll_name = (const char *)p;
    }
    t->info.present = 1;
    return HP_OK;
}

hp_status hp_pe_export_info_get(const hp_pe *pe, hp_pe_export_info *out_info, const char **out_detail)
{
    if (!pe || !out_info)
        return HP_ERR_ARGUMENT;
    export_tables t;
    hp_status st = export_tables_get(pe, &t, out_detail);
    *out_info = t.info;
    return st;
}

/* What a walk of the exports looked up last: the section of the strings, and of the addresses. */
typedef struct export_walk {
    hp_pe_rva_cache strings;
    int have_sec;
    hp_pe_section sec;
} export_walk;

/* A NUL-terminated string at `rva`, inside one section. */
static hp_status string_at(const hp_pe *pe, hp_pe_rva_cache *cache, uint32_t rva, const char **out, size_t *out_len)
{
    const uint8_t *p;
    size_t after;
    if (hp_pe_rva_bytes_quick(pe, cache, rva, &p, NULL, &after) != HP_OK)
        return HP_ERR_FORMAT;
    hp_pe_span s = {p, after};
    if (!hp_pe_span_strlen(s, 0, out_len))
        return HP_ERR_FORMAT;
    *out = (const char *)p;
    return HP_OK;
}

/* Fill kind/forwarder of an export from its address. */
static hp_status export_classify(const hp_pe *pe, const export_tables *t, export_walk *w, hp_pe_export *e,
                                 const char **out_detail)
{
    e->forwarder = NULL;
    e->forwarder_len = 0;
    if (e->rva >= t->dir.rva && e->rva - t->dir.rva < t->dir.size) {
        e->kind = HP_PE_EXPORT_FORWARDER;
        if (string_at(pe, &w->strings, e->rva, &e->forwarder, &e->forwarder_len) != HP_OK)
            FAIL("forwarder string outside the file or not terminated");
        return HP_OK;
    }
    if (!w->have_sec || e->rva < w->sec.virtual_address ||
        e->rva - w->sec.virtual_address >= section_vsize(&w->sec)) {
        if (section_find(pe, e->rva, &w->sec) < 0)
            FAIL("export address outside every section");
        w->have_sec = 1;
    }
    e->kind = hp_pe_section_is_code(&w->sec) ? HP_PE_EXPORT_CODE : HP_PE_EXPORT_DATA;
    return HP_OK;
}

hp_status hp_pe_export_names(const hp_pe *pe, hp_pe_export_fn fn, void *ctx, const char **out_detail)
{
    if (!pe || !fn)
        return HP_ERR_ARGUMENT;
    export_tables t;
    hp_status st = export_tables_get(pe, &t, out_detail);
    if (st != HP_OK || !t.info.present)
        return st;
    static const export_walk fresh;
    export_walk w = fresh;
    for (uint32_t i = 0; i < t.info.name_count; i++) {
        hp_pe_export e;
        uint32_t name_rva;
        uint16_t idx;
        hp_pe_span_u32(t.names, (uint64_t)i * 4, &name_rva);
        hp_pe_span_u16(t.ordinals, (uint64_t)i * 2, &idx);
        if (idx >= t.info.function_count)
            FAIL("export ordinal out of range");
        hp_pe_span_u32(t.functions, (uint64_t)idx * 4, &e.rva);
        if (e.rva == 0)
            continue;
        if (string_at(pe, &w.strings, name_rva, &e.name, &e.name_len) != HP_OK)
            FAIL("export name outside the file or not terminated");
        e.index = idx;
        e.ordinal = t.info.ordinal_base + idx;
        st = export_classify(pe, &t, &w, &e, out_detail);
        if (st != HP_OK)
            return st;
        if (fn(ctx, &e))
            break;
    }
    return HP_OK;
}

hp_status hp_pe_export_addresses(const hp_pe *pe, hp_pe_export_fn fn, void *ctx, const char **out_detail)
{
    if (!pe || !fn)
        return HP_ERR_ARGUMENT;
    export_tables t;
    hp_status st = export_tables_get(pe, &t, out_detail);
    if (st != HP_OK || !t.info.present)
        return st;
    static const export_walk fresh;
    export_walk w = fresh;
    for (uint32_t i = 0; i < t.info.function_count; i++) {
        hp_pe_export e;
        hp_pe_span_u32(t.functions, (uint64_t)i * 4, &e.rva);
        if (e.rva == 0)
            continue;
        e.index = i;
        e.ordinal = t.info.ordinal_base + i;
        e.name = NULL;
        e.name_len = 0;
        st = export_classify(pe, &t, &w, &e, out_detail);
        if (st != HP_OK)
            return st;
        if (fn(ctx, &e))
            break;
    }
    return HP_OK;
}

typedef struct find_ctx {
    const char *name;
    hp_pe_export *out;
    int found;
} find_ctx;

static int find_cb(void *ctx, const hp_pe_export *e)
{
    find_ctx *f = ctx;
    size_t i = 0;
    for (; i < e->name_len && f->name[i] == e->name[i]; i++)
        ;
    if (i == e->name_len && f->name[i] == 0) {
        *f->out = *e;
        f->found = 1;
        return 1;
    }
    return 0;
}

hp_status hp_pe_export_find(const hp_pe *pe, const char *name, hp_pe_export *out, const char **out_detail)
{
    if (!pe || !name || !out)
        return HP_ERR_ARGUMENT;
    find_ctx f = {name, out, 0};
    hp_status st = hp_pe_export_names(pe, find_cb, &f, out_detail);
    if (st != HP_OK)
        return st;
    return f.found ? HP_OK : HP_ERR_ARGUMENT;
}

/* ------------------------------------------------------------------------- */
/* .pdata                                                                     */
/* ------------------------------------------------------------------------- */

hp_status hp_pe_pdata_span(const hp_pe *pe, hp_pe_span *out, const char **out_detail)
{
    if (!pe || !out)
        return HP_ERR_ARGUMENT;
    out->data = NULL;
    out->size = 0;
    if (pe->machine != HP_MACHINE_X64 || pe->dir_count <= HP_PE_DIR_EXCEPTION ||
        pe->dirs[HP_PE_DIR_EXCEPTION].rva == 0)
        return HP_OK;
    hp_pe_dir d = pe->dirs[HP_PE_DIR_EXCEPTION];
    if (hp_pe_rva_span(pe, d.rva, d.size, out, NULL) != HP_OK)
        FAIL("exception directory outside the file");
    out->size -= out->size % RUNTIME_FUNCTION_SIZE; /* a trailing partial entry is not an entry */
    return HP_OK;
}

static void rf_decode(hp_pe_span s, uint32_t i, hp_pe_runtime_function *rf)
{
    hp_pe_span_u32(s, (uint64_t)i * RUNTIME_FUNCTION_SIZE, &rf->begin);
    hp_pe_span_u32(s, (uint64_t)i * RUNTIME_FUNCTION_SIZE + 4, &rf->end);
    hp_pe_span_u32(s, (uint64_t)i * RUNTIME_FUNCTION_SIZE + 8, &rf->unwind);
}

hp_status hp_pe_pdata_count(const hp_pe *pe, uint32_t *out_count, const char **out_detail)
{
    if (!pe || !out_count)
        return HP_ERR_ARGUMENT;
    hp_pe_span s;
    hp_status st = hp_pe_pdata_span(pe, &s, out_detail);
    *out_count = (uint32_t)(s.size / RUNTIME_FUNCTION_SIZE);
    return st;
}

hp_status hp_pe_pdata_foreach(const hp_pe *pe, hp_pe_pdata_fn fn, void *ctx, const char **out_detail)
{
    if (!pe || !fn)
        return HP_ERR_ARGUMENT;
    hp_pe_span s;
    hp_status st = hp_pe_pdata_span(pe, &s, out_detail);
    if (st != HP_OK)
        return st;
    uint32_t n = (uint32_t)(s.size / RUNTIME_FUNCTION_SIZE);
    for (uint32_t i = 0; i < n; i++) {
        hp_pe_runtime_function rf;
        rf_decode(s, i, &rf);
        if (fn(ctx, &rf))
            break;
    }
    return HP_OK;
}

hp_status hp_pe_pdata_find(const hp_pe *pe, uint32_t rva, hp_pe_runtime_function *out, const char **out_detail)
{
    if (!pe || !out)
        return HP_ERR_ARGUMENT;
    hp_pe_span s;
    hp_status st = hp_pe_pdata_span(pe, &s, out_detail);
    if (st != HP_OK)
        return st;
    uint32_t lo = 0, hi = (uint32_t)(s.size / RUNTIME_FUNCTION_SIZE);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        hp_pe_runtime_function rf;
        rf_decode(s, mid, &rf);
        if (rf.begin == rva) {
            *out = rf;
            return HP_OK;
        }
        if (rf.begin < rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    return HP_ERR_ARGUMENT;
}

/* ------------------------------------------------------------------------- */
/* The plugin's table                                                         */
/* ------------------------------------------------------------------------- */

static int name_is(const hp_pe_section *s, const char *name)
{
    int i = 0;
    for (; i < 8 && name[i] && s->name[i] == name[i]; i++)
        ;
    return i == 8 || (name[i] == 0 && s->name[i] == 0);
}

hp_status hp_pe_table_foreach(const hp_pe *pe, hp_pe_table_fn fn, void *ctx, int *out_present,
                              const char **out_detail)
{
    if (out_present)
        *out_present = 0;
    if (!pe || !fn)
        return HP_ERR_ARGUMENT;
    hp_pe_section s;
    uint32_t i = 0;
    for (; i < pe->section_count; i++) {
        section_decode(pe, i, &s);
        if (name_is(&s, HP_TABLE_COFF_SECTION))
            break;
    }
    if (i == pe->section_count)
        return HP_OK;
    if (out_present)
        *out_present = 1;
    hp_pe_span t;
    /* the whole section's bytes present in the buffer (raw size may be shorter than the virtual one) */
    {
        const uint8_t *p;
        size_t after;
        hp_status st = hp_pe_rva_bytes(pe, s.virtual_address, &p, NULL, &after, out_detail);
        if (st != HP_OK)
            return st;
        t.data = p;
        t.size = after;
    }
    hp_table_iter it;
    hp_table_entry e;
    int got;
    hp_table_iter_init(&it, t.data, t.size, s.virtual_address);
    while ((got = hp_table_iter_next(&it, &e)) != 0) {
        hp_table_record rec;
        if (got < 0)
            FAIL("damaged table record (an in-run record without its run start, or a bad block)");
        /* stored self-relative, run-relative or as an RVA (hotpatch_table.h); callers get the RVA */
        rec.where = (int32_t)e.rva;
        rec.pad = e.pad;
        rec.flags = e.flags;
        rec.version = e.version;
        if (fn(ctx, &rec))
            break;
    }
    return HP_OK;
}

/* ------------------------------------------------------------------------- */
/* CodeView                                                                   */
/* ------------------------------------------------------------------------- */

hp_status hp_pe_codeview_get(const hp_pe *pe, hp_pe_codeview *out, const char **out_detail)
{
    if (!pe || !out)
        return HP_ERR_ARGUMENT;
    static const hp_pe_codeview zero;
    *out = zero;
    if (pe->dir_count <= HP_PE_DIR_DEBUG || pe->dirs[HP_PE_DIR_DEBUG].rva == 0)
        return HP_OK;
    hp_pe_dir d = pe->dirs[HP_PE_DIR_DEBUG];
    hp_pe_span dd;
    if (hp_pe_rva_span(pe, d.rva, d.size, &dd, NULL) != HP_OK)
        FAIL("debug directory outside the file");
    uint32_t n = (uint32_t)(dd.size / DEBUG_DIR_SIZE);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t e = (uint64_t)i * DEBUG_DIR_SIZE;
        uint32_t type, size, rva, ptr;
        hp_pe_span_u32(dd, e + 12, &type);
        hp_pe_span_u32(dd, e + 16, &size);
        hp_pe_span_u32(dd, e + 20, &rva);
        hp_pe_span_u32(dd, e + 24, &ptr);
        if (type != DEBUG_TYPE_CODEVIEW)
            continue;
        hp_pe_span rec;
        if (pe->layout == HP_PE_LAYOUT_FILE && ptr != 0) {
            if (!hp_pe_span_sub(pe->image, ptr, size, &rec))
                FAIL("codeview record outside the file");
        } else if (rva != 0) {
            if (hp_pe_rva_span(pe, rva, size, &rec, NULL) != HP_OK)
                FAIL("codeview record outside the image");
        } else {
            continue; /* not mapped and not in the file: nothing to read */
        }
        uint32_t sig;
        if (!hp_pe_span_u32(rec, 0, &sig) || sig != MAGIC_RSDS)
            continue; /* older NB10 records carry no GUID */
        if (rec.size < 24)
            FAIL("truncated codeview record");
        for (int k = 0; k < 16; k++)
            out->guid[k] = rec.data[4 + k];
        hp_pe_span_u32(rec, 20, &out->age);
        size_t len;
        out->path = hp_pe_span_strlen(rec, 24, &len) ? (const char *)rec.data + 24 : NULL;
        out->present = 1;
        return HP_OK;
    }
    return HP_OK;
}
