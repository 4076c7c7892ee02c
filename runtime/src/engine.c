/*
 * engine.c — the patch engine: hp_probe, hp_apply, hp_remove, hp_retarget,
 * hp_original and transactions, following "The patch protocol" of DESIGN.md.
 *
 * Every change of code goes through one function, commit_locked(), which runs
 * a list of operations (apply / remove) as one transaction:
 *
 *   1. validate every operation against the live bytes (site rules, our own
 *      registry, duplicates) — nothing is written; an operation that
 *      hp_txn_apply/remove validated while nothing was committed since only
 *      has its live bytes checked again;
 *   2. allocate everything that can fail (handle pool room, site records, slots,
 *      trampolines, thunks, map capacity), and build every trampoline into a
 *      scratch buffer (relocation can fail);
 *   3. make the touched pages writable, one protection change per target page
 *      and per run of runtime pages (a failure restores the pages already
 *      changed: HP_ERR_PROTECT);
 *   4. write trampolines, thunks, slots and new padding jumps; store the
 *      caller's out pointers — from here on nothing can fail;
 *   5. sync every core's instruction stream;
 *   6. swap every entry with one atomic 16-bit store (apply: EB xx; remove:
 *      the original two bytes);
 *   7. sync again; restore every page's protection exactly; publish.
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
#include "os.h"
#include "reloc.h"

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

#define HP_PAGE ((uintptr_t)4096u)
#define PAGE_OF(a) ((uintptr_t)(a) & ~(HP_PAGE - 1u))

/* Bytes read around an entry for the site rules: all the padding they may look at, and enough
   after the entry to decode endbr + a 15-byte instruction. */
#define READ_BEFORE HP_MAX_PAD
#define READ_AFTER 32u

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
    uintptr_t entry;      /* E */
    uintptr_t site;       /* S */
    hp_form form;
    uint8_t orig[2];      /* the original two bytes at S */
    uint8_t swap[2];      /* EB xx */
    uint8_t pad_len;      /* L: the padding jump is [E - L, E) */
    uint8_t pad_fixed;    /* bytes of pad_bytes that never change (the inline form's abs64 does) */
    uint8_t pad_bytes[14];
    uintptr_t *slot;      /* the cell the padding jump reads its destination from (aligned) */
    void *original;       /* callable original behaviour (S+2 or a trampoline) */
    struct hp_patch *live;/* the handle of the current redirection; NULL when not redirected */
    uint64_t mark;        /* serial of the last commit that took this site (duplicate check) */
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

/* A pointer-keyed open-addressing hash map (linear probing, backward-shift deletion). Key 0 = empty.
   Key and value share one entry, so a lookup touches one cache line. */
typedef struct hp_ptrent {
    uintptr_t key, val;
} hp_ptrent;

typedef struct hp_ptrmap {
    hp_ptrent *e;
    size_t cap;     /* 0 or a power of two */
    size_t count;
    unsigned shift; /* low key bits the hash ignores: log2 of the keys' usual spacing */
} hp_ptrmap;

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
 *   serial    — number of the current commit (hp_site_rec.mark).
 */
static struct {
    hp_xm_arena xm;
    hp_ptrmap sites;
    handle_pool pool;
    hp_ptrmap protcache;
    uint64_t gen;
    uint64_t serial;
} g = {HP_XM_ARENA_INIT, {NULL, 0, 0, 4}, {{NULL}, 0, NULL, 0}, {NULL, 0, 0, 12}, 1, 0};

/* ------------------------------------------------------------------------- */
/* Small helpers                                                              */
/* ------------------------------------------------------------------------- */

hp_machine hp_host_machine(void)
{
    return HP_HOST_MACHINE;
}

/*
 * Keys are addresses (entries, pages) and arrive mostly in address order: the
 * hash keeps that order within each 64 Ki-key stretch (so a run of lookups walks
 * the table instead of missing the cache each time) and folds the stretches
 * onto each other. `shift` drops the bits every key shares (alignment).
 */
