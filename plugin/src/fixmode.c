/*
 * fixmode.c — hp_policy_fix: a translation unit compiled as part of a patch
 * module (plugin/README.md, "Fix mode"; the manifest: hotpatch_fix.h).
 *
 * Every global of the module is put in one of four classes against the
 * target's map (hp_map.h):
 *   - a replacement: a function named by fix-functions= that the unit defines
 *     and the target has (patchable): kept, and an entry of the manifest;
 *   - the target's: a function or variable the unit defines or declares that
 *     the target also has (file-statics matched within the same unit): not
 *     emitted; each use becomes a load of its address from a slot;
 *   - HP_PREVIOUS(f): a declaration __hp_previous_f, a slot of the version f
 *     replaced;
 *   - the fix's own: anything else it defines (a new function, one the release
 *     inlined away, a new variable, string literals), reported as such.
 * Declarations the target lacks (the C library, the OS) are left to the link.
 *
 * Order: target-known variables are dropped before functions (their
 * initializers may name functions), bodies of target-known functions are
 * deleted before uses are redirected (what a deleted body used needs no
 * slot), and a global is deleted once nothing uses it.
 */
#include "policy_internal.h"

#include <llvm-c/Comdat.h>

#include <llvm-c/Target.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotpatch_fix.h"
#include "hp_map.h"
#include "hp_tools.h"

int hp_policy_fix_mode(const hp_policy *policy)
{
    return policy && policy->fix_map;
}

/* What becomes of one global. */
typedef enum fx_class { FX_OWN = 0, FX_REPLACE, FX_TARGET, FX_PREVIOUS } fx_class;

typedef struct fx_slot {
    LLVMValueRef global; /* the global whose uses it takes */
    LLVMValueRef slot;   /* the module's pointer variable */
    uint32_t kind, rva, size;
    uint64_t here;       /* a variable's size in this unit when it differs from the release's (0: alike) */
    char *name;          /* "name" or "unit:name" */
} fx_slot;

typedef struct fx_entry {
    LLVMValueRef fn;
    uint32_t rva, hash_len;
    uint64_t hash;
    char *name;
} fx_entry;

typedef struct fx_own {
    char *name;
    int is_function;
} fx_own;

typedef struct fx_run {
    const hp_policy *policy;
    const hp_map *map;
    const hp_policy_host *host;
    LLVMModuleRef module;
    LLVMContextRef ctx;
    hpp_target target;
    int32_t unit;
    const char *unit_name;
    int errors;
    int oom;
    fx_slot *slots;
    size_t nslots, slots_cap;
    fx_entry *entries;
    size_t nentries, entries_cap;
    LLVMValueRef *targets; /* globals of class FX_TARGET, dropped in order */
    size_t ntargets, targets_cap;
    struct fx_own *own;    /* the fix's own definitions, by name (reported once dead code is gone) */
    size_t nown, own_cap;
    char buf[1024];
} fx_run;

static void say(fx_run *r, hp_policy_diag diag, LLVMValueRef at, const char *fmt, ...) HP_TOOLS_PRINTF(4, 5);

static void say(fx_run *r, hp_policy_diag diag, LLVMValueRef at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->buf, sizeof r->buf, fmt, ap);
    va_end(ap);
    if (diag == HP_POLICY_DIAG_FIX_ERROR)
        r->errors++;
    if (r->host->report)
        r->host->report(r->host->ctx, diag, at, r->buf);
}

/* Is `name` a replacement: listed by fix-functions=, for any unit or ("<name>\t<unit>") for this one? */
static int is_fix_function(const fx_run *r, const char *name)
{
    const hp_policy *p = r->policy;
    size_t n = strlen(name);
    for (size_t i = 0; i < p->fix_function_count; i++) {
        const char *f = p->fix_functions[i];
        if (strncmp(f, name, n) != 0)
            continue;
        if (f[n] == 0 || (f[n] == '\t' && r->unit_name && strcmp(f + n + 1, r->unit_name) == 0))
            return 1;
    }
    return 0;
}

static int is_local(LLVMValueRef g)
{
    LLVMLinkage l = LLVMGetLinkage(g);
    return l == LLVMInternalLinkage || l == LLVMPrivateLinkage;
}

/* What the map says of a name: its symbol, or (external functions, which "symbols" does not repeat) a
   named function of "functions". */
