/*
 * policy.c — the hotpatch policy core (see hp_policy.h).
 *
 * Phase 1 (hp_policy_instrument) only uses what LLVM's own code generator
 * understands:
 *   prefix data [P x i8] CC 90 90 ...      P filler bytes before the entry symbol
 *   prologue data i16 0x9066 (66 90)       the 2-byte NOP at the entry
 * and, where bytes cannot do it (CET, KCFI, foreign prefix data, entry=widen,
 * an explicit patchable_function_entry), the attributes
 *   "patchable-function-prefix"="P", "patchable-function-entry"="2",
 *   "patchable-function"="prologue-short-redirect"
 * with the string attribute "hotpatch"="<flags>" marking such functions.
 * Prefix and prologue data are one shared constant each and no attribute-list
 * rebuild: at -O0 that is most of the plugin's compile-time cost. Both travel
 * in bitcode, so -flto builds get the same code at link time.
 *
 * Phase 2 (hp_policy_emit_table) runs after the optimizer so that the table,
 * which references its functions, does not keep functions alive that the
 * optimizer would have deleted (static functions inlined everywhere).
 */
#include "hp_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Comdat.h>
#include <llvm-c/Core.h>

#include "hotpatch_table.h"

/* The long jump written into the padding (DESIGN.md, "The patch protocol"). */
#define HP_POLICY_MIN_PAD_X86_ 5u  /* E9 rel32:    jmp rel32 */
#define HP_POLICY_MIN_PAD_X64_ 6u  /* FF 25 disp32: jmp [rip+disp32] through a slot */
#define HP_POLICY_MAX_PAD_ 64u     /* the site rules look at no more (HP_MAX_PAD) */

/* ------------------------------------------------------------------------- */
/* Options                                                                    */
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
    size_t exclude_count;
};

#define STATUS_CASE(x) \
    case x:            \
        return #x;

const char *hp_policy_status_str(hp_policy_status status)
{
    switch (status) {
        STATUS_CASE(HP_POLICY_OK)
        STATUS_CASE(HP_POLICY_ERR_ARGUMENT)
        STATUS_CASE(HP_POLICY_ERR_UNKNOWN_OPTION)
        STATUS_CASE(HP_POLICY_ERR_BAD_VALUE)
        STATUS_CASE(HP_POLICY_ERR_NO_MEMORY)
    }
    return "HP_POLICY_STATUS_UNKNOWN";
}

hp_policy_status hp_policy_create(hp_policy **out)
{
    hp_policy *p;

    if (!out)
        return HP_POLICY_ERR_ARGUMENT;
    p = calloc(1, sizeof *p);
    if (!p)
        return HP_POLICY_ERR_NO_MEMORY;
    p->table = 1;
    p->function_sections = 1;
    p->func_sanitize = 1;
    *out = p;
    return HP_POLICY_OK;
}

void hp_policy_destroy(hp_policy *policy)
{
    size_t i;

    if (!policy)
        return;
    for (i = 0; i < policy->exclude_count; i++)
        free(policy->excludes[i]);
    free(policy->excludes);
    free(policy);
}

void hp_policy_set_function_sections(hp_policy *policy, int on)
{
    if (policy)
        policy->function_sections = on != 0;
}

void hp_policy_set_function_sanitizer(hp_policy *policy, int on)
{
    if (policy)
        policy->func_sanitize = on != 0;
}

void hp_policy_set_object_output(hp_policy *policy, int on)
{
    if (policy)
        policy->object_output = on != 0;
}

static void set_msg(char *msg, size_t msg_size, const char *fmt, const char *a, const char *b)
{
    if (msg && msg_size)
        snprintf(msg, msg_size, fmt, a, b);
}

/* Parse a decimal in [1, 64]; returns 0 when malformed or out of range. */
static unsigned parse_pad(const char *s)
{
    unsigned v = 0;

    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10u + (unsigned)(*s - '0');
        if (v > HP_POLICY_MAX_PAD_)
            return 0;
    }
    return v;
}

/* Which keyword of `words` (NULL-terminated) is `value`? -1 when none. */
static int keyword(const char *value, const char *const *words)
{
    int i;

    for (i = 0; words[i]; i++)
        if (strcmp(value, words[i]) == 0)
            return i;
    return -1;
}

static const char *const k_diag_switch[HP_POLICY_DIAG_COUNT_] = {
    "no-warn-naked", "no-warn-conflict", "no-warn-pad", "no-warn-skipped", NULL,
};

