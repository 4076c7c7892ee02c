/*
 * table.c — phase 2 of the policy, hp_policy_emit_table (optimizer last): one
 * table record for every function phase 1 chose that still exists, so that the
 * table, which references its functions, does not keep alive functions the
 * optimizer deleted (static functions inlined everywhere).
 *
 * Each record takes the form its function needs (plugin/README.md, "The table"
 * and "Garbage collection"; runtime/include/hotpatch_table.h), written by its
 * emitter:
 *   COFF, straight to machine code, symbol spelled simply:
 *     a section of its own       associative record   hpp_emit_assoc_records (emit_asm.c)
 *     a section that stays whole RVA block            hpp_emit_blocks        (emit_asm.c)
 *   COFF otherwise:
 *     in a COMDAT (own or given) own IR record        hpp_emit_ir_record     (emit_ir.c)
 *     a section that stays whole run                  hpp_emit_run           (emit_ir.c)
 *   ELF: own IR record with !associated               hpp_emit_ir_record
 * plus, on COFF, the begin/end markers and their -include: directives.
 */
#include "policy_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Comdat.h>

#include "hp_tools.h"

/* Named metadata that says the module has its table (idempotence). */
#define TABLE_GUARD "hotpatch.table"

/* Append `n` values to the appending array `name` (llvm.used / llvm.compiler.used). */
hp_status hpp_append_used(LLVMModuleRef module, const char *name, LLVMValueRef *vals, size_t n)
{
    LLVMContextRef ctx = LLVMGetModuleContext(module);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
    LLVMValueRef old = LLVMGetNamedGlobal(module, name), init, g;
    LLVMValueRef *all;
    size_t have = 0, i;

    if (n == 0)
        return HP_OK;
    init = old ? LLVMGetInitializer(old) : NULL;
    if (init && LLVMIsAConstantArray(init))
        have = (size_t)LLVMGetNumOperands(init);
    all = malloc((have + n) * sizeof *all);
    if (!all)
        return HP_ERR_NO_MEMORY;
    for (i = 0; i < have; i++)
        all[i] = LLVMGetOperand(init, (unsigned)i);
    memcpy(all + have, vals, n * sizeof *vals);
    if (old)
        LLVMDeleteGlobal(old);
    g = LLVMAddGlobal(module, LLVMArrayType2(ptr, have + n), name);
    LLVMSetLinkage(g, LLVMAppendingLinkage);
    LLVMSetSection(g, "llvm.metadata");
    LLVMSetInitializer(g, LLVMConstArray2(ptr, all, have + n));
    free(all);
    return HP_OK;
}

static LLVMTypeRef record_type(LLVMContextRef ctx)
{
    /* hp_table_record: { i32 where, i8 pad, i8 flags, i16 version } — 8 bytes, align 4 */
    LLVMTypeRef fields[4];

    fields[0] = LLVMInt32TypeInContext(ctx);
    fields[1] = LLVMInt8TypeInContext(ctx);
    fields[2] = LLVMInt8TypeInContext(ctx);
    fields[3] = LLVMInt16TypeInContext(ctx);
    return LLVMStructTypeInContext(ctx, fields, 4, 0);
}

static LLVMValueRef record_value(LLVMContextRef ctx, LLVMValueRef where, unsigned pad, unsigned flags)
{
    LLVMValueRef f[4];

    f[0] = where;
    f[1] = LLVMConstInt(LLVMInt8TypeInContext(ctx), pad, 0);
    f[2] = LLVMConstInt(LLVMInt8TypeInContext(ctx), flags, 0);
    f[3] = LLVMConstInt(LLVMInt16TypeInContext(ctx), HP_TABLE_VERSION, 0);
    return LLVMConstStructInContext(ctx, f, 4, 0);
}

/* COFF begin/end markers: one copy per image (comdat any), kept by /include:
   (llvm.used) so /opt:ref does not drop them. */
static LLVMValueRef add_marker(LLVMModuleRef module, const char *name, const char *section)
{
    LLVMContextRef ctx = LLVMGetModuleContext(module);
    LLVMTypeRef ty = record_type(ctx);
    LLVMValueRef g = LLVMGetNamedGlobal(module, name);
    LLVMComdatRef c;

    if (g)
        return NULL; /* already there (module linked from several plugin-built modules) */
    g = LLVMAddGlobal(module, ty, name);
    LLVMSetInitializer(g, record_value(ctx, LLVMConstInt(LLVMInt32TypeInContext(ctx), 0, 0), 0, HP_TABLE_F_MARKER));
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMLinkOnceODRLinkage);
    LLVMSetSection(g, section);
    LLVMSetAlignment(g, 4);
    c = LLVMGetOrInsertComdat(module, name);
    LLVMSetComdatSelectionKind(c, LLVMAnyComdatSelectionKind);
    LLVMSetComdat(g, c);
    return g;
}