typedef struct tsym {
    int found;
    int is_static;
    hp_map_kind kind;
    uint32_t rva, size;
} tsym;

static tsym from_symbol(const hp_map_symbol *s)
{
    tsym t = {0, 0, HP_MAP_FUNCTION, 0, 0};
    if (s) {
        t.found = 1;
        t.is_static = s->is_static;
        t.kind = (hp_map_kind)s->kind;
        t.rva = s->rva;
        t.size = s->size;
    }
    return t;
}

/* An external name: a symbol of any unit, else a named function. */
static tsym find_external(const fx_run *r, const char *name)
{
    tsym t = from_symbol(hp_map_find(r->map, -1, name));
    if (!t.found) {
        const hp_map_function *f = hp_map_function_named(r->map, name);
        if (!f && r->target.arch == HPP_ARCH_X86 && r->target.fmt == HPP_FMT_COFF && strlen(name) < 511) {
            /* x86 MinGW images name their functions by the decorated symbol ("_f") */
            char dec[512];
            snprintf(dec, sizeof dec, "_%s", name);
            f = hp_map_function_named(r->map, dec);
        }
        if (f) {
            t.found = 1;
            t.rva = f->rva;
        }
    }
    return t;
}

/* The target's symbol for a global of this unit: a static one of the same unit, an external one
   of any unit. */
static tsym target_symbol(const fx_run *r, LLVMValueRef g, const char *name)
{
    if (is_local(g)) {
        const hp_map_symbol *s = hp_map_find(r->map, r->unit, name);
        return from_symbol(s && s->is_static ? s : NULL);
    }
    return find_external(r, name);
}

static void add_own(fx_run *r, const char *name, int is_function)
{
    fx_own o = {malloc(strlen(name) + 1), is_function};
    if (!o.name || !HP_VEC_PUSH(r->own, r->nown, r->own_cap, o)) {
        free(o.name);
        r->oom = 1;
        return;
    }
    strcpy(o.name, name);
}

/* What the fix brings of its own and still uses (after drop_dead_locals), as remarks. */
static void report_own(fx_run *r)
{
    for (size_t i = 0; i < r->nown; i++) {
        const fx_own *o = &r->own[i];
        LLVMValueRef v = o->is_function ? LLVMGetNamedFunction(r->module, o->name)
                                        : LLVMGetNamedGlobal(r->module, o->name);
        if (!v)
            continue;
        if (o->is_function)
            say(r, HP_POLICY_DIAG_FIX_NOTE, v, "hotpatch fix: new function '%s' (not in '%s'): the fix's own",
                o->name, r->map->image_name);
        else
            say(r, HP_POLICY_DIAG_FIX_NOTE, v,
                "hotpatch fix: new variable '%s' (not in '%s'): the fix's own, starting from its initial value",
                o->name, r->map->image_name);
    }
}

static char *qualified(fx_run *r, LLVMValueRef g, const char *name)
{
    size_t n = strlen(name) + (is_local(g) ? strlen(r->unit_name) + 1 : 0) + 1;
    char *q = malloc(n);
    if (!q) {
        r->oom = 1;
        return NULL;
    }
    if (is_local(g))
        snprintf(q, n, "%s:%s", r->unit_name, name);
    else
        snprintf(q, n, "%s", name);
    return q;
}

static void add_target(fx_run *r, LLVMValueRef g)
{
    if (!HP_VEC_PUSH(r->targets, r->ntargets, r->targets_cap, g))
        r->oom = 1;
}

/* A slot for `g`. Its variable is made only when `g` is still used once the target's bodies are
   gone (make_slot_variable): internal and externally initialised, so that the optimizer does not
   take its null initializer for its value; the manifest refers to it. */
static fx_slot *add_slot(fx_run *r, LLVMValueRef g, const char *name, uint32_t kind, uint32_t rva, uint32_t size,
                         int local)
{
    fx_slot s;
    memset(&s, 0, sizeof s);
    s.global = g;
    s.kind = kind;
    s.rva = rva;
    s.size = size;
    if (kind == HP_FIX_SLOT_PREVIOUS) {
        size_t n = strlen(name) + (local ? strlen(r->unit_name) + 1 : 0) + 1;
        s.name = malloc(n);
        if (s.name)
            snprintf(s.name, n, local ? "%s:%s" : "%s%s", local ? r->unit_name : "", name);
    } else {
        s.name = qualified(r, g, name);
    }
    if (!s.name || !HP_VEC_PUSH(r->slots, r->nslots, r->slots_cap, s)) {
        free(s.name);
        r->oom = 1;
        return NULL;
    }
    return &r->slots[r->nslots - 1];
}