static size_t map_hash(const hp_ptrmap *m, uintptr_t k)
{
    uintptr_t x = k >> m->shift;
    return (size_t)(x ^ (x >> 16)) & (m->cap - 1);
}

static int map_get(const hp_ptrmap *m, uintptr_t k, uintptr_t *v)
{
    if (m->cap == 0)
        return 0;
    for (size_t i = map_hash(m, k);; i = (i + 1) & (m->cap - 1)) {
        if (m->e[i].key == 0)
            return 0;
        if (m->e[i].key == k) {
            if (v != NULL)
                *v = m->e[i].val;
            return 1;
        }
    }
}

static void map_put_noresize(hp_ptrmap *m, uintptr_t k, uintptr_t v)
{
    for (size_t i = map_hash(m, k);; i = (i + 1) & (m->cap - 1)) {
        if (m->e[i].key == 0) {
            m->e[i].key = k;
            m->e[i].val = v;
            m->count++;
            return;
        }
        if (m->e[i].key == k) {
            m->e[i].val = v;
            return;
        }
    }
}

/* Make room for `more` insertions without further allocation (load factor <= 1/2). */
static hp_status map_reserve(hp_ptrmap *m, size_t more)
{
    size_t need = m->count + more;
    if (need > ((size_t)-1) / (4 * sizeof(hp_ptrent)))
        return HP_ERR_NO_MEMORY;
    if (m->cap != 0 && need * 2 <= m->cap)
        return HP_OK;
    size_t cap = m->cap ? m->cap : 16;
    while (cap < need * 2)
        cap *= 2;
    hp_ptrent *e = hp_os_calloc(cap, sizeof *e);
    if (e == NULL)
        return HP_ERR_NO_MEMORY;
    hp_ptrmap n = {e, cap, 0, m->shift};
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].key != 0)
            map_put_noresize(&n, m->e[i].key, m->e[i].val);
    hp_os_free(m->e);
    *m = n;
    return HP_OK;
}

static void map_del(hp_ptrmap *m, uintptr_t k)
{
    if (m->cap == 0)
        return;
    size_t mask = m->cap - 1, i = map_hash(m, k);
    for (;; i = (i + 1) & mask) {
        if (m->e[i].key == 0)
            return;
        if (m->e[i].key == k)
            break;
    }
    /* backward-shift deletion keeps every probe chain unbroken */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (m->e[j].key == 0)
            break;
        size_t home = map_hash(m, m->e[j].key);
        /* move j into the hole at i unless its home lies cyclically in (i, j] */
        int between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            m->e[i] = m->e[j];
            i = j;
        }
    }
    m->e[i].key = 0;
    m->e[i].val = 0;
    m->count--;
}

