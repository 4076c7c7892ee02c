/*
 * hp_link_manifest.h — the library behind `hotpatch-manifest` (lld-pass/README.md,
 * "hotpatch-manifest"):
 *
 *   - an ELF view: a bounds-checked reader of ELF32/ELF64 little-endian x86/x86-64
 *     executables and shared objects (headers, PT_LOAD segments, sections, symbols,
 *     the GNU build id), the ELF counterpart of the runtime's PE view (hotpatch_pe.h);
 *   - the map of an ELF image (version 2, written through hp_link_map_write_data());
 *   - the manifest of a fix module (section .hpfix, runtime/include/hotpatch_fix.h):
 *     read it, and check and complete it against the real target image ("fill").
 *
 * Every byte of the files is read through offsets checked against the file's size with
 * arithmetic that cannot wrap; the files are untrusted. Nothing here prints or exits: a
 * failure is an hp_status and a one-line message in a caller-owned buffer (hp_msg_set),
 * which names the file ("fix.dll: .hpfix fragment 0: bad magic").
 *
 * Ownership: hp_link_elf_open() and hp_link_manifest_read() fill or allocate results the
 * caller releases with hp_link_elf_close() / hp_link_manifest_free(). The ELF view borrows
 * the caller's bytes, which must outlive it.
 * Thread-safety: reentrant; no global state.
 */
#ifndef HP_LINK_MANIFEST_H
#define HP_LINK_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch_fix.h"
#include "hp_link.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* The ELF view                                                               */
/* ------------------------------------------------------------------------- */

/** ELF e_machine values the view accepts. */
#define HP_ELF_EM_386 3u
#define HP_ELF_EM_X86_64 62u

/** The page the RVA convention rounds the lowest PT_LOAD address down to. */
#define HP_ELF_RVA_PAGE 4096u

/** One PT_LOAD program header. */
typedef struct hp_elf_segment {
    uint64_t vaddr, memsz;  /**< p_vaddr, p_memsz */
    uint64_t offset, filesz; /**< p_offset, p_filesz (checked: inside the file, filesz <= memsz) */
    uint32_t flags;          /**< p_flags (PF_X = 1, PF_W = 2, PF_R = 4) */
} hp_elf_segment;

/** One section header. */
typedef struct hp_elf_section {
    const char *name;  /**< from .shstrtab; "" when it has none or it is out of range */
    uint32_t type;     /**< sh_type */
    uint64_t flags;    /**< sh_flags (SHF_WRITE 1, SHF_ALLOC 2, SHF_EXECINSTR 4) */
    uint64_t addr;     /**< sh_addr */
    uint64_t offset;   /**< sh_offset */
    uint64_t size;     /**< sh_size */
    uint32_t link, info;
    uint64_t entsize;
    int in_file;       /**< 1 when [offset, offset + size) lies inside the file (never for SHT_NOBITS) */
} hp_elf_section;

/** A parsed ELF file. Fill with hp_link_elf_open(), release with hp_link_elf_close(). */
typedef struct hp_elf {
    const uint8_t *data; /**< the caller's bytes */
    size_t size;
    int is64;            /**< ELFCLASS64 */
    uint16_t type;       /**< e_type: 2 ET_EXEC, 3 ET_DYN */
    uint16_t machine;    /**< e_machine: HP_ELF_EM_386 or HP_ELF_EM_X86_64 */
    hp_machine hm;       /**< HP_MACHINE_X86 / HP_MACHINE_X64 */
    uint64_t base;       /**< the lowest PT_LOAD p_vaddr rounded down to HP_ELF_RVA_PAGE: RVA = address - base */
    hp_elf_segment *segs; /**< PT_LOAD segments, in file order */
    size_t seg_count;
    hp_elf_section *secs; /**< every section header (index 0 included) */
    size_t sec_count;
    uint32_t build_id_len; /**< NT_GNU_BUILD_ID descriptor length (0: none) */
    uint8_t build_id[32];
} hp_elf;

