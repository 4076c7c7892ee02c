/*
 * engine.c — the patch engine: hp_probe, hp_apply, hp_remove, hp_retarget,
 * hp_original, hp_lookup and transactions, following the patch protocol of
 * README.md ("The runtime (libhotpatch)"). Around it: ptrmap.c (the pointer
 * map, sorting), protbatch.c (page protections, the page batch), execmem.c
 * (slot and code memory), reloc.c (trampolines), os_linux.c / os_windows.c.
 *
 * Every change of code goes through one function, commit_locked(), which runs
 * a list of operations (apply / remove) as one transaction, one function per
 * step:
 *
 *   1. validate (commit_validate_locked) every operation against the live
 *      bytes (site rules, our own registry, duplicates) — nothing is written;
 *      an operation that hp_txn_apply/remove validated while nothing was
 *      committed since only has its live bytes checked again;
 *   2. allocate (commit_allocate_locked) everything that can fail (handle pool
 *      room, site records, slots, trampolines, thunks, map capacity), and build
 *      every trampoline into a scratch buffer (relocation can fail);
 *   3. unprotect (hp_batch_unprotect_locked): make the touched pages writable,
 *      one protection change per run of neighbouring pages of one protection
 *      and one owner (a failure restores the pages already changed:
 *      HP_ERR_PROTECT);
 *   4. write (commit_write_locked) trampolines, thunks, slots (only those that
 *      do not hold the replacement already: a re-apply of the same replacement
 *      leaves the slot page alone) and new padding jumps; store the caller's
 *      out pointers, then run the transaction's hp_txn_before_swap() callback
 *      (module.c copies originals into a module's PREVIOUS slots) — from here
 *      on nothing can fail;
 *   5. sync (hp_os_sync_cores) every core's instruction stream;
 *   6. swap (commit_swap_locked) every entry with one atomic 16-bit store
 *      (apply: EB xx; remove: the original two bytes), and publish;
 *   7. sync again; restore (commit_restore_locked) every page's protection
 *      exactly.
 * The OS is told about written code once per run of code pages after steps 4
 * and 6 (hp_batch_code_written_locked; FlushInstructionCache on Windows), not
 * once per site. A failure in steps 1-3 undoes what they did
 * (commit_undo_locked).
 *
 * The target given may be a thunk that leads to the function (an import thunk,
 * or an entry of an incremental-link jump table: thunk.h): validation follows
 * it, and everything after works on the function's entry.
 *
 * hp_txn_apply/remove check an operation when it is added. The usual one (a
 * site of the registry, as we left it) is checked without the lock, under the
 * sequence lock g.seq (txn_add_known_nolock); anything else takes the lock.
 * Per function, a 2,000-function transaction then costs about 10 ns to add
 * and 15 ns to commit beyond the system calls (Windows x64 under Wine).
 *
 * Byte layouts written to code memory (E = function entry, S = swap site:
 * E, or E + 4 after endbr; L = length of the padding jump, which always ends
 * exactly at E so that one short jump from S reaches its first byte):
 *
 *   x64 slot form    [E-6,  E)   FF 25 disp32          jmp qword ptr [rip+disp32] -> 8-byte slot in a
 *                                                      runtime slot page within ±2 GiB of E
 *   x64 inline form  [E-14, E)   FF 25 00000000 abs64  jmp qword ptr [rip+0]; the slot is the 8 bytes at
 *                                                      E-8 (used when padding >= 14 and E-8 is 8-aligned)
 *   x86 absolute     [E-6,  E)   FF 25 abs32           jmp dword ptr [abs32] -> 4-byte slot (padding >= 6)
 *   x86 thunk        [E-5,  E)   E9 rel32              jmp thunk; thunk = FF 25 abs32 -> 4-byte slot
 *                                                      (padding == 5)
 *   entry            [S, S+2)    EB xx                 jmp short E-L: xx = -(L + (S-E) + 2), e.g. EB F8
 *                                                      for the x64 slot form without endbr
 *
 * Retarget is one aligned pointer-sized store into the slot in every form; the
 * padding jump itself is written once per site and never again (a thread may
 * be executing it). Re-applying a site reuses its record: padding, slot and
 * original pointer.
 */
#include "execmem.h"
#include "hotpatch.h"
#include "module.h"
#include "os.h"
#include "protbatch.h"
#include "ptrmap.h"
#include "reloc.h"
#include "thunk.h"

/* The architecture switch point (ARM64 is planned: it gets its own forms and store). */
#if defined(__x86_64__) || defined(_M_X64)
#define HP_HOST_SUPPORTED 1
#define HP_HOST_X64 1
#define HP_HOST_MACHINE HP_MACHINE_X64
#elif defined(__i386__) || defined(_M_IX86)
#define HP_HOST_SUPPORTED 1
#define HP_HOST_X64 0
#define HP_HOST_MACHINE HP_MACHINE_X86
#else
#define HP_HOST_SUPPORTED 0
#define HP_HOST_X64 0
#define HP_HOST_MACHINE HP_MACHINE_UNKNOWN
#endif

/* Bytes read around an entry for the site rules: all the padding they may look at, and enough
   after the entry to decode endbr + a 15-byte instruction. */
#define READ_BEFORE HP_MAX_PAD
#define READ_AFTER 32u

/* Thunks followed at most from a target to its function (import thunk -> jump table entry ->
   function is the longest chain a linker makes). */
#define THUNK_HOPS 3

/* ------------------------------------------------------------------------- */
/* Types                                                                      */
/* ------------------------------------------------------------------------- */

typedef enum hp_form {
    HP_FORM_SLOT64 = 1,   /* FF 25 disp32 -> slot page */
    HP_FORM_INLINE64 = 2, /* FF 25 00000000 abs64 */
    HP_FORM_ABS32 = 3,    /* FF 25 abs32 -> slot */
    HP_FORM_THUNK32 = 4,  /* E9 rel32 -> FF 25 abs32 -> slot */
} hp_form;

/*
 * Everything known about one site this runtime has ever written a padding jump
 * into. Never freed (a thread may still run through the padding jump or the
 * trampoline): when the bytes show that the code was replaced (module unloaded
 * and another mapped at the same address), the record is only dropped from
 * the registry.
 */
typedef struct hp_site_rec {
    /* What a transaction reads and writes for every operation, in one 64-byte line (records are
       64-aligned: rec_alloc_locked). */
    _Alignas(64) uintptr_t site; /* S */
    struct hp_patch *live;/* the handle of the current redirection; NULL when not redirected */
    uintptr_t *slot;      /* the cell the padding jump reads its destination from (aligned) */
    /* The usual layout, a 6-byte padding jump right before the swap site (x64 slot form, x86
       absolute form, no endbr; word_fast = 1): the 8 bytes [S-6, S+2) as one little-endian word,
       not redirected and redirected, so that one load tells the state (rec_bytes_now). */
    uint64_t word_orig, word_swap;
    uint64_t mark;        /* serial of the last commit that took this site (duplicate check) */
    _Alignas(8) uint64_t txn_mark; /* serial of the last transaction an operation on this site was added to
                                      (read and written without the lock: 8-aligned on i386 too) */
    uint8_t orig[2];      /* the original two bytes at S */
    uint8_t swap[2];      /* EB xx */
    uint8_t word_fast;
    uint8_t pad_len;      /* L: the padding jump is [E - L, E) */
    uint8_t pad_fixed;    /* bytes of pad_bytes that never change (the inline form's abs64 does) */
    uint8_t form;         /* hp_form */

    uintptr_t entry;      /* E */
    void *original;       /* callable original behaviour (S+2 or a trampoline) */
    uint8_t pad_bytes[14];
    hp_site first;        /* the site rules' analysis when the site was first patched (hp_probe) */
} hp_site_rec;

