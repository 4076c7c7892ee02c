/*
 * policy_internal.h — what the files of the policy core (hp_policy.h) share;
 * not installed. One file per seam, calls go down only:
 *
 *   options.c     the policy object and its options, exclude= globs (hp_glob_match)
 *   target.c      what both phases read off a module: its target triple, function
 *                 attributes, and the site's IR form (prefix data, prologue data)
 *   instrument.c  phase 1, hp_policy_instrument: choose the functions, give each its site
 *   table.c       phase 2, hp_policy_emit_table: one record per instrumented function in
 *                 the form its function needs, written by the emitters below; the COFF
 *                 markers and llvm.used
 *   emit_ir.c     IR record forms: a function's own record, and a run
 *   emit_asm.c    module-assembly record forms: RVA blocks, and associative records
 *   units.c       hp_policy_emit_units: a release unit's symbols for later fixes
 *   fixmode.c     hp_policy_fix: a translation unit compiled as part of a patch module
 *
 *   instrument.c -> options.c, target.c
 *   table.c -> emit_ir.c, emit_asm.c -> target.c
 *   units.c -> emit_asm.c;  fixmode.c -> units.c, target.c
 *
 * The site, the table format and the padding rules are those of README.md
 * ("The site rules"), plugin/README.md ("What the plugin does to the IR",
 * "The table") and runtime/include/hotpatch_table.h. Internal names carry the
 * prefix hpp_.
 */
#ifndef HP_POLICY_INTERNAL_H
#define HP_POLICY_INTERNAL_H

#include <stddef.h>

#include <llvm-c/Core.h>

#include "hotpatch.h"
#include "hotpatch_table.h"
#include "hp_policy.h"

/* ------------------------------------------------------------------------- */
/* The policy (options.c)                                                     */
/* ------------------------------------------------------------------------- */

struct hp_policy {
    unsigned pad;          /* requested padding; 0 = the target's default */
    hp_policy_scope scope;
    hp_policy_entry entry;
    hp_policy_cet cet;
    int table;             /* write the table (table=on) */
    int noinline_exported; /* add noinline to exported functions */
    int verbose;           /* per-function HP_POLICY_DIAG_VERBOSE remarks */
    unsigned disabled;     /* bit (1u << hp_policy_diag) set: never reported */
    int function_sections; /* codegen puts each function in its own section */
    int object_output;     /* the module goes straight to machine code (no bitcode, no LTO) */
    int func_sanitize;     /* functions may carry -fsanitize=function data: check each */
    char **excludes;       /* exclude= globs, owned */
    size_t exclude_count, exclude_cap;
    char *source_root;     /* source-root=: units are named relative to it; NULL: absolute paths */
    /* fix mode (fixmode.c) */
    struct hp_map *fix_map; /* fix-for=: the target's map, loaded when the option is parsed; NULL: not fix mode */
    char *fix_map_path;
    char **fix_functions;  /* fix-functions= names, owned */
    size_t fix_function_count, fix_function_cap;
    char *fix_unit;        /* fix-unit=: the unit's name in the release, when it moved */
};

/* The module's unit name (hp_path_unit of its source file name under source-root=) into `out`. */
int hpp_unit_name(const hp_policy *policy, LLVMModuleRef module, char *out, size_t size);

/* A unit's id in its symbols (units.c): FNV-1a 32 of its name. */
uint32_t hpp_unit_id(const char *unit);

/* Is the name (`len` bytes, no NUL needed) matched by an exclude= glob? */
int hpp_excluded_n(const hp_policy *policy, const char *name, size_t len);

/* ------------------------------------------------------------------------- */
/* Target (target.c)                                                          */
/* ------------------------------------------------------------------------- */

typedef enum hpp_arch { HPP_ARCH_OTHER = 0, HPP_ARCH_X86, HPP_ARCH_X64 } hpp_arch;
typedef enum hpp_objfmt { HPP_FMT_OTHER = 0, HPP_FMT_COFF, HPP_FMT_ELF } hpp_objfmt;

