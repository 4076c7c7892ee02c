/*
 * module.c — patch modules: hp_module_load, hp_module_unload, hp_module_info,
 * hp_module_entry (hotpatch.h) and the registry of loaded modules. The format
 * of the manifest is hotpatch_fix.h, its reader manifest.c; the PE and ELF
 * parts are module_pe.c and module_elf.c, the OS parts os_windows.c and
 * os_linux.c.
 *
 * Loading a module, in order (hp_module_load):
 *   1. read the file, find its HP_FIX_SECTION and check the manifest against
 *      the file's own image at link-time addresses (nothing is loaded yet);
 *   2. call the verify callback with the section's bytes as stored;
 *   3. load it (LoadLibrary / dlopen) and read the manifest again where the
 *      loader mapped it, pointers now relocated: it must say what the file
 *      said;
 *   4. find the target image (an address given, else PE: by name, ELF: by
 *      build-id) and check its identity;
 *   5. per entry: inside the target's code, the hash of its bytes as the
 *      release image has them (where the engine redirects the function now,
 *      the two bytes it saved stand in for its short jump; PE: bytes the loader
 *      relocated count with the file's values, hp_pe_unrelocate), patchable;
 *      per slot: inside the target;
 *   6. room in the registry for everything it will record (nothing can fail
 *      after the commit but a retarget, which is undone);
 *   7. fill the slots: SYMBOL with the target's address, PREVIOUS with what is
 *      in force before this module (a function no module replaces yet: the
 *      engine's original, stored by the commit before the swap);
 *   8. one transaction applies every entry no module replaces yet; then every
 *      entry another module replaces already is retargeted to this module
 *      ("stacking": the newest module is in force).
 * Any failure after step 3 unloads the module again, with nothing applied.
 *
 * Stacking: per target function the registry keeps the modules that replace
 * it, oldest first, each with what was in force below it (`prev`: the engine's
 * original for the first). The engine has one patch per function; the top
 * module's replacement is in its slot. Unloading a module that is
 *   - on top, alone: the patch is removed (one transaction for all such);
 *   - on top, with others below: the patch is retargeted to the one below;
 *   - below another: that one's PREVIOUS slots for the function are rewritten
 *     to what the unloaded one's pointed at.
 *
 * Serialisation: g_mod_lock guards the registry (gm) and is held through
 * every load (from step 3 on) and unload; it is always taken before the
 * engine's lock, never while holding it (the engine never calls in here), so
 * the two cannot deadlock. The verify callback runs without it.
 *
 * Below this file (it calls them, nothing of them calls it): manifest.c (the
 * reader), module_pe.c / module_elf.c, message.c (hp_msgf), the OS layer and
 * the engine's public functions plus its two accessors (module.h).
 */
#include "module.h"
#include "os.h"
#include "ptrmap.h"

/* What this process loads: PE on Windows, ELF on Linux; x86 and x86-64. */
#if (defined(_WIN32) || defined(__linux__)) && (defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || \
                                                defined(_M_IX86))
#define MOD_SUPPORTED 1
#else
#define MOD_SUPPORTED 0
#endif
#if defined(_WIN32)
#define MOD_FORMAT HP_FIX_FORMAT_PE
#define MOD_FORMAT_NAME "PE"
#if defined(__x86_64__) || defined(_M_X64)
#define MOD_MACHINE 0x8664u /* IMAGE_FILE_MACHINE_AMD64 */
#else
#define MOD_MACHINE 0x14Cu /* IMAGE_FILE_MACHINE_I386 */
#endif
#else
#define MOD_FORMAT HP_FIX_FORMAT_ELF
#define MOD_FORMAT_NAME "ELF"
#if defined(__x86_64__)
#define MOD_MACHINE 62u /* EM_X86_64 */
#else
#define MOD_MACHINE 3u /* EM_386 */
#endif
#endif

/* ------------------------------------------------------------------------- */
/* Small helpers                                                              */
/* ------------------------------------------------------------------------- */