/*
 * An applied redirection. Handles come from a pool that is never returned to
 * the OS (handle_pool): hp_remove puts a handle back (rec = NULL), so any
 * pointer can be checked for staleness without a map and without touching
 * freed memory. `original` is copied here so hp_original needs no lock.
 */
struct hp_patch {
    hp_site_rec *rec;          /* NULL while the handle is free */
    const void *replacement;
    void *original;
    struct hp_patch *next_free;
};

/* Chunk i of the pool holds HP_POOL_FIRST << i handles (the allocator refuses long before chunk 32). */
#define HP_POOL_CHUNKS 32
#define HP_POOL_FIRST ((size_t)64)

typedef struct handle_pool {
    struct hp_patch *chunk[HP_POOL_CHUNKS];
    size_t nchunks;
    struct hp_patch *free_list;
    size_t nfree;
} handle_pool;

/* ------------------------------------------------------------------------- */
/* Global state                                                               */
/* ------------------------------------------------------------------------- */

/*
 * The one lock of the runtime. Every public function of this file that
 * touches the state below takes it and leaves through one exit that releases
 * it; static helpers that need it held end in _locked. hp_original() and
 * hp_host_machine() take no lock (they read immutable data).
 */
static hp_os_mutex g_lock = HP_OS_MUTEX_INIT;

/*
 * The global state, protected by g_lock:
 *   xm        — slot pages and trampoline/thunk pages (execmem.h);
 *   sites     — site entry E -> hp_site_rec*: every site whose padding we wrote;
 *   pool      — every handle ever handed out (live: rec != NULL and rec->live == the handle);
 *   protcache — page -> packed hp_os_prot (native << 8 | flags) of target code pages, so that a
 *               one-function apply does not re-read /proc/self/maps. Flushed whenever a site
 *               record turns out stale (code remapped under us);
 *   gen       — bumped by every change of the above that can change a validation's verdict (a
 *               commit, a stale record dropped): an operation validated by hp_txn_apply/remove at
 *               the same gen only needs its live bytes checked again at commit;
 *   serial    — numbers handed out to each commit (hp_site_rec.mark) and each transaction
 *               (hp_site_rec.txn_mark), never reused;
 *   spare     — the operation array of the last transaction freed, handed to the next
 *               hp_txn_begin (a large transaction's array is not grown from nothing and freed
 *               again every time: that was page faults per transaction);
 *   seq       — a sequence lock over `sites`, the records' `live`, the handles' `rec` and `gen`:
 *               odd while a writer (who holds g_lock) changes them. hp_txn_apply/remove check the
 *               usual operation without g_lock (txn_add_known_nolock): they read those, and take
 *               the answer only when `seq` was even and unchanged throughout. An atomic
 *               instruction costs 20-40 ns on the VMs this runs on, and the lock would be taken
 *               once per function of a transaction;
 *   retired   — arrays `sites` outgrew: never freed, since such a reader may still be looking at
 *               one (their total is less than the current array's size). Records published in
 *               `sites` and handle chunks are never freed either;
 *   rec_slab  — site records, allocated REC_SLAB at a time, 64-byte aligned (a record's first
 *               line is all a transaction touches per operation), never freed; the records of a
 *               commit that failed wait in rec_free for the next fresh site.
 */
static struct {
    hp_xm_arena xm;
    hp_ptrmap sites;
    handle_pool pool;
    hp_ptrmap protcache;
    uint64_t gen;
    uint64_t serial;
    struct txn_op *spare;
    size_t spare_cap;
    _Alignas(8) uint64_t seq;
    hp_ptrent *retired[64];
    unsigned nretired;
    struct hp_site_rec *rec_slab; /* records: REC_SLAB of them per allocation, handed out in order */
    size_t rec_used;
    struct hp_site_rec *rec_free; /* records of failed commits, to hand out again */
} g = {HP_XM_ARENA_INIT, HP_PTRMAP_INIT(4), {{NULL}, 0, NULL, 0}, HP_PTRMAP_INIT(12), 1, 0, NULL, 0, 0, {NULL}, 0,
       NULL, 0, NULL};

/* The writer's side of g.seq (g_lock held): odd from write_begin_locked() to write_end_locked().
   Sections do not nest. */
static void write_begin_locked(void)
{
    __atomic_store_n(&g.seq, g.seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE); /* the odd value is visible before any change */
}

static void write_end_locked(void)
{
    __atomic_store_n(&g.seq, g.seq + 1, __ATOMIC_RELEASE); /* every change is visible before it */
}

/* ------------------------------------------------------------------------- */
/* Small helpers                                                              */
/* ------------------------------------------------------------------------- */

hp_machine hp_host_machine(void)
{
    return HP_HOST_MACHINE;
}

/* ------------------------------------------------------------------------- */
/* Records                                                                    */
/* ------------------------------------------------------------------------- */

#define REC_SLAB ((size_t)256)

/* A zeroed record, 64-byte aligned; NULL when out of memory. */
static hp_site_rec *rec_alloc_locked(void)
{
    hp_site_rec *r = g.rec_free;
    if (r != NULL) {
        g.rec_free = (hp_site_rec *)(void *)r->live; /* the free list's link */
    } else {
        if (g.rec_slab == NULL || g.rec_used == REC_SLAB) {
            /* never freed: a record outlives everything that points at it */
            uint8_t *raw = hp_os_alloc(REC_SLAB * sizeof(hp_site_rec) + 63);
            if (raw == NULL)
                return NULL;
            g.rec_slab = (hp_site_rec *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
            g.rec_used = 0;
        }
        r = &g.rec_slab[g.rec_used++];
    }
    memset(r, 0, sizeof *r);
    return r;
}

/* Give back a record nothing has seen (a fresh site of a commit that failed); NULL is a no-op. */
static void rec_free_locked(hp_site_rec *r)
{
    if (r == NULL)
        return;
    r->live = (struct hp_patch *)(void *)g.rec_free;
    g.rec_free = r;
}

/* ------------------------------------------------------------------------- */
/* Handles                                                                    */
/* ------------------------------------------------------------------------- */

/* Make sure `n` handles can be taken without allocating (a new chunk when short). */
static hp_status pool_reserve_locked(size_t n)
{
    handle_pool *p = &g.pool;
    while (p->nfree < n) {
        if (p->nchunks == HP_POOL_CHUNKS)
            return HP_ERR_NO_MEMORY;
        size_t count = HP_POOL_FIRST << p->nchunks;
        if ((count >> p->nchunks) != HP_POOL_FIRST || count > (size_t)-1 / sizeof(struct hp_patch))
            return HP_ERR_NO_MEMORY;
        struct hp_patch *c = hp_os_calloc(count, sizeof *c);
        if (c == NULL)
            return HP_ERR_NO_MEMORY;
        p->chunk[p->nchunks++] = c;
        for (size_t i = count; i-- > 0;) { /* lowest addresses first: handed out in order */
            c[i].next_free = p->free_list;
            p->free_list = &c[i];
        }
        p->nfree += count;
    }
    return HP_OK;
}

/* Take a handle (pool_reserve_locked made sure there is one). */
static struct hp_patch *pool_take_locked(void)
{
    struct hp_patch *h = g.pool.free_list;
    g.pool.free_list = h->next_free;
    g.pool.nfree--;
    h->next_free = NULL;
    return h;
}

static void pool_give_locked(struct hp_patch *h)
{
    h->rec = NULL; /* `original` stays: a late hp_original() still gets it until reuse */
    h->next_free = g.pool.free_list;
    g.pool.free_list = h;
    g.pool.nfree++;
}

/* The record of a live handle, or NULL for anything else (freed, never ours, misaligned). */
static hp_site_rec *handle_rec_locked(const hp_patch *h)
{
    uintptr_t a = (uintptr_t)h;
    for (size_t i = g.pool.nchunks; i-- > 0;) { /* the largest chunks hold most handles */
        uintptr_t base = (uintptr_t)g.pool.chunk[i];
        size_t size = (HP_POOL_FIRST << i) * sizeof(struct hp_patch);
        if (a >= base && a - base < size) {
            if ((a - base) % sizeof(struct hp_patch) != 0 || h->rec == NULL || h->rec->live != h)
                return NULL;
            return h->rec;
        }
    }
    return NULL;
}

/* One atomic 16-bit store at any address whose two bytes share a cache line (the site rules
   guarantee it for S). Inline asm: the address may be odd, which a C uint16_t store may not be. */
static void store16_atomic(uintptr_t at, const uint8_t b[2])
{
    uint16_t v = (uint16_t)(b[0] | (b[1] << 8));
#if HP_HOST_SUPPORTED
    __asm__ volatile("movw %w1, (%0)" : : "r"(at), "r"(v) : "memory");
#else
    __atomic_store_n((uint16_t *)at, v, __ATOMIC_SEQ_CST);
#endif
}

static void store_slot(uintptr_t *slot, uintptr_t v)
{
    __atomic_store_n(slot, v, __ATOMIC_RELEASE);
}

static void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int32_t get32le(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24));
}