hp_policy_status hp_policy_set_option(hp_policy *policy, const char *arg, char *msg, size_t msg_size)
{
    static const char *const onoff[] = {"off", "on", NULL};
    static const char *const scopes[] = {"all", "exported", NULL};
    static const char *const entries[] = {"nop", "widen", NULL};
    static const char *const cets[] = {"auto", "on", "off", NULL};
    char name[32];
    const char *eq, *value;
    size_t name_len;
    int k, d;

    if (!policy || !arg) {
        set_msg(msg, msg_size, "%s%s", "missing option", "");
        return HP_POLICY_ERR_ARGUMENT;
    }
    eq = strchr(arg, '=');
    name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    value = eq ? eq + 1 : NULL;
    if (name_len == 0 || name_len >= sizeof name) {
        set_msg(msg, msg_size, "unknown option '%s'%s", arg, "");
        return HP_POLICY_ERR_UNKNOWN_OPTION;
    }
    memcpy(name, arg, name_len);
    name[name_len] = '\0';

    /* Switches: no value allowed. */
    for (d = 0; d < HP_POLICY_DIAG_COUNT_; d++) {
        if (k_diag_switch[d] && strcmp(name, k_diag_switch[d]) == 0) {
            if (value)
                goto no_value;
            policy->disabled |= 1u << d;
            return HP_POLICY_OK;
        }
    }
    if (strcmp(name, "verbose") == 0 || strcmp(name, "noinline-exported") == 0) {
        if (value)
            goto no_value;
        if (name[0] == 'v')
            policy->verbose = 1;
        else
            policy->noinline_exported = 1;
        return HP_POLICY_OK;
    }

    /* NAME=VALUE options. */
    if (strcmp(name, "pad") == 0) {
        unsigned pad;

        if (!value)
            goto needs_value;
        pad = parse_pad(value);
        if (pad == 0) {
            set_msg(msg, msg_size, "invalid value '%s' for 'pad': expected a number of bytes from 1 to 64%s",
                    value, "");
            return HP_POLICY_ERR_BAD_VALUE;
        }
        /* With P = 63 (mod 64) no function alignment keeps the 2 entry bytes
           inside one 64-byte line (entry = k*A + 63), so the swap could tear. */
        if (pad == 63) {
            set_msg(msg, msg_size,
                    "invalid value '%s' for 'pad': the entry would straddle a 64-byte line; use 62 or 64%s",
                    value, "");
            return HP_POLICY_ERR_BAD_VALUE;
        }
        policy->pad = pad;
        return HP_POLICY_OK;
    }
    if (strcmp(name, "exclude") == 0) {
        char **grown;
        char *copy;

        if (!value)
            goto needs_value;
        if (!*value) {
            set_msg(msg, msg_size, "invalid value '%s' for 'exclude': expected a glob of function names%s",
                    value, "");
            return HP_POLICY_ERR_BAD_VALUE;
        }
        grown = realloc(policy->excludes, (policy->exclude_count + 1) * sizeof *grown);
        if (!grown)
            return HP_POLICY_ERR_NO_MEMORY;
        policy->excludes = grown;
        copy = malloc(strlen(value) + 1);
        if (!copy)
            return HP_POLICY_ERR_NO_MEMORY;
        strcpy(copy, value);
        policy->excludes[policy->exclude_count++] = copy;
        return HP_POLICY_OK;
    }
    if (strcmp(name, "scope") == 0) {
        if (!value)
            goto needs_value;
        if ((k = keyword(value, scopes)) < 0) {
            set_msg(msg, msg_size, "invalid value '%s' for 'scope': expected 'all' or 'exported'%s", value, "");
            return HP_POLICY_ERR_BAD_VALUE;
        }
        policy->scope = (hp_policy_scope)k;
        return HP_POLICY_OK;
    }
    if (strcmp(name, "entry") == 0) {
        if (!value)
            goto needs_value;
        if ((k = keyword(value, entries)) < 0) {
            set_msg(msg, msg_size, "invalid value '%s' for 'entry': expected 'nop' or 'widen'%s", value, "");
            return HP_POLICY_ERR_BAD_VALUE;
        }
        policy->entry = (hp_policy_entry)k;
        return HP_POLICY_OK;
    }
    if (strcmp(name, "cet") == 0) {
        if (!value)
            goto needs_value;
        if ((k = keyword(value, cets)) < 0) {
            set_msg(msg, msg_size, "invalid value '%s' for 'cet': expected 'auto', 'on' or 'off'%s", value, "");
            return HP_POLICY_ERR_BAD_VALUE;
        }
        policy->cet = (hp_policy_cet)k;
        return HP_POLICY_OK;
    }
    if (strcmp(name, "table") == 0) {
        if (!value)
            goto needs_value;
        if ((k = keyword(value, onoff)) < 0) {
            set_msg(msg, msg_size, "invalid value '%s' for 'table': expected 'on' or 'off'%s", value, "");
            return HP_POLICY_ERR_BAD_VALUE;
        }
        policy->table = k;
        return HP_POLICY_OK;
    }
    set_msg(msg, msg_size, "unknown option '%s'%s", name, "");
    return HP_POLICY_ERR_UNKNOWN_OPTION;

needs_value:
    set_msg(msg, msg_size, "option '%s' needs a value ('%s=...')", name, name);
    return HP_POLICY_ERR_BAD_VALUE;
no_value:
    set_msg(msg, msg_size, "option '%s' takes no value%s", name, "");
    return HP_POLICY_ERR_BAD_VALUE;
}

/* ------------------------------------------------------------------------- */
/* Globs                                                                      */
/* ------------------------------------------------------------------------- */

/* Match one bracket expression at *pp against c; advances *pp past ']'.
   Returns 1 on match, 0 on no match, -1 when the bracket is not closed. */
static int match_bracket(const char **pp, char c)
{
    const char *p = *pp + 1;
    int negate = 0, hit = 0;

    if (*p == '!' || *p == '^') {
        negate = 1;
        p++;
    }
    /* A ']' right after '[' or '[!' is a literal member. */
    if (*p == ']') {
        hit |= c == ']';
        p++;
    }
    for (; *p && *p != ']'; p++) {
        if (p[1] == '-' && p[2] && p[2] != ']') {
            hit |= (unsigned char)c >= (unsigned char)p[0] && (unsigned char)c <= (unsigned char)p[2];
            p += 2;
        } else {
            hit |= c == *p;
        }
    }
    if (!*p)
        return -1;
    *pp = p + 1;
    return hit != negate;
}

/* Shell-style glob over a whole name; iterative with one backtrack point for
   the last '*', so it is linear-ish and never recurses. */
