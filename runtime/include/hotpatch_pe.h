/*
 * hotpatch_pe.h — a small, allocation-free, bounds-checked view of a PE32 /
 * PE32+ image, shared by the audit (files mapped from disk: "file layout")
 * and the runtime's patch-module loader (images loaded by the OS: "mapped
 * layout", where an RVA is an offset from the base).
 *
 * Every byte is read through the hp_pe_span reader below, whose checks are
 * written `size <= end - start` so that no count or offset read from the
 * input can wrap them. Nothing here allocates, prints or uses libc: the
 * view is plain data over the caller's buffer, and tables are walked with
 * callbacks. The caller owns the buffer and must keep it alive and unchanged
 * while the view (and every pointer handed out by it) is in use.
 *
 * Errors: every fallible function returns an hp_status. HP_ERR_FORMAT means
 * the bytes are not a valid image; the optional `out_detail` then receives a
 * static, lower-case, one-line description ("truncated optional header"),
 * never NULL, never to be freed. HP_ERR_UNSUPPORTED means the image is valid
 * but of a machine the rules do not handle (ARM64: "architecture not yet
 * supported").
 *
 * Thread-safety: a view is immutable after hp_pe_open(); any number of threads
 * may read it concurrently.
 *
 * Public API of libhotpatch, like hotpatch.h: installed, and its HP_API
 * functions are exported from libhotpatch.so and hotpatch.dll (the tools link
 * the static library; a program may use either).
 */
#ifndef HOTPATCH_PE_H
#define HOTPATCH_PE_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch.h"
#include "hotpatch_table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* The span reader                                                            */
/* ------------------------------------------------------------------------- */

/** A borrowed byte range `[data, data + size)`. */
typedef struct hp_pe_span {
    const uint8_t *data; /**< first byte (may be NULL when size is 0) */
    size_t size;         /**< number of readable bytes */
} hp_pe_span;

/**
 * Sub-range `[off, off + len)` of `s`.
 * @return 1 and stores it in *out when it lies inside `s`, 0 otherwise (*out empty).
 */
static inline int hp_pe_span_sub(hp_pe_span s, uint64_t off, uint64_t len, hp_pe_span *out)
{
    out->data = NULL;
    out->size = 0;
    /* written so that no addition can wrap: off <= size, then len <= size - off */
    if (off > s.size || len > s.size - off)
        return 0;
    out->data = s.data + (size_t)off;
    out->size = (size_t)len;
    return 1;
}

/** Little-endian 16-bit value at `off`; 1 on success, 0 (and *out = 0) when out of range. */
static inline int hp_pe_span_u16(hp_pe_span s, uint64_t off, uint16_t *out)
{
    *out = 0;
    if (off > s.size || 2 > s.size - off)
        return 0;
    const uint8_t *p = s.data + (size_t)off;
    *out = (uint16_t)(p[0] | (p[1] << 8));
    return 1;
}

/** Little-endian 32-bit value at `off`; 1 on success, 0 (and *out = 0) when out of range. */
static inline int hp_pe_span_u32(hp_pe_span s, uint64_t off, uint32_t *out)
{
    *out = 0;
    if (off > s.size || 4 > s.size - off)
        return 0;
    const uint8_t *p = s.data + (size_t)off;
    *out = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    return 1;
}

/** Little-endian 64-bit value at `off`; 1 on success, 0 (and *out = 0) when out of range. */
static inline int hp_pe_span_u64(hp_pe_span s, uint64_t off, uint64_t *out)
{
    uint32_t lo, hi;
    *out = 0;
    if (!hp_pe_span_u32(s, off, &lo) || off > UINT64_MAX - 4 || !hp_pe_span_u32(s, off + 4, &hi))
        return 0;
    *out = (uint64_t)lo | ((uint64_t)hi << 32);
    return 1;
}

/**
 * Length of the NUL-terminated string at `off`, the NUL excluded.
 * @return 1 when a NUL exists inside `s` at or after `off`, 0 otherwise.
 */
HP_API int hp_pe_span_strlen(hp_pe_span s, uint64_t off, size_t *out_len);

/* ------------------------------------------------------------------------- */
/* The view                                                                   */
/* ------------------------------------------------------------------------- */

/** How the bytes given to hp_pe_open() are laid out. */
typedef enum hp_pe_layout {
    HP_PE_LAYOUT_FILE = 0,   /**< the file as stored on disk: RVAs go through the section table */
    HP_PE_LAYOUT_MAPPED = 1, /**< an image loaded by the OS loader: RVA == offset from the base */
} hp_pe_layout;