/* ------------------------------------------------------------------------- */
/* Site analysis on live bytes                                                */
/* ------------------------------------------------------------------------- */

/* What validation learnt about one target, for the phases after it. */
typedef struct live_view {
    uintptr_t entry;
    size_t before, after; /* readable bytes around entry (capped at READ_BEFORE / READ_AFTER) */
    hp_site site;
} live_view;

/*
 * Look at the live bytes of `target`: which bytes around it are readable
 * (analyze_view then runs the site rules on them). HP_ERR_ARGUMENT when the
 * entry is not in executable memory.
 */
static hp_status view_locked(uintptr_t entry, live_view *v)
{
    if (entry < READ_BEFORE)
        return HP_ERR_ARGUMENT;
    uintptr_t pages[3] = {HP_PAGE_OF(entry - READ_BEFORE), HP_PAGE_OF(entry), HP_PAGE_OF(entry + READ_AFTER - 1)};
    hp_os_prot prots[3];
    /* most entries have all the bytes looked at on their own page: one lookup */
    size_t n = pages[0] == pages[2] ? 1 : hp_sort_unique(pages, 3);
    hp_status st = hp_prots_query_locked(&g.xm, &g.protcache, pages, n, prots);
    if (st != HP_OK)
        return st;
    size_t ie = n == 1 ? 0 : hp_find_sorted(pages, n, HP_PAGE_OF(entry));
    if (!(prots[ie].flags & HP_PROT_X) || !(prots[ie].flags & HP_PROT_R))
        return HP_ERR_ARGUMENT;
    v->entry = entry;
    v->before = READ_BEFORE;
    v->after = READ_AFTER;
    if (HP_PAGE_OF(entry - READ_BEFORE) != HP_PAGE_OF(entry) && !(prots[0].flags & HP_PROT_R))
        v->before = entry - HP_PAGE_OF(entry);
    if (HP_PAGE_OF(entry + READ_AFTER - 1) != HP_PAGE_OF(entry) && !(prots[n - 1].flags & HP_PROT_R))
        v->after = HP_PAGE_OF(entry) + HP_PAGE - entry;
    return HP_OK;
}

/* Run the site rules on the bytes view_locked found readable. */
static void analyze_view(live_view *v)
{
    uintptr_t entry = v->entry;
    hp_site_input in;
    memset(&in, 0, sizeof in);
    in.entry = (const uint8_t *)entry;
    in.before = v->before;
    in.after = v->after;
    in.address = entry;
    in.machine = HP_HOST_MACHINE;
    in.pad = 0;
    in.body_size = 0;
    hp_site_analyze(&in, &v->site);
}

/* Are the fixed bytes of the record's padding jump still in place? (At most 6 bytes: no memcmp call.) */
static int pad_intact(const hp_site_rec *r)
{
    const uint8_t *p = (const uint8_t *)(r->entry - r->pad_len);
    unsigned diff = 0;
    for (unsigned i = 0; i < r->pad_fixed; i++)
        diff |= (unsigned)(p[i] ^ r->pad_bytes[i]);
    return diff == 0;
}

/* What the bytes of a site of ours show now. */
typedef enum rec_bytes {
    RB_GONE = 0,    /* the padding no longer holds our jump: the code was replaced */
    RB_ORIG = 1,    /* our padding jump and the original entry: not redirected */
    RB_SWAP = 2,    /* our padding jump and our short jump: redirected */
    RB_FOREIGN = 3, /* our padding jump and an entry someone else wrote */
} rec_bytes;

static uint64_t get64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static rec_bytes rec_bytes_now(const hp_site_rec *r)
{
    if (r->word_fast) {
        uint64_t w; /* one load of [E-6, E+2): the padding jump, then the entry */
        __builtin_memcpy(&w, (const void *)(r->site - 6), sizeof w);
        if (w == r->word_swap)
            return RB_SWAP;
        if (w == r->word_orig)
            return RB_ORIG;
        return ((w ^ r->word_orig) & 0xFFFFFFFFFFFFull) == 0 ? RB_FOREIGN : RB_GONE;
    }
    if (!pad_intact(r))
        return RB_GONE;
    const uint8_t *s = (const uint8_t *)r->site;
    if (s[0] == r->swap[0] && s[1] == r->swap[1])
        return RB_SWAP;
    if (s[0] == r->orig[0] && s[1] == r->orig[1])
        return RB_ORIG;
    return RB_FOREIGN;
}

/* Fill the record's one-load check words when its layout allows (see word_fast). */
static void rec_words(hp_site_rec *r)
{
    uint8_t b[8];
    r->word_fast = 0;
    if (r->pad_len != 6 || r->pad_fixed != 6 || r->site != r->entry)
        return;
    memcpy(b, r->pad_bytes, 6);
    b[6] = r->orig[0];
    b[7] = r->orig[1];
    r->word_orig = get64le(b);
    b[6] = r->swap[0];
    b[7] = r->swap[1];
    r->word_swap = get64le(b);
    r->word_fast = 1;
}

/*
 * hp_probe's answer for a site of our registry, from its record instead of the
 * site rules (which would decode the padding from every start offset to reach
 * the same verdict): the analysis made when the site was first patched, with
 * `reason` and the entry bytes of now. A PATCHED entry is described as the
 * rules describe "EB xx" into a padding jump: 2 bytes, nothing measured after.
 */
static void site_from_rec(const hp_site_rec *r, hp_site_reason reason, hp_site *out)
{
    const uint8_t *s = (const uint8_t *)r->site;
    *out = r->first;
    out->reason = reason;
    out->entry_bytes[0] = s[0];
    out->entry_bytes[1] = s[1];
    if (reason == HP_SITE_PATCHED) {
        out->entry_len = 2;
        out->flags &= HP_SITE_F_ENDBR;
        out->pad_found = 0;
        /* the x86 thunk form's E9 at E-5 leads to E + rel32; the FF 25 forms go through memory */
        out->jump_target = r->form == HP_FORM_THUNK32 ? get32le(r->pad_bytes + 1) : 0;
    }
}

/*
 * Decide what applying `entry` would do. On HP_OK, *rec_out is the record to
 * reuse, or NULL for a fresh site (then v->site says how). *known says whether
 * the answer came from a record of ours. With need_site, v->site is filled
 * for every answer (hp_probe). Writes nothing but may drop a stale record from
 * the registry (when the code was remapped).
 */