static void make_slot_variable(fx_run *r, fx_slot *s)
{
    char sname[512];
    snprintf(sname, sizeof sname, "__hp_slot.%s", s->name);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(r->ctx, 0);
    LLVMValueRef slot = LLVMAddGlobal(r->module, ptr, sname);
    LLVMSetLinkage(slot, LLVMInternalLinkage);
    LLVMSetInitializer(slot, LLVMConstNull(ptr));
    LLVMSetExternallyInitialized(slot, 1);
    LLVMSetAlignment(slot, r->target.arch == HPP_ARCH_X64 ? 8 : 4);
    s->slot = slot;
}

/* ------------------------------------------------------------------------- */
/* Classification                                                             */
/* ------------------------------------------------------------------------- */

static void classify_function(fx_run *r, LLVMValueRef fn)
{
    size_t len;
    const char *name = LLVMGetValueName2(fn, &len);
    if (len == 0 || (len > 5 && memcmp(name, "llvm.", 5) == 0) || LLVMGetIntrinsicID(fn) != 0)
        return;
    if (LLVMIsDeclaration(fn)) {
        size_t plen = strlen(HP_PREVIOUS_PREFIX);
        if (len > plen && memcmp(name, HP_PREVIOUS_PREFIX, plen) == 0) {
            const char *base = name + plen;
            /* the function it stands for: a static of this unit or an external one */
            const hp_map_symbol *own = hp_map_find(r->map, r->unit, base);
            int local = own && own->is_static;
            tsym t = local ? from_symbol(own) : find_external(r, base);
            if (!t.found || t.kind != HP_MAP_FUNCTION) {
                say(r, HP_POLICY_DIAG_FIX_ERROR, NULL, "HP_PREVIOUS(%s): '%s' is not a function of '%s'", base, base,
                    r->map->image_name);
                return;
            }
            if (!is_fix_function(r, base)) {
                say(r, HP_POLICY_DIAG_FIX_ERROR, NULL,
                    "HP_PREVIOUS(%s): '%s' is not a function this fix replaces (add it to fix-functions=)", base,
                    base);
                return;
            }
            add_slot(r, fn, base, HP_FIX_SLOT_PREVIOUS, t.rva, 0, local);
            add_target(r, fn);
            return;
        }
        tsym t = find_external(r, name);
        if (!t.found)
            return; /* the C library, the OS: the fix links them itself */
        if (t.kind != HP_MAP_FUNCTION) {
            say(r, HP_POLICY_DIAG_FIX_ERROR, fn, "'%s' is a function here but a variable in '%s'", name,
                r->map->image_name);
            return;
        }
        add_slot(r, fn, name, HP_FIX_SLOT_SYMBOL, t.rva, 0, 0);
        add_target(r, fn);
        return;
    }
    tsym t = target_symbol(r, fn, name);
    if (is_fix_function(r, name)) {
        if (!t.found || t.kind != HP_MAP_FUNCTION) {
            say(r, HP_POLICY_DIAG_FIX_ERROR, fn,
                "cannot replace '%s': '%s' has no such function%s (it may have been inlined everywhere, or renamed)",
                name, r->map->image_name, is_local(fn) ? " in this unit" : "");
            return;
        }
        const hp_map_function *mf = hp_map_function_at(r->map, t.rva);
        if (!mf) {
            say(r, HP_POLICY_DIAG_FIX_ERROR, fn,
                "cannot replace '%s': '%s' at 0x%" PRIx32 " is not a patchable function of '%s' (not built with "
                "the plugin)",
                name, name, t.rva, r->map->image_name);
            return;
        }
        if (!mf->patchable) {
            say(r, HP_POLICY_DIAG_FIX_ERROR, fn, "cannot replace '%s': it is not patchable in '%s'", name,
                r->map->image_name);
            return;
        }
        fx_entry e;
        memset(&e, 0, sizeof e);
        e.fn = fn;
        e.rva = t.rva;
        e.hash_len = mf->hash_len;
        e.hash = mf->hash;
        e.name = qualified(r, fn, name);
        if (!e.name || !HP_VEC_PUSH(r->entries, r->nentries, r->entries_cap, e)) {
            free(e.name);
            r->oom = 1;
            return;
        }
        say(r, HP_POLICY_DIAG_FIX_NOTE, fn, "hotpatch fix: replaces '%s' of '%s' (rva 0x%" PRIx32 ")", e.name,
            r->map->image_name, t.rva);
        return;
    }
    if (t.found) {
        if (t.kind != HP_MAP_FUNCTION) {
            say(r, HP_POLICY_DIAG_FIX_ERROR, fn, "'%s' is a function here but a variable in '%s'", name,
                r->map->image_name);
            return;
        }
        add_slot(r, fn, name, HP_FIX_SLOT_SYMBOL, t.rva, 0, 0);
        add_target(r, fn);
        return;
    }
    add_own(r, name, 1); /* reported once dead code is gone (report_own) */
}