static int glob_match(const char *pat, const char *s, size_t len)
{
    const char *star = NULL;
    size_t star_i = 0, i = 0;

    while (i < len) {
        if (*pat == '*') {
            star = ++pat;
            star_i = i;
            continue;
        }
        if (*pat == '[') {
            const char *q = pat;
            int r = match_bracket(&q, s[i]);
            if (r == 1) {
                pat = q;
                i++;
                continue;
            }
            if (r < 0 && s[i] == '[') { /* unclosed: literal '[' */
                pat++;
                i++;
                continue;
            }
        } else if (*pat && (*pat == '?' || *pat == s[i])) {
            pat++;
            i++;
            continue;
        }
        if (!star)
            return 0;
        pat = star;
        i = ++star_i;
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

static int excluded_n(const hp_policy *policy, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < policy->exclude_count; i++)
        if (glob_match(policy->excludes[i], name, len))
            return 1;
    return 0;
}

int hp_policy_excluded(const hp_policy *policy, const char *name)
{
    if (!policy || !name)
        return 0;
    return excluded_n(policy, name, strlen(name));
}

/* ------------------------------------------------------------------------- */
/* Target                                                                     */
/* ------------------------------------------------------------------------- */

typedef enum arch { ARCH_OTHER = 0, ARCH_X86, ARCH_X64 } arch;
typedef enum objfmt { FMT_OTHER = 0, FMT_COFF, FMT_ELF } objfmt;

typedef struct target {
    arch arch;
    objfmt fmt;
    unsigned min_pad; /* bytes of the long jump written into the padding */
} target;

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static target target_of(LLVMModuleRef module)
{
    const char *triple = LLVMGetTarget(module);
    target t = {ARCH_OTHER, FMT_OTHER, 0};

    if (!triple)
        return t;
    if (starts_with(triple, "x86_64-") || starts_with(triple, "amd64-")) {
        t.arch = ARCH_X64;
        t.min_pad = HP_POLICY_MIN_PAD_X64_; /* FF 25 disp32: jmp [rip+disp32] */
    } else if (starts_with(triple, "i386-") || starts_with(triple, "i486-") || starts_with(triple, "i586-") ||
               starts_with(triple, "i686-")) {
        t.arch = ARCH_X86;
        t.min_pad = HP_POLICY_MIN_PAD_X86_; /* E9 rel32: jmp rel32 */
    }
    if (ends_with(triple, "-elf"))
        t.fmt = FMT_ELF;
    else if (strstr(triple, "-windows") || strstr(triple, "-mingw") || strstr(triple, "-cygwin") ||
             strstr(triple, "-win32"))
        t.fmt = FMT_COFF;
    else if (strstr(triple, "-apple") || strstr(triple, "-darwin") || strstr(triple, "-macos"))
        t.fmt = FMT_OTHER;
    else
        t.fmt = FMT_ELF;
    return t;
}

/* ------------------------------------------------------------------------- */
/* Attributes                                                                 */
/* ------------------------------------------------------------------------- */

#define FN_INDEX ((LLVMAttributeIndex)LLVMAttributeFunctionIndex)
#define ATTR_MARK "hotpatch"
#define ATTR_PREFIX "patchable-function-prefix"
#define ATTR_ENTRY "patchable-function-entry"
#define ATTR_PATCHABLE "patchable-function"
#define ATTR_SHORT_REDIRECT "prologue-short-redirect"

static LLVMAttributeRef str_attr(LLVMValueRef fn, const char *key)
{
    return LLVMGetStringAttributeAtIndex(fn, FN_INDEX, key, (unsigned)strlen(key));
}

static void set_str_attr(LLVMValueRef fn, const char *key, const char *value)
{
    LLVMContextRef ctx = LLVMGetTypeContext(LLVMTypeOf(fn));
    LLVMAttributeRef a =
        LLVMCreateStringAttribute(ctx, key, (unsigned)strlen(key), value, (unsigned)strlen(value));
    LLVMAddAttributeAtIndex(fn, FN_INDEX, a);
}

static void remove_str_attr(LLVMValueRef fn, const char *key)
{
    LLVMRemoveStringAttributeAtIndex(fn, FN_INDEX, key, (unsigned)strlen(key));
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

/* The same by key: -1 when absent. */
static long str_attr_uint(LLVMValueRef fn, const char *key)
{
    LLVMAttributeRef a = str_attr(fn, key);
    return a ? attr_uint(a) : -1;
}

static unsigned enum_kind(const char *name)
{
    return LLVMGetEnumAttributeKindForName(name, strlen(name));
}

static int has_enum_attr(LLVMValueRef fn, const char *name)
{
    unsigned kind = enum_kind(name);
    return kind != 0 && LLVMGetEnumAttributeAtIndex(fn, FN_INDEX, kind) != NULL;
}

/* What phase 1 needs to know of a function's attributes, read in one pass over them: four
   lookups by name cost more than one walk over the ten or so attributes clang gives a function. */
typedef struct attr_facts {
    int mark;        /* ATTR_MARK present */
    long prefix;     /* ATTR_PREFIX as str_attr_uint() gives it */
    long entry;      /* ATTR_ENTRY likewise */
    int patchable;   /* ATTR_PATCHABLE present */
    int naked;       /* the naked attribute */
} attr_facts;


static int key_is(const char *k, unsigned len, const char *want, size_t want_len)
{
    return len == want_len && memcmp(k, want, want_len) == 0;
}

static void read_attrs(LLVMValueRef fn, unsigned naked_kind, attr_facts *f)
{
    LLVMAttributeRef small[32], *all = small;
    unsigned n = LLVMGetAttributeCountAtIndex(fn, FN_INDEX), i;

    f->mark = f->patchable = f->naked = 0;
    f->prefix = f->entry = -1;
    if (n == 0)
        return;
    if (n > 32 && !(all = malloc(n * sizeof *all))) {
        /* no memory for the list: the lookups by name */
        f->mark = str_attr(fn, ATTR_MARK) != NULL;
        f->prefix = str_attr_uint(fn, ATTR_PREFIX);
        f->entry = str_attr_uint(fn, ATTR_ENTRY);
        f->patchable = str_attr(fn, ATTR_PATCHABLE) != NULL;
        f->naked = naked_kind != 0 && LLVMGetEnumAttributeAtIndex(fn, FN_INDEX, naked_kind) != NULL;
        return;
    }
    LLVMGetAttributesAtIndex(fn, FN_INDEX, all);
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
        if (key_is(k, len, ATTR_MARK, sizeof ATTR_MARK - 1))
            f->mark = 1;
        else if (key_is(k, len, ATTR_PREFIX, sizeof ATTR_PREFIX - 1))
            f->prefix = attr_uint(all[i]);
        else if (key_is(k, len, ATTR_ENTRY, sizeof ATTR_ENTRY - 1))
            f->entry = attr_uint(all[i]);
        else if (key_is(k, len, ATTR_PATCHABLE, sizeof ATTR_PATCHABLE - 1))
            f->patchable = 1;
    }
    if (all != small)
        free(all);
}

static void add_enum_attr(LLVMValueRef fn, const char *name)
{
    unsigned kind = enum_kind(name);
    LLVMContextRef ctx = LLVMGetTypeContext(LLVMTypeOf(fn));

    if (kind != 0 && !LLVMGetEnumAttributeAtIndex(fn, FN_INDEX, kind))
        LLVMAddAttributeAtIndex(fn, FN_INDEX, LLVMCreateEnumAttribute(ctx, kind, 0));
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

/* ------------------------------------------------------------------------- */
/* Phase 1                                                                    */
/* ------------------------------------------------------------------------- */

typedef struct run {
    const hp_policy *policy;
    const hp_policy_host *host;
    target target;
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

/* Function name as the user wrote it: IR names of asm labels start with \1. */
static const char *fn_name(LLVMValueRef fn, size_t *len)
{
    const char *name = LLVMGetValueName2(fn, len);

    if (*len > 0 && name[0] == '\1') {
        name++;
        (*len)--;
    }
    return name;
}

static int is_exported(LLVMValueRef fn, const target *t)
{
    LLVMLinkage l = LLVMGetLinkage(fn);

    if (t->fmt == FMT_COFF)
        return LLVMGetDLLStorageClass(fn) == LLVMDLLExportStorageClass;
    if (l == LLVMInternalLinkage || l == LLVMPrivateLinkage)
        return 0;
    return LLVMGetVisibility(fn) == LLVMDefaultVisibility;
}

static int cet_active(LLVMModuleRef module)
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

/* Add the module flag clang writes for -fcf-protection=branch:
   !{i32 8 (Min), !"cf-protection-branch", i32 1}. */
static void enable_cet(LLVMModuleRef module)
{
    LLVMContextRef ctx = LLVMGetModuleContext(module);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
    LLVMMetadataRef ops[3];
    LLVMValueRef node;

    if (cet_active(module))
        return;
    if (LLVMGetModuleFlag(module, "cf-protection-branch", strlen("cf-protection-branch")))
        return; /* present with 0: the user turned it off explicitly; leave it */
    ops[0] = LLVMValueAsMetadata(LLVMConstInt(i32, 8, 0));
    ops[1] = LLVMMDStringInContext2(ctx, "cf-protection-branch", strlen("cf-protection-branch"));
    ops[2] = LLVMValueAsMetadata(LLVMConstInt(i32, 1, 0));
    node = LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, ops, 3));
    LLVMAddNamedMetadataOperand(module, "llvm.module.flags", node);
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
    set_str_attr(fn, ATTR_MARK, v);
}

/*
 * The padding is the function's prefix data: `pad` filler bytes that codegen
 * emits right before the entry label, after the function's alignment. It is
 * one constant shared by every function of a size, so it costs a fraction of
 * "patchable-function-prefix" (an attribute-list rebuild per function, and one
 * NOP instruction per byte through codegen and the assembler). The bytes are
 * an int3 and then NOPs (CC 90 90 ...), all filler to the site rules: not one
 * byte repeated, because the AsmPrinter turns a repeated byte into a fill
 * fragment of the assembler, which then starts a new fragment for the
 * function's code (about 450 instructions more per function).
 */
#define FILLER_FIRST 0xCC
#define FILLER_BYTE 0x90

static void filler_bytes(char *bytes, unsigned pad)
{
    memset(bytes, FILLER_BYTE, pad);
    bytes[0] = (char)FILLER_FIRST;
}

/* Does `fn` carry this policy's padding as prefix data (also all 0x90, what plugins before
   table version 3 wrote)? Stores its length in *pad. */
static int our_prefix(LLVMValueRef fn, unsigned *pad)
{
    LLVMValueRef c;
    const char *bytes;
    size_t len, i;

    if (!LLVMHasPrefixData(fn))
        return 0;
    c = LLVMGetPrefixData(fn);
    if (!c || !LLVMIsAConstantDataSequential(c) || !LLVMIsConstantString(c))
        return 0;
    bytes = LLVMGetAsString(c, &len);
    if (len == 0 || len > HP_POLICY_MAX_PAD_)
        return 0;
    if ((unsigned char)bytes[0] != FILLER_FIRST && (unsigned char)bytes[0] != FILLER_BYTE)
        return 0;
    for (i = 1; i < len; i++)
        if ((unsigned char)bytes[i] != FILLER_BYTE)
            return 0;
    if (pad)
        *pad = (unsigned)len;
    return 1;
}

/*
 * Put `pad` filler bytes before the entry. Prefix data unless the function
 * already has some (not ours) or the module uses KCFI, whose type hash codegen
 * emits between prefix data and the entry: then the
 * "patchable-function-prefix" attribute (emitted last, right before the entry).
 * Returns 1 when the attribute was used (the function then needs the mark).
 */
static int set_padding(run *r, LLVMValueRef fn, unsigned pad)
{
    char v[12];

    if (!r->attr_padding && !LLVMHasPrefixData(fn)) {
        if (!r->filler || r->filler_len != pad) {
            char bytes[HP_POLICY_MAX_PAD_];
            filler_bytes(bytes, pad);
            r->filler = LLVMConstStringInContext(LLVMGetTypeContext(LLVMTypeOf(fn)), bytes, pad, 1);
            r->filler_len = pad;
        }
        LLVMSetPrefixData(fn, r->filler);
        return 0;
    }
    snprintf(v, sizeof v, "%u", pad);
    set_str_attr(fn, ATTR_PREFIX, v);
    return 1;
}

/* The entry's 2-byte NOP as prologue data: i16 0x9066, emitted little-endian as `66 90`
   (xchg ax, ax), the first bytes at the entry label. An integer, not [2 x i8]: cheaper to emit. */
#define ENTRY_NOP_I16 0x9066u

/* Does `fn` start with this policy's 2-byte NOP as prologue data? */
static int our_prologue(LLVMValueRef fn)
{
    LLVMValueRef c;

    if (!LLVMHasPrologueData(fn))
        return 0;
    c = LLVMGetPrologueData(fn);
    return c && LLVMIsAConstantInt(c) && LLVMGetIntTypeWidth(LLVMTypeOf(c)) == 16 &&
           LLVMConstIntGetZExtValue(c) == ENTRY_NOP_I16;
}

/*
 * Make the entry a 2-byte NOP. Prologue data (bytes codegen emits right at
 * the entry label, before the body) unless the function has some already, or
 * CET is on: endbr must stay the first instruction, and only the
 * "patchable-function-entry" attribute puts the NOP after it.
 */
static void set_entry_nop(run *r, LLVMValueRef fn)
{
    if (!r->attr_entry && !LLVMHasPrologueData(fn)) {
        if (!r->entry_nop)
            r->entry_nop = LLVMConstInt(LLVMInt16TypeInContext(LLVMGetTypeContext(LLVMTypeOf(fn))), ENTRY_NOP_I16, 0);
        LLVMSetPrologueData(fn, r->entry_nop);
        return;
    }
    set_str_attr(fn, ATTR_ENTRY, "2"); /* x86: 66 90 (xchg ax, ax) */
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
static int instrument_one(run *r, LLVMValueRef fn, unsigned pad, const attr_facts *af)
{
    const hp_policy *p = r->policy;
    unsigned decl = 0, flags = 0;
    size_t len = 0;
    const char *name = NULL;
    int exported = is_exported(fn, &r->target);
    int verbose = enabled(r, HP_POLICY_DIAG_VERBOSE);
    int need_mark = 0;
    long prefix, entry;
    int explicit_pfe, widen;

    if (r->host && r->host->decl_flags)
        decl = r->host->decl_flags(r->host->ctx, fn);
    if (verbose || p->exclude_count > 0)
        name = fn_name(fn, &len);

    if (p->scope == HP_POLICY_SCOPE_EXPORTED && !exported) {
        if (verbose) {
            snprintf(r->buf, sizeof r->buf, "'%.*s' not instrumented: not exported (scope=exported)", (int)len,
                     name);
            report(r, HP_POLICY_DIAG_VERBOSE, fn);
        }
        return 0;
    }
    if (p->exclude_count > 0 && excluded_n(p, name, len)) {
        if (verbose) {
            snprintf(r->buf, sizeof r->buf, "'%.*s' not instrumented: matched by exclude=", (int)len, name);
            report(r, HP_POLICY_DIAG_VERBOSE, fn);
        }
        return 0;
    }
    if (af->naked) {
        name = fn_name(fn, &len);
        snprintf(r->buf, sizeof r->buf,
                 "naked function '%.*s' cannot be made hotpatchable; it is left without padding", (int)len, name);
        report(r, HP_POLICY_DIAG_NAKED, fn);
        return 0;
    }
    /* -fsanitize=function: codegen puts the function's type signature right before the entry,
       after any prefix data or padding attribute, where the site needs filler */
    if (r->func_sanitize_kind && has_metadata(fn, r->func_sanitize_kind)) {
        if (enabled(r, HP_POLICY_DIAG_SKIPPED)) {
            name = fn_name(fn, &len);
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
        name = fn_name(fn, &len);
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
            set_str_attr(fn, ATTR_PATCHABLE, ATTR_SHORT_REDIRECT);
        } else {
            /* -fms-hotpatch's "prologue-short-redirect" gives way to the NOP. */
            if (af->patchable)
                remove_str_attr(fn, ATTR_PATCHABLE);
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
        if (p->noinline_exported && !has_enum_attr(fn, "alwaysinline"))
            add_enum_attr(fn, "noinline");
    }
    if (p->cet == HP_POLICY_CET_OFF)
        add_enum_attr(fn, "nocf_check");
    if (need_mark)
        mark(fn, flags);
    return 1;
}

hp_policy_status hp_policy_instrument(const hp_policy *policy, LLVMModuleRef module,
                                      const hp_policy_host *host, hp_policy_stats *stats)
{
    hp_policy_stats local = {0, 0, 0, 0};
    LLVMValueRef fn;
    run *r;
    unsigned pad, naked_kind;
    attr_facts af;

    if (!policy || !module)
        return HP_POLICY_ERR_ARGUMENT;
    r = calloc(1, sizeof *r);
    if (!r)
        return HP_POLICY_ERR_NO_MEMORY;
    r->policy = policy;
    r->host = host;
    r->target = target_of(module);

    if (r->target.arch == ARCH_OTHER || r->target.fmt == FMT_OTHER) {
        snprintf(r->buf, sizeof r->buf, "target '%s' is not supported by the hotpatch plugin; nothing is instrumented",
                 LLVMGetTarget(module));
        report(r, HP_POLICY_DIAG_SKIPPED, NULL);
        goto out;
    }

    pad = policy->pad ? policy->pad : r->target.min_pad;
    if (pad < r->target.min_pad) {
        snprintf(r->buf, sizeof r->buf, "pad=%u is too small for the %s long jump (%u bytes); using pad=%u", pad,
                 r->target.arch == ARCH_X64 ? "x86-64 'jmp [rip+disp32]'" : "x86 'jmp rel32'", r->target.min_pad,
                 r->target.min_pad);
        report(r, HP_POLICY_DIAG_PAD, NULL);
        pad = r->target.min_pad;
    }
    if (policy->cet == HP_POLICY_CET_ON)
        enable_cet(module);
    /* KCFI's type hash goes between prefix data and the entry: pad with the attribute instead */
    r->attr_padding = LLVMGetModuleFlag(module, "kcfi", strlen("kcfi")) != NULL;
    r->attr_entry = cet_active(module);
    naked_kind = enum_kind("naked");
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
        if (our_prefix(fn, NULL)) { /* this policy ran already (bitcode rewritten twice) */
            local.instrumented++;
            continue;
        }
        read_attrs(fn, naked_kind, &af);
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
    return HP_POLICY_OK;
}

/* ------------------------------------------------------------------------- */
/* Phase 2: the table                                                         */
/* ------------------------------------------------------------------------- */

#define TABLE_GUARD "hotpatch.table"

/* Append `n` values to the appending array `name` (llvm.used / llvm.compiler.used). */
static hp_policy_status append_used(LLVMModuleRef module, const char *name, LLVMValueRef *vals, size_t n)
{
    LLVMContextRef ctx = LLVMGetModuleContext(module);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
    LLVMValueRef old = LLVMGetNamedGlobal(module, name), init, g;
    LLVMValueRef *all;
    size_t have = 0, i;

    if (n == 0)
        return HP_POLICY_OK;
    init = old ? LLVMGetInitializer(old) : NULL;
    if (init && LLVMIsAConstantArray(init))
        have = (size_t)LLVMGetNumOperands(init);
    all = malloc((have + n) * sizeof *all);
    if (!all)
        return HP_POLICY_ERR_NO_MEMORY;
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
    return HP_POLICY_OK;
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
static void add_include_directives(LLVMModuleRef module, const target *t)
{
    static const char *const names[2] = {"__hp_table_begin", "__hp_table_end"};
    LLVMContextRef ctx = LLVMGetModuleContext(module);
    int i;

    for (i = 0; i < 2; i++) {
        char opt[64];
        LLVMMetadataRef s;
        int n = snprintf(opt, sizeof opt, "-include:%s%s", t->arch == ARCH_X86 ? "_" : "", names[i]);
        s = LLVMMDStringInContext2(ctx, opt, (size_t)n);
        LLVMAddNamedMetadataOperand(module, "llvm.linker.options",
                                    LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, &s, 1)));
    }
}

/* The symbol the record points at: on ELF a private alias for functions that
   could be preempted, so the PC-relative reference never needs a dynamic
   relocation (R_X86_64_PC32 against a preemptible symbol fails with -shared). */
static LLVMValueRef record_target(LLVMModuleRef module, LLVMValueRef fn, const target *t, const char *name,
                                  size_t len)
{
    LLVMLinkage l = LLVMGetLinkage(fn);
    char alias_name[300];

    if (t->fmt != FMT_ELF || l == LLVMInternalLinkage || l == LLVMPrivateLinkage)
        return fn;
    snprintf(alias_name, sizeof alias_name, "__hp_local.%.*s", (int)(len > 256 ? 256 : len), name);
    {
        LLVMValueRef a = LLVMAddAlias2(module, LLVMGlobalGetValueType(fn), 0, fn, alias_name);
        LLVMSetLinkage(a, LLVMPrivateLinkage);
        return a;
    }
}

/* A record's second word (little-endian: pad, flags, version) and, as an i32 constant, the same
   value shared by consecutive records of a kind (one LLVMConstInt, not one per record). */
static unsigned header_word(unsigned pad, unsigned flags)
{
    return pad | flags << 8 | HP_TABLE_VERSION << 16;
}

static LLVMValueRef header_const(LLVMTypeRef i32, unsigned word, LLVMValueRef *cache, unsigned *cache_word)
{
    if (!*cache || *cache_word != word) {
        *cache = LLVMConstInt(i32, word, 0);
        *cache_word = word;
    }
    return *cache;
}

/* The assembler's name of `fn` when module assembly can refer to it by that name alone: C calling
   convention (no @N decoration), not private (no local label prefix), a plain identifier. x86 COFF
   symbols carry the '_' prefix unless the IR name starts with \1 (an asm label: taken as is). */
static int asm_symbol(LLVMValueRef fn, const target *t, const char **prefix, const char **sym, size_t *len)
{
    const char *raw;
    size_t n, i;

    if (LLVMGetFunctionCallConv(fn) != LLVMCCallConv || LLVMGetLinkage(fn) == LLVMPrivateLinkage)
        return 0;
    raw = LLVMGetValueName2(fn, &n);
    *prefix = t->arch == ARCH_X86 ? "_" : "";
    if (n > 0 && raw[0] == '\1') {
        raw++;
        n--;
        *prefix = "";
    }
    if (n == 0 || n > 1024 || (raw[0] >= '0' && raw[0] <= '9') || raw[0] == '.')
        return 0;
    for (i = 0; i < n; i++) {
        char c = raw[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return 0;
    }
    *sym = raw;
    *len = n;
    return 1;
}

/* Room for one more element in *arr (count used, *cap allocated, elements of `size` bytes):
   doubles from 64. 0 when out of memory (*arr unchanged). */
static int grow(void *arr, size_t *cap, size_t count, size_t size)
{
    size_t ncap;
    void *old, *grown;

    if (count < *cap)
        return 1;
    ncap = *cap ? *cap * 2 : 64;
    memcpy(&old, arr, sizeof old); /* `arr` points at a T *: copied, not aliased as void * */
    grown = realloc(old, ncap * size);
    if (!grown)
        return 0;
    memcpy(arr, &grown, sizeof grown);
    *cap = ncap;
    return 1;
}

/* One function written as module assembly: its assembler name, its header word (pad | flags << 8
   | version << 16), and whether it gets a record of its own in an associative COMDAT (function
   sections) rather than a place in a block. */
typedef struct block_rec {
    const char *prefix, *sym;
    size_t len;
    unsigned key;
    int assoc;
} block_rec;

/* A growing text. */
typedef struct text_buf {
    char *p;
    size_t n, cap;
    int oom;
} text_buf;

static void text_put(text_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (cap < b->n + n + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void text_puts(text_buf *b, const char *s)
{
    text_put(b, s, strlen(s));
}

/* The records of `recs` as module assembly, appended to the module's own.
   Blocks (table format 3): per distinct header word, `.long N, word` then `.rva` with the N
   functions (and a zero word when N is odd, so that the next record is 8-aligned). Symbols cost
   the assembler little; an integer token costs it far more, so there is one pair of them per
   block, not per function.
   Own records (function sections): per function a plain self-relative record `.long f-., word`
   in a `.hotp$m` section associative to the function's COMDAT, the word a symbol set once per
   distinct value (again no integer token per function). These sections keep the default
   alignment of 1 (a `.p2align` per record cost 4k instructions): every contribution to .hotp is a
   whole number of 8-byte records, so they stay 8-aligned within it all the same. */
static hp_policy_status emit_blocks(LLVMModuleRef module, block_rec *recs, size_t n)
{
    text_buf b = {NULL, 0, 0, 0};
    size_t i, done = 0, nblock = 0;
    char line[96];

    for (i = 0; i < n; i++)
        nblock += !recs[i].assoc;
    if (nblock > 0)
        text_puts(&b, "\n\t.section\t" HP_TABLE_COFF_SECTION "$m,\"dr\"\n\t.p2align\t2\n");
    while (done < nblock) {
        unsigned key = 0;
        size_t count = 0, k = 0;
        /* the first key not written yet; writing clears the records' keys (0 is never a key) */
        for (i = 0; i < n; i++)
            if (!recs[i].assoc && recs[i].key) {
                key = recs[i].key;
                break;
            }
        for (i = 0; i < n; i++)
            count += !recs[i].assoc && recs[i].key == key;
        snprintf(line, sizeof line, "\t.long\t%zu, %u\n\t.rva\t", count, key);
        text_puts(&b, line);
        for (i = 0; i < n; i++) {
            if (recs[i].assoc || recs[i].key != key)
                continue;
            if (k++)
                text_put(&b, ", ", 2);
            text_puts(&b, recs[i].prefix);
            text_put(&b, recs[i].sym, recs[i].len);
            recs[i].key = 0;
        }
        text_puts(&b, count % 2 ? "\n\t.long\t0\n" : "\n");
        done += count;
    }
    for (i = 0; i < n; i++) {
        size_t j;
        if (!recs[i].assoc)
            continue;
        /* the word's symbol, at the first record that uses it */
        for (j = 0; j < i && !(recs[j].assoc && recs[j].key == recs[i].key); j++)
            ;
        if (j == i) {
            snprintf(line, sizeof line, "\t.set\t.Lhp_word_%u, %u\n", recs[i].key, recs[i].key);
            text_puts(&b, line);
        }
        text_puts(&b, "\t.section\t" HP_TABLE_COFF_SECTION "$m,\"dr\",associative,");
        text_puts(&b, recs[i].prefix);
        text_put(&b, recs[i].sym, recs[i].len);
        text_puts(&b, "\n\t.long\t");
        text_puts(&b, recs[i].prefix);
        text_put(&b, recs[i].sym, recs[i].len);
        snprintf(line, sizeof line, "-., .Lhp_word_%u\n", recs[i].key);
        text_puts(&b, line);
    }
    text_puts(&b, "\t.text\n");
    if (b.oom) {
        free(b.p);
        return HP_POLICY_ERR_NO_MEMORY;
    }
    LLVMAppendModuleInlineAsm(module, b.p, b.n);
    free(b.p);
    return HP_POLICY_OK;
}

hp_policy_status hp_policy_emit_table(const hp_policy *policy, LLVMModuleRef module, hp_policy_stats *stats)
{
    LLVMContextRef ctx;
    LLVMTypeRef rec2_ty, i32;
    LLVMValueRef fn, *recs = NULL, meta = NULL;
    unsigned meta_key = 0;
    size_t count = 0, cap = 0;
    /* COFF records that need no COMDAT of their own all go into one array (see below) */
    struct shared_rec {
        LLVMValueRef target;
        unsigned pad, flags;
    } *shared = NULL;
    size_t nshared = 0, shared_cap = 0;
    /* COFF records written as module assembly (format 3 blocks) */
    block_rec *blocks = NULL;
    size_t nblocks = 0, blocks_cap = 0;
    hp_policy_status st = HP_POLICY_OK;
    target t;
    int cet;
    unsigned assoc_kind;

    if (!policy || !module)
        return HP_POLICY_ERR_ARGUMENT;
    if (!policy->table)
        return HP_POLICY_OK;
    t = target_of(module);
    if (t.arch == ARCH_OTHER || t.fmt == FMT_OTHER)
        return HP_POLICY_OK;
    if (LLVMGetNamedMetadataNumOperands(module, TABLE_GUARD) > 0)
        return HP_POLICY_OK;

    ctx = LLVMGetModuleContext(module);
    i32 = LLVMInt32TypeInContext(ctx);
    rec2_ty = LLVMArrayType2(i32, 2);
    cet = cet_active(module);
    assoc_kind = LLVMGetMDKindIDInContext(ctx, "associated", (unsigned)strlen("associated"));

    for (fn = LLVMGetFirstFunction(module); fn; fn = LLVMGetNextFunction(fn)) {
        long pad, flags;
        size_t len;
        const char *name;
        char rec_name[300];
        LLVMValueRef rec, target_v;
        LLVMComdatRef comdat;
        LLVMLinkage l;

        unsigned prefix_len;

        if (LLVMIsDeclaration(fn))
            continue;
        /* Phase 1 chose this function: our prefix data, or (attribute padding) the mark */
        if (our_prefix(fn, &prefix_len))
            pad = (long)prefix_len;
        else if (str_attr(fn, ATTR_MARK))
            pad = str_attr_uint(fn, ATTR_PREFIX);
        else
            continue;
        l = LLVMGetLinkage(fn);
        if (l == LLVMAvailableExternallyLinkage)
            continue;
        if (pad < 0 || pad > 255)
            continue; /* attributes edited after phase 1: no reliable record */
        /* The flags are read off the function as it is now */
        flags = 0;
        if (our_prologue(fn) || str_attr_uint(fn, ATTR_ENTRY) == 2)
            flags |= HP_TABLE_F_ENTRY_NOP;
        if (is_exported(fn, &t))
            flags |= HP_TABLE_F_EXPORTED;
        if (cet && !has_enum_attr(fn, "nocf_check"))
            flags |= HP_TABLE_F_ENDBR; /* the record takes the address: codegen puts endbr first */

        /* Keep the record exactly as long as its function. */
        comdat = LLVMGetComdat(fn);
        if (t.fmt == FMT_COFF && !comdat && policy->object_output) {
            /* Straight to machine code: module assembly. A function in a section of its own
               (function sections, no explicit section) gets a record associative to that
               section's COMDAT; any other lives in a section that stays whole, and goes into a
               block. */
            block_rec r;
            if (asm_symbol(fn, &t, &r.prefix, &r.sym, &r.len)) {
                const char *sec = LLVMGetSection(fn);
                if (!grow(&blocks, &blocks_cap, nblocks, sizeof *blocks)) {
                    st = HP_POLICY_ERR_NO_MEMORY;
                    goto out;
                }
                r.assoc = policy->function_sections && !(sec && sec[0]);
                r.key = header_word((unsigned)pad, (unsigned)flags | (r.assoc ? 0u : HP_TABLE_F_RVA_BLOCK));
                blocks[nblocks++] = r;
                continue;
            }
        }
        if (t.fmt == FMT_COFF && !comdat && l != LLVMPrivateLinkage && policy->function_sections) {
            /* A no-deduplicate COMDAT of its own (what -ffunction-sections
               does on COFF anyway) lets the record be associative to it. */
            size_t raw_len;
            const char *raw = LLVMGetValueName2(fn, &raw_len);
            LLVMComdatRef c = LLVMGetOrInsertComdat(module, raw);
            LLVMSetComdatSelectionKind(c, LLVMNoDeduplicateComdatSelectionKind);
            LLVMSetComdat(fn, c);
            comdat = c;
        }
        name = fn_name(fn, &len);
        target_v = record_target(module, fn, &t, name, len);
        if (t.fmt == FMT_COFF && !comdat) {
            /* The function lives in a section that stays whole ( .text without function sections):
               its record needs no section of its own, and one array for all of them is far cheaper
               to compile than a global per function. */
            if (!grow(&shared, &shared_cap, nshared, sizeof *shared)) {
                st = HP_POLICY_ERR_NO_MEMORY;
                goto out;
            }
            shared[nshared].target = target_v;
            shared[nshared].pad = (unsigned)pad;
            shared[nshared].flags = (unsigned)flags;
            nshared++;
            continue;
        }

        /* Named after the function only for readable IR: a private global's
           name never reaches the object. Skipped for big modules (cost). */
        if (count < 64)
            snprintf(rec_name, sizeof rec_name, "__hp_rec.%.*s", (int)(len > 256 ? 256 : len), name);
        else
            rec_name[0] = '\0';
        rec = LLVMAddGlobal(module, rec2_ty, rec_name);
        LLVMSetLinkage(rec, LLVMPrivateLinkage);
        LLVMSetGlobalConstant(rec, 1);
        LLVMSetAlignment(rec, 4);
        LLVMSetSection(rec, t.fmt == FMT_COFF ? HP_TABLE_COFF_SECTION "$m" : HP_TABLE_ELF_SECTION);

        /* where = target - &record.where: self-relative, no base relocation;
           COFF: IMAGE_REL_AMD64_REL32 / IMAGE_REL_I386_REL32, ELF: R_X86_64_PC32. ptrtoint
           straight to i32 (no trunc), and the record typed [2 x i32] (`where`, then pad | flags
           << 8 | version << 16, the same 8 bytes) with the second word shared by every record of
           a kind: the fewest constants per record, which is what a record costs to compile. */
        {
            LLVMValueRef words[2];
            words[0] = LLVMConstSub(LLVMConstPtrToInt(target_v, i32), LLVMConstPtrToInt(rec, i32));
            words[1] = header_const(i32, header_word((unsigned)pad, (unsigned)flags), &meta, &meta_key);
            LLVMSetInitializer(rec, LLVMConstArray2(i32, words, 2));
        }
        if (comdat)
            LLVMSetComdat(rec, comdat);
        if (t.fmt == FMT_ELF) {
            LLVMMetadataRef op = LLVMValueAsMetadata(fn);
            LLVMGlobalSetMetadata(rec, assoc_kind, LLVMMDNodeInContext2(ctx, &op, 1));
        }

        if (!grow(&recs, &cap, count, sizeof *recs)) {
            st = HP_POLICY_ERR_NO_MEMORY;
            goto out;
        }
        recs[count++] = rec;
    }

    if (nshared > 0) {
        /* One array of records, typed as 2 x i32 per record (the same 8 bytes: `where`, then
           pad | flags << 8 | version << 16 little-endian): a run (hotpatch_table.h). Every
           `where` is target - &array[0]: one difference to a shared base, which LLVM lowers to a
           REL32 with an addend. Record 0 starts the run (and is self-relative like any record);
           the others are flagged in-run. ptrtoint straight to i32 needs no trunc on x64. This is
           the table's cost for a whole unit, so each record takes as few constants as possible. */
        LLVMTypeRef arr_ty = LLVMArrayType2(i32, 2 * (uint64_t)nshared);
        LLVMValueRef tab = LLVMAddGlobal(module, arr_ty, "__hp_recs");
        LLVMValueRef *elems = malloc(2 * nshared * sizeof *elems);
        if (!elems) {
            st = HP_POLICY_ERR_NO_MEMORY;
            goto out;
        }
        LLVMSetLinkage(tab, LLVMPrivateLinkage);
        LLVMSetGlobalConstant(tab, 1);
        LLVMSetAlignment(tab, 4);
        LLVMSetSection(tab, HP_TABLE_COFF_SECTION "$m");
        LLVMValueRef base = LLVMConstPtrToInt(tab, i32);
        for (size_t i = 0; i < nshared; i++) {
            unsigned run = i == 0 ? HP_TABLE_F_RUN_START : HP_TABLE_F_IN_RUN;
            elems[2 * i] = LLVMConstSub(LLVMConstPtrToInt(shared[i].target, i32), base);
            elems[2 * i + 1] =
                header_const(i32, header_word(shared[i].pad, shared[i].flags | run), &meta, &meta_key);
        }
        LLVMSetInitializer(tab, LLVMConstArray2(i32, elems, 2 * (uint64_t)nshared));
        free(elems);
        if (!grow(&recs, &cap, count, sizeof *recs)) {
            st = HP_POLICY_ERR_NO_MEMORY;
            goto out;
        }
        recs[count++] = tab;
    }

    if (nblocks > 0) {
        st = emit_blocks(module, blocks, nblocks);
        if (st != HP_POLICY_OK)
            goto out;
    }
    st = append_used(module, "llvm.compiler.used", recs, count);
    if (st != HP_POLICY_OK)
        goto out;
    if (t.fmt == FMT_COFF && count + nblocks > 0) {
        LLVMValueRef markers[2];
        size_t m = 0;
        LLVMValueRef b = add_marker(module, "__hp_table_begin", HP_TABLE_COFF_SECTION "$a");
        LLVMValueRef e = add_marker(module, "__hp_table_end", HP_TABLE_COFF_SECTION "$z");
        if (b)
            markers[m++] = b;
        if (e)
            markers[m++] = e;
        st = append_used(module, "llvm.used", markers, m);
        if (st != HP_POLICY_OK)
            goto out;
        /* llvm.used becomes /INCLUDE: for MSVC triples only; MinGW needs the
           directive spelled out (x86 symbols carry the '_' prefix). */
        if (m > 0)
            add_include_directives(module, &t);
    }
    LLVMAddNamedMetadataOperand(module, TABLE_GUARD, LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, NULL, 0)));
    if (stats)
        stats->records += (uint32_t)(count - (nshared > 0) + nshared + nblocks);
out:
    free(blocks);
    free(recs);
    free(shared);
    return st;
}