static hp_status judge_entry_locked(uintptr_t entry, live_view *v, hp_site_rec **rec_out, int need_site, int *known)
{
    *rec_out = NULL;
    *known = 0;
    hp_status st = view_locked(entry, v);
    if (st != HP_OK)
        return st;
    /* A site of our registry is judged by its record (the bytes we wrote), which is what the site
       rules would conclude too: they are not run again. */
    uintptr_t rv;
    if (hp_ptrmap_get(&g.sites, entry, &rv)) {
        hp_site_rec *r = (hp_site_rec *)rv;
        rec_bytes now = v->before >= r->pad_len ? rec_bytes_now(r) : RB_GONE;
        if (now != RB_GONE) {
            *known = 1;
            if (now == RB_SWAP) {
                if (need_site)
                    site_from_rec(r, HP_SITE_PATCHED, &v->site);
                return r->live != NULL ? HP_ERR_ALREADY_PATCHED : HP_ERR_REDIRECTED;
            }
            if (now == RB_ORIG) {
                if (need_site)
                    site_from_rec(r, HP_SITE_PREVIOUSLY_PATCHED, &v->site);
                if (r->live != NULL)
                    return HP_ERR_ALREADY_PATCHED; /* entry restored behind our back: remove first */
                *rec_out = r;
                return HP_OK;
            }
            if (need_site)
                analyze_view(v); /* what the foreign jump looks like */
            return HP_ERR_REDIRECTED; /* someone else rewrote our entry */
        }
        /* The padding no longer holds our jump: the code was replaced (module unloaded and
           another loaded here). Forget the record and every cached protection. */
        write_begin_locked();
        hp_ptrmap_del(&g.sites, entry);
        hp_ptrmap_clear(&g.protcache);
        g.gen++;
        write_end_locked();
        st = view_locked(entry, v);
        if (st != HP_OK)
            return st;
    }
    analyze_view(v);
    /* No record of ours: a jump at the entry is someone else's (or another runtime instance's), and a
       previously patched padding may be executing and is never rewritten. */
    return hp_site_verdict(HP_SITE_CONTEXT_LIVE, v->site.reason);
}

/*
 * judge_entry_locked() for `target`, through the thunks that lead from it to a
 * function (thunk.h): v->entry is the function's entry, and HP_SITE_F_THUNK
 * is set in v->site when a thunk was followed. A jump that is not a thunk is
 * refused as before (HP_ERR_REDIRECTED).
 */
static hp_status judge_apply_locked(uintptr_t target, live_view *v, hp_site_rec **rec_out, int need_site)
{
    uintptr_t entry = target, dest;
    int followed = 0, known;
    hp_status st;
    for (int hop = 0;; hop++) {
        st = judge_entry_locked(entry, v, rec_out, need_site, &known);
        if (st != HP_ERR_REDIRECTED || known || hop == THUNK_HOPS ||
            !hp_thunk_follow(HP_HOST_MACHINE, entry, v->before, v->after, &dest))
            break;
        entry = dest;
        followed = 1;
    }
    if (followed)
        v->site.flags |= HP_SITE_F_THUNK;
    return st;
}

/* ------------------------------------------------------------------------- */
/* Transactions                                                               */
/* ------------------------------------------------------------------------- */

typedef enum op_kind { OP_APPLY = 1, OP_REMOVE = 2 } op_kind;

/* One operation: 64 bytes, one cache line (a commit walks them several times). */
typedef struct txn_op {
    union {
        void *target;   /* OP_APPLY: as given (a thunk is followed by validation) */
        hp_patch *patch;/* OP_REMOVE: the handle */
    };
    const void *replacement;
    void **out_original;
    hp_patch **out_patch;

    /* validation: by hp_txn_apply/remove (vgen = g.gen then), again by the commit */
    uint64_t vgen;      /* 0: not validated yet */
    hp_site_rec *rec;   /* the record (NULL: a fresh apply) */

    /* filled during commit */
    hp_patch *handle;   /* OP_APPLY: the new handle */
    uint32_t fresh;     /* 0, or 1 + index of its fresh_op: the record is created by this commit */
    uint8_t kind;       /* op_kind */
} txn_op;
_Static_assert(sizeof(txn_op) <= 64, "an operation fits one cache line");

/* What a commit knows about an apply to a site it writes the padding of (rare: first use). */
typedef struct fresh_op {
    size_t op;          /* index of its txn_op */
    live_view view;     /* the live bytes as validated */
    size_t tramp_len;   /* with a trampoline: its length */
    void *tramp;        /* ... and where it goes */
    void *thunk;        /* x86 thunk form: the thunk */
} fresh_op;

/*
 * A transaction. A second operation on one function is refused when it is
 * added: a known site carries the serial of the last transaction that added it
 * (hp_site_rec.txn_mark, no memory of the transaction's own), a fresh one is
 * looked up in `fresh` (rare: a site's first patch). The commit checks again.
 */
struct hp_txn {
    txn_op *ops;
    size_t n, cap;
    hp_status failed; /* first failure of hp_txn_apply/hp_txn_remove: commit refuses with it */
    uint64_t serial;  /* this transaction's number (hp_site_rec.txn_mark) */
    hp_ptrmap fresh;  /* entries of the fresh applies among ops[0..n) */
    void (*before_swap)(void *ctx); /* hp_txn_before_swap() (module.c): called after step 4 */
    void *before_swap_ctx;
};

/* Build the padding jump and the entry's short jump of a fresh record. */
static void build_jumps(hp_site_rec *r)
{
    uint8_t *p = r->pad_bytes;
    switch (r->form) {
    case HP_FORM_SLOT64:
        r->pad_len = r->pad_fixed = 6;
        p[0] = 0xFF; /* FF 25 disp32: jmp qword ptr [rip+disp32], rip = E */
        p[1] = 0x25;
        put32le(p + 2, (uint32_t)(int32_t)((intptr_t)r->slot - (intptr_t)r->entry));
        break;
    case HP_FORM_INLINE64:
        r->pad_len = 14;
        r->pad_fixed = 6;
        p[0] = 0xFF; /* FF 25 00000000: jmp qword ptr [rip+0] -> the abs64 at E-8 */
        p[1] = 0x25;
        put32le(p + 2, 0);
        put64le(p + 6, 0); /* abs64: the slot, stored separately */
        break;
    case HP_FORM_ABS32:
        r->pad_len = r->pad_fixed = 6;
        p[0] = 0xFF; /* FF 25 abs32: jmp dword ptr [abs32] */
        p[1] = 0x25;
        put32le(p + 2, (uint32_t)(uintptr_t)r->slot);
        break;
    case HP_FORM_THUNK32:
        r->pad_len = r->pad_fixed = 5;
        p[0] = 0xE9; /* E9 rel32: jmp thunk (rel32 set by the caller, which knows the thunk) */
        put32le(p + 1, 0);
        break;
    }
    r->swap[0] = 0xEB; /* EB xx: jmp short E - L, from S + 2 */
    r->swap[1] = (uint8_t)(int8_t)(-(int)(r->pad_len + (r->site - r->entry) + 2));
}

static void free_prepared(txn_op *ops, size_t n, hp_xm_block *blocks, size_t nblocks)
{
    while (nblocks-- > 0)
        hp_xm_rollback_locked(&g.xm, &blocks[nblocks]);
    for (size_t i = 0; i < n; i++) {
        if (ops[i].fresh) {
            rec_free_locked(ops[i].rec);
            ops[i].rec = NULL;
        }
        ops[i].fresh = 0;
    }
}