typedef struct hpp_target {
    hpp_arch arch;
    hpp_objfmt fmt;
    unsigned min_pad; /* bytes of the long jump written into the padding: HP_MIN_PAD_X86 / _X64 */
} hpp_target;

/* The module's target, from its triple; HPP_ARCH_OTHER / HPP_FMT_OTHER when the policy does not apply. */
hpp_target hpp_target_of(LLVMModuleRef module);

/* Is IBT (-fcf-protection=branch) on for the module: its module flag "cf-protection-branch" set? */
int hpp_cet_active(LLVMModuleRef module);

/* ------------------------------------------------------------------------- */
/* Attributes (target.c)                                                      */
/* ------------------------------------------------------------------------- */

#define HPP_FN_INDEX ((LLVMAttributeIndex)LLVMAttributeFunctionIndex)
#define HPP_ATTR_MARK "hotpatch"
#define HPP_ATTR_PREFIX "patchable-function-prefix"
#define HPP_ATTR_ENTRY "patchable-function-entry"
#define HPP_ATTR_PATCHABLE "patchable-function"
#define HPP_ATTR_SHORT_REDIRECT "prologue-short-redirect"

LLVMAttributeRef hpp_str_attr(LLVMValueRef fn, const char *key);
void hpp_set_str_attr(LLVMValueRef fn, const char *key, const char *value);
void hpp_remove_str_attr(LLVMValueRef fn, const char *key);
/* Unsigned value of a string attribute by key: -1 when absent, -2 when not a number. */
long hpp_str_attr_uint(LLVMValueRef fn, const char *key);
unsigned hpp_enum_kind(const char *name);
int hpp_has_enum_attr(LLVMValueRef fn, const char *name);
void hpp_add_enum_attr(LLVMValueRef fn, const char *name);

/* What phase 1 needs to know of a function's attributes, read in one pass over them
   (hpp_read_attrs): four lookups by name cost more than one walk over the ten or so
   attributes clang gives a function. */
typedef struct hpp_attr_facts {
    int mark;      /* HPP_ATTR_MARK present */
    long prefix;   /* HPP_ATTR_PREFIX as hpp_str_attr_uint() gives it */
    long entry;    /* HPP_ATTR_ENTRY likewise */
    int patchable; /* HPP_ATTR_PATCHABLE present */
    int naked;     /* the naked attribute (enum kind `naked_kind`) */
} hpp_attr_facts;

void hpp_read_attrs(LLVMValueRef fn, unsigned naked_kind, hpp_attr_facts *facts);

/* Function name as the user wrote it: IR names of asm labels start with \1, which is skipped. */
const char *hpp_fn_name(LLVMValueRef fn, size_t *len);

/* dllexport on COFF; on ELF external (not internal/private) with default visibility. */
int hpp_is_exported(LLVMValueRef fn, const hpp_target *t);

/* ------------------------------------------------------------------------- */
/* The site in IR (target.c)                                                  */
/* ------------------------------------------------------------------------- */

/* The entry's 2-byte NOP as prologue data: i16 0x9066, emitted little-endian as `66 90`
   (xchg ax, ax), the first bytes at the entry label. An integer, not [2 x i8]: cheaper to emit. */
#define HPP_ENTRY_NOP_I16 0x9066u

/* The padding of `pad` bytes (1..HP_MAX_PAD) as prefix data: every byte HP_FILLER_PREFERRED (CC,
   int3), a packed struct of i32s, then an i16 and an i8 as needed. */
LLVMValueRef hpp_filler_const(LLVMContextRef ctx, unsigned pad);

/* Does `fn` carry the policy's padding as prefix data (hpp_filler_const(), or the byte strings
   earlier plugins wrote: CC 90 90 ..., all 0x90)? Stores its length in *pad (may be NULL). */
int hpp_our_prefix(LLVMValueRef fn, unsigned *pad);

/* Does `fn` start with the policy's 2-byte NOP as prologue data? */
int hpp_our_prologue(LLVMValueRef fn);

/* ------------------------------------------------------------------------- */
/* Table emission (table.c, emit_ir.c, emit_asm.c)                            */
/* ------------------------------------------------------------------------- */

