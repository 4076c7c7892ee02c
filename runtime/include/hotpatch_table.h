/*
 * hotpatch_table.h — the on-disk format of the plugin's table of patchable
 * functions, shared by plugin/ (writer), audit/, lld-pass/ and runtime/
 * (readers). Documented in README.md ("The table").
 *
 * COFF (PE images): grouped sections `.hotp$a` (begin marker), `.hotp$m`
 * (records), `.hotp$z` (end marker); the linker sorts them by the text after
 * `$` and merges them into one output section `.hotp`.
 * ELF: one section `hotp_table`; the linker defines `__start_hotp_table` and
 * `__stop_hotp_table` around it.
 *
 * The section is a sequence of 8-byte records (4-byte aligned). A record whose
 * `where` is 0 is not an entry: markers and any alignment filler a linker may
 * insert are skipped by every reader.
 *
 * `where` is self-relative on every format: the entry is at (address of the
 * record's `where` field) + where — except in a run (version 2): the records a
 * plugin-built object keeps in one array (COFF, functions without a COMDAT of
 * their own) are relative to the array's first record, flagged
 * HP_TABLE_F_RUN_START (self-relative itself); the others are flagged
 * HP_TABLE_F_IN_RUN. A linker never splits a section, so the nearest run start
 * before an in-run record is its own. One difference to a shared base per
 * record is what makes the table cheap to compile (no per-record offset).
 * Readers walk records in order with hp_table_next(). On COFF that is a REL32 relocation
 * (IMAGE_REL_AMD64_REL32 / IMAGE_REL_I386_REL32) resolved by the linker, so
 * the table needs no base relocation and no __ImageBase: LLVM 19 cannot lower
 * `f - __ImageBase` (ADDR32NB) for MinGW triples ("symbol '__ImageBase' can
 * not be undefined in a subtraction expression"), while a difference to the
 * record itself lowers for every triple, in IR, and therefore also under LTO.
 * A PE reader gets the entry RVA as hp_table_entry_rva(record RVA, where);
 * the runtime gets the address as hp_table_entry_addr(record).
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
#define HP_TABLE_F_MARKER    0x80u /**< begin/end marker record (where == 0) */

/** One record, little-endian as stored. */
typedef struct hp_table_record {
    /** Entry address minus the address of this field (signed, self-relative; every format).
        0 = not an entry (marker or filler). */
    int32_t where;
    uint8_t pad;      /**< padding bytes the plugin placed before the entry */
    uint8_t flags;    /**< HP_TABLE_F_* */
    uint16_t version; /**< format version of the writer: 1 or 2 */
} hp_table_record;

/** Format version the plugin writes: 2 (runs). Readers accept 1 (no runs) and 2. */
#define HP_TABLE_VERSION 2u

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

#endif /* HOTPATCH_TABLE_H */