/* Validate one operation (step 1). `v` receives the live view of an apply. */
static hp_status validate_op_locked(txn_op *op, live_view *v)
{
    op->rec = NULL;
    v->entry = 0;
    if (op->kind == OP_APPLY) {
        if (op->target == NULL || op->replacement == NULL || op->target == op->replacement)
            return HP_ERR_ARGUMENT;
        hp_status st = judge_apply_locked((uintptr_t)op->target, v, &op->rec, 0);
        if (st == HP_OK && v->entry == (uintptr_t)op->replacement)
            return HP_ERR_ARGUMENT; /* a thunk of the replacement itself */
        return st;
    }
    if (op->patch == NULL)
        return HP_ERR_ARGUMENT;
    hp_site_rec *r = handle_rec_locked(op->patch);
    if (r == NULL)
        return HP_ERR_STALE_HANDLE;
    const uint8_t *s = (const uint8_t *)r->site;
    if (s[0] != r->swap[0] || s[1] != r->swap[1])
        return HP_ERR_REDIRECTED; /* our entry jump was overwritten by someone else */
    op->rec = r;
    v->entry = r->entry;
    return HP_OK;
}

/*
 * An operation on a known site that hp_txn_apply/remove validated while the
 * registry was as it is now (same gen): only the live bytes can have changed
 * since (another writer), so they alone are looked at again. 1 = still good;
 * 0 = validate it from scratch (which then says what is wrong).
 */
static int revalidate_fast_locked(const txn_op *op)
{
    const hp_site_rec *r = op->rec;
    if (op->vgen != g.gen || r == NULL)
        return 0;
    if (op->kind == OP_REMOVE)
        return r->live == op->patch && rec_bytes_now(r) == RB_SWAP;
    return r->live == NULL && rec_bytes_now(r) == RB_ORIG;
}

/*
 * Step 2 for one fresh apply: the record, its slot, thunk and trampoline.
 * Allocations are appended to blocks[*nblocks].
 */
static hp_status prepare_fresh_locked(txn_op *op, fresh_op *f, hp_xm_block *blocks, size_t *nblocks)
{
    const live_view *v = &f->view;
    hp_site_rec *r = rec_alloc_locked();
    if (r == NULL)
        return HP_ERR_NO_MEMORY;
    op->rec = r;
    r->entry = v->entry;
    r->site = v->entry + v->site.site_offset;
    memcpy(r->orig, (const void *)r->site, 2);
    r->first = v->site;
    r->first.flags &= ~HP_SITE_F_THUNK; /* the function's own analysis */

    hp_status st;
    hp_xm_block b;
#if HP_HOST_X64
    if (v->site.pad_found >= 14 && ((r->entry - 8) & 7u) == 0) {
        r->form = HP_FORM_INLINE64;
        r->slot = (uintptr_t *)(r->entry - 8);
    } else {
        r->form = HP_FORM_SLOT64;
        st = hp_xm_alloc_locked(&g.xm, HP_XM_SLOT, r->entry, sizeof(uintptr_t), sizeof(uintptr_t), &b);
        if (st != HP_OK)
            return st;
        blocks[(*nblocks)++] = b;
        r->slot = b.ptr;
    }
#else
    st = hp_xm_alloc_locked(&g.xm, HP_XM_SLOT, 0, sizeof(uintptr_t), sizeof(uintptr_t), &b);
    if (st != HP_OK)
        return st;
    blocks[(*nblocks)++] = b;
    r->slot = b.ptr;
    if (v->site.pad_found >= 6) {
        r->form = HP_FORM_ABS32;
    } else {
        r->form = HP_FORM_THUNK32;
        st = hp_xm_alloc_locked(&g.xm, HP_XM_CODE, 0, 8, 8, &b);
        if (st != HP_OK)
            return st;
        blocks[(*nblocks)++] = b;
        f->thunk = b.ptr;
    }
#endif
    build_jumps(r);
    if (r->form == HP_FORM_THUNK32)
        put32le(r->pad_bytes + 1, (uint32_t)((uintptr_t)f->thunk - r->entry));
    rec_words(r);

    int nop = (v->site.flags & HP_SITE_F_ENTRY_NOP) != 0;
    int endbr = (v->site.flags & HP_SITE_F_ENDBR) != 0;
    if (nop && !endbr) {
        r->original = (void *)(r->site + 2);
        return HP_OK;
    }
    st = hp_xm_alloc_locked(&g.xm, HP_XM_CODE, r->entry, HP_RELOC_MAX, 16, &b);
    if (st != HP_OK)
        return st;
    blocks[(*nblocks)++] = b;
    f->tramp = b.ptr;
    uint8_t scratch[HP_RELOC_MAX];
    hp_reloc_in in = {HP_HOST_MACHINE, (const uint8_t *)r->site, v->after - v->site.site_offset,
                      r->site, v->site.entry_len, !nop, endbr};
    st = hp_reloc_trampoline(&in, scratch, sizeof scratch, (uintptr_t)f->tramp, &f->tramp_len);
    if (st != HP_OK)
        return st;
    r->original = f->tramp;
    return HP_OK;
}

/* Step 4 for a fresh apply with a trampoline: relocate the site instruction again, now into its
   final place (step 2 proved that it relocates). Pages are writable. */
static void write_trampoline(const hp_site_rec *r, const fresh_op *f)
{
    const hp_site *site = &f->view.site;
    hp_reloc_in in = {HP_HOST_MACHINE, (const uint8_t *)r->site, f->view.after - (r->site - r->entry), r->site,
                      site->entry_len, !(site->flags & HP_SITE_F_ENTRY_NOP), (site->flags & HP_SITE_F_ENDBR) != 0};
    size_t len;
    hp_reloc_trampoline(&in, f->tramp, f->tramp_len, (uintptr_t)f->tramp, &len);
}

/* Step 4 for a fresh apply: thunk and padding (write_trampoline writes the trampoline). Pages are writable. */
static void write_fresh_locked(const txn_op *op, const fresh_op *f)
{
    hp_site_rec *r = op->rec;
    if (f->thunk != NULL) {
        uint8_t *t = f->thunk;
        t[0] = 0xFF; /* FF 25 abs32: jmp dword ptr [slot] */
        t[1] = 0x25;
        put32le(t + 2, (uint32_t)(uintptr_t)r->slot);
        t[6] = 0xCC; /* CC CC: int3 filler, never executed */
        t[7] = 0xCC;
    }
    memcpy((void *)(r->entry - r->pad_len), r->pad_bytes, r->pad_fixed);
}

/* The pages an operation writes, into the batch (fresh: once its record is prepared). */
static hp_status batch_add_op(hp_page_batch *b, const txn_op *op, const fresh_op *f)
{
    const hp_site_rec *r = op->rec;
    hp_status st = hp_batch_add(b, r->site, 2);
    /* a slot that holds the replacement already is not written (commit_write_locked): its page
       stays as it is */
    if (st == HP_OK && op->kind == OP_APPLY && (f != NULL || *r->slot != (uintptr_t)op->replacement))
        st = hp_batch_add(b, (uintptr_t)r->slot, sizeof(uintptr_t));
    if (f != NULL) {
        if (st == HP_OK)
            st = hp_batch_add(b, r->entry - r->pad_len, r->pad_len);
        if (st == HP_OK && f->tramp != NULL)
            st = hp_batch_add(b, (uintptr_t)f->tramp, f->tramp_len);
        if (st == HP_OK && f->thunk != NULL)
            st = hp_batch_add(b, (uintptr_t)f->thunk, 8);
    }
    return st;
}

/*
 * One commit's working state, shared by its steps. Each step walks the
 * operations once (a large transaction is bound by memory traffic).
 */
