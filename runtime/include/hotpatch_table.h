/*
 * hotpatch_table.h — the on-disk format of the plugin's table of patchable
 * functions, shared by plugin/ (writer), audit/, lld-pass/ and runtime/
 * (readers). Documented in plugin/README.md ("The table").
 *
 * COFF (PE images): grouped sections `.hotp$a` (begin marker), `.hotp$m`
 * (records), `.hotp$z` (end marker); the linker sorts them by the text after
 * `$` and merges them into one output section `.hotp`.
 * ELF: one section `hotp_table`; the linker defines `__start_hotp_table` and
 * `__stop_hotp_table` around it.
 *
 * The section is a sequence of 8-byte records: every contribution a linker
 * merges into it is a whole number of records (aligned 4, or 1 for the
 * plugin's per-function sections of module assembly), so records stay
 * 8-aligned relative to the section's start. A record whose
 * `where` is 0 is not an entry: markers and any alignment filler a linker may
 * insert are skipped by every reader. Three forms, read in order with
 * hp_table_iter_next():
 *
 * - A plain record (every version, every format): `where` is self-relative,
 *   the entry is at (address of the record's `where` field) + where. On COFF a
 *   REL32 relocation (IMAGE_REL_AMD64_REL32 / IMAGE_REL_I386_REL32), so no
 *   base relocation and no __ImageBase: LLVM 19 cannot lower
 *   `f - __ImageBase` in IR for MinGW triples, while a difference to the
 *   record itself lowers for every triple, in IR, and so also under LTO.
 * - A run (version 2, COFF records of an IR module, functions without a
 *   COMDAT of their own): one array whose first record is flagged
 *   HP_TABLE_F_RUN_START (self-relative itself) and the others
 *   HP_TABLE_F_IN_RUN, relative to the run's first record. A linker never
 *   splits a section, so the nearest run start before an in-run record is
 *   its own.
 * - A block (version 3, COFF objects the plugin compiled straight to machine
 *   code): a header record flagged HP_TABLE_F_RVA_BLOCK whose `where` is a
 *   count N, then N 4-byte entry RVAs (`.rva`: IMAGE_REL_AMD64_ADDR32NB /
 *   IMAGE_REL_I386_DIR32NB), then 4 zero bytes when N is odd so that the next
 *   record starts 8-aligned again. The header's pad and flags hold for all N
 *   entries. The cheapest form to compile: one symbol reference per function,
 *   no constant expression.
 *
 * A PE reader gets entry RVAs; the runtime walks the loaded image the same way.
 *
 * COFF markers: `__hp_table_begin` (in .hotp$a) and `__hp_table_end` (in
 * .hotp$z), COMDAT "any" (one copy per image) and forced into the image with
 * /INCLUDE: so that /OPT:REF keeps them; records are associative COMDATs of
 * their function's section, so a function dropped by /OPT:REF or
 * --gc-sections takes its record with it. ELF has no markers: the linker
 * defines __start_hotp_table / __stop_hotp_table for references; records are
 * SHF_LINK_ORDER sections linked to their function's section.
 * Details and caveats: plugin/README.md ("The table").
 */
#ifndef HOTPATCH_TABLE_H
#define HOTPATCH_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define HP_TABLE_COFF_SECTION ".hotp"
#define HP_TABLE_ELF_SECTION "hotp_table"
#define HP_TABLE_RECORD_SIZE 8u

/** hp_table_record.flags bits. */
#define HP_TABLE_F_ENTRY_NOP 0x01u /**< entry is the plugin's 2-byte NOP (original = entry + 2) */
#define HP_TABLE_F_EXPORTED  0x02u /**< the function is exported (dllexport / default visibility) */
#define HP_TABLE_F_ENDBR     0x04u /**< the function starts with endbr; the site follows it */
#define HP_TABLE_F_RUN_START 0x08u /**< first record of a run; its `where` is self-relative (version 2) */
#define HP_TABLE_F_IN_RUN    0x10u /**< `where` is relative to the `where` field of the run's first
                                        record: the nearest HP_TABLE_F_RUN_START before it (version 2) */
#define HP_TABLE_F_RVA_BLOCK 0x20u /**< block header (version 3): `where` is the count N of 4-byte entry
                                        RVAs that follow, padded to 8 bytes; pad and flags hold for all */
#define HP_TABLE_F_MARKER    0x80u /**< begin/end marker record (where == 0) */

/** One record, little-endian as stored. */
typedef struct hp_table_record {
    /** Entry address minus the address of this field (signed, self-relative; every format).
        0 = not an entry (marker or filler). */
    int32_t where;
    uint8_t pad;      /**< padding bytes the plugin placed before the entry */
    uint8_t flags;    /**< HP_TABLE_F_* */
    uint16_t version; /**< format version of the writer: 1, 2 or 3 */
} hp_table_record;

/** Format version the plugin writes: 3 (blocks). Readers accept 1 (self-relative records only),
    2 (runs) and 3. */
#define HP_TABLE_VERSION 3u

/** The padding earlier plugins wrote before an entry: HP_TABLE_FILL_FIRST then HP_TABLE_FILL_BYTE up to
    the entry (int3, then NOPs); the plugin now writes HP_FILLER_PREFERRED bytes only. Both are filler
    to the site rules (hp_site_is_filler); hotpatch-link rewrites this padding, and only this, to
    HP_FILLER_PREFERRED. */
