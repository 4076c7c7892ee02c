/*
 * instrument.c — phase 1 of the policy, hp_policy_instrument (pipeline start):
 * choose the functions and give each its site, using only what LLVM's own code
 * generator understands:
 *   prefix data <{i32, .., i16, i8}> CC..  P int3 bytes before the entry symbol
 *   prologue data i16 0x9066 (66 90)       the 2-byte NOP at the entry
 * and, where bytes cannot do it (CET, KCFI, foreign prefix data, entry=widen,
 * an explicit patchable_function_entry), the attributes
 *   "patchable-function-prefix"="P", "patchable-function-entry"="2",
 *   "patchable-function"="prologue-short-redirect"
 * with the string attribute "hotpatch"="<flags>" marking such functions.
 * Prefix and prologue data are one shared constant each and no attribute-list
 * rebuild: at -O0 that is most of the plugin's compile-time cost. Both travel
 * in bitcode, so -flto builds get the same code at link time.
 */
#include "policy_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One hp_policy_instrument call. */
typedef struct run {
    const hp_policy *policy;
    const hp_policy_host *host;
    hpp_target target;
    int attr_padding;       /* give the padding as an attribute, not prefix data (KCFI: see set_padding) */
    int attr_entry;         /* give the entry NOP as an attribute, not prologue data (CET: see set_entry_nop) */
    LLVMValueRef filler;    /* the prefix data of the last padding size used */
    unsigned filler_len;
    LLVMValueRef entry_nop; /* the prologue data 66 90 */
    unsigned func_sanitize_kind; /* metadata kind of -fsanitize=function data; 0: not checked */
    char buf[512];
} run;

/* Would a diagnostic of this kind reach the host? (Messages are only formatted when it would.) */
static int enabled(const run *r, hp_policy_diag diag)
{
    if (diag == HP_POLICY_DIAG_VERBOSE && !r->policy->verbose)
        return 0;
    if (r->policy->disabled & (1u << diag))
        return 0;
    return r->host && r->host->report;
}

static void report(run *r, hp_policy_diag diag, LLVMValueRef fn)
{
    if (enabled(r, diag))
        r->host->report(r->host->ctx, diag, fn, r->buf);
}

/* Add the module flag clang writes for -fcf-protection=branch:
   !{i32 8 (Min), !"cf-protection-branch", i32 1}. */
static void enable_cet(LLVMModuleRef module)
{
    LLVMContextRef ctx = LLVMGetModuleContext(module);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
    LLVMMetadataRef ops[3];
    LLVMValueRef node;

    if (hpp_cet_active(module))
        return;
    if (LLVMGetModuleFlag(module, "cf-protection-branch", strlen("cf-protection-branch")))
        return; /* present with 0: the user turned it off explicitly; leave it */
    ops[0] = LLVMValueAsMetadata(LLVMConstInt(i32, 8, 0));
    ops[1] = LLVMMDStringInContext2(ctx, "cf-protection-branch", strlen("cf-protection-branch"));
    ops[2] = LLVMValueAsMetadata(LLVMConstInt(i32, 1, 0));
    node = LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, ops, 3));
    LLVMAddNamedMetadataOperand(module, "llvm.module.flags", node);
}

/*
 * Smallest power-of-two function alignment >= `current` that keeps the two
 * entry bytes inside one 64-byte line. The padding starts at an address
 * k*A, so the entry is at k*A + P; it straddles a line only when
 * entry = 63 (mod 64), which (for A dividing 64) needs P = A - 1 (mod A).
 * Codegen may align more (16 unless optsize); a larger A keeps the property.
 * Returns 0 when no alignment works (P = 63 mod 64).
 */
static unsigned entry_alignment(unsigned pad, unsigned current)
{
    unsigned a = current ? current : 1;

    if (a > 64)
        return pad % 64 != 63 ? a : 0;
    for (; a <= 64; a <<= 1)
        if (pad % a != a - 1)
            return a;
    return 0;
}