/* A record's second word, little-endian: pad, flags, version (hp_table_record). */
static inline unsigned hpp_header_word(unsigned pad, unsigned flags)
{
    return pad | flags << 8 | HP_TABLE_VERSION << 16;
}

/* One hp_policy_emit_table call, as its emitters share it. */
typedef struct hpp_table {
    LLVMModuleRef module;
    LLVMContextRef ctx;
    LLVMTypeRef i32;
    LLVMTypeRef rec_ty;    /* [2 x i32]: an IR record (`where`, then the header word) */
    unsigned assoc_kind;   /* metadata kind "associated" (ELF: SHF_LINK_ORDER) */
    hpp_target target;
    LLVMValueRef word;     /* the last header word constant, shared by consecutive records of a kind */
    unsigned word_value;
    LLVMValueRef *used;    /* the IR records and runs written, for llvm.compiler.used */
    size_t nused, used_cap;
} hpp_table;

/* emit_ir.c — IR records. Each is added to t->used (HP_ERR_NO_MEMORY when that fails). */

/* The symbol a record points at: on ELF a private alias of a function that could be preempted. */
LLVMValueRef hpp_record_target(hpp_table *t, LLVMValueRef fn, const char *name, size_t len);

/* A function's own record: a plain self-relative record in the table section, in `comdat`
   (COFF: the function's, so it is associative) or with !associated (ELF). */
hp_status hpp_emit_ir_record(hpp_table *t, LLVMValueRef fn, LLVMValueRef target, const char *name, size_t len,
                             unsigned pad, unsigned flags, LLVMComdatRef comdat);

/* One entry of a run. */
typedef struct hpp_run_entry {
    LLVMValueRef target;
    unsigned pad, flags;
} hpp_run_entry;

/* A run (COFF, format 2): one array of `n` records (n > 0) relative to its first. */
hp_status hpp_emit_run(hpp_table *t, const hpp_run_entry *entries, size_t n);

/* emit_asm.c — records as module assembly (COFF objects compiled straight to machine code). */

/* One function as module assembly names it, and its record's header word. */
typedef struct hpp_asm_rec {
    const char *prefix, *sym; /* assembler symbol: prefix ("_" on x86 COFF, or "") then sym */
    size_t len;               /* of sym */
    unsigned word;            /* hpp_header_word(); never 0 */
} hpp_asm_rec;

/* Module assembly being written; appended to the module by hpp_asm_finish(). */
typedef struct hpp_asm_text {
    char *p;
    size_t n, cap;
    int oom;
} hpp_asm_text;

/* Append `n` bytes / a string to the text (on failure the text is marked out of memory). */
void hpp_asm_put(hpp_asm_text *text, const char *s, size_t n);
void hpp_asm_puts(hpp_asm_text *text, const char *s);

/* The assembler's name of `fn` when module assembly can refer to it by that name alone;
   0 when it cannot (decorated calling convention, private, not a plain identifier). */
int hpp_asm_symbol(LLVMValueRef fn, const hpp_target *t, const char **prefix, const char **sym, size_t *len);

/* RVA blocks (format 3) of `recs`, one per distinct header word. Clears the words it wrote. */
void hpp_emit_blocks(hpp_asm_text *text, hpp_asm_rec *recs, size_t n);

/* Per function a plain self-relative record in a section associative to the function's COMDAT. */
void hpp_emit_assoc_records(hpp_asm_text *text, const hpp_asm_rec *recs, size_t n);

/* Append `n` values to the appending array `name` (llvm.used, llvm.compiler.used), made when absent. */
hp_status hpp_append_used(LLVMModuleRef module, const char *name, LLVMValueRef *vals, size_t n);

/* Append the text to the module's assembly and free it: HP_OK, or HP_ERR_NO_MEMORY when a
   write ran out of memory (nothing is appended). */
hp_status hpp_asm_finish(LLVMModuleRef module, hpp_asm_text *text);

#endif /* HP_POLICY_INTERNAL_H */
