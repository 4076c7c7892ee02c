/*
 * hp_tools.h — what the tools (plugin, audit, post-link pass) share and the
 * runtime library must not carry: one glob dialect, one padding-option parser,
 * one whole-file reader and translation-unit names, growable arrays, the COFF
 * symbol reader, and the one way a tool function hands back a message. The
 * reader of `.hpmap` maps is hp_map.h.
 *
 * Layering (README.md, "Architecture"): libhotpatch <- hp_tools <- audit <-
 * lld-pass; the plugin links hp_tools too. Nothing here prints or exits.
 * Static library, never installed, built position-independent (the plugin
 * is a shared object).
 *
 * Thread-safety: every function is reentrant; none keeps state.
 */
#ifndef HP_TOOLS_H
#define HP_TOOLS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "hotpatch.h"
#include "hotpatch_pe.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HP_TOOLS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HP_TOOLS_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------------- */
/* Messages                                                                   */
/* ------------------------------------------------------------------------- */

/**
 * The one way a tool function hands back a message: the caller owns a buffer of `size` bytes
 * (`msg` may be NULL or `size` 0: no message). hp_msg_set() formats into it; a message that does
 * not fit ends in "..." so that a cut is never silent.
 */
void hp_msg_set(char *msg, size_t size, const char *fmt, ...) HP_TOOLS_PRINTF(3, 4);

/* ------------------------------------------------------------------------- */
/* Globs                                                                      */
/* ------------------------------------------------------------------------- */

/**
 * Shell-style match of the `len` bytes of `name` (NUL not needed) against `pattern`: `*` any run,
 * `?` one character, `[abc]`, `[a-z]`, `[!x]`/`[^x]` one of / none of; an unclosed `[` is a literal.
 * The one dialect of every exclude= and --allow pattern. Iterative, no recursion.
 * @return 1 on a match, 0 otherwise (0 for a NULL argument).
 */
int hp_glob_match(const char *pattern, const char *name, size_t len);

/* ------------------------------------------------------------------------- */
/* Padding options                                                            */
/* ------------------------------------------------------------------------- */

/**
 * Parse a padding option value: a decimal in [HP_MIN_PAD_OPTION, HP_MAX_PAD] (5..64). The runtime's
 * long jump needs 5 bytes on x86 and 6 on x64: a smaller value is refused here, and a value below a
 * machine's minimum is raised to it by hp_site_pad() when that machine is judged.
 * @param option the option's name for the message ("--pad", "pad=")
 * @return HP_OK; HP_ERR_BAD_VALUE with a message naming the option and the value.
 */
hp_status hp_pad_parse(const char *option, const char *text, uint32_t *out_pad, char *msg, size_t msg_size);

/* ------------------------------------------------------------------------- */
/* Files                                                                      */
/* ------------------------------------------------------------------------- */

/**
 * Read a whole regular file into memory (malloc'd, one NUL byte appended after `*out_size` bytes, so
 * text may be used as a string). Refuses what is not a regular file (a directory, a FIFO, a device)
 * without blocking on it. `path` "-" is not special here.
 * @return HP_OK; HP_ERR_IO with a message naming the file and the reason; HP_ERR_NO_MEMORY;
 *         HP_ERR_ARGUMENT. The caller frees *out_data.
 */
hp_status hp_file_read(const char *path, unsigned char **out_data, size_t *out_size, char *msg, size_t msg_size);

/**
 * Map a whole regular file into memory, private to this process: the same refusals and messages as
 * hp_file_read(), without copying the file (large images and objects are read only where they are
 * touched). The bytes may be changed in memory (copy on write: the file is not); no NUL is appended.
 * An empty file gives a non-NULL pointer and size 0. Release with hp_file_unmap().
 */
hp_status hp_file_map(const char *path, unsigned char **out_data, size_t *out_size, char *msg, size_t msg_size);

/** hp_file_map() for a file that is only read, all of it (an object's digests): read-only, its pages
    mapped at once (a 10 MB object was 160 page faults one at a time). Release with hp_file_unmap(). */
hp_status hp_file_map_whole(const char *path, const unsigned char **out_data, size_t *out_size, char *msg,
                            size_t msg_size);