typedef struct commit {
    txn_op *ops;
    size_t n;
    uint64_t serial;        /* this commit's number (hp_site_rec.mark) */
    size_t napply;          /* applies among ops: handles to take */
    fresh_op *fresh;        /* one per fresh apply, in operation order */
    size_t nfresh, capfresh;
    hp_xm_block *blocks;    /* what step 2 allocated, in order (undone in reverse) */
    size_t nblocks;
    hp_page_batch batch;    /* every page the commit writes */
} commit;

/* Keep the live view of fresh apply ops[i] for step 2. */
static hp_status commit_keep_fresh(commit *c, size_t i, const live_view *v)
{
    if (c->nfresh == c->capfresh) {
        size_t cap = c->capfresh ? 2 * c->capfresh : 8;
        fresh_op *nf = hp_os_realloc(c->fresh, cap * sizeof *nf);
        if (nf == NULL)
            return HP_ERR_NO_MEMORY;
        c->fresh = nf;
        c->capfresh = cap;
    }
    fresh_op *f = &c->fresh[c->nfresh];
    memset(f, 0, sizeof *f);
    f->op = i;
    f->view = *v;
    c->ops[i].fresh = (uint32_t)++c->nfresh;
    return HP_OK;
}

/* Fresh applies have no record to mark: duplicates among them, or with a known record at the same
   entry, are found by entry. */
static hp_status commit_fresh_duplicates(const commit *c)
{
    hp_ptrmap seen = HP_PTRMAP_INIT(4); /* keyed by entries */
    hp_status st = hp_ptrmap_reserve(&seen, c->nfresh);
    for (size_t k = 0; st == HP_OK && k < c->nfresh; k++) {
        uintptr_t key = c->fresh[k].view.entry;
        if (hp_ptrmap_get(&seen, key, NULL))
            st = HP_ERR_DUPLICATE;
        else
            hp_ptrmap_put_noresize(&seen, key, 1);
    }
    for (size_t i = 0; st == HP_OK && i < c->n; i++)
        if (c->ops[i].rec != NULL && hp_ptrmap_get(&seen, c->ops[i].rec->entry, NULL))
            st = HP_ERR_DUPLICATE;
    hp_ptrmap_free(&seen);
    return st;
}

/* 1. Validate every operation (nothing is written); mark the known records, collect their pages. */
static hp_status commit_validate_locked(commit *c)
{
    for (size_t i = 0; i < c->n; i++) {
        txn_op *op = &c->ops[i];
        hp_status st;
        op->fresh = 0;
        op->handle = NULL;
        if (!revalidate_fast_locked(op)) {
            live_view v;
            st = validate_op_locked(op, &v);
            if (st == HP_OK && op->rec == NULL) /* a fresh apply: keep its view for step 2 */
                st = commit_keep_fresh(c, i, &v);
            if (st != HP_OK)
                return st;
        }
        c->napply += op->kind == OP_APPLY;
        if (op->rec == NULL)
            continue;
        if (op->rec->mark == c->serial)
            return HP_ERR_DUPLICATE;
        op->rec->mark = c->serial;
        st = batch_add_op(&c->batch, op, NULL);
        if (st != HP_OK)
            return st;
    }
    return c->nfresh != 0 ? commit_fresh_duplicates(c) : HP_OK;
}

/* 2. Allocate everything that can fail: handles, registry room, the fresh records with their slots,
   thunks and trampolines (built into scratch: relocation can fail); their pages join the batch. */
static hp_status commit_allocate_locked(commit *c)
{
    hp_ptrent *retired;
    if (g.nretired == sizeof g.retired / sizeof g.retired[0] ||
        hp_ptrmap_reserve_retain(&g.sites, c->nfresh, &retired) != HP_OK || pool_reserve_locked(c->napply) != HP_OK)
        return HP_ERR_NO_MEMORY;
    if (retired != NULL)
        g.retired[g.nretired++] = retired; /* a reader without the lock may still look at it */
    if (c->nfresh == 0)
        return HP_OK;
    c->blocks = hp_os_calloc(3 * c->nfresh, sizeof *c->blocks);
    if (c->blocks == NULL)
        return HP_ERR_NO_MEMORY;
    for (size_t k = 0; k < c->nfresh; k++) {
        txn_op *op = &c->ops[c->fresh[k].op];
        hp_status st = prepare_fresh_locked(op, &c->fresh[k], c->blocks, &c->nblocks);
        if (st == HP_OK)
            st = batch_add_op(&c->batch, op, &c->fresh[k]);
        if (st != HP_OK)
            return st;
    }
    return HP_OK;
}

/* 4. Nothing can fail from here on (every page is writable). Write trampolines, thunks, slots and
   paddings; take the handles and store the caller's pointers, all before the swap. */
static void commit_write_locked(commit *c)
{
    for (size_t i = 0; i < c->n; i++) {
        txn_op *op = &c->ops[i];
        if (op->kind != OP_APPLY)
            continue;
        hp_site_rec *r = op->rec;
        hp_patch *h = pool_take_locked();
        h->rec = r;
        h->replacement = op->replacement;
        h->original = r->original;
        op->handle = h;
        const fresh_op *f = op->fresh ? &c->fresh[op->fresh - 1] : NULL;
        if (f != NULL && f->tramp != NULL)
            write_trampoline(r, f);
        if (f != NULL || *r->slot != (uintptr_t)op->replacement)
            store_slot(r->slot, (uintptr_t)op->replacement);
        if (f != NULL)
            write_fresh_locked(op, f);
        if (op->out_original != NULL)
            *op->out_original = r->original;
        if (op->out_patch != NULL)
            *op->out_patch = h;
    }
}

/* 6. Swap every entry with one atomic 16-bit store (apply: EB xx; remove: the original two bytes)
   and publish at once (the lock is held): fresh records join the registry, every record gets its
   live handle, removed handles go back to the pool. */
static void commit_swap_locked(commit *c)
{
    for (size_t i = 0; i < c->n; i++) {
        txn_op *op = &c->ops[i];
        hp_site_rec *r = op->rec;
        if (op->kind == OP_APPLY) {
            store16_atomic(r->site, r->swap);
            if (op->fresh)
                hp_ptrmap_put_noresize(&g.sites, r->entry, (uintptr_t)r);
            r->live = op->handle;
        } else {
            store16_atomic(r->site, r->orig);
            r->live = NULL;
            pool_give_locked(op->patch);
        }
        op->handle = NULL;
        op->fresh = 0;
    }
}

/* 7. (After the second sync.) Restore every page's protection exactly; validations made before
   this commit are stale from now on. */
static void commit_restore_locked(commit *c)
{
    hp_batch_restore_locked(&c->batch);
    g.gen++;
}

/* A step before the swap failed: restore the pages, take back the fresh records and their memory. */
static void commit_undo_locked(commit *c)
{
    hp_batch_restore_locked(&c->batch);
    free_prepared(c->ops, c->n, c->blocks, c->nblocks);
}

/*
 * Run `ops[0..n)` as one transaction: the steps of the file's header, in order.
 * Engine lock held. On HP_OK every apply's out pointers were stored before its
 * swap, and every remove's handle is freed; on failure nothing changed.
 * `before_swap` (may be NULL) runs after step 4, before the first swap
 * (hp_txn_before_swap).
 */
