/*
 * fixplan.c — the corrected build compared with the release (hp_link_fixplan.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_fixplan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_tools.h"

typedef struct planner {
    const hp_map *map;
    hp_link_fix_plan *plan;
    size_t cap;
    int oom;
} planner;

static void add(planner *p, const char *unit, const char *name, int kind, int what, char *note)
{
    hp_link_fix_item it = {unit, name, (uint8_t)kind, (uint8_t)what, note};
    if (p->oom || !HP_VEC_PUSH(p->plan->items, p->plan->count, p->cap, it)) {
        free(note);
        p->oom = 1;
        return;
    }
    switch (what) {
    case HP_FIX_CHANGED: p->plan->changed++; break;
    case HP_FIX_NEW: p->plan->added++; break;
    case HP_FIX_GONE: p->plan->gone++; break;
    default: p->plan->refused++; break;
    }
}

static char *fmt(planner *p, const char *f, ...) HP_TOOLS_PRINTF(2, 3);

static char *fmt(planner *p, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s) {
        p->oom = 1;
        return NULL;
    }
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    return s;
}

/* The release's function `name` of unit `ui` (its own for a static one), or NULL. */
static const hp_map_function *release_function(const hp_map *map, int32_t ui, const char *name, int is_static)
{
    const hp_map_symbol *s = ui >= 0 ? hp_map_find(map, ui, name) : NULL;
    if (s && s->kind == HP_MAP_FUNCTION)
        return hp_map_function_at(map, s->rva);
    if (is_static)
        return NULL;
    return hp_map_function_named(map, name);
}

/* "inlines a(), b()": the functions `fn` calls in the source that the corrected build has no code for;
   NULL when there are none, and with *oom set when out of memory. */
static char *inlined_note(const hp_link_fix_unit *u, const char *fn, int *oom)
{
    char *note = NULL;
    size_t len = 0;
    for (size_t i = 0; i < u->call_count; i++) {
        const hp_link_call *c = &u->calls[i];
        if (strcmp(c->caller, fn) != 0 || strcmp(c->callee, fn) == 0 ||
            hp_link_digest_find(u->digests, c->callee, HP_DIGEST_FUNCTION))
            continue;
        int dup = 0;
        for (size_t k = 0; k < i && !dup; k++)
            dup = strcmp(u->calls[k].caller, fn) == 0 && strcmp(u->calls[k].callee, c->callee) == 0;
        if (dup)
            continue;
        size_t add_len = strlen(c->callee) + 4;
        char *n = realloc(note, len + add_len + 16);
        if (!n) {
            *oom = 1;
            break;
        }
        note = n;
        len += (size_t)sprintf(note + len, "%s%s()", len ? ", " : "inlines ", c->callee);
    }
    return note;
}

/* The length of `name` without LLVM's ".<digits>" suffix (a renamed global, or one field of a variable
   split into its fields: stats.0, stats.1). */
static size_t base_len(const char *name)
{
    size_t n = strlen(name), i = n;
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
        i--;
    return i > 1 && i < n && name[i - 1] == '.' ? i - 1 : n;
}

/* A variable of `in` with the base name of `name` but another name (absent from `other`, when
   `other` is given): the same C variable, named or split into fields differently by the two builds. */
static const hp_link_digest *renamed(const hp_link_digest_unit *in, const hp_link_digest_unit *other,
                                     const char *name)
{
    size_t b = base_len(name);
    for (size_t i = 0; in && i < in->count; i++) {
        const hp_link_digest *x = &in->entries[i];
        if (x->kind == HP_DIGEST_VARIABLE && base_len(x->name) == b && strncmp(x->name, name, b) == 0 &&
            strcmp(x->name, name) != 0 && (!other || !hp_link_digest_find(other, x->name, HP_DIGEST_VARIABLE)))
            return x;
    }
    return NULL;
}