/** Release what hp_file_map() or hp_file_map_whole() gave (NULL is ignored). */
void hp_file_unmap(const unsigned char *data, size_t size);

/** A file replaced whole or not at all: what is written to `f` goes to a temporary file beside `path`
    (`<path>.<pid>.tmp`), renamed over `path` when everything was written. */
typedef struct hp_file_replace {
    FILE *f;
    char *tmp;
    const char *path;
} hp_file_replace;

/** Start replacing `path` (the string must outlive the replacement). @return the stream to write to;
    NULL when the temporary file cannot be created (nothing left behind). */
FILE *hp_file_replace_begin(hp_file_replace *r, const char *path);

/** Close the stream; with `ok` and every write through, rename the temporary file over `path`, else
    remove it. @return 1 when `path` was replaced, 0 when it was left as it was. */
int hp_file_replace_end(hp_file_replace *r, int ok);

/** This program's own file (/proc/self/exe) into `buf`: 1, or 0 when it is unknown or does not fit. */
int hp_self_exe(char *buf, size_t size);

/** The directory of this program's file (hp_self_exe() without its last component): 1, or 0. */
int hp_self_dir(char *buf, size_t size);

/** The last component of a path ('/' and, for Windows paths, '\\' separate). Never NULL for a non-NULL path. */
const char *hp_path_basename(const char *path);

/**
 * The name of a translation unit as maps and manifests record it: `path` (a source file as the
 * compiler was given it) made absolute against `cwd` when relative, normalised lexically ('\\'
 * becomes '/', "." and ".." components and repeated '/' removed), then made relative to `root`
 * (normalised the same way) when it lies under it. A path outside `root`, or any path when `root`
 * is NULL or empty, stays absolute. `cwd` may be NULL for the process's working directory.
 * @return HP_OK; HP_ERR_BAD_VALUE when the result does not fit `out_size` (NUL included);
 *         HP_ERR_IO when the working directory is needed and unknown; HP_ERR_ARGUMENT.
 */
hp_status hp_path_unit(const char *path, const char *root, const char *cwd, char *out, size_t out_size);

/* ------------------------------------------------------------------------- */
/* Growable arrays                                                            */
/* ------------------------------------------------------------------------- */

/**
 * Make room for one more element in `*array` (`count` in use, `*cap` allocated, elements of `elem`
 * bytes), doubling; the array is unchanged when it fails.
 * @return 1 when there is room, 0 when out of memory (or the size would overflow).
 */
int hp_vec_reserve(void **array, size_t *cap, size_t count, size_t elem);

/** Make room for `total` elements at once (when the count is known ahead: one allocation, no
    copies while growing). Returns 1, or 0 out of memory (the array unchanged). */
int hp_vec_reserve_total(void **array, size_t *cap, size_t total, size_t elem);

/** Append one element: `HP_VEC_PUSH(arr, count, cap, value)` is 1 on success, 0 out of memory. */
#define HP_VEC_PUSH(arr, count, cap, value)                                                                 \
    (((count) < (cap) || hp_vec_reserve((void **)&(arr), &(cap), (count), sizeof *(arr))) ? ((arr)[(count)++] = (value), 1) \
                                                                                   : 0)

/**
 * Sort `n` records of `size` bytes by the uint32_t (host order) at `key_offset` in each: stable; free
 * when they are in order already, a merge when they are up to 16 ordered runs one after the other
 * (lists appended from several sources), else linear (a radix sort of keys and indexes, then one
 * gather of the records). Records with equal keys keep their order, so a caller orders ties itself
 * (they are few: aliases of one address).
 * @return 1; 0 when out of memory or the arguments are wrong (the records are then unchanged).
 */
int hp_sort_by_u32(void *base, size_t n, size_t size, size_t key_offset);

/** As hp_sort_by_u32(), then each run of equal keys ordered by `cmp` (which must order by the key first). */
int hp_sort_by_u32_then(void *base, size_t n, size_t size, size_t key_offset, int (*cmp)(const void *, const void *));

/* ------------------------------------------------------------------------- */
/* Numbers as text                                                            */
/* ------------------------------------------------------------------------- */

/** Write `v` in decimal at `w` (at most 10 bytes, no NUL): the end of what was written. */
char *hp_fmt_u32(char *w, uint32_t v);