/* Set the alignment the entry needs; 0 when impossible. */
static int fix_alignment(LLVMValueRef fn, unsigned pad)
{
    unsigned cur = LLVMGetAlignment(fn);
    unsigned a = entry_alignment(pad, cur);

    if (a == 0)
        return 0;
    if (a > (cur ? cur : 1))
        LLVMSetAlignment(fn, a);
    return 1;
}

static void mark(LLVMValueRef fn, unsigned flags)
{
    char v[16];

    snprintf(v, sizeof v, "%u", flags);
    hpp_set_str_attr(fn, HPP_ATTR_MARK, v);
}

/*
 * Put `pad` filler bytes before the entry. Prefix data (hpp_filler_const: one
 * constant shared by every function of a size, so it costs a fraction of
 * "patchable-function-prefix", an attribute-list rebuild per function and one
 * NOP instruction per byte through codegen and the assembler) unless the
 * function already has some (not ours) or the module uses KCFI, whose type hash
 * codegen emits between prefix data and the entry: then the
 * "patchable-function-prefix" attribute (emitted last, right before the entry).
 * Returns 1 when the attribute was used (the function then needs the mark).
 */
static int set_padding(run *r, LLVMValueRef fn, unsigned pad)
{
    char v[12];

    if (!r->attr_padding && !LLVMHasPrefixData(fn)) {
        if (!r->filler || r->filler_len != pad) {
            r->filler = hpp_filler_const(LLVMGetTypeContext(LLVMTypeOf(fn)), pad);
            r->filler_len = pad;
        }
        LLVMSetPrefixData(fn, r->filler);
        return 0;
    }
    snprintf(v, sizeof v, "%u", pad);
    hpp_set_str_attr(fn, HPP_ATTR_PREFIX, v);
    return 1;
}

/*
 * Make the entry a 2-byte NOP. Prologue data (bytes codegen emits right at
 * the entry label, before the body: HPP_ENTRY_NOP_I16) unless the function has
 * some already, or CET is on: endbr must stay the first instruction, and only
 * the "patchable-function-entry" attribute puts the NOP after it.
 */
static void set_entry_nop(run *r, LLVMValueRef fn)
{
    if (!r->attr_entry && !LLVMHasPrologueData(fn)) {
        if (!r->entry_nop)
            r->entry_nop =
                LLVMConstInt(LLVMInt16TypeInContext(LLVMGetTypeContext(LLVMTypeOf(fn))), HPP_ENTRY_NOP_I16, 0);
        LLVMSetPrologueData(fn, r->entry_nop);
        return;
    }
    hpp_set_str_attr(fn, HPP_ATTR_ENTRY, "2"); /* x86: 66 90 (xchg ax, ax) */
}

/* Does `fn` carry metadata of this kind? */
static int has_metadata(LLVMValueRef fn, unsigned kind)
{
    size_t n = 0, i;
    int found = 0;
    LLVMValueMetadataEntry *e = LLVMGlobalCopyAllMetadata(fn, &n);

    for (i = 0; i < n && !found; i++)
        found = LLVMValueMetadataEntriesGetKind(e, (unsigned)i) == kind;
    if (e)
        LLVMDisposeValueMetadataEntries(e);
    return found;
}

/* Decide and instrument one defined function; returns 1 when it carries a site. Its name is
   only read where it is needed (exclude=, messages): most functions need none. */