static hp_status commit_locked(txn_op *ops, size_t n, void (*before_swap)(void *), void *before_swap_ctx)
{
    if (n == 0)
        return HP_OK;
    commit c;
    memset(&c, 0, sizeof c);
    c.ops = ops;
    c.n = n;
    c.serial = ++g.serial;
    hp_page_batch batch = HP_PAGE_BATCH_INIT(&g.xm, &g.protcache);
    c.batch = batch;

    /* Validation may drop a stale record (its own write section); from allocation on, the registry,
       records and handles change: one write section (g.seq) to the end. */
    hp_status st = commit_validate_locked(&c);
    if (st == HP_OK) {
        write_begin_locked();
        st = commit_allocate_locked(&c);
        if (st == HP_OK)
            st = hp_batch_unprotect_locked(&c.batch); /* 3. unprotect */
        if (st == HP_OK) {
            int wrote_code = c.nfresh != 0; /* paddings, trampolines, thunks */
            commit_write_locked(&c);
            if (before_swap != NULL)
                before_swap(before_swap_ctx);
            if (wrote_code)
                hp_batch_code_written_locked(&c.batch);
            hp_os_sync_cores(); /* 5. sync */
            commit_swap_locked(&c);
            hp_batch_code_written_locked(&c.batch);
            hp_os_sync_cores(); /* 7. sync again */
            commit_restore_locked(&c);
        } else {
            commit_undo_locked(&c);
        }
        write_end_locked();
    } else {
        commit_undo_locked(&c);
    }
    hp_batch_free(&c.batch);
    hp_os_free(c.fresh);
    hp_os_free(c.blocks);
    return st;
}

/* ------------------------------------------------------------------------- */
/* Public API                                                                 */
/* ------------------------------------------------------------------------- */

#if !HP_HOST_SUPPORTED
#define HP_CHECK_HOST() return HP_ERR_UNSUPPORTED
#else
#define HP_CHECK_HOST() (void)0
#endif

hp_status hp_probe(const void *target, hp_site *out_site)
{
    HP_CHECK_HOST();
    if (target == NULL)
        return HP_ERR_ARGUMENT;
    live_view v;
    hp_site_rec *rec;
    memset(&v, 0, sizeof v);
    hp_os_mutex_lock(&g_lock);
    hp_status st = judge_apply_locked((uintptr_t)target, &v, &rec, 1);
    hp_os_mutex_unlock(&g_lock);
    if (out_site != NULL && v.entry != 0)
        *out_site = v.site;
    return st;
}

/* The transaction entry of one redirection (what hp_apply and hp_txn_apply add). */
static void apply_op(txn_op *op, void *target, const void *replacement, void **out_original,
                     hp_patch **out_patch)
{
    op->kind = OP_APPLY;
    op->target = target;
    op->replacement = replacement;
    op->out_original = out_original;
    op->out_patch = out_patch;
    op->vgen = 0;
    op->rec = NULL;
    op->fresh = 0;
    op->handle = NULL;
}

hp_status hp_apply(void *target, const void *replacement, void **out_original, hp_patch **out_patch)
{
    HP_CHECK_HOST();
    txn_op op;
    apply_op(&op, target, replacement, out_original, out_patch);
    if (target == NULL || replacement == NULL)
        return HP_ERR_ARGUMENT;
    hp_os_mutex_lock(&g_lock);
    hp_status st = commit_locked(&op, 1, NULL, NULL);
    hp_os_mutex_unlock(&g_lock);
    return st;
}

hp_status hp_remove(hp_patch *patch)
{
    HP_CHECK_HOST();
    txn_op op;
    memset(&op, 0, sizeof op);
    op.kind = OP_REMOVE;
    op.patch = patch;
    if (patch == NULL)
        return HP_ERR_ARGUMENT;
    hp_os_mutex_lock(&g_lock);
    hp_status st = commit_locked(&op, 1, NULL, NULL);
    hp_os_mutex_unlock(&g_lock);
    return st;
}

hp_status hp_retarget(hp_patch *patch, const void *replacement)
{
    HP_CHECK_HOST();
    if (patch == NULL || replacement == NULL)
        return HP_ERR_ARGUMENT;
    hp_page_batch batch = HP_PAGE_BATCH_INIT(&g.xm, &g.protcache);
    hp_status st;
    hp_os_mutex_lock(&g_lock);
    hp_site_rec *r = handle_rec_locked(patch);
    if (r == NULL) {
        st = HP_ERR_STALE_HANDLE;
        goto out;
    }
    if ((uintptr_t)replacement == r->entry) {
        st = HP_ERR_ARGUMENT;
        goto out;
    }
    st = hp_batch_add(&batch, (uintptr_t)r->slot, sizeof(uintptr_t));
    if (st == HP_OK)
        st = hp_batch_unprotect_locked(&batch);
    if (st != HP_OK)
        goto out;
    store_slot(r->slot, (uintptr_t)replacement); /* the one atomic store of a retarget */
    hp_batch_restore_locked(&batch);
    patch->replacement = replacement;
out:
    hp_batch_free(&batch);
    hp_os_mutex_unlock(&g_lock);
    return st;
}

void *hp_original(const hp_patch *patch)
{
    return patch != NULL ? patch->original : NULL;
}

/* The live handle of the site at `entry`, or NULL. */
static hp_patch *live_of_locked(uintptr_t entry)
{
    uintptr_t rv;
    return hp_ptrmap_get(&g.sites, entry, &rv) ? ((hp_site_rec *)rv)->live : NULL;
}

hp_status hp_lookup(const void *target, hp_patch **out_patch)
{
    HP_CHECK_HOST();
    if (target == NULL || out_patch == NULL)
        return HP_ERR_ARGUMENT;
    uintptr_t entry = (uintptr_t)target;
    hp_os_mutex_lock(&g_lock);
    hp_patch *live = live_of_locked(entry);
    /* Not a site of ours: a thunk that leads to one? (Only where thunks exist; memory that is not
       code is not read.) */
    for (int hop = 0; HP_OS_IMAGES && live == NULL && hop < THUNK_HOPS; hop++) {
        live_view v;
        uintptr_t dest;
        if (view_locked(entry, &v) != HP_OK || !hp_thunk_follow(HP_HOST_MACHINE, entry, v.before, v.after, &dest))
            break;
        entry = dest;
        live = live_of_locked(entry);
    }
    *out_patch = live;
    hp_os_mutex_unlock(&g_lock);
    return live != NULL ? HP_OK : HP_ERR_NOT_PATCHED;
}

hp_status hp_txn_begin(hp_txn **out_txn)
{
    if (out_txn == NULL)
        return HP_ERR_ARGUMENT;
    hp_txn *t = hp_os_calloc(1, sizeof *t);
    if (t == NULL)
        return HP_ERR_NO_MEMORY;
    hp_ptrmap fresh = HP_PTRMAP_INIT(4);
    t->fresh = fresh;
    hp_os_mutex_lock(&g_lock);
    t->serial = ++g.serial;
    t->ops = g.spare; /* the last transaction's array, if any */
    t->cap = g.spare_cap;
    g.spare = NULL;
    g.spare_cap = 0;
    hp_os_mutex_unlock(&g_lock);
    *out_txn = t;
    return HP_OK;
}

/* Room for one more operation (HP_ERR_TXN_STATE after an earlier failure). */
static hp_status txn_next(hp_txn *txn, txn_op **out)
{
    if (txn->failed != HP_OK)
        return HP_ERR_TXN_STATE;
    if (txn->n == txn->cap) {
        size_t cap = txn->cap ? txn->cap * 2 : 64;
        txn_op *ops = hp_os_realloc(txn->ops, cap * sizeof *ops);
        if (ops == NULL) {
            txn->failed = HP_ERR_NO_MEMORY;
            return HP_ERR_NO_MEMORY;
        }
        txn->ops = ops;
        txn->cap = cap;
    }
    *out = &txn->ops[txn->n];
    return HP_OK;
}

/*
 * Keep the operation txn_next() handed out, after an early check so the caller
 * learns which entry is bad; the commit checks again (only the live bytes, when
 * nothing was committed in between). The first failure poisons the transaction.
 */