/** Write `v` as 16 lower-case hex digits at `w` (no NUL): w + 16. */
char *hp_fmt_hex64(char *w, uint64_t v);

/** A large text written through one buffer: formatted in place, written out in blocks of about 64 KiB
    (one fwrite each, not one per field). */
typedef struct hp_outbuf {
    FILE *out;
    char *buf;
    size_t n, cap; /**< bytes in use, and room */
    int failed;    /**< a write came short, or memory ran out */
} hp_outbuf;

/** Start writing to `out`. @return 1; 0 when out of memory (nothing allocated). */
int hp_outbuf_init(hp_outbuf *o, FILE *out);

/** hp_outbuf_room() when the bytes do not fit: what is in use written out first, the buffer grown for a
    `need` larger than it. */
char *hp_outbuf_room_flush(hp_outbuf *o, size_t need);

/** Room for `need` more bytes at the write position: what is in use is written out first when they do
    not fit, and the buffer grows for a `need` larger than it. @return the position; NULL when it could
    not grow (`failed` set). Inline: the writers ask for room a few times per line of 60,000. */
static inline char *hp_outbuf_room(hp_outbuf *o, size_t need)
{
    return need <= o->cap - o->n ? o->buf + o->n : hp_outbuf_room_flush(o, need);
}

/** The bytes from the write position up to `end` (in the room hp_outbuf_room() gave) are in use. */
static inline void hp_outbuf_commit(hp_outbuf *o, const char *end)
{
    o->n = (size_t)(end - o->buf);
}

/** `n` bytes of `data` (through hp_outbuf_room()). */
void hp_outbuf_write(hp_outbuf *o, const void *data, size_t n);

/** Write out what is in use and free the buffer. @return 1; 0 when a write came short or memory ran
    out at some point. */
int hp_outbuf_finish(hp_outbuf *o);

/* ------------------------------------------------------------------------- */
/* COFF symbols                                                               */
/* ------------------------------------------------------------------------- */

/** One decoded COFF symbol record. */
typedef struct hp_coff_symbol {
    const char *name;     /**< points into the file's string table, or into `buf` for short names */
    size_t name_len;
    uint32_t value;
    int32_t section;      /**< 1-based; 0 undefined, negative special */
    uint16_t type;
    uint8_t storage_class;
    uint8_t aux_count;
    char buf[9];
} hp_coff_symbol;

/** Callback of hp_coff_symbols(): return nonzero to stop the walk. */
typedef int (*hp_coff_symbol_fn)(void *ctx, const hp_coff_symbol *sym);

/**
 * Walk a COFF symbol table (objects, and the one MinGW keeps in images) at `offset` with `count`
 * 18-byte records (aux records skipped), names resolved through the string table that follows.
 * Every read is bounds-checked against `file`.
 * @return HP_OK; HP_ERR_FORMAT with `*detail` (a static string) when the table lies outside the file.
 */
hp_status hp_coff_symbols(hp_pe_span file, uint32_t offset, uint32_t count, hp_coff_symbol_fn fn, void *ctx,
                          const char **detail);

/** A COFF object's file header, plain or /bigobj (ANON_OBJECT_HEADER_BIGOBJ): what the readers of
    objects need from it. */
typedef struct hp_coff_object_header {
    uint16_t machine;
    int big;                 /**< /bigobj: 32-bit section numbers, 20-byte symbol records */
    uint32_t section_count;
    uint32_t symtab_offset;  /**< PointerToSymbolTable */
    uint32_t symbol_count;
    uint32_t symbol_size;    /**< 18, or 20 for /bigobj */
    uint32_t section_table;  /**< the section table's offset: after the header (and a plain one's
                                  optional header) */
} hp_coff_object_header;

/** Read the header of the object in `file`: 1 with `*h` set, 0 when the file is shorter than a plain
    header's fields (18 bytes). The machine is not checked, nor any offset against the file. */
int hp_coff_object_header_read(hp_pe_span file, hp_coff_object_header *h);

/* ------------------------------------------------------------------------- */
/* Function entries in an image's code                                        */
/* ------------------------------------------------------------------------- */

/** The code section a walk in address order is in (hp_code_at()); zero it before the first use and use
    it with one view only. */