#define HP_TABLE_FILL_FIRST 0xCCu
#define HP_TABLE_FILL_BYTE 0x90u

/** RVA of the entry a record points at, given the RVA of the record (its `where` field). */
static inline uint32_t hp_table_entry_rva(uint32_t record_rva, int32_t where)
{
    return record_rva + (uint32_t)where; /* modulo 2^32, as the linker computed it */
}

/** Address of the entry a record in memory points at, for a record outside a run (every ELF record). */
static inline const void *hp_table_entry_addr(const hp_table_record *record)
{
    return (const char *)&record->where + record->where;
}

/** A reader's position in a table walked in order: where the current run starts. */
typedef struct hp_table_cursor {
    uint32_t run_rva; /**< RVA (or address) of the current run's first record */
    int in_run;       /**< a run start was seen */
} hp_table_cursor;

#define HP_TABLE_CURSOR_INIT {0u, 0}

/**
 * Next record of a table walked in order: `record_rva` is its RVA (or its
 * address, modulo 2^32), `where` and `flags` its fields as stored.
 * @return 1 with *entry_rva set; 0 for a record that is no entry (where == 0:
 *         marker or filler); -1 for an in-run record with no run start before
 *         it (a damaged table).
 */
static inline int hp_table_next(hp_table_cursor *c, uint32_t record_rva, int32_t where, uint8_t flags,
                                uint32_t *entry_rva)
{
    if (where == 0)
        return 0;
    if (flags & HP_TABLE_F_RUN_START) {
        c->run_rva = record_rva;
        c->in_run = 1;
    }
    if (flags & HP_TABLE_F_IN_RUN) {
        if (!c->in_run)
            return -1;
        *entry_rva = hp_table_entry_rva(c->run_rva, where);
        return 1;
    }
    *entry_rva = hp_table_entry_rva(record_rva, where);
    return 1;
}

/** One entry of a table, as hp_table_iter_next() hands it out. */
typedef struct hp_table_entry {
    uint32_t rva;     /**< the entry's RVA (or address, for a table walked at its address) */
    uint8_t pad;      /**< padding bytes before the entry */
    uint8_t flags;    /**< HP_TABLE_F_* of its record or block header, as stored */
    uint16_t version; /**< format version of its record or block header */
} hp_table_entry;

/** A walk over a table's bytes (a whole .hotp section, or any 8-aligned run of records). */
typedef struct hp_table_iter {
    const uint8_t *data;  /**< the table's first byte */
    size_t size;          /**< its size in bytes */
    uint32_t rva;         /**< RVA (or address, modulo 2^32) of data[0] */
    size_t off;           /**< next byte to read */
    uint32_t left;        /**< entry RVAs of the current block not yet handed out */
    hp_table_entry block; /**< the current block's pad, flags and version */
    hp_table_cursor cur;  /**< run state of version 2 records */
} hp_table_iter;

static inline uint32_t hp_table_u32_(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void hp_table_iter_init(hp_table_iter *it, const void *data, size_t size, uint32_t rva)
{
    static const hp_table_cursor start = HP_TABLE_CURSOR_INIT;
    it->data = (const uint8_t *)data;
    it->size = size;
    it->rva = rva;
    it->off = 0;
    it->left = 0;
    it->block.rva = 0;
    it->block.pad = 0;
    it->block.flags = 0;
    it->block.version = 0;
    it->cur = start;
}

/**
 * Next entry of the table, in table order: records of every version, runs
 * and blocks. Markers and filler (where == 0) are skipped.
 * @return 1 with *out set; 0 at the end; -1 for a damaged record (an in-run
 *         record with no run start before it, an entry RVA of 0 in a block),
 *         which is skipped: calling again goes on after it. A block longer
 *         than the rest of the table is damaged too, and ends the walk.
 */
static inline int hp_table_iter_next(hp_table_iter *it, hp_table_entry *out)
{
    for (;;) {
        const uint8_t *r;
        int32_t where;
        uint8_t flags;
        uint32_t record_rva, entry;
        int got;

        if (it->left > 0) {
            uint32_t v = hp_table_u32_(it->data + it->off);
            it->off += 4;
            if (--it->left == 0 && (it->off & 7u) != 0)
                it->off += 4; /* the zero word after an odd count */
            if (v == 0)
                return -1;
            *out = it->block;
            out->rva = v;
            return 1;
        }
        if (it->off > it->size || it->size - it->off < HP_TABLE_RECORD_SIZE)
            return 0;
        r = it->data + it->off;
        where = (int32_t)hp_table_u32_(r);
        flags = r[5];
        record_rva = it->rva + (uint32_t)it->off;
        it->off += HP_TABLE_RECORD_SIZE;
        if (where != 0 && (flags & HP_TABLE_F_RVA_BLOCK)) {
            uint32_t n = (uint32_t)where;
            if (where < 0 || n > (it->size - it->off) / 4u) {
                it->off = it->size;
                return -1;
            }
            it->block.pad = r[4];
            it->block.flags = flags;
            it->block.version = (uint16_t)(r[6] | r[7] << 8);
            it->left = n;
            continue;
        }
        got = hp_table_next(&it->cur, record_rva, where, flags, &entry);
        if (got == 0)
            continue;
        if (got < 0)
            return -1;
        out->rva = entry;
        out->pad = r[4];
        out->flags = flags;
        out->version = (uint16_t)(r[6] | r[7] << 8);
        return 1;
    }
}

#endif /* HOTPATCH_TABLE_H */