static int instrument_one(run *r, LLVMValueRef fn, unsigned pad, const hpp_attr_facts *af)
{
    const hp_policy *p = r->policy;
    unsigned decl = 0, flags = 0;
    size_t len = 0;
    const char *name = NULL;
    int exported = hpp_is_exported(fn, &r->target);
    int verbose = enabled(r, HP_POLICY_DIAG_VERBOSE);
    int need_mark = 0;
    long prefix, entry;
    int explicit_pfe, widen;

    if (r->host && r->host->decl_flags)
        decl = r->host->decl_flags(r->host->ctx, fn);
    if (verbose || p->exclude_count > 0)
        name = hpp_fn_name(fn, &len);

    if (p->scope == HP_POLICY_SCOPE_EXPORTED && !exported) {
        if (verbose) {
            snprintf(r->buf, sizeof r->buf, "'%.*s' not instrumented: not exported (scope=exported)", (int)len,
                     name);
            report(r, HP_POLICY_DIAG_VERBOSE, fn);
        }
        return 0;
    }
    if (p->exclude_count > 0 && hpp_excluded_n(p, name, len)) {
        if (verbose) {
            snprintf(r->buf, sizeof r->buf, "'%.*s' not instrumented: matched by exclude=", (int)len, name);
            report(r, HP_POLICY_DIAG_VERBOSE, fn);
        }
        return 0;
    }
    if (af->naked) {
        name = hpp_fn_name(fn, &len);
        snprintf(r->buf, sizeof r->buf,
                 "naked function '%.*s' cannot be made hotpatchable; it is left without padding", (int)len, name);
        report(r, HP_POLICY_DIAG_NAKED, fn);
        return 0;
    }
    /* -fsanitize=function: codegen puts the function's type signature right before the entry,
       after any prefix data or padding attribute, where the site needs filler */
    if (r->func_sanitize_kind && has_metadata(fn, r->func_sanitize_kind)) {
        if (enabled(r, HP_POLICY_DIAG_SKIPPED)) {
            name = hpp_fn_name(fn, &len);
            snprintf(r->buf, sizeof r->buf,
                     "'%.*s' cannot be made hotpatchable: -fsanitize=function puts its type data right before "
                     "the entry; it is left without padding",
                     (int)len, name);
            report(r, HP_POLICY_DIAG_SKIPPED, fn);
        }
        return 0;
    }

    prefix = af->prefix;
    entry = af->entry;
    explicit_pfe = prefix != -1 || entry != -1 || (decl & HP_POLICY_DECL_EXPLICIT_PFE);

    if (explicit_pfe) {
        /* patchable_function_entry(N, M) as written: compatible when it
           already gives >= pad filler bytes before the entry and a >= 2-byte
           NOP at it, and the entry can be kept inside one cache line. */
        long before = prefix < 0 ? 0 : prefix, at = entry < 0 ? 0 : entry;
        name = hpp_fn_name(fn, &len);
        if (prefix == -2 || entry == -2 || before < (long)pad || at < 2 ||
            !fix_alignment(fn, (unsigned)before)) {
            snprintf(r->buf, sizeof r->buf,
                     "explicit patchable_function_entry on '%.*s' conflicts with hotpatching (needs at least %u "
                     "bytes before the entry and 2 at it); the function is left as written",
                     (int)len, name, pad);
            report(r, HP_POLICY_DIAG_CONFLICT, fn);
            return 0;
        }
        if (at == 2)
            flags |= HP_TABLE_F_ENTRY_NOP;
        need_mark = 1;
        if (verbose) {
            snprintf(r->buf, sizeof r->buf,
                     "'%.*s' keeps its explicit patchable_function_entry (%ld before, %ld at)", (int)len, name,
                     before, at);
            report(r, HP_POLICY_DIAG_VERBOSE, fn);
        }
    } else {
        widen = p->entry == HP_POLICY_ENTRY_WIDEN;
        if (!fix_alignment(fn, pad)) /* unreachable with pad != 63, kept as a guard */
            return 0;
        need_mark = set_padding(r, fn, pad);
        if (widen) {
            hpp_set_str_attr(fn, HPP_ATTR_PATCHABLE, HPP_ATTR_SHORT_REDIRECT);
        } else {
            /* -fms-hotpatch's "prologue-short-redirect" gives way to the NOP. */
            if (af->patchable)
                hpp_remove_str_attr(fn, HPP_ATTR_PATCHABLE);
            set_entry_nop(r, fn);
            flags |= HP_TABLE_F_ENTRY_NOP;
        }
        if (verbose) {
            snprintf(r->buf, sizeof r->buf, "'%.*s' instrumented: %u bytes of padding, %s entry", (int)len, name,
                     pad, widen ? "widened" : "2-byte nop");
            report(r, HP_POLICY_DIAG_VERBOSE, fn);
        }
    }

    if (exported) {
        flags |= HP_TABLE_F_EXPORTED;
        if (p->noinline_exported && !hpp_has_enum_attr(fn, "alwaysinline"))
            hpp_add_enum_attr(fn, "noinline");
    }
    if (p->cet == HP_POLICY_CET_OFF)
        hpp_add_enum_attr(fn, "nocf_check");
    if (need_mark)
        mark(fn, flags);
    return 1;
}