/* `-include:` linker directives (COFF .drectve) for both markers, so that
   lld's /OPT:REF (MinGW: --gc-sections) keeps them. */
static void add_include_directives(LLVMModuleRef module, const hpp_target *t)
{
    static const char *const names[2] = {"__hp_table_begin", "__hp_table_end"};
    LLVMContextRef ctx = LLVMGetModuleContext(module);
    int i;

    for (i = 0; i < 2; i++) {
        char opt[64];
        LLVMMetadataRef s;
        int n = snprintf(opt, sizeof opt, "-include:%s%s", t->arch == HPP_ARCH_X86 ? "_" : "", names[i]);
        s = LLVMMDStringInContext2(ctx, opt, (size_t)n);
        LLVMAddNamedMetadataOperand(module, "llvm.linker.options",
                                    LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, &s, 1)));
    }
    /* MinGW exports every global of a DLL that exports nothing explicitly (auto-export), and every
       global with --export-all-symbols: the markers must never become exports. lld takes the names
       undecorated on x86 too. (MSVC's link has no auto-export and does not know the directive.) */
    const char *triple = LLVMGetTarget(module);
    if (triple && (strstr(triple, "-mingw") || strstr(triple, "windows-gnu") || strstr(triple, "-cygwin"))) {
        static const char excl[] = "-exclude-symbols:__hp_table_begin,__hp_table_end";
        LLVMMetadataRef s = LLVMMDStringInContext2(ctx, excl, sizeof excl - 1);
        LLVMAddNamedMetadataOperand(module, "llvm.linker.options",
                                    LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, &s, 1)));
    }
}

/* The markers of a COFF table, once per module, kept by llvm.used; llvm.used becomes /INCLUDE:
   for MSVC triples only, MinGW needs the directive spelled out (x86 symbols carry the '_'
   prefix). */
static hp_status add_markers(LLVMModuleRef module, const hpp_target *t)
{
    LLVMValueRef markers[2];
    size_t m = 0;
    LLVMValueRef b = add_marker(module, "__hp_table_begin", HP_TABLE_COFF_SECTION "$a");
    LLVMValueRef e = add_marker(module, "__hp_table_end", HP_TABLE_COFF_SECTION "$z");
    hp_status st;

    if (b)
        markers[m++] = b;
    if (e)
        markers[m++] = e;
    st = hpp_append_used(module, "llvm.used", markers, m);
    if (st != HP_OK)
        return st;
    if (m > 0)
        add_include_directives(module, t);
    return HP_OK;
}

