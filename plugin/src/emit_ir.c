/*
 * emit_ir.c — table records as IR globals (plugin/README.md, "The table"):
 *   - a function's own record: a plain self-relative record in a global of its
 *     own, in the function's COMDAT (COFF: associative) or with !associated
 *     (ELF: SHF_LINK_ORDER), so that it lives exactly as long as its function;
 *   - a run (COFF, format 2): one array of records for the functions whose
 *     section stays whole, each `where` relative to the array's start.
 * Both are typed [2 x i32] per record (`where`, then pad | flags << 8 |
 * version << 16, the same 8 bytes as hp_table_record little-endian) with the
 * second word one shared constant per kind: the fewest constants per record,
 * which is what a record costs to compile.
 */
#include "policy_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include <llvm-c/Comdat.h>

#include "hp_tools.h"

/* The header word as an i32 constant, shared by consecutive records of a kind (one LLVMConstInt,
   not one per record). */
static LLVMValueRef header_const(hpp_table *t, unsigned word)
{
    if (!t->word || t->word_value != word) {
        t->word = LLVMConstInt(t->i32, word, 0);
        t->word_value = word;
    }
    return t->word;
}

/* On ELF a private alias for functions that could be preempted, so the PC-relative reference
   never needs a dynamic relocation (R_X86_64_PC32 against a preemptible symbol fails with -shared). */
LLVMValueRef hpp_record_target(hpp_table *t, LLVMValueRef fn, const char *name, size_t len)
{
    LLVMLinkage l = LLVMGetLinkage(fn);
    char alias_name[300];
    LLVMValueRef a;

    if (t->target.fmt != HPP_FMT_ELF || l == LLVMInternalLinkage || l == LLVMPrivateLinkage)
        return fn;
    snprintf(alias_name, sizeof alias_name, "__hp_local.%.*s", (int)(len > 256 ? 256 : len), name);
    a = LLVMAddAlias2(t->module, LLVMGlobalGetValueType(fn), 0, fn, alias_name);
    LLVMSetLinkage(a, LLVMPrivateLinkage);
    return a;
}

hp_status hpp_emit_ir_record(hpp_table *t, LLVMValueRef fn, LLVMValueRef target, const char *name, size_t len,
                             unsigned pad, unsigned flags, LLVMComdatRef comdat)
{
    char rec_name[300];
    LLVMValueRef rec, words[2];

    /* Named after the function only for readable IR: a private global's
       name never reaches the object. Skipped for big modules (cost). */
    if (t->nused < 64)
        snprintf(rec_name, sizeof rec_name, "__hp_rec.%.*s", (int)(len > 256 ? 256 : len), name);
    else
        rec_name[0] = '\0';
    rec = LLVMAddGlobal(t->module, t->rec_ty, rec_name);
    LLVMSetLinkage(rec, LLVMPrivateLinkage);
    LLVMSetGlobalConstant(rec, 1);
    LLVMSetAlignment(rec, 4);
    LLVMSetSection(rec, t->target.fmt == HPP_FMT_COFF ? HP_TABLE_COFF_SECTION "$m" : HP_TABLE_ELF_SECTION);

    /* where = target - &record.where: self-relative, no base relocation;
       COFF: IMAGE_REL_AMD64_REL32 / IMAGE_REL_I386_REL32, ELF: R_X86_64_PC32. ptrtoint
       straight to i32 (no trunc). */
    words[0] = LLVMConstSub(LLVMConstPtrToInt(target, t->i32), LLVMConstPtrToInt(rec, t->i32));
    words[1] = header_const(t, hpp_header_word(pad, flags));
    LLVMSetInitializer(rec, LLVMConstArray2(t->i32, words, 2));
    if (comdat)
        LLVMSetComdat(rec, comdat);
    if (t->target.fmt == HPP_FMT_ELF) {
        LLVMMetadataRef op = LLVMValueAsMetadata(fn);
        LLVMGlobalSetMetadata(rec, t->assoc_kind, LLVMMDNodeInContext2(t->ctx, &op, 1));
    }
    return HP_VEC_PUSH(t->used, t->nused, t->used_cap, rec) ? HP_OK : HP_ERR_NO_MEMORY;
}

/* Every `where` is target - &array[0]: one difference to a shared base, which LLVM lowers to a
   REL32 with an addend. Record 0 starts the run (and is self-relative like any record); the
   others are flagged in-run. This is the table's cost for a whole unit. */
hp_status hpp_emit_run(hpp_table *t, const hpp_run_entry *entries, size_t n)
{
    LLVMTypeRef arr_ty = LLVMArrayType2(t->i32, 2 * (uint64_t)n);
    LLVMValueRef tab = LLVMAddGlobal(t->module, arr_ty, "__hp_recs");
    LLVMValueRef *elems = malloc(2 * n * sizeof *elems);
    LLVMValueRef base;
    size_t i;

    if (!elems)
        return HP_ERR_NO_MEMORY;
    LLVMSetLinkage(tab, LLVMPrivateLinkage);
    LLVMSetGlobalConstant(tab, 1);
    LLVMSetAlignment(tab, 4);
    LLVMSetSection(tab, HP_TABLE_COFF_SECTION "$m");
    base = LLVMConstPtrToInt(tab, t->i32);
    for (i = 0; i < n; i++) {
        unsigned run = i == 0 ? HP_TABLE_F_RUN_START : HP_TABLE_F_IN_RUN;
        elems[2 * i] = LLVMConstSub(LLVMConstPtrToInt(entries[i].target, t->i32), base);
        elems[2 * i + 1] = header_const(t, hpp_header_word(entries[i].pad, entries[i].flags | run));
    }
    LLVMSetInitializer(tab, LLVMConstArray2(t->i32, elems, 2 * (uint64_t)n));
    free(elems);
    return HP_VEC_PUSH(t->used, t->nused, t->used_cap, tab) ? HP_OK : HP_ERR_NO_MEMORY;
}