/** COFF machine numbers the view names. */
#define HP_PE_MACHINE_I386  0x014Cu
#define HP_PE_MACHINE_AMD64 0x8664u
#define HP_PE_MACHINE_ARM64 0xAA64u
#define HP_PE_MACHINE_ARM64EC 0xA641u
#define HP_PE_MACHINE_ARM64X 0xA64Eu
#define HP_PE_MACHINE_ARMNT 0x01C4u

/** Section characteristics the view interprets. */
#define HP_PE_SCN_CNT_CODE    0x00000020u
#define HP_PE_SCN_MEM_EXECUTE 0x20000000u

/** Data directory indices. */
#define HP_PE_DIR_EXPORT    0u
#define HP_PE_DIR_IMPORT    1u
#define HP_PE_DIR_EXCEPTION 3u
#define HP_PE_DIR_DEBUG     6u
#define HP_PE_DIR_IAT       12u /**< the import address table: the cells import thunks jump through */
#define HP_PE_DIR_COUNT     16u

/** One data directory entry. */
typedef struct hp_pe_dir {
    uint32_t rva;  /**< VirtualAddress (0 when absent) */
    uint32_t size; /**< Size in bytes */
} hp_pe_dir;

/** One section header, decoded. */
typedef struct hp_pe_section {
    char name[9];             /**< the 8-byte name, NUL-terminated ("/4"-style long names are not resolved) */
    uint32_t virtual_address; /**< RVA of the section */
    uint32_t virtual_size;    /**< VirtualSize as stored (0 for some older linkers: then raw_size is the size) */
    uint32_t raw_offset;      /**< PointerToRawData */
    uint32_t raw_size;        /**< SizeOfRawData */
    uint32_t characteristics; /**< IMAGE_SCN_* flags */
    uint32_t index;           /**< 0-based index in the section table */
} hp_pe_section;

/** 1 when the section holds code (CNT_CODE or MEM_EXECUTE). */
static inline int hp_pe_section_is_code(const hp_pe_section *s)
{
    return (s->characteristics & (HP_PE_SCN_CNT_CODE | HP_PE_SCN_MEM_EXECUTE)) != 0;
}

/**
 * A parsed image. Fill with hp_pe_open(); the fields are read-only for callers.
 * Holds no resources: there is nothing to close.
 */
typedef struct hp_pe {
    hp_pe_span image;          /**< the caller's bytes (clamped to SizeOfImage in mapped layout) */
    hp_pe_layout layout;       /**< as given to hp_pe_open() */
    uint16_t coff_machine;     /**< IMAGE_FILE_HEADER.Machine (HP_PE_MACHINE_*) */
    hp_machine machine;        /**< HP_MACHINE_X86 / HP_MACHINE_X64 (UNKNOWN only if open failed) */
    int pe32plus;              /**< 1 for PE32+ (optional header magic 0x20B), 0 for PE32 (0x10B) */
    uint16_t characteristics;  /**< IMAGE_FILE_HEADER.Characteristics (0x2000 = DLL) */
    uint32_t time_date_stamp;  /**< IMAGE_FILE_HEADER.TimeDateStamp */
    uint32_t entry_point;      /**< AddressOfEntryPoint (RVA, 0 when none) */
    uint64_t image_base;       /**< preferred base */
    uint32_t section_alignment;
    uint32_t file_alignment;
    uint32_t size_of_image;    /**< SizeOfImage */
    uint32_t size_of_headers;  /**< SizeOfHeaders */
    uint32_t checksum;         /**< CheckSum as stored (lld writes 0 without /release) */
    uint16_t subsystem;
    uint16_t dll_characteristics;
    uint32_t dir_count;        /**< number of data directories present (at most HP_PE_DIR_COUNT) */
    hp_pe_dir dirs[HP_PE_DIR_COUNT]; /**< data directories; entries >= dir_count are zero */
    uint32_t nt_offset;        /**< offset of "PE\0\0" */
    uint32_t section_table;    /**< offset of the first section header */
    uint16_t section_count;    /**< NumberOfSections */
} hp_pe;

/** hp_pe_open() flags. */
#define HP_PE_OPEN_ANY_MACHINE 0x01u /**< parse images of any machine instead of refusing non-x86/x64 ones */

