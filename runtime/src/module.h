/*
 * module.h — patch modules (internal): the manifest reader, the views of
 * module files and loaded images it checks the manifest against, and the two
 * engine accessors the module loader needs.
 *
 *   module.c      hp_module_load/unload/info/entry, the registry of loaded
 *                 modules and of the modules stacked on each target
 *   manifest.c    the manifest reader (hp_mf_parse), region and string lookups
 *   message.c     the message formatter (hp_msgf), which calls nothing
 *   module_pe.c   PE: the .hpfix section of a module file, the view of a
 *                 loaded image (sections, identity) — over the PE view (pe.c)
 *   module_elf.c  ELF: the .hpfix section of a module file (section headers by
 *                 name, its dynamic relocations' link-time values), the view
 *                 of a loaded image from its program headers (PT_LOAD, the
 *                 build-id note)
 *   os_linux.c / os_windows.c   reading a file, dlopen / LoadLibrary, finding
 *                 a loaded image by address, name or by walking them all
 *
 * Everything here but the OS functions is pure: it reads only the bytes it is
 * given, bounded by the sizes given, and allocates only where it says so. The
 * runtime's tests link the static library and call hp_mf_parse() on bytes they
 * build by hand (tests/runtime/portable/cases_manifest.c). Calls only go down,
 * in the order message.c, the OS layer, manifest.c, module_pe.c /
 * module_elf.c, module.c (no two object files call each other).
 */
#ifndef HP_MODULE_H
#define HP_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch.h"
#include "hotpatch_fix.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Messages                                                                   */
/* ------------------------------------------------------------------------- */

/**
 * snprintf into `buf` (nothing when buf is NULL or size 0): always NUL-terminated; a message cut
 * short ends in "...". No libc (the freestanding build has none): %s %c %d %u %x %lu %lx %llu %llx
 * %zu %p %% only, no widths.
 */
