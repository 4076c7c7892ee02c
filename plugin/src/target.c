/*
 * target.c — what both phases of the policy read off a module: its target
 * (triple), the attributes of its functions, and the site's IR form (the
 * padding as prefix data, the entry NOP as prologue data).
 */
#include "policy_internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Target                                                                     */
/* ------------------------------------------------------------------------- */

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

hpp_target hpp_target_of(LLVMModuleRef module)
{
    const char *triple = LLVMGetTarget(module);
    hpp_target t = {HPP_ARCH_OTHER, HPP_FMT_OTHER, 0};

    if (!triple)
        return t;
    /* The long jump the runtime writes into the padding (README.md, "The runtime (libhotpatch)"). */
    if (starts_with(triple, "x86_64-") || starts_with(triple, "amd64-")) {
        t.arch = HPP_ARCH_X64;
        t.min_pad = HP_MIN_PAD_X64; /* FF 25 disp32: jmp [rip+disp32] */
    } else if (starts_with(triple, "i386-") || starts_with(triple, "i486-") || starts_with(triple, "i586-") ||
               starts_with(triple, "i686-")) {
        t.arch = HPP_ARCH_X86;
        t.min_pad = HP_MIN_PAD_X86; /* E9 rel32: jmp rel32 */
    }
    if (ends_with(triple, "-elf"))
        t.fmt = HPP_FMT_ELF;
    else if (strstr(triple, "-windows") || strstr(triple, "-mingw") || strstr(triple, "-cygwin") ||
             strstr(triple, "-win32"))
        t.fmt = HPP_FMT_COFF;
    else if (strstr(triple, "-apple") || strstr(triple, "-darwin") || strstr(triple, "-macos"))
        t.fmt = HPP_FMT_OTHER;
    else
        t.fmt = HPP_FMT_ELF;
    return t;
}

int hpp_cet_active(LLVMModuleRef module)
{
    LLVMMetadataRef md = LLVMGetModuleFlag(module, "cf-protection-branch", strlen("cf-protection-branch"));
    LLVMContextRef ctx = LLVMGetModuleContext(module);
    LLVMValueRef v;

    if (!md)
        return 0;
    v = LLVMMetadataAsValue(ctx, md);
    /* The flag's value is an i32 constant wrapped in metadata. */
    return LLVMIsAConstantInt(v) ? LLVMConstIntGetZExtValue(v) != 0 : 1;
}

/* ------------------------------------------------------------------------- */
/* Attributes                                                                 */
/* ------------------------------------------------------------------------- */

LLVMAttributeRef hpp_str_attr(LLVMValueRef fn, const char *key)
{
    return LLVMGetStringAttributeAtIndex(fn, HPP_FN_INDEX, key, (unsigned)strlen(key));
}

void hpp_set_str_attr(LLVMValueRef fn, const char *key, const char *value)
{
    LLVMContextRef ctx = LLVMGetTypeContext(LLVMTypeOf(fn));
    LLVMAttributeRef a =
        LLVMCreateStringAttribute(ctx, key, (unsigned)strlen(key), value, (unsigned)strlen(value));
    LLVMAddAttributeAtIndex(fn, HPP_FN_INDEX, a);
}

void hpp_remove_str_attr(LLVMValueRef fn, const char *key)
{
    LLVMRemoveStringAttributeAtIndex(fn, HPP_FN_INDEX, key, (unsigned)strlen(key));
}

/* Unsigned value of a string attribute; -2 when not a number. */
static long attr_uint(LLVMAttributeRef a)
{
    unsigned len = 0, i;
    const char *v = LLVMGetStringAttributeValue(a, &len);
    long n = 0;

    if (len == 0 || len > 9)
        return -2;
    for (i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -2;
        n = n * 10 + (v[i] - '0');
    }
    return n;
}

long hpp_str_attr_uint(LLVMValueRef fn, const char *key)
{
    LLVMAttributeRef a = hpp_str_attr(fn, key);
    return a ? attr_uint(a) : -1;
}

unsigned hpp_enum_kind(const char *name)
{
    return LLVMGetEnumAttributeKindForName(name, strlen(name));
}