static void classify_variable(fx_run *r, LLVMValueRef g)
{
    size_t len;
    const char *name = LLVMGetValueName2(g, &len);
    if (len == 0 || (len > 5 && memcmp(name, "llvm.", 5) == 0) || LLVMGetLinkage(g) == LLVMPrivateLinkage ||
        name[0] == '\1' || (len > 5 && memcmp(name, "__hp_", 5) == 0))
        return;
    tsym t = LLVMIsDeclaration(g) ? find_external(r, name) : target_symbol(r, g, name);
    if (!t.found) {
        if (!LLVMIsDeclaration(g))
            add_own(r, name, 0);
        return;
    }
    if (t.kind != HP_MAP_VARIABLE) {
        say(r, HP_POLICY_DIAG_FIX_ERROR, g, "'%s' is a variable here but a function in '%s'", name,
            r->map->image_name);
        return;
    }
    if (LLVMIsThreadLocal(g)) {
        say(r, HP_POLICY_DIAG_FIX_ERROR, g,
            "'%s' is thread-local: a fix cannot reach another thread's copy through one address", name);
        return;
    }
    LLVMTypeRef ty = LLVMGlobalGetValueType(g);
    unsigned long long size = LLVMTypeIsSized(ty) ? LLVMABISizeOfType(LLVMGetModuleDataLayout(r->module), ty) : 0;
    /* Another size is refused where the fix uses the variable (redirect_uses): one the fix does not use
       costs nothing, and the release's optimizer may have shrunk a variable it never used whole (a
       flag of 4 bytes kept as 1). */
    fx_slot *sl = add_slot(r, g, name, HP_FIX_SLOT_SYMBOL, t.rva, t.size, 0);
    if (sl && size && t.size && size != t.size)
        sl->here = size;
    add_target(r, g);
}

/* ------------------------------------------------------------------------- */
/* Dead code of the fix                                                       */
/* ------------------------------------------------------------------------- */

static int is_entry(const fx_run *r, LLVMValueRef fn)
{
    for (size_t i = 0; i < r->nentries; i++)
        if (r->entries[i].fn == fn)
            return 1;
    return 0;
}

/* With the release's bodies gone, much of a whole recompiled unit is dead: its own internal functions
   and variables that nothing uses any more. They go now, before uses are redirected, so that a dead
   table's initializer that names something of the release (sqlite3.c has such tables) is no error;
   the optimizer would drop them anyway. */
static void drop_dead_locals(fx_run *r)
{
    for (int changed = 1; changed;) {
        changed = 0;
        for (LLVMValueRef g = LLVMGetFirstGlobal(r->module), next; g; g = next) {
            next = LLVMGetNextGlobal(g);
            if (!LLVMIsDeclaration(g) && is_local(g) && !LLVMGetFirstUse(g)) {
                LLVMDeleteGlobal(g);
                changed = 1;
            }
        }
        for (LLVMValueRef fn = LLVMGetFirstFunction(r->module), next; fn; fn = next) {
            next = LLVMGetNextFunction(fn);
            if (!LLVMIsDeclaration(fn) && is_local(fn) && !LLVMGetFirstUse(fn) && !is_entry(r, fn)) {
                LLVMDeleteFunction(fn);
                changed = 1;
            }
        }
    }
}

