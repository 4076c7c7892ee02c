/*
 * units.c — what a release build records of its translation unit for the fixes
 * built later (hp_policy_emit_units), as symbols: the COFF symbol table of the
 * linked image keeps them (MinGW images always; hotpatch-link asks lld-link for
 * one with /debug:symtab), so the link step reads them there, where lld has
 * put them, at no cost to the link (lld-pass/README.md, "The map").
 *
 *   __hp_unit$<id>$<hex of the unit's path>   a label at the unit's .text: names unit <id>
 *   <name>$hps<id>[$s<size>]                  a file-static function / variable (and its size)
 *   <name>$hpe<id>$s<size>                    an external variable and its size
 *   <name>$hpt<id>$t<8 hex>                   a variable's type, hashed (the fix builder compares it)
 *
 * <id> is the FNV-1a 32 of the unit's name, in 8 hex digits; <name> the C name
 * (a function-local static is "function.name", as the object names it). The
 * aliases are local assembler symbols (`.set`), untyped, at the address of
 * what they name: no code and no data are added, and nothing reads them as
 * functions (only symbols typed "function" name functions in an image). External
 * functions need none: the symbol table has them by their own name.
 */
#include "policy_internal.h"

#include <llvm-c/Target.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_tools.h"

int hpp_unit_name(const hp_policy *policy, LLVMModuleRef module, char *out, size_t size)
{
    size_t len;
    const char *src = LLVMGetSourceFileName(module, &len);
    char path[4096];
    if (!src || len == 0 || len >= sizeof path)
        return 0;
    memcpy(path, src, len);
    path[len] = '\0';
    return hp_path_unit(path, policy->source_root, NULL, out, size) == HP_OK;
}

uint32_t hpp_unit_id(const char *unit)
{
    uint32_t h = 0x811c9dc5u;
    for (const unsigned char *p = (const unsigned char *)unit; *p; p++) {
        h ^= *p;
        h *= 0x01000193u;
    }
    return h;
}

/* The assembler's name of a global with an undecorated name: the C name, "_"-prefixed on x86 (an
   asm label's \1 name as it is). 0 when module assembly cannot name it. */
