/*
 * execmem.h — the one allocator of runtime-owned code-adjacent memory
 * (internal).
 *
 * Two kinds of memory, never mixed on one page:
 *   - slot pages (read-only data): the 8-byte (x64) or 4-byte (x86) cells that
 *     a padding jump `FF 25` reads its destination from;
 *   - code pages (read + execute): trampolines (the relocated first
 *     instruction + a jump back) and x86 thunks.
 * Every page is mapped with its final protection and stays so; the engine
 * makes a page writable only inside one of its calls, through the same page
 * batch it uses for target code, and restores it before returning. Nothing is
 * ever unmapped or reused once handed out and published: a thread may call a
 * trampoline or read a slot for the rest of the process's life. Only blocks of
 * a transaction that failed before anything pointed at them are taken back
 * (hp_xm_rollback_locked).
 *
 * On x64 every block can be asked for within ±2 GiB of an address (`hint`),
 * so that `FF 25 disp32` and RIP-relative operands reach it; chunks are mapped
 * as close to `hint` as the address space allows.
 *
 * State: an hp_xm_arena, declared (with the rest of the global state) in
 * engine.c and only touched with the engine lock held — hence the _locked names.
 */
#ifndef HP_EXECMEM_H
#define HP_EXECMEM_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch.h"
#include "os.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hp_xm_kind {
    HP_XM_SLOT = 0, /* read-only data */
    HP_XM_CODE = 1, /* read + execute */
} hp_xm_kind;

/** Size of one chunk: the unit mapped from the OS (64 KiB: Windows' allocation granularity). */
#define HP_XM_CHUNK_SIZE 65536u

typedef struct hp_xm_chunk {
    struct hp_xm_chunk *next;
    uintptr_t base;  /* HP_XM_CHUNK_SIZE bytes mapped at base */
    size_t used;     /* bump pointer: bytes handed out from base */
    hp_xm_kind kind;
} hp_xm_chunk;

typedef struct hp_xm_arena {
    hp_xm_chunk *chunks[2]; /* by hp_xm_kind, newest first */
} hp_xm_arena;

#define HP_XM_ARENA_INIT {{NULL, NULL}}

/** One allocation, enough to undo it (undo in reverse order of allocation). */
typedef struct hp_xm_block {
    hp_xm_chunk *chunk;
    size_t prev_used;
    void *ptr;
} hp_xm_block;

/**
 * Hand out `size` bytes aligned to `align` (a power of two ≤ 64) of `kind`,
 * within ±2 GiB of `hint` when `hint` is nonzero and the host is x64 (every
 * byte of the block then satisfies |byte − hint| < 2^31 − 64 KiB).
 * Engine lock held.
 * @return HP_OK, HP_ERR_NO_SLOT_MEMORY (nothing reachable), HP_ERR_NO_MEMORY.
 */
hp_status hp_xm_alloc_locked(hp_xm_arena *a, hp_xm_kind kind, uintptr_t hint, size_t size,
                             size_t align, hp_xm_block *out);

/** Undo one allocation that nobody can have seen; blocks of one transaction in reverse order. */
void hp_xm_rollback_locked(hp_xm_arena *a, const hp_xm_block *b);

/**
 * If `page` (page-aligned) belongs to the arena, store its permanent protection
 * in *prot and return 1; else return 0. Engine lock held.
 */
int hp_xm_page_prot_locked(const hp_xm_arena *a, uintptr_t page, hp_os_prot *prot);

/**
 * 1 if addresses `p` and `q` lie in the same chunk of the arena, or both
 * outside every chunk (target code), else 0: whether one protection call may
 * cover both when they are neighbours with one protection. Engine lock held.
 */
int hp_xm_same_owner_locked(const hp_xm_arena *a, uintptr_t p, uintptr_t q);

#ifdef __cplusplus
}
#endif

#endif /* HP_EXECMEM_H */