int hpp_has_enum_attr(LLVMValueRef fn, const char *name)
{
    unsigned kind = hpp_enum_kind(name);
    return kind != 0 && LLVMGetEnumAttributeAtIndex(fn, HPP_FN_INDEX, kind) != NULL;
}

void hpp_add_enum_attr(LLVMValueRef fn, const char *name)
{
    unsigned kind = hpp_enum_kind(name);
    LLVMContextRef ctx = LLVMGetTypeContext(LLVMTypeOf(fn));

    if (kind != 0 && !LLVMGetEnumAttributeAtIndex(fn, HPP_FN_INDEX, kind))
        LLVMAddAttributeAtIndex(fn, HPP_FN_INDEX, LLVMCreateEnumAttribute(ctx, kind, 0));
}

static int key_is(const char *k, unsigned len, const char *want, size_t want_len)
{
    return len == want_len && memcmp(k, want, want_len) == 0;
}

void hpp_read_attrs(LLVMValueRef fn, unsigned naked_kind, hpp_attr_facts *f)
{
    LLVMAttributeRef small[32], *all = small;
    unsigned n = LLVMGetAttributeCountAtIndex(fn, HPP_FN_INDEX), i;

    f->mark = f->patchable = f->naked = 0;
    f->prefix = f->entry = -1;
    if (n == 0)
        return;
    if (n > 32 && !(all = malloc(n * sizeof *all))) {
        /* no memory for the list: the lookups by name */
        f->mark = hpp_str_attr(fn, HPP_ATTR_MARK) != NULL;
        f->prefix = hpp_str_attr_uint(fn, HPP_ATTR_PREFIX);
        f->entry = hpp_str_attr_uint(fn, HPP_ATTR_ENTRY);
        f->patchable = hpp_str_attr(fn, HPP_ATTR_PATCHABLE) != NULL;
        f->naked = naked_kind != 0 && LLVMGetEnumAttributeAtIndex(fn, HPP_FN_INDEX, naked_kind) != NULL;
        return;
    }
    LLVMGetAttributesAtIndex(fn, HPP_FN_INDEX, all);
    for (i = 0; i < n; i++) {
        unsigned len;
        const char *k;
        if (!LLVMIsStringAttribute(all[i])) {
            if (LLVMIsEnumAttribute(all[i]) && LLVMGetEnumAttributeKind(all[i]) == naked_kind)
                f->naked = 1;
            continue;
        }
        k = LLVMGetStringAttributeKind(all[i], &len);
        if (len < 8 || (k[0] != 'h' && k[0] != 'p'))
            continue;
        if (key_is(k, len, HPP_ATTR_MARK, sizeof HPP_ATTR_MARK - 1))
            f->mark = 1;
        else if (key_is(k, len, HPP_ATTR_PREFIX, sizeof HPP_ATTR_PREFIX - 1))
            f->prefix = attr_uint(all[i]);
        else if (key_is(k, len, HPP_ATTR_ENTRY, sizeof HPP_ATTR_ENTRY - 1))
            f->entry = attr_uint(all[i]);
        else if (key_is(k, len, HPP_ATTR_PATCHABLE, sizeof HPP_ATTR_PATCHABLE - 1))
            f->patchable = 1;
    }
    if (all != small)
        free(all);
}

const char *hpp_fn_name(LLVMValueRef fn, size_t *len)
{
    const char *name = LLVMGetValueName2(fn, len);

    if (*len > 0 && name[0] == '\1') {
        name++;
        (*len)--;
    }
    return name;
}

int hpp_is_exported(LLVMValueRef fn, const hpp_target *t)
{
    LLVMLinkage l = LLVMGetLinkage(fn);

    if (t->fmt == HPP_FMT_COFF)
        return LLVMGetDLLStorageClass(fn) == LLVMDLLExportStorageClass;
    if (l == LLVMInternalLinkage || l == LLVMPrivateLinkage)
        return 0;
    return LLVMGetVisibility(fn) == LLVMDefaultVisibility;
}