static size_t str_len(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

static int str_eq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static char *str_dup(const char *s)
{
    size_t n = str_len(s);
    char *d = hp_os_alloc(n + 1);
    if (d != NULL)
        memcpy(d, s, n + 1);
    return d;
}

#if defined(_WIN32)
static int all_zero(const uint8_t *p, size_t n)
{
    unsigned acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}
#endif

/* Stores into a module's slot (its writable data): threads may be reading it. */
static void slot_store(uintptr_t *slot, uintptr_t v)
{
    __atomic_store_n(slot, v, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------------- */
/* The registry                                                               */
/* ------------------------------------------------------------------------- */

/* One function a loaded module replaces. */
typedef struct mod_entry {
    const char *name;        /* in the module's memory */
    uintptr_t target;        /* its entry in the target image */
    const void *replacement; /* in the module */
    uint32_t rva;
    struct mod_stack *stack; /* the modules replacing the function (set once applied) */
    /* while loading */
    int stacked;             /* another module replaces it already */
    void **first_prev;       /* its first PREVIOUS slot: the commit stores the original there */
    hp_patch *new_patch;     /* the commit's patch of it (not stacked) */
} mod_entry;

/* One slot a loaded module's code reads. */
typedef struct mod_slot {
    uintptr_t *slot;
    uint32_t kind;
    uintptr_t target; /* SYMBOL: the target's symbol; PREVIOUS: the replaced function's entry */
    size_t entry;     /* PREVIOUS: the index of the module's entry for that function */
} mod_slot;

struct hp_module {
    struct hp_module *next;
    char *path;              /* as given */
    hp_os_image lib;         /* the loaded module (lib.handle for hp_os_lib_close) */
    const char *target_name; /* in the module's memory */
    uintptr_t target_base;
    uint32_t flags;          /* HP_MODULE_* of the load */
    mod_entry *entries;
    size_t nentries;
    mod_slot *slots;
    size_t nslots;
};

/* A module on a function's stack and what was in force below it. */
typedef struct mod_layer {
    hp_module *mod;
    size_t entry;     /* index into mod->entries */
    const void *prev; /* what its PREVIOUS slots hold: the engine's original, or the replacement below */
} mod_layer;

/* The modules replacing one function, oldest first; the last one's replacement is in force. */
typedef struct mod_stack {
    uintptr_t target;
    hp_patch *patch; /* the engine's one patch of the function */
    mod_layer *layers;
    size_t n, cap;
} mod_stack;

static hp_os_mutex g_mod_lock = HP_OS_MUTEX_INIT;

/* Guarded by g_mod_lock: every loaded module, newest first; function entry -> its mod_stack. */
static struct {
    hp_module *list;
    hp_ptrmap stacks;
} gm = {NULL, HP_PTRMAP_INIT(4)};

static int registered_locked(const hp_module *mod)
{
    for (const hp_module *m = gm.list; m != NULL; m = m->next)
        if (m == mod)
            return 1;
    return 0;
}

static mod_stack *stack_of_locked(uintptr_t target)
{
    uintptr_t v;
    return hp_ptrmap_get(&gm.stacks, target, &v) ? (mod_stack *)v : NULL;
}

static size_t layer_index(const mod_stack *s, const hp_module *mod)
{
    size_t i = 0;
    while (i < s->n && s->layers[i].mod != mod)
        i++;
    return i;
}

static void module_free(hp_module *m)
{
    if (m == NULL)
        return;
    hp_os_free(m->path);
    hp_os_free(m->entries);
    hp_os_free(m->slots);
    hp_os_free(m);
}

/* ------------------------------------------------------------------------- */
/* Loading                                                                    */
/* ------------------------------------------------------------------------- */

/* Everything one hp_module_load() works with (on the heap: the views are large). */
typedef struct load_ctx {
    const char *path; /* as given (messages) */
    char *file;       /* the file it names (hp_os_module_path) */
    char *msg;
    size_t msg_size;
    uint8_t *data; /* the file */
    size_t size;
    hp_file_view fileview;
    hp_mf fmf;        /* the manifest as the file has it */
    hp_live_view mod; /* the loaded module */
    hp_mf mmf;        /* the manifest where the loader mapped it */
    hp_os_image timg; /* the target image */
    hp_live_view tgt;
    hp_module *m;
    uint64_t delta;           /* PE: target_delta() */
    int delta_known;
    mod_stack **fresh_stacks; /* preallocated for the entries no module replaces yet */
    size_t nfresh;
    int loaded;
} load_ctx;

/* 1. The file: its manifest section, checked against its own image. */
static hp_status load_file(load_ctx *c)
{
    char why[256] = "";
    hp_status st = hp_os_module_path(c->path, &c->file, why, sizeof why);
    if (st == HP_OK)
        st = hp_os_read_file(c->file, &c->data, &c->size, why, sizeof why);
    if (st != HP_OK) {
        if (st == HP_ERR_NO_MEMORY)
            hp_msgf(why, sizeof why, "out of memory");
        if (c->file != NULL && !str_eq(c->file, c->path))
            hp_msgf(c->msg, c->msg_size, "cannot read %s (%s): %s", c->path, c->file, why);
        else
            hp_msgf(c->msg, c->msg_size, "cannot read %s: %s", c->path, why);
        return st;
    }
#if defined(_WIN32)
    st = hp_pe_file_view(c->data, c->size, &c->fileview, why, sizeof why);
#else
    st = hp_elf_file_view(c->data, c->size, &c->fileview, why, sizeof why);
#endif
    if (st != HP_OK) {
        if (st == HP_ERR_FORMAT)
            hp_msgf(c->msg, c->msg_size, "%s is not a %s module: %s", c->path, MOD_FORMAT_NAME, why);
        else
            hp_msgf(c->msg, c->msg_size, "%s: %s", c->path, why);
        return st;
    }
    if (c->fileview.img.machine != MOD_MACHINE) {
        hp_msgf(c->msg, c->msg_size, "%s is built for machine 0x%x; this process is 0x%x", c->path,
                c->fileview.img.machine, MOD_MACHINE);
        return HP_ERR_MODULE;
    }
    c->fileview.img.format = MOD_FORMAT; /* the manifest must name a target of this process's format and machine */
    return hp_mf_parse(hp_file_view_bytes(&c->fileview), c->fileview.section_size, &c->fileview.img, &c->fmf, c->msg,
                       c->msg_size);
}

/* The manifest where the loader mapped it says what the file said (pointers aside). */
static int same_manifest(const hp_mf *a, const hp_mf *b)
{
    if (a->nentries != b->nentries || a->nslots != b->nslots || a->nfragments != b->nfragments ||
        a->format != b->format || a->machine != b->machine || a->time_date_stamp != b->time_date_stamp ||
        a->size_of_image != b->size_of_image || a->checksum != b->checksum || a->codeview_age != b->codeview_age ||
        a->build_id_len != b->build_id_len || memcmp(a->codeview_guid, b->codeview_guid, 16) != 0 ||
        memcmp(a->build_id, b->build_id, 32) != 0)
        return 0;
    for (size_t i = 0; i < a->nentries; i++) {
        const hp_mf_entry *x = &a->entries[i], *y = &b->entries[i];
        if (x->target_rva != y->target_rva || x->hash_len != y->hash_len || x->hash != y->hash)
            return 0;
    }
    for (size_t i = 0; i < a->nslots; i++) {
        const hp_mf_slot *x = &a->slots[i], *y = &b->slots[i];
        if (x->kind != y->kind || x->target_rva != y->target_rva || x->size != y->size)
            return 0;
    }
    return 1;
}

/* 3. The loaded module: its view, the manifest in its memory. */
static hp_status load_mapped(load_ctx *c)
{
    char why[256];
    hp_status st;
#if defined(_WIN32)
    st = hp_pe_live_view(c->m->lib.base, c->m->lib.size, &c->mod, why, sizeof why);
#else
    st = hp_elf_live_view(c->m->lib.base, c->m->lib.phdr, c->m->lib.phnum, &c->mod, why, sizeof why);
#endif
    if (st != HP_OK) {
        hp_msgf(c->msg, c->msg_size, "%s as loaded: %s", c->path, why);
        return HP_ERR_MODULE;
    }
    c->mod.img.format = MOD_FORMAT;
    c->mod.img.machine = MOD_MACHINE;
    c->mod.img.ptr_size = (unsigned)sizeof(void *);
    const hp_mf_region *r = NULL;
    uintptr_t at = 0;
    if (c->fileview.section_addr <= UINTPTR_MAX - c->m->lib.base) {
        at = c->m->lib.base + (uintptr_t)c->fileview.section_addr;
        r = hp_mf_region_of(&c->mod.img, at, c->fileview.section_size);
    }
    if (r == NULL || r->bytes == NULL || c->fileview.section_size > r->nbytes - (at - r->lo)) {
        hp_msgf(c->msg, c->msg_size, "%s: the %s section is not mapped", c->path, HP_FIX_SECTION);
        return HP_ERR_MODULE;
    }
    st = hp_mf_parse((const uint8_t *)at, c->fileview.section_size, &c->mod.img, &c->mmf, c->msg, c->msg_size);
    if (st != HP_OK)
        return st;
    if (!same_manifest(&c->fmf, &c->mmf)) {
        hp_msgf(c->msg, c->msg_size, "%s: the manifest of the loaded module is not the one of the file", c->path);
        return HP_ERR_MODULE;
    }
    return HP_OK;
}

#if !defined(_WIN32)
/* ELF: the loaded image whose build-id is the manifest's. */
typedef struct find_id_ctx {
    const hp_mf *mf;
    hp_live_view *scratch;
    hp_os_image found;
    int n;
} find_id_ctx;

static int find_by_build_id(void *vctx, const hp_os_image *img)
{
    find_id_ctx *f = vctx;
    char why[8];
    if (hp_elf_live_view(img->base, img->phdr, img->phnum, f->scratch, why, sizeof why) != HP_OK)
        return 0;
    if (f->scratch->build_id_len != f->mf->build_id_len ||
        memcmp(f->scratch->build_id, f->mf->build_id, f->mf->build_id_len) != 0)
        return 0;
    f->found = *img;
    f->n++;
    return 1;
}

/* The file name of a path (after its last '/'). */
static const char *base_name(const char *path)
{
    const char *b = path;
    for (; *path != '\0'; path++)
        if (*path == '/')
            b = path + 1;
    return b;
}

/* ELF: a loaded image whose file is named like the target (to tell "another build" from "not loaded"). */
typedef struct find_name_ctx {
    const char *name;
    int found;
} find_name_ctx;

static int find_by_name(void *vctx, const hp_os_image *img)
{
    find_name_ctx *f = vctx;
    if (img->name == NULL || img->name[0] == '\0' || !str_eq(base_name(img->name), f->name))
        return 0;
    f->found = 1;
    return 1;
}
#endif

/* 4. The target image: found, and the build the module was made for. */
static hp_status load_target(load_ctx *c, const hp_module_options *opts)
{
    const hp_mf *mf = &c->mmf;
    const char *tname = (const char *)(uintptr_t)mf->target_name;
    char why[256];
    if (opts != NULL && opts->target != NULL) {
        if (!hp_os_image_at(opts->target, &c->timg)) {
            hp_msgf(c->msg, c->msg_size, "no loaded image holds the target address %p given for %s",
                    (void *)(uintptr_t)opts->target, tname);
            return HP_ERR_TARGET_NOT_LOADED;
        }
    } else {
#if defined(_WIN32)
        if (!hp_os_image_named(tname, &c->timg)) {
            hp_msgf(c->msg, c->msg_size, "the target %s is not loaded", tname);
            return HP_ERR_TARGET_NOT_LOADED;
        }
#else
        if (mf->build_id_len == 0) {
            hp_msgf(c->msg, c->msg_size, "target has no build-id: the manifest of %s names none for %s", c->path,
                    tname);
            return HP_ERR_IDENTITY;
        }
        find_id_ctx f;
        memset(&f, 0, sizeof f);
        f.mf = mf;
        f.scratch = &c->tgt;
        hp_os_images_foreach(find_by_build_id, &f);
        if (f.n == 0) {
            find_name_ctx byname = {base_name(tname), 0};
            hp_os_images_foreach(find_by_name, &byname);
            if (byname.found) {
                hp_msgf(c->msg, c->msg_size,
                        "the loaded %s is another build than %s was made for: no loaded image has its build-id",
                        tname, c->path);
                return HP_ERR_IDENTITY;
            }
            hp_msgf(c->msg, c->msg_size, "the target %s (the build-id the module names) is not loaded", tname);
            return HP_ERR_TARGET_NOT_LOADED;
        }
        c->timg = f.found;
#endif
    }
    if (c->timg.base == c->m->lib.base) {
        hp_msgf(c->msg, c->msg_size, "%s names itself as its target", c->path);
        return HP_ERR_MODULE;
    }
    hp_status st;
#if defined(_WIN32)
    st = hp_pe_live_view(c->timg.base, c->timg.size, &c->tgt, why, sizeof why);
#else
    st = hp_elf_live_view(c->timg.base, c->timg.phdr, c->timg.phnum, &c->tgt, why, sizeof why);
#endif
    if (st != HP_OK) {
        hp_msgf(c->msg, c->msg_size, "the target %s: %s", tname, why);
        return HP_ERR_IDENTITY;
    }

    /* 5. identity: the build the module was made for */
    const char *field = NULL;
    uint64_t have = 0, want = 0;
#if defined(_WIN32)
    if (c->tgt.machine != mf->machine) {
        field = "machine";
        have = c->tgt.machine;
        want = mf->machine;
    } else if (c->tgt.time_date_stamp != mf->time_date_stamp) {
        field = "TimeDateStamp";
        have = c->tgt.time_date_stamp;
        want = mf->time_date_stamp;
    } else if (c->tgt.size_of_image != mf->size_of_image) {
        field = "SizeOfImage";
        have = c->tgt.size_of_image;
        want = mf->size_of_image;
    } else if (c->tgt.checksum != mf->checksum) {
        field = "CheckSum";
        have = c->tgt.checksum;
        want = mf->checksum;
    } else if (mf->codeview_age != 0 || !all_zero(mf->codeview_guid, sizeof mf->codeview_guid)) {
        if (!c->tgt.has_codeview) {
            hp_msgf(c->msg, c->msg_size, "the loaded %s is another build: it has no CodeView record", tname);
            return HP_ERR_IDENTITY;
        }
        if (memcmp(c->tgt.codeview_guid, mf->codeview_guid, 16) != 0) {
            hp_msgf(c->msg, c->msg_size, "the loaded %s is another build: its CodeView GUID differs", tname);
            return HP_ERR_IDENTITY;
        }
        if (c->tgt.codeview_age != mf->codeview_age) {
            field = "CodeView age";
            have = c->tgt.codeview_age;
            want = mf->codeview_age;
        }
    }
#else
    if (mf->build_id_len == 0) {
        hp_msgf(c->msg, c->msg_size, "target has no build-id: the manifest of %s names none for %s", c->path, tname);
        return HP_ERR_IDENTITY;
    }
    if (c->tgt.build_id_len == 0) {
        hp_msgf(c->msg, c->msg_size, "the image holding the target address has no build-id; %s is built for %s",
                c->path, tname);
        return HP_ERR_IDENTITY;
    }
    if (c->tgt.build_id_len != mf->build_id_len || memcmp(c->tgt.build_id, mf->build_id, mf->build_id_len) != 0) {
        hp_msgf(c->msg, c->msg_size, "the loaded image is another build than %s: its build-id differs", tname);
        return HP_ERR_IDENTITY;
    }
#endif
    if (field != NULL) {
        hp_msgf(c->msg, c->msg_size, "the loaded %s is another build: %s 0x%llx, the module was built for 0x%llx",
                tname, field, (unsigned long long)have, (unsigned long long)want);
        return HP_ERR_IDENTITY;
    }
    return HP_OK;
}

#if defined(_WIN32)
/* PE: the target's load address minus its preferred ImageBase (0: not relocated). The mapped
   ImageBase is the preferred one when the loader left it so (Wine); Windows writes the load address
   there when it relocates, so then the file's header says. Found once per load, when first needed. */
static uint64_t target_delta(load_ctx *c)
{
    if (!c->delta_known) {
        uint64_t pref = c->tgt.image_base;
        char path[1024];
        uint8_t head[4096];
        size_t got = 0;
        if (pref == (uint64_t)c->tgt.rva_base && hp_os_image_file(c->tgt.rva_base, path, sizeof path) &&
            hp_os_read_head(path, head, sizeof head, &got) == HP_OK && !hp_pe_head_image_base(head, got, &pref))
            pref = c->tgt.image_base;
        c->delta = (uint64_t)c->tgt.rva_base - pref;
        c->delta_known = 1;
    }
    return c->delta;
}
#endif

/* hp_fix_hash of the `len` bytes at `at` (RVA `rva` of the target) as the release image has them:
   where the engine redirects the function now, the two bytes it saved stand in for its short jump;
   PE: bytes the loader relocated get their values as the file has them. */
static hp_status release_hash(load_ctx *c, uintptr_t at, uint32_t rva, uint32_t len, uint64_t *out)
{
    uint8_t *copy = hp_os_alloc(len);
    if (copy == NULL)
        return HP_ERR_NO_MEMORY;
    const volatile uint8_t *p = (const volatile uint8_t *)at; /* live code: read each byte once */
    for (uint32_t i = 0; i < len; i++)
        copy[i] = p[i];
    uint32_t site_off = 0;
    uint8_t orig[2];
    if (hp_engine_site_saved((const void *)at, &site_off, orig))
        for (uint32_t i = site_off; i < len && i - site_off < 2u; i++)
            copy[i] = orig[i - site_off];
    hp_status st = HP_OK;
#if defined(_WIN32)
    long fixups = hp_pe_unrelocate(&c->tgt, rva, copy, len, 0);
    if (fixups < 0)
        st = HP_ERR_MODULE;
    else if (fixups > 0 && target_delta(c) != 0)
        hp_pe_unrelocate(&c->tgt, rva, copy, len, target_delta(c));
#else
    (void)c;
    (void)rva;
#endif
    *out = hp_fix_hash(copy, len);
    hp_os_free(copy);
    return st;
}

/* 5. Every entry and slot against the target: where, hash, patchable; who replaces it now. */
static hp_status load_entries(load_ctx *c)
{
    hp_module *m = c->m;
    const hp_mf *mf = &c->mmf;
    const char *tname = (const char *)(uintptr_t)mf->target_name;
    for (size_t i = 0; i < mf->nentries; i++) {
        const hp_mf_entry *e = &mf->entries[i];
        mod_entry *d = &m->entries[i];
        d->name = (const char *)(uintptr_t)e->name;
        d->replacement = (const void *)(uintptr_t)e->replacement;
        d->rva = e->target_rva;
        d->target = c->tgt.rva_base + e->target_rva;
        const hp_mf_region *r = hp_mf_region_of(&c->tgt.img, d->target, e->hash_len);
        if (d->target < c->tgt.rva_base || r == NULL || !(r->flags & HP_MF_REGION_X) || r->bytes == NULL ||
            e->hash_len > r->nbytes - (d->target - r->lo)) {
            hp_msgf(c->msg, c->msg_size, "entry %s: RVA 0x%x (+%u bytes) is not code of %s", d->name, d->rva,
                    e->hash_len, tname);
            return HP_ERR_MODULE;
        }
        uint64_t h = 0;
        hp_status hst = release_hash(c, d->target, d->rva, e->hash_len, &h);
        if (hst != HP_OK) {
            hp_msgf(c->msg, c->msg_size, "entry %s: %s", d->name,
                    hst == HP_ERR_NO_MEMORY ? "out of memory" : "the target's base relocations are malformed");
            return hst;
        }
        if (h != e->hash) {
            hp_msgf(c->msg, c->msg_size,
                    "entry %s: the bytes at RVA 0x%x of %s differ from those the module was built for (hash "
                    "0x%llx, the module's 0x%llx)",
                    d->name, d->rva, tname, (unsigned long long)h, (unsigned long long)e->hash);
            return HP_ERR_HASH;
        }
        hp_site site;
        memset(&site, 0, sizeof site);
        hp_status st = hp_probe((const void *)d->target, &site);
        mod_stack *s = stack_of_locked(d->target);
        if (st == HP_OK && !(site.flags & HP_SITE_F_THUNK) && s == NULL)
            continue;
        if (st == HP_OK && s != NULL) {
            hp_msgf(c->msg, c->msg_size, "entry %s: a module's patch of it was removed outside hp_module_unload()",
                    d->name);
            return HP_ERR_REDIRECTED;
        }
        if (st == HP_OK) {
            hp_msgf(c->msg, c->msg_size, "entry %s: RVA 0x%x of %s is a thunk, not a function", d->name, d->rva,
                    tname);
            return HP_ERR_NOT_PATCHABLE;
        }
        if (st == HP_ERR_ALREADY_PATCHED) {
            hp_patch *live = NULL;
            if (s != NULL && hp_lookup((const void *)d->target, &live) == HP_OK && live == s->patch) {
                d->stacked = 1;
                continue;
            }
            if (s != NULL) {
                hp_msgf(c->msg, c->msg_size, "entry %s: a module's patch of it was changed outside the module API",
                        d->name);
                return HP_ERR_REDIRECTED;
            }
            hp_msgf(c->msg, c->msg_size, "entry %s is redirected by hp_apply(), not by a patch module", d->name);
            return HP_ERR_ALREADY_PATCHED;
        }
        if (st == HP_ERR_NOT_PATCHABLE)
            hp_msgf(c->msg, c->msg_size, "entry %s is not patchable: %s (%s)", d->name,
                    hp_site_reason_str(site.reason), hp_site_reason_text(site.reason));
        else
            hp_msgf(c->msg, c->msg_size, "entry %s: %s", d->name, hp_status_str(st));
        return st == HP_ERR_ARGUMENT ? HP_ERR_NOT_PATCHABLE : st;
    }
    for (size_t j = 0; j < mf->nslots; j++) {
        const hp_mf_slot *s = &mf->slots[j];
        mod_slot *d = &m->slots[j];
        d->slot = (uintptr_t *)(uintptr_t)s->slot;
        d->kind = s->kind;
        d->target = c->tgt.rva_base + s->target_rva;
        if (s->kind == HP_FIX_SLOT_PREVIOUS) {
            size_t k = 0;
            while (m->entries[k].rva != s->target_rva) /* hp_mf_parse proved that one does */
                k++;
            d->entry = k;
            continue;
        }
        if (d->target < c->tgt.rva_base || hp_mf_region_of(&c->tgt.img, d->target, s->size ? s->size : 1) == NULL) {
            hp_msgf(c->msg, c->msg_size, "slot %s: RVA 0x%x (%u bytes) is outside %s",
                    (const char *)(uintptr_t)s->name, s->target_rva, s->size, tname);
            return HP_ERR_MODULE;
        }
    }
    return HP_OK;
}

/* 6. Room for what the registry records once applied: a stack per new function, a layer per stacked one. */
static hp_status load_reserve(load_ctx *c)
{
    hp_module *m = c->m;
    size_t nfresh = 0;
    for (size_t i = 0; i < m->nentries; i++)
        nfresh += !m->entries[i].stacked;
    if (hp_ptrmap_reserve(&gm.stacks, nfresh) != HP_OK)
        return HP_ERR_NO_MEMORY;
    if (nfresh != 0) {
        c->fresh_stacks = hp_os_calloc(nfresh, sizeof *c->fresh_stacks);
        if (c->fresh_stacks == NULL)
            return HP_ERR_NO_MEMORY;
    }
    for (size_t i = 0; i < m->nentries; i++) {
        mod_entry *e = &m->entries[i];
        if (e->stacked) {
            mod_stack *s = stack_of_locked(e->target);
            if (s->n == s->cap) {
                size_t cap = 2 * s->cap;
                mod_layer *l = hp_os_realloc(s->layers, cap * sizeof *l);
                if (l == NULL)
                    return HP_ERR_NO_MEMORY;
                s->layers = l;
                s->cap = cap;
            }
            continue;
        }
        mod_stack *s = hp_os_calloc(1, sizeof *s);
        if (s == NULL)
            return HP_ERR_NO_MEMORY;
        c->fresh_stacks[c->nfresh++] = s;
        s->cap = 2;
        s->layers = hp_os_calloc(s->cap, sizeof *s->layers);
        if (s->layers == NULL)
            return HP_ERR_NO_MEMORY;
    }
    return HP_OK;
}

static void free_fresh_stacks(load_ctx *c)
{
    for (size_t k = 0; k < c->nfresh; k++) {
        hp_os_free(c->fresh_stacks[k]->layers);
        hp_os_free(c->fresh_stacks[k]);
    }
    hp_os_free(c->fresh_stacks);
    c->fresh_stacks = NULL;
    c->nfresh = 0;
}

/* Run by the commit before its first swap (engine lock held): every PREVIOUS slot of a new function
   gets the original the commit stored in the function's first one. */
static void copy_previous(void *vctx)
{
    const hp_module *m = vctx;
    for (size_t j = 0; j < m->nslots; j++) {
        const mod_slot *s = &m->slots[j];
        const mod_entry *e = &m->entries[s->entry];
        if (s->kind == HP_FIX_SLOT_PREVIOUS && !e->stacked && (void **)s->slot != e->first_prev)
            slot_store(s->slot, __atomic_load_n((uintptr_t *)e->first_prev, __ATOMIC_RELAXED));
    }
}

/* The replacement in force for a stacked function: its top module's. */
static const void *top_replacement(const mod_stack *s)
{
    const mod_layer *t = &s->layers[s->n - 1];
    return t->mod->entries[t->entry].replacement;
}

/* 7 and 8. Fill the slots, apply, retarget; on failure nothing stays applied. */
static hp_status load_apply(load_ctx *c)
{
    hp_module *m = c->m;
    for (size_t j = 0; j < m->nslots; j++) {
        mod_slot *s = &m->slots[j];
        mod_entry *e = &m->entries[s->entry];
        if (s->kind == HP_FIX_SLOT_SYMBOL)
            slot_store(s->slot, s->target);
        else if (e->stacked)
            slot_store(s->slot, (uintptr_t)top_replacement(stack_of_locked(e->target)));
        else if (e->first_prev == NULL)
            e->first_prev = (void **)s->slot;
    }

    hp_status st = HP_OK;
    if (c->nfresh != 0) {
        hp_txn *txn = NULL;
        st = hp_txn_begin(&txn);
        if (st == HP_OK)
            st = hp_txn_before_swap(txn, copy_previous, m);
        for (size_t i = 0; st == HP_OK && i < m->nentries; i++) {
            mod_entry *e = &m->entries[i];
            if (e->stacked)
                continue;
            st = hp_txn_apply(txn, (void *)e->target, e->replacement, e->first_prev, &e->new_patch);
            if (st != HP_OK)
                hp_msgf(c->msg, c->msg_size, "entry %s: %s", e->name, hp_status_str(st));
        }
        if (st == HP_OK) {
            st = hp_txn_commit(txn);
            if (st != HP_OK)
                hp_msgf(c->msg, c->msg_size, "applying the entries of %s: %s", c->path, hp_status_str(st));
        } else {
            if (c->msg != NULL && c->msg_size != 0 && c->msg[0] == '\0')
                hp_msgf(c->msg, c->msg_size, "applying the entries of %s: %s", c->path, hp_status_str(st));
            hp_txn_abort(txn);
        }
        if (st != HP_OK)
            return st;
    }

    /* the functions other modules replace already: this one is in force from now on */
    size_t done = 0;
    for (; done < m->nentries; done++) {
        mod_entry *e = &m->entries[done];
        if (!e->stacked)
            continue;
        st = hp_retarget(stack_of_locked(e->target)->patch, e->replacement);
        if (st != HP_OK) {
            hp_msgf(c->msg, c->msg_size, "entry %s: switching to the module's code: %s", e->name, hp_status_str(st));
            break;
        }
    }
    if (st != HP_OK) {
        /* undo: the retargets back to the module below, then remove what the commit applied */
        for (size_t i = 0; i < done; i++) {
            mod_entry *e = &m->entries[i];
            if (e->stacked) {
                const mod_stack *s = stack_of_locked(e->target);
                hp_retarget(s->patch, top_replacement(s));
            }
        }
        if (c->nfresh != 0) {
            hp_txn *txn = NULL;
            hp_status u = hp_txn_begin(&txn);
            for (size_t i = 0; u == HP_OK && i < m->nentries; i++)
                if (!m->entries[i].stacked)
                    u = hp_txn_remove(txn, m->entries[i].new_patch);
            u = u == HP_OK ? hp_txn_commit(txn) : (hp_txn_abort(txn), u);
            if (u != HP_OK) /* the transaction could not even be made: one at a time */
                for (size_t i = 0; i < m->nentries; i++)
                    if (!m->entries[i].stacked)
                        hp_remove(m->entries[i].new_patch);
        }
        return st;
    }

    /* record: nothing can fail from here on (load_reserve made the room) */
    size_t k = 0;
    for (size_t i = 0; i < m->nentries; i++) {
        mod_entry *e = &m->entries[i];
        mod_stack *s;
        if (e->stacked) {
            s = stack_of_locked(e->target);
            s->layers[s->n].prev = top_replacement(s);
        } else {
            s = c->fresh_stacks[k++];
            s->target = e->target;
            s->patch = e->new_patch;
            s->layers[0].prev = hp_original(e->new_patch);
            hp_ptrmap_put_noresize(&gm.stacks, e->target, (uintptr_t)s);
        }
        s->layers[s->n].mod = m;
        s->layers[s->n].entry = i;
        s->n++;
        e->stack = s;
    }
    hp_os_free(c->fresh_stacks);
    c->fresh_stacks = NULL;
    c->nfresh = 0;
    m->next = gm.list;
    gm.list = m;
    return HP_OK;
}

/* 3 to 8, with g_mod_lock held. */
static hp_status load_locked(load_ctx *c, const hp_module_options *opts)
{
    char why[256];
    hp_module *m = c->m;
    hp_status st = hp_os_lib_open(c->file, &m->lib, why, sizeof why);
    if (st != HP_OK) {
        hp_msgf(c->msg, c->msg_size, "cannot load %s: %s", c->path, why);
        return st;
    }
    c->loaded = 1;
    for (const hp_module *o = gm.list; o != NULL; o = o->next) {
        if (o->lib.base == m->lib.base) {
            hp_msgf(c->msg, c->msg_size, "%s is loaded already (as %s)", c->path, o->path);
            return HP_ERR_ALREADY_PATCHED;
        }
    }
    st = load_mapped(c);
    if (st == HP_OK)
        st = load_target(c, opts);
    if (st == HP_OK) {
        m->target_name = (const char *)(uintptr_t)c->mmf.target_name;
        m->target_base = c->tgt.rva_base;
        m->nentries = c->mmf.nentries;
        m->nslots = c->mmf.nslots;
        m->entries = m->nentries ? hp_os_calloc(m->nentries, sizeof *m->entries) : NULL;
        m->slots = m->nslots ? hp_os_calloc(m->nslots, sizeof *m->slots) : NULL;
        if ((m->nentries && m->entries == NULL) || (m->nslots && m->slots == NULL)) {
            hp_msgf(c->msg, c->msg_size, "out of memory");
            st = HP_ERR_NO_MEMORY;
        }
    }
    if (st == HP_OK)
        st = load_entries(c);
    if (st == HP_OK) {
        st = load_reserve(c);
        if (st != HP_OK)
            hp_msgf(c->msg, c->msg_size, "out of memory");
    }
    if (st == HP_OK)
        st = load_apply(c);
    return st;
}

hp_status hp_module_load(const char *path, const hp_module_options *opts, hp_module **out)
{
    char *msg = opts != NULL ? opts->message : NULL;
    size_t msg_size = msg != NULL ? opts->message_size : 0;
    if (msg != NULL && msg_size != 0)
        msg[0] = '\0';
    if (path == NULL || out == NULL) {
        hp_msgf(msg, msg_size, "hp_module_load: %s is NULL", path == NULL ? "path" : "out");
        return HP_ERR_ARGUMENT;
    }
#if !MOD_SUPPORTED
    hp_msgf(msg, msg_size, "patch modules are not supported on this platform");
    return HP_ERR_UNSUPPORTED;
#else
    load_ctx *c = hp_os_calloc(1, sizeof *c);
    hp_module *m = hp_os_calloc(1, sizeof *m);
    char *pcopy = str_dup(path);
    if (c == NULL || m == NULL || pcopy == NULL) {
        hp_os_free(c);
        hp_os_free(m);
        hp_os_free(pcopy);
        hp_msgf(msg, msg_size, "out of memory");
        return HP_ERR_NO_MEMORY;
    }
    c->path = path;
    c->msg = msg;
    c->msg_size = msg_size;
    c->m = m;
    m->path = pcopy;
    m->flags = opts != NULL ? opts->flags : 0;

    hp_status st = load_file(c);
    if (st == HP_OK && opts != NULL && opts->verify != NULL &&
        !opts->verify(opts->verify_ctx, path, c->fileview.section, c->fileview.section_size)) {
        hp_msgf(msg, msg_size, "the verify callback refused %s", path);
        st = HP_ERR_REFUSED;
    }
    if (st == HP_OK) {
        hp_os_mutex_lock(&g_mod_lock);
        st = load_locked(c, opts);
        if (st != HP_OK && c->loaded)
            hp_os_lib_close(m->lib.handle);
        hp_os_mutex_unlock(&g_mod_lock);
    }
    free_fresh_stacks(c);
    hp_mf_free(&c->fmf);
    hp_mf_free(&c->mmf);
    hp_file_view_free(&c->fileview);
    hp_os_free(c->file);
    hp_os_free(c->data);
    hp_os_free(c);
    if (st != HP_OK) {
        module_free(m);
        return st;
    }
    *out = m;
    return HP_OK;
#endif
}

/* ------------------------------------------------------------------------- */
/* Unloading                                                                  */
/* ------------------------------------------------------------------------- */

/* What unloading does to one of the module's functions. */
enum { ROLE_REMOVE = 1, ROLE_RETARGET = 2, ROLE_BELOW = 3 };

static int role_of(const mod_stack *s, size_t pos)
{
    if (pos + 1 < s->n)
        return ROLE_BELOW;
    return s->n == 1 ? ROLE_REMOVE : ROLE_RETARGET;
}

/* Revert every entry of `m` (g_mod_lock held); on failure nothing is reverted. */
static hp_status unload_locked(hp_module *m)
{
    /* the entries this module has in force must still be as the engine left them */
    for (size_t i = 0; i < m->nentries; i++) {
        const mod_entry *e = &m->entries[i];
        const mod_stack *s = e->stack;
        if (role_of(s, layer_index(s, m)) == ROLE_BELOW)
            continue;
        hp_patch *live = NULL;
        hp_status st = hp_probe((const void *)e->target, NULL);
        if (st == HP_ERR_ALREADY_PATCHED && (hp_lookup((const void *)e->target, &live) != HP_OK || live != s->patch))
            st = HP_ERR_REDIRECTED;
        if (st != HP_ERR_ALREADY_PATCHED)
            return st == HP_OK || st == HP_ERR_NOT_PATCHABLE ? HP_ERR_REDIRECTED : st;
    }
    /* removals: one transaction, checked now, committed last */
    hp_txn *txn = NULL;
    hp_status st = hp_txn_begin(&txn);
    for (size_t i = 0; st == HP_OK && i < m->nentries; i++) {
        const mod_stack *s = m->entries[i].stack;
        if (role_of(s, layer_index(s, m)) == ROLE_REMOVE)
            st = hp_txn_remove(txn, s->patch);
    }
    /* retargets to the module below */
    size_t done = 0;
    for (; st == HP_OK && done < m->nentries; done++) {
        const mod_stack *s = m->entries[done].stack;
        size_t pos = layer_index(s, m);
        if (role_of(s, pos) == ROLE_RETARGET) {
            const mod_layer *below = &s->layers[pos - 1];
            st = hp_retarget(s->patch, below->mod->entries[below->entry].replacement);
            if (st != HP_OK)
                break;
        }
    }
    if (st == HP_OK)
        st = hp_txn_commit(txn);
    else
        hp_txn_abort(txn);
    if (st != HP_OK) {
        for (size_t i = 0; i < done; i++) { /* back to this module */
            const mod_stack *s = m->entries[i].stack;
            if (role_of(s, layer_index(s, m)) == ROLE_RETARGET)
                hp_retarget(s->patch, m->entries[i].replacement);
        }
        return st;
    }
    /* the module above one that leaves calls what that one called; the registry forgets it */
    for (size_t i = 0; i < m->nentries; i++) {
        mod_stack *s = m->entries[i].stack;
        size_t pos = layer_index(s, m);
        if (role_of(s, pos) == ROLE_BELOW) {
            mod_layer *above = &s->layers[pos + 1];
            for (size_t j = 0; j < above->mod->nslots; j++) {
                const mod_slot *sl = &above->mod->slots[j];
                if (sl->kind == HP_FIX_SLOT_PREVIOUS && sl->target == s->target)
                    slot_store(sl->slot, (uintptr_t)s->layers[pos].prev);
            }
            above->prev = s->layers[pos].prev;
        }
        for (size_t k = pos; k + 1 < s->n; k++)
            s->layers[k] = s->layers[k + 1];
        s->n--;
        if (s->n == 0) {
            hp_ptrmap_del(&gm.stacks, s->target);
            hp_os_free(s->layers);
            hp_os_free(s);
        }
    }
    hp_module **pp = &gm.list;
    while (*pp != m)
        pp = &(*pp)->next;
    *pp = m->next;
    return HP_OK;
}

hp_status hp_module_unload(hp_module *mod)
{
    if (mod == NULL)
        return HP_ERR_ARGUMENT;
    hp_os_mutex_lock(&g_mod_lock);
    hp_status st = registered_locked(mod) ? unload_locked(mod) : HP_ERR_STALE_HANDLE;
    if (st == HP_OK && !(mod->flags & HP_MODULE_KEEP_LOADED))
        hp_os_lib_close(mod->lib.handle);
    hp_os_mutex_unlock(&g_mod_lock);
    if (st == HP_OK)
        module_free(mod);
    return st;
}

/* ------------------------------------------------------------------------- */
/* Describing                                                                 */
/* ------------------------------------------------------------------------- */

hp_status hp_module_info(const hp_module *mod, hp_module_summary *out)
{
    if (mod == NULL || out == NULL)
        return HP_ERR_ARGUMENT;
    hp_status st = HP_ERR_STALE_HANDLE;
    hp_os_mutex_lock(&g_mod_lock);
    if (registered_locked(mod)) {
        out->path = mod->path;
        out->target_name = mod->target_name;
        out->target_base = (const void *)mod->target_base;
        out->entry_count = mod->nentries;
        out->slot_count = mod->nslots;
        st = HP_OK;
    }
    hp_os_mutex_unlock(&g_mod_lock);
    return st;
}

hp_status hp_module_entry(const hp_module *mod, size_t index, hp_module_entry_info *out)
{
    if (mod == NULL || out == NULL)
        return HP_ERR_ARGUMENT;
    hp_status st = HP_ERR_STALE_HANDLE;
    hp_os_mutex_lock(&g_mod_lock);
    if (registered_locked(mod)) {
        if (index >= mod->nentries) {
            st = HP_ERR_ARGUMENT;
        } else {
            const mod_entry *e = &mod->entries[index];
            out->name = e->name;
            out->target = (void *)e->target;
            out->replacement = e->replacement;
            out->patch = e->stack->patch;
            st = HP_OK;
        }
    }
    hp_os_mutex_unlock(&g_mod_lock);
    return st;
}