static void compare_unit(planner *p, const hp_link_code *release, const hp_link_fix_unit *u, const char *path,
                         int32_t ui)
{
    const hp_link_digest_unit *now = u->digests, *was = hp_link_code_unit(release, path);
    for (size_t i = 0; i < now->count && !p->oom; i++) {
        const hp_link_digest *e = &now->entries[i];
        const hp_link_digest *r = was ? hp_link_digest_find(was, e->name, e->kind) : NULL;
        if (e->kind == HP_DIGEST_FUNCTION) {
            if (!r) {
                add(p, path, e->name, e->kind, HP_FIX_NEW, NULL);
            } else if (r->digest == e->digest) {
                p->plan->unchanged++;
            } else {
                const hp_map_function *f = release_function(p->map, ui, e->name, e->is_static);
                if (!f || !f->patchable)
                    add(p, path, e->name, e->kind, HP_FIX_REFUSED,
                        fmt(p, "its code changed, but the release has no patchable function '%s'%s", e->name,
                            f ? " (its entry is not hotpatchable)" : " (excluded, or not compiled by the plugin)"));
                else
                    add(p, path, e->name, e->kind, HP_FIX_CHANGED, inlined_note(u, e->name, &p->oom));
            }
            continue;
        }
        /* a field of the release's variable the compiler kept apart in one build and not in the other
           (a field the release never wrote is a constant there, the fix's own here) */
        const hp_link_digest *was_as = r ? NULL : renamed(was, NULL, e->name);
        if (was_as)
            add(p, path, e->name, e->kind, HP_FIX_REFUSED,
                fmt(p, "its layout changed: the release has it as '%s', this build as '%s' (the compiler split it "
                       "into its fields differently); the running program's variable keeps the old layout",
                    was_as->name, e->name));
        else if (!r)
            add(p, path, e->name, e->kind, HP_FIX_NEW,
                fmt(p, "a new variable: the fix's own, at its initial value when the fix is loaded"));
        else if (r->size != e->size)
            add(p, path, e->name, e->kind, HP_FIX_REFUSED,
                fmt(p, "its size changed from %u to %u bytes (type or layout): the running program's variable "
                       "keeps its size, and code of both versions would use it",
                    (unsigned)r->size, (unsigned)e->size));
        else if (r->digest != e->digest)
            add(p, path, e->name, e->kind, HP_FIX_REFUSED,
                fmt(p, "its initial value changed: the running program's variable keeps the value it has; set it "
                       "from a replaced function, or give the new value a new variable"));
    }
    for (size_t i = 0; was && i < was->count && !p->oom; i++) {
        const hp_link_digest *r = &was->entries[i];
        if (!hp_link_digest_find(now, r->name, r->kind) &&
            !(r->kind == HP_DIGEST_VARIABLE && renamed(now, was, r->name)))
            add(p, path, r->name, r->kind, HP_FIX_GONE,
                fmt(p, "%s", r->kind == HP_DIGEST_FUNCTION
                                 ? "not in the corrected build (removed, or inlined into its callers now): the "
                                   "release's copy stays"
                                 : "not in the corrected build: the release's variable stays"));
    }
}

hp_status hp_link_fix_compare(const hp_map *map, const hp_link_code *release, const hp_link_fix_unit *units,
                              size_t unit_count, hp_link_fix_plan **out, char *msg, size_t msg_size)
{
    if (!map || !release || (!units && unit_count) || !out)
        return HP_ERR_ARGUMENT;
    *out = NULL;
    hp_link_fix_plan *plan = calloc(1, sizeof *plan);
    if (!plan)
        return HP_ERR_NO_MEMORY;
    planner p = {map, plan, 0, 0};
    for (size_t i = 0; i < unit_count && !p.oom; i++) {
        const hp_link_fix_unit *u = &units[i];
        const char *path = u->release_path ? u->release_path : u->digests->unit;
        int32_t ui = hp_map_unit(map, path);
        if (ui >= 0 && !hp_link_code_unit(release, path)) {
            hp_msg_set(msg, msg_size,
                       "the release has no code digests of unit '%s' (it was linked as bitcode, or without the "
                       "plugin): name the functions to replace by hand (hotpatch_add_fix FUNCTIONS)",
                       path);
            hp_link_fix_plan_destroy(plan);
            return HP_ERR_FORMAT;
        }
        plan->units++;
        compare_unit(&p, release, u, path, ui);
    }
    if (p.oom) {
        hp_link_fix_plan_destroy(plan);
        hp_msg_set(msg, msg_size, "out of memory");
        return HP_ERR_NO_MEMORY;
    }
    *out = plan;
    return HP_OK;
}

hp_status hp_link_fix_annotate(hp_link_fix_plan *plan, const hp_link_fix_unit *units, size_t unit_count)
{
    if (!plan || (!units && unit_count))
        return HP_ERR_ARGUMENT;
    int oom = 0;
    for (size_t k = 0; k < unit_count && !oom; k++) {
        const hp_link_fix_unit *u = &units[k];
        const char *path = u->release_path ? u->release_path : u->digests->unit;
        for (size_t i = 0; i < plan->count && !oom; i++) {
            hp_link_fix_item *it = &plan->items[i];
            if (it->what == HP_FIX_CHANGED && !it->note && strcmp(it->unit, path) == 0)
                it->note = inlined_note(u, it->name, &oom);
        }
    }
    return oom ? HP_ERR_NO_MEMORY : HP_OK;
}

void hp_link_fix_plan_destroy(hp_link_fix_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->count; i++)
        free(plan->items[i].note);
    free(plan->items);
    free(plan);
}
