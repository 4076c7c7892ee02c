/*
 * execmem.c — the allocator of slot and trampoline memory. See execmem.h.
 */
#include "execmem.h"

#if UINTPTR_MAX > 0xFFFFFFFFu
#define HP_XM_NEED_REACH 1
/* every byte of a chunk lies within this distance of `hint`: rel32 reaches it */
#define HP_XM_REACH ((uintptr_t)0x7FFFFFFFu - HP_XM_CHUNK_SIZE)
#else
#define HP_XM_NEED_REACH 0
#endif

static uint32_t kind_prot(hp_xm_kind kind)
{
    return kind == HP_XM_CODE ? (HP_PROT_R | HP_PROT_X) : HP_PROT_R;
}

/* Does every byte of [p, p + size) lie within reach of hint? */
static int reaches(uintptr_t hint, uintptr_t p, size_t size)
{
#if HP_XM_NEED_REACH
    if (hint == 0)
        return 1;
    uintptr_t lo = p, hi = p + size;
    uintptr_t d1 = lo > hint ? lo - hint : hint - lo;
    uintptr_t d2 = hi > hint ? hi - hint : hint - hi;
    return d1 < HP_XM_REACH && d2 < HP_XM_REACH;
#else
    (void)hint;
    (void)p;
    (void)size;
    return 1;
#endif
}

static hp_status map_chunk(hp_xm_arena *a, hp_xm_kind kind, uintptr_t hint, hp_xm_chunk **out)
{
    hp_xm_chunk *c = hp_os_alloc(sizeof *c);
    if (c == NULL)
        return HP_ERR_NO_MEMORY;
    uintptr_t lo = 0, hi = 0;
#if HP_XM_NEED_REACH
    if (hint != 0) {
        lo = hint > HP_XM_REACH ? hint - HP_XM_REACH : 0;
        hi = hint < UINTPTR_MAX - HP_XM_REACH ? hint + HP_XM_REACH : UINTPTR_MAX;
        /* the chunk's end must stay in reach too */
        hi -= HP_XM_CHUNK_SIZE;
    }
#endif
    void *p = hp_os_map(hint, lo, hi, HP_XM_CHUNK_SIZE, kind_prot(kind));
    if (p == NULL) {
        hp_os_free(c);
        return HP_ERR_NO_SLOT_MEMORY;
    }
    c->base = (uintptr_t)p;
    c->used = 0;
    c->kind = kind;
    c->next = a->chunks[kind];
    a->chunks[kind] = c;
    *out = c;
    return HP_OK;
}

hp_status hp_xm_alloc_locked(hp_xm_arena *a, hp_xm_kind kind, uintptr_t hint, size_t size,
                             size_t align, hp_xm_block *out)
{
    if (size == 0 || size > HP_XM_CHUNK_SIZE || align == 0 || align > 64 || (align & (align - 1)))
        return HP_ERR_ARGUMENT;
    for (int attempt = 0; attempt < 2; attempt++) {
        for (hp_xm_chunk *c = a->chunks[kind]; c != NULL; c = c->next) {
            size_t off = (c->used + align - 1) & ~(align - 1);
            if (off > HP_XM_CHUNK_SIZE || HP_XM_CHUNK_SIZE - off < size)
                continue;
            if (!reaches(hint, c->base + off, size))
                continue;
            out->chunk = c;
            out->prev_used = c->used;
            out->ptr = (void *)(c->base + off);
            c->used = off + size;
            return HP_OK;
        }
        if (attempt == 0) {
            hp_xm_chunk *c;
            hp_status st = map_chunk(a, kind, hint, &c);
            if (st != HP_OK)
                return st;
        }
    }
    return HP_ERR_NO_SLOT_MEMORY;
}

void hp_xm_rollback_locked(hp_xm_arena *a, const hp_xm_block *b)
{
    (void)a;
    if (b->chunk != NULL)
        b->chunk->used = b->prev_used;
}

/* The chunk holding `addr`, or NULL. */
static const hp_xm_chunk *chunk_of(const hp_xm_arena *a, uintptr_t addr)
{
    for (int k = 0; k < 2; k++)
        for (const hp_xm_chunk *c = a->chunks[k]; c != NULL; c = c->next)
            if (addr >= c->base && addr - c->base < HP_XM_CHUNK_SIZE)
                return c;
    return NULL;
}

int hp_xm_page_prot_locked(const hp_xm_arena *a, uintptr_t page, hp_os_prot *prot)
{
    const hp_xm_chunk *c = chunk_of(a, page);
    if (c == NULL)
        return 0;
    *prot = hp_os_prot_make(kind_prot(c->kind));
    return 1;
}

int hp_xm_same_owner_locked(const hp_xm_arena *a, uintptr_t p, uintptr_t q)
{
    return chunk_of(a, p) == chunk_of(a, q);
}