typedef struct hp_code_view {
    int valid;
    hp_pe_section sec;   /**< the section */
    const uint8_t *base; /**< its first byte */
    size_t size;         /**< bytes from its first on, as hp_pe_rva_bytes() gives them */
    size_t limit;        /**< RVAs [virtual_address, virtual_address + limit) are in it, with bytes */
} hp_code_view;

/**
 * The bytes at `rva` of an image, for the site rules: *sec its section, *p the entry, *before and
 * *after the bytes readable around it (hp_pe_rva_bytes()). The audit's walk and hotpatch-link's table
 * walk both take a function's bytes here, so that they judge the same bytes.
 * @return 1; 0 when the RVA is in a code section but has no bytes in the file (*p NULL, *before and
 *         *after 0); -1 when it is in no code section.
 */
static inline int hp_code_at(const hp_pe *pe, hp_code_view *cv, uint32_t rva, hp_pe_section *sec, const uint8_t **p,
                             size_t *before, size_t *after);

/** hp_code_at() when `cv` does not hold the section of `rva`: the lookup, remembered in `cv`. */
int hp_code_at_lookup(const hp_pe *pe, hp_code_view *cv, uint32_t rva, hp_pe_section *sec, const uint8_t **p,
                      size_t *before, size_t *after);

/* inline: a walk asks once per function (60,000 calls), and the section is nearly always the last one */
static inline int hp_code_at(const hp_pe *pe, hp_code_view *cv, uint32_t rva, hp_pe_section *sec, const uint8_t **p,
                             size_t *before, size_t *after)
{
    if (cv->valid && rva >= cv->sec.virtual_address && rva - cv->sec.virtual_address < cv->limit) {
        *sec = cv->sec;
        *before = rva - cv->sec.virtual_address;
        *p = cv->base + *before;
        *after = cv->size - *before;
        return 1;
    }
    return hp_code_at_lookup(pe, cv, rva, sec, p, before, after);
}

/** 1 when the RUNTIME_FUNCTION whose UnwindInfoAddress is `unwind` begins a function: not a chained
    entry (bit 0 of the address, as some producers mark them, or UNW_FLAG_CHAININFO in the unwind
    record's flags). The audit's walk and hotpatch-link's table walk both ask here. `cache` as for
    hp_pe_rva_bytes_cached(). */
int hp_pdata_begins_function(const hp_pe *pe, hp_pe_rva_cache *cache, uint32_t unwind);

/** Where an image's COFF symbol table is (IMAGE_FILE_HEADER.PointerToSymbolTable, NumberOfSymbols: MinGW
    images keep one). @return 1 with *offset and *count when it has one (both nonzero), else 0. */
int hp_coff_image_symtab(const hp_pe *pe, uint32_t *offset, uint32_t *count);

/**
 * 1 when a symbol is a function definition: type "function" with external or static storage, or an
 * external label of type 0 (what assemblers leave; the caller checks that its section holds code).
 */
int hp_coff_is_function(const hp_coff_symbol *sym);

/** 1 when a symbol is a function definition typed as one (type 0x20): what names functions in images. */
int hp_coff_is_typed_function(const hp_coff_symbol *sym);

/** The section of the last symbol hp_coff_image_function() looked at; zero it before the first use and
    use it with one view only. */
typedef struct hp_coff_symbol_section {
    int valid;
    hp_pe_section sec;
} hp_coff_symbol_section;

/** 1 with *rva when the symbol of an image's symbol table names a function: typed as one
    (hp_coff_is_typed_function()), in a code section, inside the section's extent; else 0. The audit's
    walk and hotpatch-link's table walk both ask here, so that the same symbols name the same entries. */
int hp_coff_image_function(const hp_pe *pe, hp_coff_symbol_section *cache, const hp_coff_symbol *sym, uint32_t *rva);

/** 1 when the symbol's storage class is EXTERNAL (visible to other objects). */
int hp_coff_is_external(const hp_coff_symbol *sym);

/**
 * The C name of a COFF symbol name: on x86 (`x86` nonzero) without the leading `_` and without the
 * `@N` of stdcall/fastcall decorations; elsewhere as it is. Narrows [*p, *p + *len) in place.
 */
void hp_coff_c_name(int x86, const char **p, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* HP_TOOLS_H */