/** 1 when the bytes start with the ELF magic. */
int hp_link_is_elf(const uint8_t *data, size_t size);

/**
 * Parse an ELF file of x86 or x86-64 (ET_EXEC or ET_DYN, little-endian): the header, the PT_LOAD
 * segments (at least one), the section headers when present, the build id (PT_NOTE segments, else
 * SHT_NOTE sections; one longer than 32 bytes is an error). `name` is used in messages.
 * @return HP_OK; HP_ERR_FORMAT (message says what is wrong); HP_ERR_UNSUPPORTED (another machine,
 *         class or byte order); HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_link_elf_open(hp_elf *elf, const uint8_t *data, size_t size, const char *name, char *msg,
                           size_t msg_size);

/** Release what hp_link_elf_open() allocated; a zeroed or closed view is fine. */
void hp_link_elf_close(hp_elf *elf);

/** The first section named `name`, or NULL. */
const hp_elf_section *hp_link_elf_section(const hp_elf *elf, const char *name);

/**
 * The PT_LOAD segment holding [vaddr, vaddr + len) in its file bytes (len 0: vaddr inside them).
 * @param out_offset receives the file offset of vaddr (may be NULL).
 * @return the segment, or NULL when the range is not all in one segment's file bytes.
 */
const hp_elf_segment *hp_link_elf_file_range(const hp_elf *elf, uint64_t vaddr, uint64_t len, size_t *out_offset);

/** The PT_LOAD segment whose memory [vaddr, vaddr + memsz) holds [vaddr, vaddr + len), or NULL. */
const hp_elf_segment *hp_link_elf_mem_range(const hp_elf *elf, uint64_t vaddr, uint64_t len);

/* ------------------------------------------------------------------------- */
/* The map of an ELF image                                                    */
/* ------------------------------------------------------------------------- */

/** What hp_link_elf_map_write() does. Zero-initialised options are the defaults. */
typedef struct hp_link_elf_map_options {
    const char *source_root; /**< unit paths under this directory are written relative to it; NULL: as recorded */
    uint32_t pad;            /**< padding the site rules require; 0 = the machine's default */
} hp_link_elf_map_options;

/**
 * Write the version-2 map of the ELF image at `image_path` to `out_path` (README.md, "The map";
 * lld-pass/README.md, "hotpatch-manifest", says how functions, units and symbols are found).
 * @return HP_OK; HP_ERR_IO (unreadable image, unwritable map); HP_ERR_FORMAT (not ELF, malformed;
 *         a PE image: "PE maps are written by hotpatch-link"); HP_ERR_UNSUPPORTED; HP_ERR_NO_MEMORY;
 *         HP_ERR_ARGUMENT.
 */
hp_status hp_link_elf_map_write(const char *image_path, const hp_link_elf_map_options *options, const char *out_path,
                                char *msg, size_t msg_size);

/**
 * `path` lexically normalised ('.' and 'x/..' removed, '/'-separated, no trailing '/'), and made relative
 * to `root` (normalised the same way) when it lies under it. A malloc'd string, or NULL when out of memory.
 * Relative paths stay relative; `root` NULL or "" only normalises.
 */
char *hp_link_path_relative(const char *path, const char *root);

/* ------------------------------------------------------------------------- */
/* The manifest of a fix module                                               */
/* ------------------------------------------------------------------------- */

/** One entry, decoded (hp_fix_entry). */
typedef struct hp_link_manifest_entry {
    const char *name;     /**< the string the name pointer leads to; NULL when the pointer is 0 */
    uint64_t replacement; /**< link-time address in the fix */
    uint32_t target_rva, hash_len;
    uint64_t hash;
    uint32_t flags;
} hp_link_manifest_entry;

/** One slot, decoded (hp_fix_slot). */
typedef struct hp_link_manifest_slot {
    const char *name; /**< NULL when the pointer is 0 */
    uint64_t slot;    /**< link-time address of the fix's variable */
    uint32_t kind, target_rva, size, flags;
} hp_link_manifest_slot;