/**
 * Parse and validate the headers and the section table of an image.
 *
 * Checks: DOS and NT signatures, that every header lies inside `size`, the
 * optional header magic and its agreement with the machine, the data
 * directory count, and that sections are non-empty, sorted, non-overlapping
 * and (file layout) have their raw data inside the file. Tables (exports,
 * .pdata, the hotpatch table, debug directory) are validated lazily by the
 * functions that walk them.
 *
 * @param pe      receives the view (must not be NULL); zeroed first.
 * @param data    the image bytes (must not be NULL unless size is 0).
 * @param size    bytes readable at `data`. In mapped layout, the size of the
 *                module's mapping; it is clamped to SizeOfImage.
 * @param layout  HP_PE_LAYOUT_FILE or HP_PE_LAYOUT_MAPPED.
 * @param flags   0 or HP_PE_OPEN_ANY_MACHINE.
 * @param out_detail receives a static description on HP_ERR_FORMAT / HP_ERR_UNSUPPORTED (may be NULL).
 * @return HP_OK; HP_ERR_ARGUMENT; HP_ERR_FORMAT; HP_ERR_UNSUPPORTED when the
 *         machine is ARM64 ("architecture not yet supported") or another
 *         non-x86 machine (the header fields are still filled in, so the
 *         caller can name the machine).
 */
HP_API hp_status hp_pe_open(hp_pe *pe, const void *data, size_t size, hp_pe_layout layout, unsigned flags,
                            const char **out_detail);

/** Short name of a COFF machine ("x86", "x64", "arm64", ...); "unknown" otherwise. Never NULL. */
HP_API const char *hp_pe_machine_name(uint16_t coff_machine);

/**
 * Section header number `index` (0-based).
 * @return HP_OK, HP_ERR_ARGUMENT (NULL or index out of range).
 */
HP_API hp_status hp_pe_section_at(const hp_pe *pe, uint32_t index, hp_pe_section *out);

/**
 * The section whose virtual range contains `rva`.
 * @return HP_OK; HP_ERR_FORMAT when no section contains it (detail "rva outside every section").
 */
HP_API hp_status hp_pe_section_of_rva(const hp_pe *pe, uint32_t rva, hp_pe_section *out, const char **out_detail);

/**
 * Bytes of the image at `rva`, bounded by the containing section (or the
 * headers): `[*out_ptr - *out_before, *out_ptr + *out_after)` is readable and
 * belongs to that one section. In file layout, bytes of the section beyond its
 * raw data (zero-fill) are not available and are not counted in *out_after.
 *
 * @param out_ptr receives the pointer (not NULL).
 * @param out_before receives the readable bytes before `rva` in the section (may be NULL).
 * @param out_after receives the readable bytes from `rva` on (may be NULL); 0 is possible.
 * @return HP_OK; HP_ERR_FORMAT when `rva` is outside every section and the headers.
 */
HP_API hp_status hp_pe_rva_bytes(const hp_pe *pe, uint32_t rva, const uint8_t **out_ptr, size_t *out_before,
                                 size_t *out_after, const char **out_detail);

/**
 * `size` bytes at `rva` as a span, all inside one section (or the headers).
 * @return HP_OK; HP_ERR_FORMAT (detail names the failure) when they are not all present.
 */
HP_API hp_status hp_pe_rva_span(const hp_pe *pe, uint32_t rva, uint32_t size, hp_pe_span *out, const char **out_detail);

/** The section the last cached lookup found (hp_pe_rva_bytes_cached()); zero it before the first use,
    and use it with one view only. A NULL cache is allowed: the lookup is then not cached. */
typedef struct hp_pe_rva_cache {
    uint32_t va;         /**< the section's RVA */
    uint32_t vsize;      /**< its extent in memory (0: nothing cached) */
    hp_pe_span region;   /**< its bytes, as hp_pe_rva_bytes() bounds them */
} hp_pe_rva_cache;

/** hp_pe_rva_bytes(), with the section found remembered in `cache`: a walk in address order (every
    function of an image) looks each section up once instead of once per RVA. Same results. */
HP_API hp_status hp_pe_rva_bytes_cached(const hp_pe *pe, hp_pe_rva_cache *cache, uint32_t rva,
                                        const uint8_t **out_ptr, size_t *out_before, size_t *out_after,
                                        const char **out_detail);

/** hp_pe_rva_bytes_cached() when `cache` holds the section of `rva` and it has bytes there, without a
    call: returns 1 with the same results; else 0, nothing set (ask hp_pe_rva_bytes_cached()). For the
    walks that look up one RVA per function (60,000 calls of a few dozen instructions each). */
static inline int hp_pe_rva_cache_hit(const hp_pe_rva_cache *cache, uint32_t rva, const uint8_t **out_ptr,
                                      size_t *out_before, size_t *out_after)
{
    uint32_t pos = rva - cache->va;
    if (!cache->vsize || rva < cache->va || pos >= cache->vsize || pos > cache->region.size)
        return 0;
    *out_ptr = cache->region.data + pos;
    if (out_before)
        *out_before = pos;
    if (out_after)
        *out_after = cache->region.size - pos;
    return 1;
}