/* Is g.seq still `s1`? (Everything read before is then one consistent state.) */
static int seq_unchanged(uint64_t s1)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE); /* the reads before complete before g.seq is read again */
    return __atomic_load_n(&g.seq, __ATOMIC_RELAXED) == s1;
}

/*
 * The usual add, checked without the engine lock (g.seq): an apply to a site
 * of our registry that is not redirected, or a removal of a live handle, the
 * bytes as we left them, the site not yet in this transaction. What
 * validate_op_locked would conclude, from one registry lookup (or the handle)
 * and one load of the code. 1 = done (op->rec and op->vgen set); 0 =
 * anything else, or a writer came in between: validate_op_locked under the
 * lock then decides, and says what is wrong.
 */
static int txn_add_known_nolock(const hp_txn *txn, txn_op *op)
{
    uint64_t s1 = __atomic_load_n(&g.seq, __ATOMIC_ACQUIRE);
    if (s1 & 1)
        return 0;
    uint64_t gen = g.gen;
    hp_site_rec *r;
    if (op->kind == OP_APPLY) {
        const hp_ptrent *e = g.sites.e;
        size_t cap = g.sites.cap;
        unsigned shift = g.sites.shift;
        uintptr_t rv = 0;
        if (op->target == NULL || op->replacement == NULL || op->target == op->replacement ||
            !seq_unchanged(s1) || !hp_ptrmap_get_racy(e, cap, shift, (uintptr_t)op->target, &rv) ||
            !seq_unchanged(s1) || rv == 0)
            return 0;
        r = (hp_site_rec *)rv; /* published: never freed */
        if (r->live != NULL || rec_bytes_now(r) != RB_ORIG)
            return 0;
    } else {
        const struct hp_patch *h = op->patch;
        uintptr_t a = (uintptr_t)h;
        size_t i = g.pool.nchunks;
        while (i-- > 0) { /* handle_rec_locked, on chunks that are never freed */
            uintptr_t base = (uintptr_t)g.pool.chunk[i];
            if (a >= base && a - base < (HP_POOL_FIRST << i) * sizeof(struct hp_patch))
                break;
        }
        /* h lies in a chunk (read consistently: g.seq unchanged) before it is read */
        if (i == (size_t)-1 || ((a - (uintptr_t)g.pool.chunk[i]) % sizeof(struct hp_patch)) != 0 ||
            !seq_unchanged(s1))
            return 0;
        r = h->rec;
        if (!seq_unchanged(s1) || r == NULL || r->live != h || rec_bytes_now(r) != RB_SWAP)
            return 0;
    }
    if (!seq_unchanged(s1) || __atomic_load_n(&r->txn_mark, __ATOMIC_RELAXED) == txn->serial)
        return 0;
    __atomic_store_n(&r->txn_mark, txn->serial, __ATOMIC_RELAXED);
    op->rec = r;
    op->vgen = gen;
    return 1;
}

static hp_status txn_keep(hp_txn *txn, txn_op *op)
{
    hp_status st = HP_OK;
    if (txn_add_known_nolock(txn, op)) {
        txn->n++;
        return HP_OK;
    }
    live_view v;
    hp_os_mutex_lock(&g_lock);
    st = validate_op_locked(op, &v);
    op->vgen = g.gen;
    /* a second operation on one function (also when reached through a thunk) is refused now */
    if (st == HP_OK && op->rec != NULL) {
        if (__atomic_load_n(&op->rec->txn_mark, __ATOMIC_RELAXED) == txn->serial)
            st = HP_ERR_DUPLICATE;
        __atomic_store_n(&op->rec->txn_mark, txn->serial, __ATOMIC_RELAXED);
    }
    hp_os_mutex_unlock(&g_lock);
    if (st == HP_OK && op->rec == NULL) {
        if (hp_ptrmap_get(&txn->fresh, v.entry, NULL))
            st = HP_ERR_DUPLICATE;
        else if ((st = hp_ptrmap_reserve(&txn->fresh, 1)) == HP_OK)
            hp_ptrmap_put_noresize(&txn->fresh, v.entry, 1);
    }
    if (st != HP_OK) {
        txn->failed = st;
        return st;
    }
    txn->n++;
    return HP_OK;
}

/* Append one operation, filled in place (no copy), and check it early. */
static hp_status txn_add(hp_txn *txn, op_kind kind, void *target, const void *replacement, void **out_original,
                         hp_patch **out_patch, hp_patch *patch)
{
    if (txn == NULL)
        return HP_ERR_ARGUMENT;
    txn_op *op;
    hp_status st = txn_next(txn, &op);
    if (st != HP_OK)
        return st;
    if (kind == OP_APPLY) {
        apply_op(op, target, replacement, out_original, out_patch);
    } else {
        op->kind = OP_REMOVE;
        op->patch = patch;
        op->replacement = NULL;
        op->out_original = NULL;
        op->out_patch = NULL;
        op->vgen = 0;
        op->rec = NULL;
        op->fresh = 0;
        op->handle = NULL;
    }
    return txn_keep(txn, op);
}

hp_status hp_txn_apply(hp_txn *txn, void *target, const void *replacement, void **out_original,
                       hp_patch **out_patch)
{
    HP_CHECK_HOST();
    return txn_add(txn, OP_APPLY, target, replacement, out_original, out_patch, NULL);
}

hp_status hp_txn_remove(hp_txn *txn, hp_patch *patch)
{
    HP_CHECK_HOST();
    return txn_add(txn, OP_REMOVE, NULL, NULL, NULL, NULL, patch);
}

/* Free a transaction; its operation array becomes the spare when it is the larger one. */
static void txn_free(hp_txn *txn)
{
    txn_op *drop = txn->ops;
    hp_os_mutex_lock(&g_lock);
    if (txn->cap > g.spare_cap) {
        drop = g.spare;
        g.spare = txn->ops;
        g.spare_cap = txn->cap;
    }
    hp_os_mutex_unlock(&g_lock);
    hp_os_free(drop);
    hp_ptrmap_free(&txn->fresh);
    hp_os_free(txn);
}

hp_status hp_txn_commit(hp_txn *txn)
{
    if (txn == NULL)
        return HP_ERR_ARGUMENT;
    hp_status st = txn->failed;
    if (st == HP_OK) {
        hp_os_mutex_lock(&g_lock);
        st = commit_locked(txn->ops, txn->n, txn->before_swap, txn->before_swap_ctx);
        hp_os_mutex_unlock(&g_lock);
    }
    txn_free(txn);
    return st;
}

void hp_txn_abort(hp_txn *txn)
{
    if (txn == NULL)
        return;
    txn_free(txn);
}

/* ------------------------------------------------------------------------- */
/* What the module loader asks (module.h)                                     */
/* ------------------------------------------------------------------------- */

/* Internal (hidden like everything not HP_API): module.c only. */

hp_status hp_txn_before_swap(hp_txn *txn, void (*fn)(void *ctx), void *ctx)
{
    if (txn == NULL)
        return HP_ERR_ARGUMENT;
    txn->before_swap = fn;
    txn->before_swap_ctx = ctx;
    return HP_OK;
}

int hp_engine_site_saved(const void *entry, uint32_t *site_offset, uint8_t orig[2])
{
    int found = 0;
    uintptr_t rv;
    hp_os_mutex_lock(&g_lock);
    if (hp_ptrmap_get(&g.sites, (uintptr_t)entry, &rv)) {
        const hp_site_rec *r = (const hp_site_rec *)rv;
        if (r->live != NULL && rec_bytes_now(r) == RB_SWAP) {
            *site_offset = (uint32_t)(r->site - r->entry);
            orig[0] = r->orig[0];
            orig[1] = r->orig[1];
            found = 1;
        }
    }
    hp_os_mutex_unlock(&g_lock);
    return found;
}