/** One fragment, decoded. */
typedef struct hp_link_manifest_fragment {
    uint64_t offset;         /**< offset in the .hpfix section */
    hp_fix_header header;    /**< the header's fields (host order; the pointer fields as link-time addresses) */
    const char *target_name; /**< NULL when the pointer is 0 */
    const char *unit;        /**< NULL when the pointer is 0 */
    hp_link_manifest_entry *entries;
    hp_link_manifest_slot *slots;
} hp_link_manifest_fragment;

/** A fix module's manifest, decoded. */
typedef struct hp_link_manifest {
    const char *format;       /**< the fix's own format: "pe" or "elf" */
    const char *machine;      /**< the fix's machine: "x86" or "x64" */
    uint64_t section_address; /**< link-time address of .hpfix */
    uint64_t section_size;
    hp_link_manifest_fragment *fragments;
    size_t fragment_count;
} hp_link_manifest;

/**
 * Read and decode the manifest of the fix module at `fix_path` (a PE DLL or an ELF shared object),
 * checking its structure: every fragment's magic, version, size and counts, every pointer field leading
 * into the fix (strings NUL-terminated inside it). The identity and the hashes are not compared with
 * anything here (see hp_link_manifest_fill()).
 * @return HP_OK; HP_ERR_IO; HP_ERR_FORMAT (not a PE or ELF file of x86/x64); HP_ERR_NO_MANIFEST (no
 *         .hpfix section, or an empty one); HP_ERR_MANIFEST_VERSION; HP_ERR_MODULE (a malformed
 *         manifest: the message names the fragment and the field); HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_link_manifest_read(const char *fix_path, hp_link_manifest **out, char *msg, size_t msg_size);

/**
 * hp_link_manifest_read() of a file's bytes already in memory (copied): `name` stands for the file in
 * messages. Same statuses, without HP_ERR_IO.
 */
hp_status hp_link_manifest_parse(const uint8_t *data, size_t size, const char *name, hp_link_manifest **out,
                                 char *msg, size_t msg_size);

/** Free a manifest; NULL is a no-op. */
void hp_link_manifest_free(hp_link_manifest *manifest);

/** What hp_link_manifest_fill() does. Zero-initialised options are the defaults. */
typedef struct hp_link_manifest_fill_options {
    const char *target_name; /**< the name every fragment must record; NULL: the target image's file name */
} hp_link_manifest_fill_options;

/** What hp_link_manifest_fill() did. */
typedef struct hp_link_manifest_fill_result {
    size_t fragments, entries, slots; /**< counted over the module */
    size_t fields_filled;             /**< identity fields and hashes that were zero and were filled */
    int written;                      /**< 1 when FIX was rewritten (0: it was already complete and checked) */
} hp_link_manifest_fill_result;

/**
 * Check the manifest of `fix_path` against the target image `image_path` (PE or ELF) and complete it
 * (lld-pass/README.md, "hotpatch-manifest"): identity fields that are zero are filled from the image,
 * nonzero ones must equal it; the target name must be the image's; every entry's RVA must be in the
 * image's code and its hash (zero: filled) must be the hash of the image's bytes there; every slot's
 * kind and RVA must be valid. Then HP_FIX_F_CHECKED is set in every fragment and the file is replaced
 * atomically (a temporary file in its directory, renamed over it; a PE checksum that was nonzero is
 * recomputed). On any failure nothing is written.
 * @param result may be NULL.
 * @return HP_OK; HP_ERR_IDENTITY (another build, or another image: the message names the field and both
 *         values); HP_ERR_HASH (the message names the entry); HP_ERR_MODULE (malformed, or an RVA outside
 *         the image); the statuses of hp_link_manifest_read(); HP_ERR_IO when FIX cannot be replaced.
 */
hp_status hp_link_manifest_fill(const char *fix_path, const char *image_path,
                                const hp_link_manifest_fill_options *options, hp_link_manifest_fill_result *result,
                                char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_MANIFEST_H */