void hp_msgf(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ------------------------------------------------------------------------- */
/* Images as the manifest reader sees them                                    */
/* ------------------------------------------------------------------------- */

#define HP_MF_REGION_X 0x1u /* holds code (PE: CNT_CODE/MEM_EXECUTE section; ELF: PF_X segment) */
#define HP_MF_REGION_W 0x2u /* writable (PE: MEM_WRITE; ELF: PF_W) */

/** One section (PE) or PT_LOAD segment (ELF) of an image. */
typedef struct hp_mf_region {
    uint64_t lo, hi;      /**< [lo, hi): link-time addresses (a file) or live ones (a loaded image) */
    const uint8_t *bytes; /**< the bytes at lo (NULL: none can be read) */
    uint64_t nbytes;      /**< bytes readable from lo on (a file's raw data; the rest is zero-fill) */
    uint32_t flags;       /**< HP_MF_REGION_* */
} hp_mf_region;

/** Most regions an image may have (the Windows loader's own limit on sections). */
#define HP_MF_MAX_REGIONS 96

/**
 * What the pointers of a manifest are checked against: the module's image, at its link-time
 * addresses (the file) or where it is loaded. Every pointer must lie in a region; a replacement
 * in a code region, a slot in a writable one (aligned to the pointer size), a name must be a
 * NUL-terminated string readable in one region.
 */
typedef struct hp_mf_image {
    uint32_t format;   /**< HP_FIX_FORMAT_* every fragment must name (0: any) */
    uint32_t machine;  /**< hp_fix_header.machine every fragment must name (0: any) */
    unsigned ptr_size; /**< 4 or 8: on 4 the upper half of every hp_fix_ptr must be zero */
    uint64_t lo, hi;   /**< the whole image (PE: ImageBase .. + SizeOfImage; ELF: the PT_LOADs' span) */
    const hp_mf_region *regions;
    size_t nregions;
} hp_mf_image;

/** The region of `img` that holds [a, a + len) (len 0: just `a`), or NULL. */
const hp_mf_region *hp_mf_region_of(const hp_mf_image *img, uint64_t a, uint64_t len);

/** The NUL-terminated string at `a` in `img` (at most 4095 characters, inside one region), or NULL. */
const char *hp_mf_string(const hp_mf_image *img, uint64_t a);

/* ------------------------------------------------------------------------- */
/* The manifest                                                               */
/* ------------------------------------------------------------------------- */

/** An entry as read (every pointer an address of the image the manifest was read against). */
typedef struct hp_mf_entry {
    uint64_t name, replacement;
    uint32_t target_rva, hash_len;
    uint64_t hash;
} hp_mf_entry;

/** A slot as read. */
typedef struct hp_mf_slot {
    uint64_t name, slot;
    uint32_t kind, target_rva, size;
} hp_mf_slot;

/** A manifest: what its fragments agree on, and all their entries and slots in order. */
typedef struct hp_mf {
    uint32_t format, machine;
    uint32_t time_date_stamp, size_of_image, checksum, codeview_age, build_id_len;
    uint8_t codeview_guid[16];
    uint8_t build_id[32];
    uint64_t target_name; /**< the first fragment's (every fragment names the same string) */
    size_t nfragments;
    hp_mf_entry *entries; /**< hp_os_alloc'd; hp_mf_free() */
    size_t nentries;
    hp_mf_slot *slots;
    size_t nslots;
} hp_mf;

/** Largest hp_fix_entry.hash_len the reader accepts (a function of 16 MiB). */
#define HP_MF_MAX_HASH_LEN (16u << 20)

/**
 * Read and check the manifest section `sec[0..size)` against `img` (hotpatch_fix.h): fragments
 * one after another, each at a multiple of 8, 8-byte runs of zeros between them skipped; per
 * fragment the magic, the version, its size (a multiple of 8, room for the header and its counts
 * of records, inside the section: no product or sum can wrap), the flags (HP_FIX_F_CHECKED
 * required, no other bit), reserved fields zero, format and machine as `img` asks; every pointer
 * inside `img`, names readable strings; every fragment naming the same format, machine, identity
 * and target name; no target_rva twice among the entries; every slot of a known kind, a PREVIOUS
 * slot for a function the manifest replaces; 1 <= hash_len <= HP_MF_MAX_HASH_LEN.
 * @param out receives the manifest on HP_OK (free with hp_mf_free()); zeroed otherwise.
 * @param msg receives why on failure (may be NULL).
 * @return HP_OK; HP_ERR_NO_MANIFEST (no fragment at all, or one without HP_FIX_F_CHECKED: the message
 *         says how to check it); HP_ERR_MANIFEST_VERSION; HP_ERR_MODULE (anything else malformed);
 *         HP_ERR_NO_MEMORY.
 */
hp_status hp_mf_parse(const uint8_t *sec, size_t size, const hp_mf_image *img, hp_mf *out, char *msg,
                      size_t msg_size);
void hp_mf_free(hp_mf *m);

/** The message of a manifest without HP_FIX_F_CHECKED (with HP_ERR_NO_MANIFEST). */
#define HP_MF_UNCHECKED_TEXT                                                                              \
    "manifest not checked against its target: link it with hotpatch-link --hotpatch-fix-for or run "       \
    "hotpatch-manifest fill"

/* ------------------------------------------------------------------------- */
/* Module files                                                               */
/* ------------------------------------------------------------------------- */

/** A module file's manifest section and its image at link-time addresses. */
typedef struct hp_file_view {
    hp_mf_image img;                          /**< regions below; format, machine and pointer size of the file */
    hp_mf_region regions[HP_MF_MAX_REGIONS + 1];
    const uint8_t *section;                   /**< the .hpfix bytes as stored in the file */
    size_t section_size;
    uint8_t *relocated;                       /**< ELF: a copy of them with the link-time values of the
                                                   dynamic relocations applied (hp_os_alloc'd); NULL: as stored */
    uint64_t section_addr;                    /**< PE: the section's RVA; ELF: its sh_addr */
} hp_file_view;

/** The bytes hp_mf_parse() reads from a file: the relocated copy when there is one. */
static inline const uint8_t *hp_file_view_bytes(const hp_file_view *v)
{
    return v->relocated != NULL ? v->relocated : v->section;
}

/**
 * Find HP_FIX_SECTION in a PE / ELF file and describe its image. The file's own machine is
 * img.machine (COFF machine / e_machine), not checked here.
 * @return HP_OK; HP_ERR_FORMAT (not a PE / ELF file: msg says what is wrong); HP_ERR_NO_MANIFEST (no
 *         such section); HP_ERR_MODULE (the section lies outside the image); HP_ERR_NO_MEMORY (ELF).
 */
hp_status hp_pe_file_view(const uint8_t *file, size_t size, hp_file_view *out, char *msg, size_t msg_size);
hp_status hp_elf_file_view(const uint8_t *file, size_t size, hp_file_view *out, char *msg, size_t msg_size);
void hp_file_view_free(hp_file_view *v);

/* ------------------------------------------------------------------------- */
/* Loaded images                                                              */
/* ------------------------------------------------------------------------- */

/** A loaded image: its regions at live addresses, where its RVAs start, and its identity. */
typedef struct hp_live_view {
    hp_mf_image img;
    hp_mf_region regions[HP_MF_MAX_REGIONS + 1];
    uintptr_t rva_base;       /**< the address of RVA 0 (PE: the base; ELF: hotpatch_fix.h says) */
    uint32_t machine;         /**< COFF machine / e_machine (ELF: 0 when the header is not mapped) */
    uint32_t time_date_stamp; /**< PE */
    uint32_t size_of_image;   /**< PE */
    uint32_t checksum;        /**< PE */
    int has_codeview;         /**< PE: an RSDS record exists */
    uint8_t codeview_guid[16];
    uint32_t codeview_age;
    uint32_t build_id_len;    /**< ELF: bytes of the NT_GNU_BUILD_ID note (0: none; may exceed 32) */
    uint8_t build_id[32];     /**< its first 32 bytes */
    uint64_t image_base;      /**< PE: ImageBase as mapped (Windows writes the load address there when
                                   it relocates an image; Wine may leave the preferred one) */
    uint32_t reloc_rva, reloc_size; /**< PE: the base relocation directory (0: none) */
} hp_live_view;

/**
 * The view of a PE image the loader mapped at `base`, `mapped` bytes readable from there.
 * @return HP_OK; HP_ERR_FORMAT (headers invalid: msg says why).
 */
hp_status hp_pe_live_view(uintptr_t base, size_t mapped, hp_live_view *out, char *msg, size_t msg_size);

/**
 * PE: undo the loader's base relocations in `copy`, the `len` bytes at `rva` of the image `v`
 * describes: every HIGHLOW / DIR64 fixup that overlaps them gets its value as the file has it (the
 * mapped value minus `delta`, the load address minus the preferred ImageBase). With delta 0 it only
 * counts them.
 * @return the fixups overlapping [rva, rva + len); -1 when the relocation table is malformed.
 */
long hp_pe_unrelocate(const hp_live_view *v, uint32_t rva, uint8_t *copy, size_t len, uint64_t delta);

/**
 * PE: the preferred ImageBase in the first bytes of an image file (`head`, `n` bytes: the headers).
 * @return 1 and *out, or 0 when they are not a PE header.
 */
int hp_pe_head_image_base(const uint8_t *head, size_t n, uint64_t *out);

/**
 * The view of an ELF image of this process from its program headers (`phdr`, `phnum` entries of
 * the process's own class) and load bias.
 * @return HP_OK; HP_ERR_FORMAT (no PT_LOAD, or more than HP_MF_MAX_REGIONS).
 */
hp_status hp_elf_live_view(uintptr_t bias, const void *phdr, size_t phnum, hp_live_view *out, char *msg,
                           size_t msg_size);

/* ------------------------------------------------------------------------- */
/* What the module loader asks the engine (engine.c)                          */
/* ------------------------------------------------------------------------- */

/**
 * Does the engine redirect the function at `entry` now (its record's swap bytes are at the site)?
 * Then 1, with the swap site's offset from the entry and the two bytes the site held before the
 * engine first patched it; 0 otherwise. Takes the engine lock.
 */
int hp_engine_site_saved(const void *entry, uint32_t *site_offset, uint8_t orig[2]);

/**
 * Have hp_txn_commit() call `fn(ctx)` once every out pointer of the transaction is stored and
 * before its first entry is swapped (not at all when the commit fails earlier). It runs with the
 * engine lock held: it must not call the engine, and it cannot fail.
 * @return HP_OK; HP_ERR_ARGUMENT (NULL txn).
 */
hp_status hp_txn_before_swap(hp_txn *txn, void (*fn)(void *ctx), void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* HP_MODULE_H */
