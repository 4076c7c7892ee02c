/*
 * source_tu.h — layer 14 of the audit library (audit/README.md, "Source layout"):
 * one translation unit of the source audit, parsed with libclang and its
 * declarations walked; what matters to hotpatching is recorded as facts.
 * Which facts are findings is source.c's to judge, because some need every
 * unit (is this name exported anywhere? how many units include this header?).
 * Runs on the worker threads: it touches nothing but its own hpa_src_scan.
 *
 * May call: source_db, arena (and libclang's index, hp_tools).
 */
#ifndef HPA_SOURCE_TU_H
#define HPA_SOURCE_TU_H

#include <clang-c/Index.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "source_db.h"

/** What a fact is about. */
enum hpa_src_fact_kind {
    HPA_SRC_FUNCTION = 0, /* a function definition with something to judge (flags) */
    HPA_SRC_VARIABLE = 1, /* a file-scope variable declared dllexport, or named by a .def */
    HPA_SRC_EXPORT = 2,   /* a function declared dllexport here (definition or not): its name is exported */
    HPA_SRC_UNPARSED = 3, /* the unit did not parse; `detail` says why, path/line/column where (when known) */
    HPA_SRC_SKIPPED = 4,  /* the plugin leaves every function of the unit as written; `detail` says why */
};

/* Flags of a fact (functions unless said). */
#define HPA_SRC_F_DLLEXPORT      0x0001u /* declared dllexport in this unit */
#define HPA_SRC_F_INLINE         0x0002u /* inline on this or an earlier declaration, or always_inline */
#define HPA_SRC_F_ALWAYS_INLINE  0x0004u /* always_inline, __forceinline */
#define HPA_SRC_F_NOINLINE       0x0008u /* noinline, or the plugin's noinline-exported makes it so */
#define HPA_SRC_F_HEADER         0x0010u /* defined in another file than the unit's own (a header) */
#define HPA_SRC_F_NAKED          0x0020u /* naked */
#define HPA_SRC_F_ASM_ENTRY      0x0040u /* the body begins with inline assembly, and no plugin NOP precedes it */
#define HPA_SRC_F_ENTRY_CONFLICT 0x0080u /* patchable_function_entry(pfe_count, pfe_offset) the plugin refuses */
#define HPA_SRC_F_EXCLUDED       0x0100u /* matched by the unit's exclude= glob `detail` */
#define HPA_SRC_F_SCOPE_SKIP     0x0200u /* a .def export the plugin's scope=exported leaves (not dllexport) */
#define HPA_SRC_F_DEFINITION     0x0400u /* variables: a definition (not an extern declaration) */

/** One fact. Strings live in the scan's arena (or the database's, for `detail` globs). */
typedef struct hpa_src_fact {
    unsigned kind, flags;
    uint32_t unit;           /* index of the unit in the run */
    const char *name;        /* function or variable (C: its name or asm label; C++: mangled) */
    const char *path;        /* real path of the file it is in; NULL: the unit's own file, no place */
    uint32_t line, column;   /* where its name is (expansion location); 0 when no place */
    const char *detail;      /* see the kinds and flags */
    uint32_t pfe_count, pfe_offset; /* HPA_SRC_F_ENTRY_CONFLICT, and a unit skipped for -fpatchable-function-entry */
    uint32_t pad;            /* the padding the plugin wants in this unit */
} hpa_src_fact;

/** What one worker found, over the units it parsed. */
typedef struct hpa_src_scan {
    hpa_src_fact *facts;
    size_t count, cap;
    uint32_t functions_defined; /* function definitions in the units' own files */
    const char **exported;      /* names already recorded as HPA_SRC_EXPORT (open addressing): every unit
                                   that includes a header declares its exports again */
    size_t exported_count, exported_cap;
    hpa_arena arena;
    int oom;                    /* an allocation failed: facts are missing */
} hpa_src_scan;

/**
 * Parse unit `u` (number `unit_no` of the run) with `index`, owned by the calling thread, and add
 * its facts to `out`. `defs`: the names the .def files export (sorted; read-only, shared).
 */
void hpa_src_scan_unit(CXIndex index, const hpa_src_unit *u, uint32_t unit_no, const hpa_src_names *defs,
                       hpa_src_scan *out);
/** Free a scan's facts and strings. */
void hpa_src_scan_free(hpa_src_scan *s);

#endif /* HPA_SOURCE_TU_H */
