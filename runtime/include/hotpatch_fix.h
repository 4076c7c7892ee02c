/*
 * hotpatch_fix.h — patch modules: the manifest a fix module carries, and what
 * the source of a fix may use (HP_PREVIOUS).
 *
 * A patch module ("fix") is a DLL / shared object compiled from corrected
 * source in the plugin's fix mode (plugin/README.md, "Fix mode") against the
 * map of a released image (lld-pass/README.md, "The map"). It carries, in the
 * section HP_FIX_SECTION, one manifest fragment per translation unit:
 *
 *   hp_fix_header | entry_count x hp_fix_entry | slot_count x hp_fix_slot
 *
 * Fragments follow each other, each aligned to 8; 8-byte runs of zeros between
 * them (the linker's alignment fill) are skipped. Every fragment of one module
 * names the same target image with the same identity.
 *
 *  - An entry is a function of the target that the module replaces: its RVA in
 *    the target, a hash of its bytes as the release image has them, and the
 *    replacement's address in the module.
 *  - A slot is a pointer variable of the module that the runtime fills before
 *    anything is applied: with the address of a target's function or variable
 *    (HP_FIX_SLOT_SYMBOL), so that the fix reads and writes the running
 *    program's own state, or with the version of a replaced function that was
 *    in force before the module (HP_FIX_SLOT_PREVIOUS), for HP_PREVIOUS().
 *
 * The plugin writes the fragment from the map; the link step (hotpatch-link
 * --hotpatch-fix-for=IMAGE, or hotpatch-manifest fill) checks it against the
 * real target image — identity and every entry's hash recomputed from the
 * image's bytes — and only then sets HP_FIX_F_CHECKED. The runtime
 * (hp_module_load, hotpatch.h) refuses a module whose fragments lack it.
 *
 * Layout: little-endian, fixed sizes on every machine (pointers are held in
 * 8-byte hp_fix_ptr unions, the upper half zero on 32-bit targets). Pointer
 * fields are link-time addresses of the module (relocated by the OS loader
 * like any other pointer in its data); every other field is plain data.
 *
 * RVAs (target_rva, and the map's "rva"): PE: the offset from the image base.
 * ELF: the address minus the lowest PT_LOAD p_vaddr rounded down to the page
 * (4096) — the address itself for a shared object or PIE linked at 0; in a
 * running process the RVA counts from the load bias (dl_iterate_phdr's
 * dlpi_addr) plus that rounded address.
 *
 * What the runtime holds a manifest to (hp_module_load, hotpatch.h, has the
 * whole list): flags, reserved fields and the records' flags are 0 but for
 * HP_FIX_F_CHECKED, which is required; names are NUL-terminated strings of the
 * module; a replacement is code of the module, a slot pointer-aligned writable
 * data of it; 1 <= hash_len <= 16 MiB and [target_rva, target_rva + hash_len)
 * lies in the target's code. Hashes are of the bytes as the release image file
 * has them: where the runtime redirects the function already (an earlier
 * module), it hashes its saved entry bytes in place of its short jump, and PE
 * bytes the loader relocated (base relocations in code: PE32, or an absolute
 * address in x64 code) with the values the file has.
 *
 * Versioning: HP_FIX_VERSION changes when the layout does; readers refuse
 * versions they do not know (HP_ERR_MANIFEST_VERSION).
 */
#ifndef HOTPATCH_FIX_H
#define HOTPATCH_FIX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Name of the section of a fix module that holds the manifest (COFF and ELF). */
#define HP_FIX_SECTION ".hpfix"
/** The 8 bytes every fragment starts with (no NUL). */
#define HP_FIX_MAGIC "HPFIXMAN"
#define HP_FIX_MAGIC_SIZE 8
/** The manifest version this header describes. */
#define HP_FIX_VERSION 1u

/** A pointer in the manifest: 8 bytes on every machine (the upper half zero on 32-bit targets). */
typedef union hp_fix_ptr {
    const void *p;
    uint64_t u;
} hp_fix_ptr;

/** hp_fix_header.format */
#define HP_FIX_FORMAT_PE 1u
#define HP_FIX_FORMAT_ELF 2u

/** hp_fix_header.flags: the link step checked this fragment against the real target image. */
#define HP_FIX_F_CHECKED 0x1u