/* ------------------------------------------------------------------------- */
/* Redirecting uses                                                           */
/* ------------------------------------------------------------------------- */

/* Drop `g` from llvm.used / llvm.compiler.used (the array is rebuilt without it). */
static void drop_from_used(fx_run *r, const char *list, LLVMValueRef g)
{
    LLVMValueRef used = LLVMGetNamedGlobal(r->module, list);
    if (!used || LLVMIsDeclaration(used))
        return;
    LLVMValueRef init = LLVMGetInitializer(used);
    unsigned n = (unsigned)LLVMGetNumOperands(init), k = 0;
    LLVMValueRef *keep = malloc((n ? n : 1) * sizeof *keep);
    if (!keep) {
        r->oom = 1;
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        LLVMValueRef v = LLVMGetOperand(init, i);
        if (v != g)
            keep[k++] = v;
    }
    if (k != n) {
        LLVMTypeRef ptr = LLVMPointerTypeInContext(r->ctx, 0);
        char name[32];
        snprintf(name, sizeof name, "%s", list);
        LLVMDeleteGlobal(used);
        if (k) {
            LLVMValueRef arr = LLVMConstArray2(ptr, keep, k);
            LLVMValueRef nu = LLVMAddGlobal(r->module, LLVMTypeOf(arr), name);
            LLVMSetLinkage(nu, LLVMAppendingLinkage);
            LLVMSetSection(nu, "llvm.metadata");
            LLVMSetInitializer(nu, arr);
        }
    }
    free(keep);
}

/* Is `v` the llvm.used or llvm.compiler.used array's initializer? */
static int is_used_list(fx_run *r, LLVMValueRef v)
{
    static const char *const lists[] = {"llvm.used", "llvm.compiler.used"};
    for (size_t i = 0; i < 2; i++) {
        LLVMValueRef u = LLVMGetNamedGlobal(r->module, lists[i]);
        if (u && !LLVMIsDeclaration(u) && LLVMGetInitializer(u) == v)
            return 1;
    }
    return 0;
}

/* Every use of s->global becomes a load of s->slot right before the instruction (for a PHI, at the
   end of the incoming block). */
static void redirect_uses(fx_run *r, fx_slot *s, LLVMBuilderRef b)
{
    LLVMValueRef g = s->global;
    drop_from_used(r, "llvm.used", g);
    drop_from_used(r, "llvm.compiler.used", g);
    if (!LLVMGetFirstUse(g))
        return; /* nothing left uses it: no slot */
    if (s->here) {
        size_t len;
        const char *gname = LLVMGetValueName2(g, &len);
        say(r, HP_POLICY_DIAG_FIX_ERROR, g,
            "variable '%s' has %llu bytes here but %" PRIu32 " in '%s': a fix cannot change the size or layout of "
            "the running program's variables",
            gname, (unsigned long long)s->here, s->size, r->map->image_name);
        return;
    }
    r->host->expand_constant_users(r->host->ctx, g);
    make_slot_variable(r, s);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(r->ctx, 0);
    for (;;) {
        LLVMUseRef use = LLVMGetFirstUse(g);
        if (!use)
            break;
        LLVMValueRef user = LLVMGetUser(use);
        if (!LLVMIsAInstruction(user)) {
            size_t len;
            const char *gname = LLVMGetValueName2(g, &len);
            if (is_used_list(r, user))
                continue; /* cannot happen: dropped above */
            say(r, HP_POLICY_DIAG_FIX_ERROR, NULL,
                "'%s' of '%s' is used in the initializer of a variable of the fix: fix mode cannot redirect it (set "
                "it at run time, or use the target's variable)",
                gname, r->map->image_name);
            return;
        }
        unsigned n = (unsigned)LLVMGetNumOperands(user);
        if (LLVMIsAPHINode(user)) {
            for (unsigned i = 0; i < n; i++) {
                if (LLVMGetOperand(user, i) != g)
                    continue;
                LLVMBasicBlockRef in = LLVMGetIncomingBlock(user, i);
                LLVMPositionBuilderBefore(b, LLVMGetBasicBlockTerminator(in));
                LLVMValueRef ld = LLVMBuildLoad2(b, ptr, s->slot, "");
                LLVMSetOperand(user, i, ld);
            }
            continue;
        }
        LLVMPositionBuilderBefore(b, user);
        LLVMValueRef ld = LLVMBuildLoad2(b, ptr, s->slot, "");
        for (unsigned i = 0; i < n; i++)
            if (LLVMGetOperand(user, i) == g)
                LLVMSetOperand(user, i, ld);
    }
}