static void map_clear(hp_ptrmap *m)
{
    if (m->cap != 0)
        memset(m->e, 0, m->cap * sizeof *m->e);
    m->count = 0;
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

/* In-place heapsort (no qsort in freestanding builds). */
static void sift_down(uintptr_t *a, size_t start, size_t n)
{
    size_t root = start;
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && a[child] < a[child + 1])
            child++;
        if (a[root] >= a[child])
            return;
        uintptr_t t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

static size_t sort_unique(uintptr_t *a, size_t n)
{
    if (n < 2)
        return n;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n - 1; end > 0; end--) {
        uintptr_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
    size_t out = 1;
    for (size_t i = 1; i < n; i++)
        if (a[i] != a[out - 1])
            a[out++] = a[i];
    return out;
}

static size_t find_sorted(const uintptr_t *a, size_t n, uintptr_t k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
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

/* ------------------------------------------------------------------------- */
/* Page protections                                                           */
/* ------------------------------------------------------------------------- */

static uintptr_t prot_pack(hp_os_prot p)
{
    return ((uintptr_t)p.native << 8) | p.flags | 0x80u; /* 0x80: never 0 */
}

static hp_os_prot prot_unpack(uintptr_t v)
{
    hp_os_prot p = {(uint32_t)(v & 0x7Fu), (uint32_t)(v >> 8)};
    return p;
}

/*
 * Protections of the sorted, unique pages[0..n): runtime-owned pages from the
 * arena, others from the cache or (all misses at once) from the OS.
 */
static hp_status prots_locked(const uintptr_t *pages, size_t n, hp_os_prot *out)
{
    uintptr_t *miss = NULL;
    hp_os_prot *missprot = NULL;
    size_t nmiss = 0;
    hp_status st = HP_OK;

    for (size_t i = 0; i < n; i++) {
        uintptr_t v;
        out[i].flags = out[i].native = 0;
        if (hp_xm_page_prot_locked(&g.xm, pages[i], &out[i]))
            continue;
        if (map_get(&g.protcache, pages[i], &v)) {
            out[i] = prot_unpack(v);
            continue;
        }
        nmiss++;
    }
    if (nmiss == 0)
        return HP_OK;
    miss = hp_os_alloc(nmiss * sizeof *miss);
    missprot = hp_os_alloc(nmiss * sizeof *missprot);
    if (miss == NULL || missprot == NULL) {
        st = HP_ERR_NO_MEMORY;
        goto out;
    }
    nmiss = 0;
    for (size_t i = 0; i < n; i++)
        if (out[i].flags == 0 && out[i].native == 0)
            miss[nmiss++] = pages[i];
    st = hp_os_query_prots(miss, nmiss, missprot);
    if (st != HP_OK)
        goto out;
    int cache = map_reserve(&g.protcache, nmiss) == HP_OK;
    for (size_t i = 0, j = 0; i < n && j < nmiss; i++) {
        if (pages[i] != miss[j])
            continue;
        out[i] = missprot[j];
        if (cache && missprot[j].flags != 0)
            map_put_noresize(&g.protcache, pages[i], prot_pack(missprot[j]));
        j++;
    }
out:
    hp_os_free(miss);
    hp_os_free(missprot);
    return st;
}

/*
 * A set of pages made writable for one call and restored before it returns.
 * `orig` holds each page's exact protection.
 */
typedef struct page_batch {
    uintptr_t *pages;
    hp_os_prot *orig;
    size_t n, cap;
    size_t changed; /* pages[0..changed) are currently writable */
} page_batch;

static hp_status batch_add(page_batch *b, uintptr_t addr, size_t len)
{
    uintptr_t first = PAGE_OF(addr), last = PAGE_OF(addr + len - 1);
    for (uintptr_t p = first;; p += HP_PAGE) {
        /* A transaction adds its sites in table order, a few interleaved streams (entry, slot,
           padding) on few pages: dropping the repeats of the last entries here keeps the sort in
           batch_unprotect_locked to a handful of pages instead of three per function. */
        int seen = 0;
        for (size_t k = b->n; k > 0 && b->n - k < 4 && !seen; k--)
            seen = b->pages[k - 1] == p;
        if (seen) {
            if (p == last)
                break;
            continue;
        }
        if (b->n == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 16;
            uintptr_t *np = hp_os_realloc(b->pages, cap * sizeof *np);
            if (np == NULL)
                return HP_ERR_NO_MEMORY;
            b->pages = np;
            b->cap = cap;
        }
        b->pages[b->n++] = p;
        if (p == last)
            break;
    }
    return HP_OK;
}

/*
 * Pages [i, i + return value) are changed by one protection call: consecutive
 * pages of one runtime chunk (one mapping, one protection, e.g. the slot pages
 * of a large transaction). Target code pages are changed one by one: only
 * their own page's protection is known to be theirs.
 */
static size_t batch_run_locked(const page_batch *b, size_t i)
{
    size_t k = 1;
    while (i + k < b->n && b->pages[i + k] == b->pages[i] + k * HP_PAGE &&
           b->orig[i + k].native == b->orig[i].native &&
           hp_xm_same_chunk_locked(&g.xm, b->pages[i], b->pages[i + k]))
        k++;
    return k;
}

static void batch_restore_locked(page_batch *b)
{
    for (size_t i = 0; i < b->changed;) {
        size_t k = batch_run_locked(b, i);
        hp_os_prot w = hp_os_prot_writable(b->orig[i]);
        if (w.native != b->orig[i].native)
            hp_os_protect(b->pages[i], k * HP_PAGE, b->orig[i]);
        i += k;
    }
    b->changed = 0;
}

/* Sort, look the protections up and make every page writable; all or nothing. */
static hp_status batch_unprotect_locked(page_batch *b)
{
    b->n = sort_unique(b->pages, b->n);
    b->orig = hp_os_alloc((b->n ? b->n : 1) * sizeof *b->orig);
    if (b->orig == NULL)
        return HP_ERR_NO_MEMORY;
    hp_status st = prots_locked(b->pages, b->n, b->orig);
    if (st != HP_OK)
        return st;
    for (size_t i = 0; i < b->n; i++)
        if (b->orig[i].flags == 0)
            return HP_ERR_ARGUMENT; /* not mapped any more */
    for (b->changed = 0; b->changed < b->n;) {
        size_t k = batch_run_locked(b, b->changed);
        hp_os_prot w = hp_os_prot_writable(b->orig[b->changed]);
        if (w.native != b->orig[b->changed].native &&
            hp_os_protect(b->pages[b->changed], k * HP_PAGE, w) != HP_OK) {
            /* the OS refused: put back what was changed, this run included (a refused call may
               have changed part of its range) */
            b->changed += k;
            batch_restore_locked(b);
            return HP_ERR_PROTECT;
        }
        b->changed += k;
    }
    return HP_OK;
}

static void batch_free(page_batch *b)
{
    hp_os_free(b->pages);
    hp_os_free(b->orig);
    b->pages = NULL;
    b->orig = NULL;
    b->n = b->cap = 0;
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
    uintptr_t pages[3] = {PAGE_OF(entry - READ_BEFORE), PAGE_OF(entry), PAGE_OF(entry + READ_AFTER - 1)};
    hp_os_prot prots[3];
    /* most entries have all the bytes looked at on their own page: one lookup */
    size_t n = pages[0] == pages[2] ? 1 : sort_unique(pages, 3);
    hp_status st = prots_locked(pages, n, prots);
    if (st != HP_OK)
        return st;
    size_t ie = n == 1 ? 0 : find_sorted(pages, n, PAGE_OF(entry));
    if (!(prots[ie].flags & HP_PROT_X) || !(prots[ie].flags & HP_PROT_R))
        return HP_ERR_ARGUMENT;
    v->entry = entry;
    v->before = READ_BEFORE;
    v->after = READ_AFTER;
    if (PAGE_OF(entry - READ_BEFORE) != PAGE_OF(entry) && !(prots[0].flags & HP_PROT_R))
        v->before = entry - PAGE_OF(entry);
    if (PAGE_OF(entry + READ_AFTER - 1) != PAGE_OF(entry) && !(prots[n - 1].flags & HP_PROT_R))
        v->after = PAGE_OF(entry) + HP_PAGE - entry;
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

/* Do the bytes still show what this record wrote (padding jump intact)? */
static int rec_matches(const hp_site_rec *r, const live_view *v)
{
    if (v->before < r->pad_len)
        return 0;
    return pad_intact(r);
}

/*
 * Decide what applying `entry` would do. On HP_OK, *rec_out is the record to
 * reuse, or NULL for a fresh site (then v->site says how). Writes nothing but
 * may drop a stale record from the registry (when the code was remapped).
 */
static hp_status judge_apply_locked(uintptr_t entry, live_view *v, hp_site_rec **rec_out, int need_site)
{
    *rec_out = NULL;
    hp_status st = view_locked(entry, v);
    if (st != HP_OK)
        return st;
    /* A site of our registry is judged by its record (the bytes we wrote), which is what the site
       rules would conclude too: the analysis is skipped unless the caller wants the hp_site. */
    uintptr_t rv;
    int known = map_get(&g.sites, entry, &rv);
    if (need_site || !known)
        analyze_view(v);
    if (known) {
        hp_site_rec *r = (hp_site_rec *)rv;
        const uint8_t *s = (const uint8_t *)r->site;
        if (rec_matches(r, v)) {
            if (s[0] == r->swap[0] && s[1] == r->swap[1]) {
                v->site.reason = HP_SITE_PATCHED;
                return r->live != NULL ? HP_ERR_ALREADY_PATCHED : HP_ERR_REDIRECTED;
            }
            if (s[0] == r->orig[0] && s[1] == r->orig[1]) {
                v->site.reason = HP_SITE_PREVIOUSLY_PATCHED;
                if (r->live != NULL)
                    return HP_ERR_ALREADY_PATCHED; /* entry restored behind our back: remove first */
                *rec_out = r;
                return HP_OK;
            }
            return HP_ERR_REDIRECTED; /* someone else rewrote our entry */
        }
        /* The padding no longer holds our jump: the code was replaced (module unloaded and
           another loaded here). Forget the record and every cached protection. */
        map_del(&g.sites, entry);
        map_clear(&g.protcache);
        g.gen++;
        st = view_locked(entry, v);
        if (st != HP_OK)
            return st;
        analyze_view(v);
    }
    switch (v->site.reason) {
    case HP_SITE_OK:
        return HP_OK;
    case HP_SITE_PATCHED:
    case HP_SITE_REDIRECTED:
        return HP_ERR_REDIRECTED; /* a jump we did not place (or another runtime instance's) */
    default:
        return HP_ERR_NOT_PATCHABLE; /* incl. HP_SITE_PREVIOUSLY_PATCHED by someone else: that
                                        padding may be executing and is never rewritten */
    }
}

/* ------------------------------------------------------------------------- */
/* Transactions                                                               */
/* ------------------------------------------------------------------------- */

typedef enum op_kind { OP_APPLY = 1, OP_REMOVE = 2 } op_kind;

typedef struct txn_op {
    op_kind kind;
    void *target;
    const void *replacement;
    void **out_original;
    hp_patch **out_patch;
    hp_patch *patch;    /* OP_REMOVE: the handle */

    /* validation: by hp_txn_apply/remove (vgen = g.gen then), again by the commit */
    uint64_t vgen;      /* 0: not validated yet */
    hp_site_rec *rec;   /* the record (NULL: a fresh apply) */

    /* filled during commit */
    size_t fresh;       /* 0, or 1 + index of its fresh_op: the record is created by this commit */
    hp_patch *handle;   /* OP_APPLY: the new handle */
} txn_op;

/* What a commit knows about an apply to a site it writes the padding of (rare: first use). */
typedef struct fresh_op {
    size_t op;          /* index of its txn_op */
    live_view view;     /* the live bytes as validated */
    size_t tramp_len;   /* with a trampoline: its length */
    void *tramp;        /* ... and where it goes */
    void *thunk;        /* x86 thunk form: the thunk */
} fresh_op;

struct hp_txn {
    txn_op *ops;
    size_t n, cap;
    hp_status failed; /* first failure of hp_txn_apply/hp_txn_remove: commit refuses with it */
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
            hp_os_free(ops[i].rec);
            ops[i].rec = NULL;
        }
        ops[i].fresh = 0;
    }
}

/* Validate one operation (phase 1). `v` receives the live view of an apply. */
static hp_status validate_op_locked(txn_op *op, live_view *v)
{
    op->rec = NULL;
    if (op->kind == OP_APPLY) {
        if (op->target == NULL || op->replacement == NULL || op->target == op->replacement)
            return HP_ERR_ARGUMENT;
        return judge_apply_locked((uintptr_t)op->target, v, &op->rec, 0);
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
    const uint8_t *s = (const uint8_t *)r->site;
    if (op->kind == OP_REMOVE)
        return r->live == op->patch && s[0] == r->swap[0] && s[1] == r->swap[1];
    return r->live == NULL && s[0] == r->orig[0] && s[1] == r->orig[1] &&
           pad_intact(r);
}

/*
 * Phase 2 for one fresh apply: the record, its slot, thunk and trampoline.
 * Allocations are appended to blocks[*nblocks].
 */
static hp_status prepare_fresh_locked(txn_op *op, fresh_op *f, hp_xm_block *blocks, size_t *nblocks)
{
    const live_view *v = &f->view;
    hp_site_rec *r = hp_os_calloc(1, sizeof *r);
    if (r == NULL)
        return HP_ERR_NO_MEMORY;
    op->rec = r;
    r->entry = v->entry;
    r->site = v->entry + v->site.site_offset;
    memcpy(r->orig, (const void *)r->site, 2);

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

/* Phase 4 for one fresh apply: thunk and padding (the trampoline is written by the caller). Pages are writable. */
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
        hp_os_code_written(t, 8);
    }
    memcpy((void *)(r->entry - r->pad_len), r->pad_bytes, r->pad_fixed);
    hp_os_code_written((const void *)(r->entry - r->pad_len), r->pad_len);
}

/* The pages an operation writes, into the batch (fresh: once its record is prepared). */
static hp_status batch_add_op(page_batch *b, const txn_op *op, const fresh_op *f)
{
    const hp_site_rec *r = op->rec;
    hp_status st = batch_add(b, r->site, 2);
    if (st == HP_OK && op->kind == OP_APPLY)
        st = batch_add(b, (uintptr_t)r->slot, sizeof(uintptr_t));
    if (f != NULL) {
        if (st == HP_OK)
            st = batch_add(b, r->entry - r->pad_len, r->pad_len);
        if (st == HP_OK && f->tramp != NULL)
            st = batch_add(b, (uintptr_t)f->tramp, f->tramp_len);
        if (st == HP_OK && f->thunk != NULL)
            st = batch_add(b, (uintptr_t)f->thunk, 8);
    }
    return st;
}

/*
 * Run `ops[0..n)` as one transaction. Engine lock held. On HP_OK every apply's
 * out pointers were stored before its swap, and every remove's handle is freed.
 * A large transaction is bound by memory traffic: each phase walks the
 * operations once, and phases that cannot fail share a walk.
 */
static hp_status commit_locked(txn_op *ops, size_t n)
{
    hp_status st = HP_OK;
    fresh_op *fresh = NULL; /* one per fresh apply */
    size_t nfresh = 0, capfresh = 0;
    hp_xm_block *blocks = NULL;
    size_t nblocks = 0;
    hp_ptrmap fresh_seen = {NULL, 0, 0, 4}; /* keyed by entries */
    page_batch batch = {NULL, NULL, 0, 0, 0};
    size_t napply = 0;

    if (n == 0)
        return HP_OK;
    uint64_t serial = ++g.serial;

    /* 1. validate (nothing is written); collect the pages of known sites */
    for (size_t i = 0; i < n; i++) {
        txn_op *op = &ops[i];
        op->fresh = 0;
        op->handle = NULL;
        if (!revalidate_fast_locked(op)) {
            live_view v;
            st = validate_op_locked(op, &v);
            if (st != HP_OK)
                goto out;
            if (op->rec == NULL) { /* a fresh apply: keep its view for phase 2 */
                if (nfresh == capfresh) {
                    size_t cap = capfresh ? 2 * capfresh : 8;
                    fresh_op *nf = hp_os_realloc(fresh, cap * sizeof *nf);
                    if (nf == NULL) {
                        st = HP_ERR_NO_MEMORY;
                        goto out;
                    }
                    fresh = nf;
                    capfresh = cap;
                }
                memset(&fresh[nfresh], 0, sizeof *fresh);
                fresh[nfresh].op = i;
                fresh[nfresh].view = v;
                op->fresh = ++nfresh;
            }
        }
        napply += op->kind == OP_APPLY;
        if (op->rec == NULL)
            continue;
        if (op->rec->mark == serial) {
            st = HP_ERR_DUPLICATE;
            goto out;
        }
        op->rec->mark = serial;
        st = batch_add_op(&batch, op, NULL);
        if (st != HP_OK)
            goto out;
    }
    if (nfresh != 0) {
        /* fresh applies have no record to mark: duplicates among them, or with a known record
           at the same entry, are found by entry */
        if (map_reserve(&fresh_seen, nfresh) != HP_OK) {
            st = HP_ERR_NO_MEMORY;
            goto out;
        }
        for (size_t k = 0; k < nfresh; k++) {
            uintptr_t key = (uintptr_t)ops[fresh[k].op].target;
            if (map_get(&fresh_seen, key, NULL)) {
                st = HP_ERR_DUPLICATE;
                goto out;
            }
            map_put_noresize(&fresh_seen, key, 1);
        }
        for (size_t i = 0; i < n; i++) {
            if (ops[i].rec != NULL && map_get(&fresh_seen, ops[i].rec->entry, NULL)) {
                st = HP_ERR_DUPLICATE;
                goto out;
            }
        }
    }

    /* 2. allocate everything that can fail: handles, map room, fresh records and their memory */
    if (map_reserve(&g.sites, nfresh) != HP_OK || pool_reserve_locked(napply) != HP_OK) {
        st = HP_ERR_NO_MEMORY;
        goto out;
    }
    if (nfresh != 0) {
        blocks = hp_os_calloc(3 * nfresh, sizeof *blocks);
        if (blocks == NULL) {
            st = HP_ERR_NO_MEMORY;
            goto out;
        }
    }
    for (size_t k = 0; k < nfresh; k++) {
        txn_op *op = &ops[fresh[k].op];
        st = prepare_fresh_locked(op, &fresh[k], blocks, &nblocks);
        if (st == HP_OK)
            st = batch_add_op(&batch, op, &fresh[k]);
        if (st != HP_OK)
            goto undo;
    }

    /* 3. make every touched page writable */
    st = batch_unprotect_locked(&batch);
    if (st != HP_OK)
        goto undo;

    /* 4. nothing can fail from here on. Write trampolines, thunks, slots, paddings; hand out
       the pointers */
    for (size_t i = 0; i < n; i++) {
        txn_op *op = &ops[i];
        if (op->kind != OP_APPLY)
            continue;
        hp_site_rec *r = op->rec;
        hp_patch *h = pool_take_locked();
        h->rec = r;
        h->replacement = op->replacement;
        h->original = r->original;
        op->handle = h;
        const fresh_op *f = op->fresh ? &fresh[op->fresh - 1] : NULL;
        if (f != NULL && f->tramp != NULL) {
            const hp_site *site = &f->view.site;
            hp_reloc_in in = {HP_HOST_MACHINE, (const uint8_t *)r->site,
                              f->view.after - (r->site - r->entry), r->site, site->entry_len,
                              !(site->flags & HP_SITE_F_ENTRY_NOP), (site->flags & HP_SITE_F_ENDBR) != 0};
            size_t len;
            hp_reloc_trampoline(&in, f->tramp, f->tramp_len, (uintptr_t)f->tramp, &len);
            hp_os_code_written(f->tramp, len);
        }
        store_slot(r->slot, (uintptr_t)op->replacement);
        if (f != NULL)
            write_fresh_locked(op, f);
        if (op->out_original != NULL)
            *op->out_original = r->original;
        if (op->out_patch != NULL)
            *op->out_patch = h;
    }

    /* 5-7. sync, swap (and publish: the lock is held), sync, restore the pages */
    hp_os_sync_cores();
    for (size_t i = 0; i < n; i++) {
        txn_op *op = &ops[i];
        hp_site_rec *r = op->rec;
        if (op->kind == OP_APPLY) {
            store16_atomic(r->site, r->swap);
            if (op->fresh)
                map_put_noresize(&g.sites, r->entry, (uintptr_t)r);
            r->live = op->handle;
        } else {
            store16_atomic(r->site, r->orig);
            r->live = NULL;
            pool_give_locked(op->patch);
        }
        hp_os_code_written((const void *)r->site, 2);
        op->handle = NULL;
        op->fresh = 0;
    }
    hp_os_sync_cores();
    batch_restore_locked(&batch);
    g.gen++;
    st = HP_OK;
    goto out;

undo:
    batch_restore_locked(&batch);
    free_prepared(ops, n, blocks, nblocks);
out:
    batch_free(&batch);
    hp_os_free(fresh_seen.e);
    hp_os_free(fresh);
    hp_os_free(blocks);
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
    memset(op, 0, sizeof *op);
    op->kind = OP_APPLY;
    op->target = target;
    op->replacement = replacement;
    op->out_original = out_original;
    op->out_patch = out_patch;
}

hp_status hp_apply(void *target, const void *replacement, void **out_original, hp_patch **out_patch)
{
    HP_CHECK_HOST();
    txn_op op;
    apply_op(&op, target, replacement, out_original, out_patch);
    if (target == NULL || replacement == NULL)
        return HP_ERR_ARGUMENT;
    hp_os_mutex_lock(&g_lock);
    hp_status st = commit_locked(&op, 1);
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
    hp_status st = commit_locked(&op, 1);
    hp_os_mutex_unlock(&g_lock);
    return st;
}

hp_status hp_retarget(hp_patch *patch, const void *replacement)
{
    HP_CHECK_HOST();
    if (patch == NULL || replacement == NULL)
        return HP_ERR_ARGUMENT;
    page_batch batch = {NULL, NULL, 0, 0, 0};
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
    st = batch_add(&batch, (uintptr_t)r->slot, sizeof(uintptr_t));
    if (st == HP_OK)
        st = batch_unprotect_locked(&batch);
    if (st != HP_OK)
        goto out;
    store_slot(r->slot, (uintptr_t)replacement); /* the one atomic store of a retarget */
    batch_restore_locked(&batch);
    patch->replacement = replacement;
out:
    batch_free(&batch);
    hp_os_mutex_unlock(&g_lock);
    return st;
}

void *hp_original(const hp_patch *patch)
{
    return patch != NULL ? patch->original : NULL;
}

hp_status hp_txn_begin(hp_txn **out_txn)
{
    if (out_txn == NULL)
        return HP_ERR_ARGUMENT;
    hp_txn *t = hp_os_calloc(1, sizeof *t);
    if (t == NULL)
        return HP_ERR_NO_MEMORY;
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
static hp_status txn_keep(hp_txn *txn, txn_op *op)
{
    live_view v;
    hp_os_mutex_lock(&g_lock);
    hp_status st = validate_op_locked(op, &v);
    op->vgen = g.gen;
    hp_os_mutex_unlock(&g_lock);
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
        memset(op, 0, sizeof *op);
        op->kind = OP_REMOVE;
        op->patch = patch;
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

hp_status hp_txn_commit(hp_txn *txn)
{
    if (txn == NULL)
        return HP_ERR_ARGUMENT;
    hp_status st = txn->failed;
    if (st == HP_OK) {
        hp_os_mutex_lock(&g_lock);
        st = commit_locked(txn->ops, txn->n);
        hp_os_mutex_unlock(&g_lock);
    }
    hp_os_free(txn->ops);
    hp_os_free(txn);
    return st;
}

void hp_txn_abort(hp_txn *txn)
{
    if (txn == NULL)
        return;
    hp_os_free(txn->ops);
    hp_os_free(txn);
}