/** One fragment's header: 128 bytes. */
typedef struct hp_fix_header {
    char magic[HP_FIX_MAGIC_SIZE]; /**< HP_FIX_MAGIC */
    uint32_t version;              /**< HP_FIX_VERSION */
    uint32_t size;                 /**< bytes of the fragment: header, entries and slots; a multiple of 8 */
    uint32_t flags;                /**< HP_FIX_F_* */
    uint32_t entry_count;          /**< hp_fix_entry records right after the header */
    uint32_t slot_count;           /**< hp_fix_slot records right after the entries */
    uint32_t format;               /**< HP_FIX_FORMAT_PE or HP_FIX_FORMAT_ELF: the target's format */
    uint32_t machine;              /**< PE: IMAGE_FILE_MACHINE_* (0x8664, 0x14c); ELF: e_machine (62, 3) */
    uint32_t time_date_stamp;      /**< PE: the target's COFF header TimeDateStamp */
    uint32_t size_of_image;        /**< PE: its optional header SizeOfImage */
    uint32_t checksum;             /**< PE: its optional header CheckSum */
    uint32_t codeview_age;         /**< PE: its CodeView (RSDS) record's age; 0 with no record */
    uint32_t build_id_len;         /**< ELF: bytes of build_id in use (0: none); PE: 0 */
    uint8_t codeview_guid[16];     /**< PE: the RSDS GUID as stored in the image; all zero with no record */
    uint8_t build_id[32];          /**< ELF: the NT_GNU_BUILD_ID note's bytes */
    uint32_t reserved[2];          /**< 0 (explicit: no padding anywhere in the layout) */
    hp_fix_ptr target_name;        /**< the target image's file name as its map records it ("service.dll") */
    hp_fix_ptr unit;               /**< the translation unit the fragment was compiled from (relative path) */
} hp_fix_header;

/** One function of the target the module replaces: 40 bytes. */
typedef struct hp_fix_entry {
    hp_fix_ptr name;        /**< its name as the map has it; "unit:name" for a file-static function */
    hp_fix_ptr replacement; /**< the new code, in the module */
    uint32_t target_rva;    /**< its entry in the target image */
    uint32_t hash_len;      /**< bytes hashed, from target_rva on */
    uint64_t hash;          /**< FNV-1a 64 of those bytes as the release image has them */
    uint32_t flags;         /**< 0 */
    uint32_t reserved;      /**< 0 */
} hp_fix_entry;

/** hp_fix_slot.kind */
#define HP_FIX_SLOT_SYMBOL 1u   /**< the target's function or variable at target_rva */
#define HP_FIX_SLOT_PREVIOUS 2u /**< what ran for the function at target_rva before this module */

/** One pointer variable of the module the runtime fills before applying: 32 bytes. */
typedef struct hp_fix_slot {
    hp_fix_ptr name;     /**< the symbol it stands for ("count", "unit:count" for a file-static) */
    hp_fix_ptr slot;     /**< the module's pointer-sized variable */
    uint32_t kind;       /**< HP_FIX_SLOT_* */
    uint32_t target_rva; /**< the target's symbol (SYMBOL) or replaced function (PREVIOUS) */
    uint32_t size;       /**< a variable's size in the target (checked when the fix was compiled); 0 for code */
    uint32_t flags;      /**< 0 */
} hp_fix_slot;

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(hp_fix_ptr) == 8, "hp_fix_ptr is 8 bytes");
_Static_assert(sizeof(hp_fix_header) == 128, "hp_fix_header is 128 bytes");
_Static_assert(sizeof(hp_fix_entry) == 40, "hp_fix_entry is 40 bytes");
_Static_assert(sizeof(hp_fix_slot) == 32, "hp_fix_slot is 32 bytes");
#endif

/**
 * FNV-1a 64 of `len` bytes: the hash of hp_fix_entry.hash and of the map's "hash" fields.
 * Offset basis 0xcbf29ce484222325, prime 0x100000001b3.
 */
#define HP_FIX_HASH_BASIS 0xcbf29ce484222325ull
#define HP_FIX_HASH_PRIME 0x100000001b3ull

static inline uint64_t hp_fix_hash(const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    uint64_t h = HP_FIX_HASH_BASIS;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= HP_FIX_HASH_PRIME;
    }
    return h;
}

/**
 * In the source of a fix: the version of `fn` that was in force before this module was loaded (the
 * release's code, or an earlier fix's), callable like `fn`. `fn` must be a function the module
 * replaces. The plugin's fix mode turns it into a HP_FIX_SLOT_PREVIOUS slot; compiled without fix
 * mode it is an undefined symbol (link error), never a silent call of something else.
 *
 *     int svc_quote(int qty) { return HP_PREVIOUS(svc_quote)(qty) - qty * 100; }
 */
#define HP_PREVIOUS(fn)                                                                                    \
    (*({                                                                                                   \
        extern __typeof__(fn) __hp_previous_##fn;                                                          \
        &__hp_previous_##fn;                                                                               \
    }))

/** Prefix of the symbols HP_PREVIOUS() refers to; the plugin's fix mode resolves them. */
#define HP_PREVIOUS_PREFIX "__hp_previous_"

#ifdef __cplusplus
}
#endif

#endif /* HOTPATCH_FIX_H */