/* ------------------------------------------------------------------------- */
/* The manifest fragment                                                      */
/* ------------------------------------------------------------------------- */

typedef struct fx_builder {
    fx_run *r;
    LLVMValueRef *fields;
    size_t n, cap;
} fx_builder;

static void field(fx_builder *fb, LLVMValueRef v)
{
    if (!HP_VEC_PUSH(fb->fields, fb->n, fb->cap, v))
        fb->r->oom = 1;
}

static void u32(fx_builder *fb, uint32_t v)
{
    field(fb, LLVMConstInt(LLVMInt32TypeInContext(fb->r->ctx), v, 0));
}

static void u64(fx_builder *fb, uint64_t v)
{
    field(fb, LLVMConstInt(LLVMInt64TypeInContext(fb->r->ctx), v, 0));
}

static void bytes(fx_builder *fb, const void *p, size_t n)
{
    field(fb, LLVMConstStringInContext2(fb->r->ctx, (const char *)p, n, 1));
}

/* An hp_fix_ptr: the pointer, then on 32-bit targets 4 zero bytes. */
static void ptr(fx_builder *fb, LLVMValueRef p)
{
    field(fb, p);
    if (fb->r->target.arch == HPP_ARCH_X86)
        u32(fb, 0);
}

static LLVMValueRef cstring(fx_run *r, const char *s)
{
    LLVMValueRef init = LLVMConstStringInContext2(r->ctx, s, strlen(s), 0);
    LLVMValueRef g = LLVMAddGlobal(r->module, LLVMTypeOf(init), "__hp_fix.str");
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
    LLVMSetInitializer(g, init);
    return g;
}

static uint32_t machine_number(const fx_run *r)
{
    int pe = r->target.fmt == HPP_FMT_COFF;
    if (r->target.arch == HPP_ARCH_X64)
        return pe ? 0x8664u : 62u;
    return pe ? 0x14cu : 3u;
}