/** hp_pe_rva_bytes_cached() (no detail on failure), answered inline when `cache` holds the section of
    `rva`: the call a walk in address order makes once per function. */
static inline hp_status hp_pe_rva_bytes_quick(const hp_pe *pe, hp_pe_rva_cache *cache, uint32_t rva,
                                              const uint8_t **out_ptr, size_t *out_before, size_t *out_after)
{
    return hp_pe_rva_cache_hit(cache, rva, out_ptr, out_before, out_after)
               ? HP_OK
               : hp_pe_rva_bytes_cached(pe, cache, rva, out_ptr, out_before, out_after, NULL);
}

/** hp_pe_rva_span(), with the section found remembered in `cache` (hp_pe_rva_bytes_cached()). */
HP_API hp_status hp_pe_rva_span_cached(const hp_pe *pe, hp_pe_rva_cache *cache, uint32_t rva, uint32_t size,
                                       hp_pe_span *out, const char **out_detail);

/**
 * File offset of `rva` (file layout), or `rva` itself (mapped layout).
 * @return HP_OK; HP_ERR_FORMAT when the RVA has no bytes in the file.
 */
HP_API hp_status hp_pe_rva_to_offset(const hp_pe *pe, uint32_t rva, uint32_t *out_offset, const char **out_detail);

/* ------------------------------------------------------------------------- */
/* Exports                                                                    */
/* ------------------------------------------------------------------------- */

/** What an export address points at. */
typedef enum hp_pe_export_kind {
    HP_PE_EXPORT_CODE = 0,      /**< inside a code section: a function */
    HP_PE_EXPORT_DATA = 1,      /**< inside a section that is not code: a variable */
    HP_PE_EXPORT_FORWARDER = 2, /**< inside the export directory: "DLL.Name" forwarder string */
} hp_pe_export_kind;

/** One export. Strings point into the image and are NUL-terminated there. */
typedef struct hp_pe_export {
    uint32_t index;           /**< index in the export address table (ordinal - base) */
    uint32_t ordinal;         /**< biased ordinal: index + OrdinalBase */
    const char *name;         /**< export name, or NULL for an export by ordinal only */
    size_t name_len;          /**< strlen(name), 0 when name is NULL */
    uint32_t rva;             /**< address table entry: function/data RVA, or forwarder string RVA */
    hp_pe_export_kind kind;   /**< code, data or forwarder */
    const char *forwarder;    /**< HP_PE_EXPORT_FORWARDER: "DLL.Name" or "DLL.#12"; NULL otherwise */
    size_t forwarder_len;     /**< strlen(forwarder) */
} hp_pe_export;

/** Header of the export directory. */
typedef struct hp_pe_export_info {
    int present;              /**< 0 when the image exports nothing (other fields zero) */
    const char *dll_name;     /**< the Name field, NUL-terminated inside the image; NULL when 0 */
    uint32_t ordinal_base;    /**< OrdinalBase */
    uint32_t function_count;  /**< NumberOfFunctions (validated against the bytes present) */
    uint32_t name_count;      /**< NumberOfNames (validated against the bytes present) */
    uint32_t time_date_stamp; /**< TimeDateStamp of the directory */
} hp_pe_export_info;

/**
 * Callback of the export walkers. Return 0 to continue, nonzero to stop the
 * walk (the walker then returns HP_OK).
 */
typedef int (*hp_pe_export_fn)(void *ctx, const hp_pe_export *exp);

/**
 * Read and validate the export directory header: the directory, its address,
 * name and ordinal tables must lie inside the image (in file layout: inside
 * the file), with counts that fit the bytes present.
 * @return HP_OK (info->present = 0 when there is no export directory); HP_ERR_FORMAT.
 */
HP_API hp_status hp_pe_export_info_get(const hp_pe *pe, hp_pe_export_info *out_info, const char **out_detail);

/**
 * Walk the export name table in its order (sorted by name in a valid image):
 * one call per name, with its ordinal and address. Entries whose address
 * table slot is 0 are skipped.
 * @return HP_OK; HP_ERR_FORMAT when a table, a name or an ordinal is out of range.
 */
HP_API hp_status hp_pe_export_names(const hp_pe *pe, hp_pe_export_fn fn, void *ctx, const char **out_detail);

/**
 * Walk the export address table in ordinal order: one call per non-zero slot,
 * with `name` always NULL (attach names with hp_pe_export_names()).
 * @return HP_OK; HP_ERR_FORMAT.
 */