hp_status hp_policy_instrument(const hp_policy *policy, LLVMModuleRef module, const hp_policy_host *host,
                               hp_policy_stats *stats)
{
    hp_policy_stats local = {0, 0, 0, 0};
    LLVMValueRef fn;
    run *r;
    unsigned pad, naked_kind;
    hpp_attr_facts af;

    if (!policy || !module)
        return HP_ERR_ARGUMENT;
    r = calloc(1, sizeof *r);
    if (!r)
        return HP_ERR_NO_MEMORY;
    r->policy = policy;
    r->host = host;
    r->target = hpp_target_of(module);

    if (r->target.arch == HPP_ARCH_OTHER || r->target.fmt == HPP_FMT_OTHER) {
        snprintf(r->buf, sizeof r->buf, "target '%s' is not supported by the hotpatch plugin; nothing is instrumented",
                 LLVMGetTarget(module));
        report(r, HP_POLICY_DIAG_SKIPPED, NULL);
        goto out;
    }

    /* The long jump must fit: a smaller pad= (the plugin takes 1..64) is raised to the
       target's minimum, with a warning. */
    pad = policy->pad ? policy->pad : r->target.min_pad;
    if (pad < r->target.min_pad) {
        snprintf(r->buf, sizeof r->buf, "pad=%u is too small for the %s long jump (%u bytes); using pad=%u", pad,
                 r->target.arch == HPP_ARCH_X64 ? "x86-64 'jmp [rip+disp32]'" : "x86 'jmp rel32'",
                 r->target.min_pad, r->target.min_pad);
        report(r, HP_POLICY_DIAG_PAD, NULL);
        pad = r->target.min_pad;
    }
    if (policy->cet == HP_POLICY_CET_ON)
        enable_cet(module);
    /* KCFI's type hash goes between prefix data and the entry: pad with the attribute instead */
    r->attr_padding = LLVMGetModuleFlag(module, "kcfi", strlen("kcfi")) != NULL;
    r->attr_entry = hpp_cet_active(module);
    naked_kind = hpp_enum_kind("naked");
    if (policy->func_sanitize)
        r->func_sanitize_kind =
            LLVMGetMDKindIDInContext(LLVMGetModuleContext(module), "func_sanitize", (unsigned)strlen("func_sanitize"));

    for (fn = LLVMGetFirstFunction(module); fn; fn = LLVMGetNextFunction(fn)) {
        LLVMLinkage l;

        if (LLVMIsDeclaration(fn))
            continue;
        l = LLVMGetLinkage(fn);
        if (l == LLVMAvailableExternallyLinkage)
            continue; /* never emitted: the real definition is elsewhere */
        local.defined++;
        if (hpp_our_prefix(fn, NULL)) { /* this policy ran already (bitcode rewritten twice) */
            local.instrumented++;
            continue;
        }
        hpp_read_attrs(fn, naked_kind, &af);
        if (af.mark) { /* likewise, with attribute padding */
            local.instrumented++;
            continue;
        }
        if (instrument_one(r, fn, pad, &af))
            local.instrumented++;
        else
            local.skipped++;
    }

out:
    if (stats) {
        stats->defined += local.defined;
        stats->instrumented += local.instrumented;
        stats->skipped += local.skipped;
    }
    free(r);
    return HP_OK;
}