static void emit_manifest(fx_run *r)
{
    fx_builder fb = {r, NULL, 0, 0};
    const hp_map *m = r->map;
    size_t nslots = 0;
    for (size_t i = 0; i < r->nslots; i++)
        nslots += r->slots[i].slot != NULL;
    uint32_t size = (uint32_t)(sizeof(hp_fix_header) + r->nentries * sizeof(hp_fix_entry) +
                               nslots * sizeof(hp_fix_slot));
    bytes(&fb, HP_FIX_MAGIC, HP_FIX_MAGIC_SIZE);
    u32(&fb, HP_FIX_VERSION);
    u32(&fb, size);
    u32(&fb, 0); /* flags: HP_FIX_F_CHECKED is set by the link step */
    u32(&fb, (uint32_t)r->nentries);
    u32(&fb, (uint32_t)nslots);
    u32(&fb, r->target.fmt == HPP_FMT_COFF ? HP_FIX_FORMAT_PE : HP_FIX_FORMAT_ELF);
    u32(&fb, machine_number(r));
    u32(&fb, m->time_date_stamp);
    u32(&fb, m->size_of_image);
    u32(&fb, m->checksum);
    u32(&fb, m->has_codeview ? m->codeview_age : 0);
    u32(&fb, m->build_id_len);
    uint8_t guid[16] = {0};
    if (m->has_codeview)
        memcpy(guid, m->codeview_guid, 16);
    bytes(&fb, guid, 16);
    uint8_t bid[32] = {0};
    memcpy(bid, m->build_id, m->build_id_len <= 32 ? m->build_id_len : 32);
    bytes(&fb, bid, 32);
    u32(&fb, 0); /* reserved[2] */
    u32(&fb, 0);
    ptr(&fb, cstring(r, m->image_name));
    ptr(&fb, cstring(r, r->unit_name));
    for (size_t i = 0; i < r->nentries; i++) {
        const fx_entry *e = &r->entries[i];
        ptr(&fb, cstring(r, e->name));
        ptr(&fb, e->fn);
        u32(&fb, e->rva);
        u32(&fb, e->hash_len);
        u64(&fb, e->hash);
        u32(&fb, 0);
        u32(&fb, 0);
    }
    for (size_t i = 0; i < r->nslots; i++) {
        const fx_slot *s = &r->slots[i];
        if (!s->slot)
            continue;
        ptr(&fb, cstring(r, s->name));
        ptr(&fb, s->slot);
        u32(&fb, s->kind);
        u32(&fb, s->rva);
        u32(&fb, s->size);
        u32(&fb, 0);
    }
    if (r->oom) {
        free(fb.fields);
        return;
    }
    LLVMValueRef init = LLVMConstStructInContext(r->ctx, fb.fields, (unsigned)fb.n, 1);
    free(fb.fields);
    LLVMValueRef g = LLVMAddGlobal(r->module, LLVMTypeOf(init), "__hp_fix.manifest");
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetInitializer(g, init);
    LLVMSetSection(g, HP_FIX_SECTION);
    LLVMSetAlignment(g, 8);
    /* keep it: appended to llvm.used */
    LLVMValueRef used = LLVMGetNamedGlobal(r->module, "llvm.used");
    LLVMTypeRef pty = LLVMPointerTypeInContext(r->ctx, 0);
    LLVMValueRef *vals = NULL;
    unsigned n = 0;
    if (used && !LLVMIsDeclaration(used)) {
        LLVMValueRef old = LLVMGetInitializer(used);
        n = (unsigned)LLVMGetNumOperands(old);
        vals = malloc((n + 1) * sizeof *vals);
        if (!vals) {
            r->oom = 1;
            return;
        }
        for (unsigned i = 0; i < n; i++)
            vals[i] = LLVMGetOperand(old, i);
        LLVMDeleteGlobal(used);
    } else {
        vals = malloc(sizeof *vals);
        if (!vals) {
            r->oom = 1;
            return;
        }
    }
    vals[n++] = g;
    LLVMValueRef arr = LLVMConstArray2(pty, vals, n);
    LLVMValueRef nu = LLVMAddGlobal(r->module, LLVMTypeOf(arr), "llvm.used");
    LLVMSetLinkage(nu, LLVMAppendingLinkage);
    LLVMSetSection(nu, "llvm.metadata");
    LLVMSetInitializer(nu, arr);
    free(vals);
}

/* ------------------------------------------------------------------------- */
/* The run                                                                    */
/* ------------------------------------------------------------------------- */

static int map_matches_target(fx_run *r)
{
    const hp_map *m = r->map;
    int pe = strcmp(m->format, "pe") == 0;
    int x64 = strcmp(m->machine, "x64") == 0;
    if (pe != (r->target.fmt == HPP_FMT_COFF) || x64 != (r->target.arch == HPP_ARCH_X64)) {
        say(r, HP_POLICY_DIAG_FIX_ERROR, NULL, "the map '%s' is of a %s %s image; this unit is compiled for %s %s",
            r->policy->fix_map_path, m->format, m->machine, r->target.fmt == HPP_FMT_COFF ? "pe" : "elf",
            r->target.arch == HPP_ARCH_X64 ? "x64" : "x86");
        return 0;
    }
    return 1;
}