static int variable_symbol(LLVMValueRef g, const hpp_target *t, const char **prefix, const char **sym, size_t *len)
{
    size_t n;
    const char *raw = LLVMGetValueName2(g, &n);
    *prefix = t->arch == HPP_ARCH_X86 ? "_" : "";
    if (n > 0 && raw[0] == '\1') {
        raw++;
        n--;
        *prefix = "";
    }
    if (n == 0 || n > 1024 || (raw[0] >= '0' && raw[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = raw[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return 0;
    }
    *sym = raw;
    *len = n;
    return 1;
}

/* One alias line: .set "<C name>$hp<kind><id>[$s<size>]", "<assembler name>" */
static void alias(hpp_asm_text *t, const char *prefix, const char *sym, size_t len, char kind, const char *id,
                  int sized, unsigned long long size)
{
    char tail[48];
    hpp_asm_puts(t, "\t.set \"");
    hpp_asm_put(t, sym, len);
    if (sized)
        snprintf(tail, sizeof tail, "$hp%c%s$s%llu\", \"", kind, id, size);
    else
        snprintf(tail, sizeof tail, "$hp%c%s\", \"", kind, id);
    hpp_asm_puts(t, tail);
    hpp_asm_puts(t, prefix);
    hpp_asm_put(t, sym, len);
    hpp_asm_puts(t, "\"\n");
}

/* A hash of a variable's type as LLVM lays it out: kinds, integer widths, element counts and every
   field of a struct in order (to a depth of 8), so that a struct whose fields were reordered, or an
   int that became a float, differs even where size and initial bytes do not (a zero-initialised
   variable). Fields of one type swapped with each other look alike. */
static uint32_t type_hash(LLVMTypeRef t, uint32_t h, int depth)
{
    LLVMTypeKind k = LLVMGetTypeKind(t);
    h = (h ^ (uint32_t)k) * 0x01000193u;
    if (depth > 8)
        return h;
    switch (k) {
    case LLVMIntegerTypeKind:
        h = (h ^ LLVMGetIntTypeWidth(t)) * 0x01000193u;
        break;
    case LLVMArrayTypeKind:
        h = (h ^ (uint32_t)LLVMGetArrayLength2(t)) * 0x01000193u;
        h = type_hash(LLVMGetElementType(t), h, depth + 1);
        break;
    case LLVMVectorTypeKind:
        h = (h ^ LLVMGetVectorSize(t)) * 0x01000193u;
        h = type_hash(LLVMGetElementType(t), h, depth + 1);
        break;
    case LLVMStructTypeKind: {
        unsigned n = LLVMCountStructElementTypes(t);
        h = (h ^ n ^ (LLVMIsPackedStruct(t) ? 0x100u : 0u)) * 0x01000193u;
        for (unsigned i = 0; i < n; i++)
            h = type_hash(LLVMStructGetTypeAtIndex(t, i), h, depth + 1);
        break;
    }
    default:
        break;
    }
    return h;
}

/* The type alias of a variable: .set "<C name>$hpt<id>$t<8 hex>", "<assembler name>" */
static void type_alias(hpp_asm_text *t, const char *prefix, const char *sym, size_t len, const char *id,
                       uint32_t hash)
{
    char tail[48];
    hpp_asm_puts(t, "\t.set \"");
    hpp_asm_put(t, sym, len);
    snprintf(tail, sizeof tail, "$hpt%s$t%08x\", \"", id, (unsigned)hash);
    hpp_asm_puts(t, tail);
    hpp_asm_puts(t, prefix);
    hpp_asm_put(t, sym, len);
    hpp_asm_puts(t, "\"\n");
}

static int skipped_name(const char *name, size_t len)
{
    return len == 0 || (len > 5 && memcmp(name, "llvm.", 5) == 0) || (len > 5 && memcmp(name, "__hp_", 5) == 0);
}

static int is_local(LLVMValueRef g)
{
    LLVMLinkage l = LLVMGetLinkage(g);
    return l == LLVMInternalLinkage || l == LLVMPrivateLinkage;
}

hp_status hp_policy_emit_units(const hp_policy *policy, LLVMModuleRef module)
{
    if (!policy || !module || policy->fix_map || !policy->object_output)
        return HP_OK;
    hpp_target target = hpp_target_of(module);
    if (target.fmt != HPP_FMT_COFF || target.arch == HPP_ARCH_OTHER)
        return HP_OK;
    char unit[4096];
    if (!hpp_unit_name(policy, module, unit, sizeof unit))
        return HP_OK; /* no usable source name (IR input, a name too long): no record */
    char id[9];
    snprintf(id, sizeof id, "%08x", (unsigned)hpp_unit_id(unit));
    hpp_asm_text t = {NULL, 0, 0, 0};

    /* the unit's label, named by its path in hex (any byte may be in a path) */
    hpp_asm_puts(&t, "\t.text\n\"__hp_unit$");
    hpp_asm_puts(&t, id);
    hpp_asm_puts(&t, "$");
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)unit; *p; p++) {
        char h[2] = {hex[*p >> 4], hex[*p & 15]};
        hpp_asm_put(&t, h, 2);
    }
    hpp_asm_puts(&t, "\":\n");

    LLVMTargetDataRef dl = LLVMGetModuleDataLayout(module);
    /* What module assembly names must stay: passes after this one (constant merging, dead-global
       removal) do not see its references, and an alias of a global they removed would be undefined. */
    LLVMValueRef *kept = NULL;
    size_t nkept = 0, kept_cap = 0;
    for (LLVMValueRef fn = LLVMGetFirstFunction(module); fn; fn = LLVMGetNextFunction(fn)) {
        size_t len;
        const char *name = LLVMGetValueName2(fn, &len);
        const char *prefix, *sym;
        /* LLVM's own fastcc (what the optimizer gives internal functions) decorates no name; the
           Windows conventions that do (stdcall, fastcall, vectorcall) are left out */
        unsigned cc = LLVMGetFunctionCallConv(fn);
        if (LLVMIsDeclaration(fn) || !is_local(fn) || LLVMGetLinkage(fn) == LLVMPrivateLinkage ||
            skipped_name(name, len) || (cc != LLVMCCallConv && cc != LLVMFastCallConv) ||
            !variable_symbol(fn, &target, &prefix, &sym, &len))
            continue;
        alias(&t, prefix, sym, len, 's', id, 0, 0);
        if (!HP_VEC_PUSH(kept, nkept, kept_cap, fn))
            t.oom = 1;
    }
    for (LLVMValueRef g = LLVMGetFirstGlobal(module); g; g = LLVMGetNextGlobal(g)) {
        size_t len;
        const char *name = LLVMGetValueName2(g, &len);
        const char *prefix, *sym;
        LLVMLinkage l = LLVMGetLinkage(g);
        /* common symbols cannot be aliased; a thread-local variable has no one address a fix could use */
        if (LLVMIsDeclaration(g) || l == LLVMPrivateLinkage || l == LLVMAvailableExternallyLinkage ||
            l == LLVMCommonLinkage || LLVMIsThreadLocal(g) || skipped_name(name, len) ||
            !variable_symbol(g, &target, &prefix, &sym, &len))
            continue;
        alias(&t, prefix, sym, len, is_local(g) ? 's' : 'e', id, 1,
              LLVMABISizeOfType(dl, LLVMGlobalGetValueType(g)));
        type_alias(&t, prefix, sym, len, id, type_hash(LLVMGlobalGetValueType(g), 0x811c9dc5u, 0));
        if (!HP_VEC_PUSH(kept, nkept, kept_cap, g))
            t.oom = 1;
    }
    hp_status st = t.oom ? HP_ERR_NO_MEMORY : hpp_append_used(module, "llvm.compiler.used", kept, nkept);
    free(kept);
    if (st != HP_OK) {
        free(t.p);
        return st;
    }
    return hpp_asm_finish(module, &t);
}