hp_status hp_policy_emit_table(const hp_policy *policy, LLVMModuleRef module, hp_policy_stats *stats)
{
    hpp_table t;
    LLVMValueRef fn;
    /* COFF functions whose section stays whole, written as one run */
    hpp_run_entry *run = NULL;
    size_t nrun = 0, run_cap = 0;
    /* COFF functions written as module assembly: in blocks, or with associative records */
    hpp_asm_rec *blocks = NULL, *assoc = NULL;
    size_t nblocks = 0, blocks_cap = 0, nassoc = 0, assoc_cap = 0;
    hp_status st = HP_OK;
    int cet;

    if (!policy || !module)
        return HP_ERR_ARGUMENT;
    if (!policy->table)
        return HP_OK;
    memset(&t, 0, sizeof t);
    t.target = hpp_target_of(module);
    if (t.target.arch == HPP_ARCH_OTHER || t.target.fmt == HPP_FMT_OTHER)
        return HP_OK;
    if (LLVMGetNamedMetadataNumOperands(module, TABLE_GUARD) > 0)
        return HP_OK;

    t.module = module;
    t.ctx = LLVMGetModuleContext(module);
    t.i32 = LLVMInt32TypeInContext(t.ctx);
    t.rec_ty = LLVMArrayType2(t.i32, 2);
    cet = hpp_cet_active(module);
    t.assoc_kind = LLVMGetMDKindIDInContext(t.ctx, "associated", (unsigned)strlen("associated"));

    for (fn = LLVMGetFirstFunction(module); fn; fn = LLVMGetNextFunction(fn)) {
        long pad, flags;
        size_t len;
        const char *name;
        LLVMValueRef target_v;
        LLVMComdatRef comdat;
        LLVMLinkage l;
        unsigned prefix_len;

        if (LLVMIsDeclaration(fn))
            continue;
        /* Phase 1 chose this function: our prefix data, or (attribute padding) the mark */
        if (hpp_our_prefix(fn, &prefix_len))
            pad = (long)prefix_len;
        else if (hpp_str_attr(fn, HPP_ATTR_MARK))
            pad = hpp_str_attr_uint(fn, HPP_ATTR_PREFIX);
        else
            continue;
        l = LLVMGetLinkage(fn);
        if (l == LLVMAvailableExternallyLinkage)
            continue;
        if (pad < 0 || pad > 255)
            continue; /* attributes edited after phase 1: no reliable record */
        /* The flags are read off the function as it is now */
        flags = 0;
        if (hpp_our_prologue(fn) || hpp_str_attr_uint(fn, HPP_ATTR_ENTRY) == 2)
            flags |= HP_TABLE_F_ENTRY_NOP;
        if (hpp_is_exported(fn, &t.target))
            flags |= HP_TABLE_F_EXPORTED;
        if (cet && !hpp_has_enum_attr(fn, "nocf_check"))
            flags |= HP_TABLE_F_ENDBR; /* the record takes the address: codegen puts endbr first */

        /* Keep the record exactly as long as its function. */
        comdat = LLVMGetComdat(fn);
        if (t.target.fmt == HPP_FMT_COFF && !comdat && policy->object_output) {
            /* Straight to machine code: module assembly. A function in a section of its own
               (function sections, no explicit section) gets a record associative to that
               section's COMDAT; any other lives in a section that stays whole, and goes into a
               block. */
            hpp_asm_rec r;
            if (hpp_asm_symbol(fn, &t.target, &r.prefix, &r.sym, &r.len)) {
                const char *sec = LLVMGetSection(fn);
                int pushed;
                if (policy->function_sections && !(sec && sec[0])) {
                    r.word = hpp_header_word((unsigned)pad, (unsigned)flags);
                    pushed = HP_VEC_PUSH(assoc, nassoc, assoc_cap, r);
                } else {
                    r.word = hpp_header_word((unsigned)pad, (unsigned)flags | HP_TABLE_F_RVA_BLOCK);
                    pushed = HP_VEC_PUSH(blocks, nblocks, blocks_cap, r);
                }
                if (!pushed) {
                    st = HP_ERR_NO_MEMORY;
                    goto out;
                }
                continue;
            }
        }
        if (t.target.fmt == HPP_FMT_COFF && !comdat && l != LLVMPrivateLinkage && policy->function_sections) {
            /* A no-deduplicate COMDAT of its own (what -ffunction-sections
               does on COFF anyway) lets the record be associative to it. */
            size_t raw_len;
            const char *raw = LLVMGetValueName2(fn, &raw_len);
            LLVMComdatRef c = LLVMGetOrInsertComdat(module, raw);
            LLVMSetComdatSelectionKind(c, LLVMNoDeduplicateComdatSelectionKind);
            LLVMSetComdat(fn, c);
            comdat = c;
        }
        name = hpp_fn_name(fn, &len);
        target_v = hpp_record_target(&t, fn, name, len);
        if (t.target.fmt == HPP_FMT_COFF && !comdat) {
            /* The function lives in a section that stays whole (.text without function sections):
               its record needs no section of its own, and one array for all of them is far cheaper
               to compile than a global per function. */
            hpp_run_entry e;
            e.target = target_v;
            e.pad = (unsigned)pad;
            e.flags = (unsigned)flags;
            if (!HP_VEC_PUSH(run, nrun, run_cap, e)) {
                st = HP_ERR_NO_MEMORY;
                goto out;
            }
            continue;
        }
        st = hpp_emit_ir_record(&t, fn, target_v, name, len, (unsigned)pad, (unsigned)flags, comdat);
        if (st != HP_OK)
            goto out;
    }

    if (nrun > 0) {
        st = hpp_emit_run(&t, run, nrun);
        if (st != HP_OK)
            goto out;
    }
    if (nblocks + nassoc > 0) {
        hpp_asm_text text = {NULL, 0, 0, 0};
        hpp_emit_blocks(&text, blocks, nblocks);
        hpp_emit_assoc_records(&text, assoc, nassoc);
        st = hpp_asm_finish(module, &text);
        if (st != HP_OK)
            goto out;
    }
    st = hpp_append_used(module, "llvm.compiler.used", t.used, t.nused);
    if (st != HP_OK)
        goto out;
    if (t.target.fmt == HPP_FMT_COFF && t.nused + nblocks + nassoc > 0) {
        st = add_markers(module, &t.target);
        if (st != HP_OK)
            goto out;
    }
    LLVMAddNamedMetadataOperand(module, TABLE_GUARD, LLVMMetadataAsValue(t.ctx, LLVMMDNodeInContext2(t.ctx, NULL, 0)));
    if (stats)
        stats->records += (uint32_t)(t.nused - (nrun > 0) + nrun + nblocks + nassoc);
out:
    free(blocks);
    free(assoc);
    free(run);
    free(t.used);
    return st;
}