hp_status hp_policy_fix(const hp_policy *policy, LLVMModuleRef module, const hp_policy_host *host)
{
    if (!policy || !module)
        return HP_ERR_ARGUMENT;
    if (!policy->fix_map)
        return HP_OK;
    if (!host || !host->expand_constant_users || !host->delete_body)
        return HP_ERR_ARGUMENT;
    fx_run *r = calloc(1, sizeof *r);
    if (!r)
        return HP_ERR_NO_MEMORY;
    r->policy = policy;
    r->map = policy->fix_map;
    r->host = host;
    r->module = module;
    r->ctx = LLVMGetModuleContext(module);
    r->target = hpp_target_of(module);
    hp_status st = HP_OK;
    char unit[4096];

    if (r->target.arch == HPP_ARCH_OTHER || r->target.fmt == HPP_FMT_OTHER) {
        say(r, HP_POLICY_DIAG_FIX_ERROR, NULL, "fix mode needs an x86 or x86-64 COFF or ELF target");
        goto out;
    }
    if (!map_matches_target(r))
        goto out;
    if (policy->fix_unit) {
        if (hp_path_unit(policy->fix_unit, NULL, "/", unit, sizeof unit) != HP_OK) {
            say(r, HP_POLICY_DIAG_FIX_ERROR, NULL, "fix-unit='%s' is not a usable path", policy->fix_unit);
            goto out;
        }
        /* fix-unit= names the release's unit as the map has it: relative, no leading '/' */
        memmove(unit, unit + (policy->fix_unit[0] != '/'), strlen(unit + (policy->fix_unit[0] != '/')) + 1);
    } else if (!hpp_unit_name(policy, module, unit, sizeof unit)) {
        say(r, HP_POLICY_DIAG_FIX_ERROR, NULL, "cannot tell this translation unit's name: pass fix-unit=PATH");
        goto out;
    }
    r->unit_name = unit;
    r->unit = hp_map_unit(r->map, unit);
    if (r->unit < 0) {
        say(r, HP_POLICY_DIAG_FIX_ERROR, NULL,
            "the map of '%s' has no translation unit '%s' (%zu units%s%s): compile with the release's source-root=, "
            "or name the release's unit with fix-unit=",
            r->map->image_name, unit, r->map->unit_count, r->map->unit_count ? ", e.g. " : "",
            r->map->unit_count ? r->map->units[0] : "");
        goto out;
    }

    for (LLVMValueRef g = LLVMGetFirstGlobal(module); g; g = LLVMGetNextGlobal(g))
        classify_variable(r, g);
    for (LLVMValueRef fn = LLVMGetFirstFunction(module); fn; fn = LLVMGetNextFunction(fn))
        classify_function(r, fn);
    if (r->errors || r->oom)
        goto out;

    /* Bodies of the target's functions go first: what they used needs no slot. */
    for (size_t i = 0; i < r->ntargets; i++) {
        LLVMValueRef g = r->targets[i];
        if (LLVMIsAFunction(g) && !LLVMIsDeclaration(g)) {
            host->delete_body(host->ctx, g);
            LLVMSetLinkage(g, LLVMExternalLinkage);
            LLVMSetComdat(g, NULL);
        } else if (LLVMIsAGlobalVariable(g) && !LLVMIsDeclaration(g)) {
            LLVMSetInitializer(g, NULL); /* now a declaration: its initializer's references go */
            LLVMSetLinkage(g, LLVMExternalLinkage);
            LLVMSetComdat(g, NULL);
        }
    }
    drop_dead_locals(r);
    report_own(r);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(r->ctx);
    for (size_t i = 0; i < r->nslots && !r->errors; i++)
        redirect_uses(r, &r->slots[i], b);
    LLVMDisposeBuilder(b);
    if (r->errors || r->oom)
        goto out;
    for (size_t i = 0; i < r->ntargets; i++) {
        LLVMValueRef g = r->targets[i];
        if (LLVMGetFirstUse(g))
            continue; /* cannot happen after redirect_uses; keep the declaration rather than crash */
        if (LLVMIsAFunction(g))
            LLVMDeleteFunction(g);
        else
            LLVMDeleteGlobal(g);
    }
    /* ELF: nothing of the fix may interpose on the program's symbols, or be interposed on */
    if (r->target.fmt == HPP_FMT_ELF) {
        for (LLVMValueRef fn = LLVMGetFirstFunction(module); fn; fn = LLVMGetNextFunction(fn))
            if (!LLVMIsDeclaration(fn) && !is_local(fn))
                LLVMSetVisibility(fn, LLVMHiddenVisibility);
        for (LLVMValueRef g = LLVMGetFirstGlobal(module); g; g = LLVMGetNextGlobal(g))
            if (!LLVMIsDeclaration(g) && !is_local(g) && LLVMGetLinkage(g) != LLVMAppendingLinkage)
                LLVMSetVisibility(g, LLVMHiddenVisibility);
    }
    emit_manifest(r);

out:
    if (r->oom)
        st = HP_ERR_NO_MEMORY;
    else if (r->errors)
        st = HP_ERR_BAD_VALUE;
    for (size_t i = 0; i < r->nslots; i++)
        free(r->slots[i].name);
    for (size_t i = 0; i < r->nentries; i++)
        free(r->entries[i].name);
    for (size_t i = 0; i < r->nown; i++)
        free(r->own[i].name);
    free(r->own);
    free(r->slots);
    free(r->entries);
    free(r->targets);
    free(r);
    return st;
}