/* ------------------------------------------------------------------------- */
/* The site in IR                                                             */
/* ------------------------------------------------------------------------- */

/*
 * The padding is the function's prefix data: `pad` int3 bytes (HP_FILLER_PREFERRED, 0xCC: stray
 * execution traps on them, and they are what the link leaves, so it rewrites nothing) that codegen
 * emits right before the entry label, after the function's alignment. Not a byte array: the
 * AsmPrinter turns one repeated byte into a fill fragment of the assembler, which then starts a
 * new fragment for the function's code (about 450 instructions more per function); a packed struct
 * of i32s, then an i16 and an i8 as needed, is emitted as plain data (.long, .short, .byte).
 */
LLVMValueRef hpp_filler_const(LLVMContextRef ctx, unsigned pad)
{
    LLVMValueRef elems[HP_MAX_PAD / 4 + 2];
    unsigned n = 0, k;

    for (k = 0; k < pad / 4; k++)
        elems[n++] = LLVMConstInt(LLVMInt32TypeInContext(ctx), 0xCCCCCCCCu, 0);
    if (pad % 4 >= 2)
        elems[n++] = LLVMConstInt(LLVMInt16TypeInContext(ctx), 0xCCCCu, 0);
    if (pad % 2)
        elems[n++] = LLVMConstInt(LLVMInt8TypeInContext(ctx), 0xCCu, 0);
    return LLVMConstStructInContext(ctx, elems, n, 1);
}

/* The bytes of an integer constant of 8, 16 or 32 bits are all `b`: its width in bytes, else 0. */
static unsigned int_all_bytes(LLVMValueRef c, unsigned char b)
{
    unsigned bits, k;
    unsigned long long v;

    if (!c || !LLVMIsAConstantInt(c))
        return 0;
    bits = LLVMGetIntTypeWidth(LLVMTypeOf(c));
    if (bits != 8 && bits != 16 && bits != 32)
        return 0;
    v = LLVMConstIntGetZExtValue(c);
    for (k = 0; k < bits / 8; k++)
        if (((v >> (8 * k)) & 0xFFu) != b)
            return 0;
    return bits / 8;
}

int hpp_our_prefix(LLVMValueRef fn, unsigned *pad)
{
    LLVMValueRef c;
    const char *bytes;
    size_t len = 0, i;

    if (!LLVMHasPrefixData(fn))
        return 0;
    c = LLVMGetPrefixData(fn);
    if (c && LLVMIsAConstantStruct(c) && LLVMIsPackedStruct(LLVMTypeOf(c))) {
        /* hpp_filler_const() */
        unsigned n = LLVMCountStructElementTypes(LLVMTypeOf(c)), w;
        for (i = 0; i < n; i++) {
            if (!(w = int_all_bytes(LLVMGetAggregateElement(c, (unsigned)i), HP_FILLER_PREFERRED)))
                return 0;
            len += w;
        }
    } else if (c && LLVMIsAConstantDataSequential(c) && LLVMIsConstantString(c)) {
        /* what plugins before this one wrote: CC 90 90 ..., or all 90 */
        bytes = LLVMGetAsString(c, &len);
        if (len == 0)
            return 0;
        if ((unsigned char)bytes[0] != HP_TABLE_FILL_FIRST && (unsigned char)bytes[0] != HP_TABLE_FILL_BYTE)
            return 0;
        for (i = 1; i < len; i++)
            if ((unsigned char)bytes[i] != HP_TABLE_FILL_BYTE)
                return 0;
    } else {
        return 0;
    }
    if (len == 0 || len > HP_MAX_PAD)
        return 0;
    if (pad)
        *pad = (unsigned)len;
    return 1;
}

int hpp_our_prologue(LLVMValueRef fn)
{
    LLVMValueRef c;

    if (!LLVMHasPrologueData(fn))
        return 0;
    c = LLVMGetPrologueData(fn);
    return c && LLVMIsAConstantInt(c) && LLVMGetIntTypeWidth(LLVMTypeOf(c)) == 16 &&
           LLVMConstIntGetZExtValue(c) == HPP_ENTRY_NOP_I16;
}