HP_API hp_status hp_pe_export_addresses(const hp_pe *pe, hp_pe_export_fn fn, void *ctx, const char **out_detail);

/**
 * Find an export by exact name (linear scan of the name table).
 * @return HP_OK; HP_ERR_ARGUMENT when no export has that name; HP_ERR_FORMAT.
 */
HP_API hp_status hp_pe_export_find(const hp_pe *pe, const char *name, hp_pe_export *out, const char **out_detail);

/* ------------------------------------------------------------------------- */
/* .pdata (x64 RUNTIME_FUNCTION)                                              */
/* ------------------------------------------------------------------------- */

/** One x64 RUNTIME_FUNCTION: the code range [begin, end) of one unwind region. */
typedef struct hp_pe_runtime_function {
    uint32_t begin;  /**< BeginAddress (RVA) */
    uint32_t end;    /**< EndAddress (RVA, exclusive) */
    uint32_t unwind; /**< UnwindInfoAddress (RVA; bit 0 set = chained entry in some producers) */
} hp_pe_runtime_function;

/** Callback of hp_pe_pdata_foreach(); return nonzero to stop. */
typedef int (*hp_pe_pdata_fn)(void *ctx, const hp_pe_runtime_function *rf);

/**
 * The exception directory of an x64 image as bytes: 12 a RUNTIME_FUNCTION (BeginAddress, EndAddress,
 * UnwindInfoAddress, little-endian), a trailing partial entry left out; empty for x86 or none. What
 * hp_pe_pdata_foreach() walks, for a caller that reads the entries in place.
 * @return HP_OK; HP_ERR_FORMAT when the exception directory is out of range.
 */
HP_API hp_status hp_pe_pdata_span(const hp_pe *pe, hp_pe_span *out, const char **out_detail);

/**
 * Number of RUNTIME_FUNCTION entries of an x64 image (0 for x86 or none).
 * @return HP_OK; HP_ERR_FORMAT when the exception directory is out of range.
 */
HP_API hp_status hp_pe_pdata_count(const hp_pe *pe, uint32_t *out_count, const char **out_detail);

/**
 * Walk the exception directory of an x64 image (nothing for x86).
 * @return HP_OK; HP_ERR_FORMAT.
 */
HP_API hp_status hp_pe_pdata_foreach(const hp_pe *pe, hp_pe_pdata_fn fn, void *ctx, const char **out_detail);

/**
 * The RUNTIME_FUNCTION whose begin is exactly `rva` (binary search: entries
 * are sorted by begin in a valid image; an unsorted table may miss).
 * @return HP_OK; HP_ERR_ARGUMENT when none begins there; HP_ERR_FORMAT.
 */
HP_API hp_status hp_pe_pdata_find(const hp_pe *pe, uint32_t rva, hp_pe_runtime_function *out, const char **out_detail);

/* ------------------------------------------------------------------------- */
/* The plugin's table (.hotp, see hotpatch_table.h)                           */
/* ------------------------------------------------------------------------- */

/** Callback of hp_pe_table_foreach(); `rec->where` is an RVA, never 0. Return nonzero to stop. */
typedef int (*hp_pe_table_fn)(void *ctx, const hp_table_record *rec);

/**
 * Walk the records of the `.hotp` section, skipping those whose `where` is 0
 * (markers, alignment filler). A trailing partial record is ignored.
 * @param out_present receives 1 when the image has a `.hotp` section (may be NULL).
 * @return HP_OK (also when there is no table); HP_ERR_FORMAT.
 */
HP_API hp_status hp_pe_table_foreach(const hp_pe *pe, hp_pe_table_fn fn, void *ctx, int *out_present,
                                     const char **out_detail);

/* ------------------------------------------------------------------------- */
/* Identity: CodeView (RSDS) record                                           */
/* ------------------------------------------------------------------------- */

/** The CodeView RSDS record of the debug directory (the PDB identity). */
typedef struct hp_pe_codeview {
    int present;        /**< 0 when the image has no RSDS debug entry */
    uint8_t guid[16];   /**< GUID as stored (Data1..Data3 little-endian) */
    uint32_t age;       /**< Age */
    const char *path;   /**< PDB path, NUL-terminated inside the image; NULL when not terminated */
} hp_pe_codeview;

/**
 * Find the first IMAGE_DEBUG_TYPE_CODEVIEW entry with an "RSDS" record.
 * @return HP_OK (out->present = 0 when none); HP_ERR_FORMAT when the debug directory is out of range.
 */
HP_API hp_status hp_pe_codeview_get(const hp_pe *pe, hp_pe_codeview *out, const char **out_detail);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATCH_PE_H */
