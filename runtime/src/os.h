/*
 * os.h — the operating-system layer of the patch engine (internal).
 *
 * One implementation per OS: os_linux.c (Linux x86-64 and i386) and
 * os_windows.c (Windows x64 and x86; MinGW, or MSVC-ABI freestanding with
 * HP_FREESTANDING defined, where kernel32 is declared by hand and no CRT exists).
 *
 * What lives here and nowhere else: page protection (query, change, restore),
 * instruction-stream synchronisation of every core, mapping memory hint an
 * address, the heap, the engine's one mutex primitive, the W+X scan used by
 * the tests, and for patch modules: reading a file, loading a library, finding
 * a loaded image. Nothing here keeps global state of its own except the Linux
 * membarrier registration (hp_os_sync_cores documents it).
 *
 * Thread-safety: every function may be called from any thread; the engine
 * calls the mutating ones with its lock held.
 */
#ifndef HP_OS_H
#define HP_OS_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch.h"

#if !defined(_WIN32)
#include <pthread.h>
#endif

#include "hp_libc.h" /* memcpy, memset, memcmp: all the C library the runtime uses */

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Protections                                                                */
/* ------------------------------------------------------------------------- */

#define HP_PROT_R 0x1u
#define HP_PROT_W 0x2u
#define HP_PROT_X 0x4u

/**
 * A page protection as the OS knows it. `flags` (HP_PROT_*) is what the engine
 * reasons about; `native` is the exact OS value (Linux PROT_* bits, Windows
 * PAGE_* including modifiers such as PAGE_GUARD) so that a restore is exact.
 */
typedef struct hp_os_prot {
    uint32_t flags;
    uint32_t native;
} hp_os_prot;

/** Size of one protection page (4096 on every supported target). */
size_t hp_os_page_size(void);

/**
 * Protections of `n` page-aligned addresses, which must be sorted ascending.
 * A page that is not mapped gets flags == 0 and native == 0.
 * Linux reads /proc/self/maps once per call (no allocation; a stack buffer);
 * when /proc is not mounted it reports every page as r-x (documented fallback:
 * the engine only asks about pages that hold code it was told to patch).
 * @return HP_OK, or HP_ERR_IO when the protections cannot be determined.
 */
hp_status hp_os_query_prots(const uintptr_t *pages, size_t n, hp_os_prot *out);

/** The protection with exactly HP_PROT_* `flags`, in the OS's terms. */
hp_os_prot hp_os_prot_make(uint32_t flags);

/** `p` with write access added, keeping execute (R-X becomes RWX, R becomes RW). */
hp_os_prot hp_os_prot_writable(hp_os_prot p);

/**
 * Set the protection of the `len` bytes at page-aligned `page` to `want`.
 * @return HP_OK or HP_ERR_PROTECT (the OS refused; nothing changed).
 */
hp_status hp_os_protect(uintptr_t page, size_t len, hp_os_prot want);

/* ------------------------------------------------------------------------- */
/* Instruction streams                                                        */
/* ------------------------------------------------------------------------- */

/**
 * Note that code bytes in `[addr, addr + len)` were written (Windows:
 * FlushInstructionCache; Linux x86: nothing, the caches are coherent and
 * hp_os_sync_cores does the cross-core part). The engine calls it once per run
 * of written code pages, not per write: on Windows every call is a system
 * call's worth of work whatever the length.
 */
void hp_os_code_written(const void *addr, size_t len);

/**
 * Make every earlier code write visible to instruction fetch on every core
 * that runs a thread of this process: each such core executes a serialising
 * instruction before it next runs user code.
 *
 * Linux: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE), registered
 * on first use. Fallbacks, in order, when the kernel lacks it (< 4.16) or a
 * seccomp filter refuses it: MEMBARRIER_CMD_PRIVATE_EXPEDITED (the IPI
 * returns to user mode through IRET, serialising on x86), then a protection
 * downgrade of a private page (forces a TLB-shootdown IPI to every core in
 * this mm; one mprotect + fault cost, the trick CoreCLR uses for
 * FlushProcessWriteBuffers). Windows: FlushProcessWriteBuffers.
 */
void hp_os_sync_cores(void);

/* ------------------------------------------------------------------------- */
/* Mappings                                                                   */
/* ------------------------------------------------------------------------- */

/** Granularity of hp_os_map_* (Linux: the page; Windows: 64 KiB). */
size_t hp_os_map_granularity(void);

/**
 * Map `size` bytes (a multiple of hp_os_map_granularity) of fresh zeroed memory
 * with protection flags `prot` (HP_PROT_*), entirely inside [lo, hi) when
 * lo < hi (searching outward from `hint`, closest first), anywhere otherwise.
 * Never returns a mapping that is writable and executable.
 * @return the base, or NULL when nothing fits (or the OS refused).
 */
void *hp_os_map(uintptr_t hint, uintptr_t lo, uintptr_t hi, size_t size, uint32_t prot);

/**
 * The loaded image that `addr` lies in: on Windows a MEM_IMAGE mapping made by
 * the loader (an EXE or DLL). Used to tell import thunks from hooks (thunk.h).
 * @return 1 with *base (the image's load address) and *header_len (bytes
 *         readable from *base on: the headers' region); 0 when `addr` is not in
 *         a loaded image, and always on Linux (ELF has no import thunks to follow).
 */
int hp_os_image_of(uintptr_t addr, uintptr_t *base, size_t *header_len);
/** 1 when hp_os_image_of() can answer 1 (Windows): code that only looks for thunks can skip the rest. */
#if defined(_WIN32)
#define HP_OS_IMAGES 1
#else
#define HP_OS_IMAGES 0
#endif

/* ------------------------------------------------------------------------- */
/* Heap and lock                                                              */
/* ------------------------------------------------------------------------- */

/** Heap (malloc/realloc/free, HeapAlloc on Windows). hp_os_free(NULL) is a no-op. */
void *hp_os_alloc(size_t size);
void *hp_os_calloc(size_t n, size_t size);
void *hp_os_realloc(void *p, size_t size);
void hp_os_free(void *p);

/**
 * The mutex primitive; the engine declares its one lock with HP_OS_MUTEX_INIT.
 * Windows: one atomic instruction to take and one to give back while nobody
 * waits (the usual case); a thread that finds it held waits on a condition
 * variable under an SRW lock. (An SRW lock alone costs two kernel32 calls per
 * use, and hp_txn_apply takes the lock once per function: under Wine that was
 * as much as the whole floor of a 2,000-function transaction.)
 */
#if defined(_WIN32)
typedef struct hp_os_mutex {
    long state;   /* 0: free, 1: held */
    long waiters; /* threads in the slow path of hp_os_mutex_lock */
    void *srw;    /* SRWLOCK (zero = unlocked) guarding the wait */
    void *cv;     /* CONDITION_VARIABLE (zero = initialised) the waiters sleep on */
} hp_os_mutex;
#define HP_OS_MUTEX_INIT {0, 0, 0, 0}
#else
typedef struct hp_os_mutex {
    pthread_mutex_t m;
} hp_os_mutex;
#define HP_OS_MUTEX_INIT {PTHREAD_MUTEX_INITIALIZER}
#endif

void hp_os_mutex_lock(hp_os_mutex *m);
void hp_os_mutex_unlock(hp_os_mutex *m);

/* ------------------------------------------------------------------------- */
/* Patch modules (module.c)                                                   */
/* ------------------------------------------------------------------------- */

/** A loaded image (an EXE, DLL or shared object of this process). */
typedef struct hp_os_image {
    uintptr_t base;   /**< Windows: the module handle, i.e. its load address; Linux: its load bias */
    size_t size;      /**< Windows: bytes of its mapping readable from base; Linux: 0 */
    const void *phdr; /**< Linux: its program headers (valid while it stays loaded) */
    size_t phnum;
    void *handle;     /**< hp_os_lib_open(): what hp_os_lib_close() takes; NULL otherwise */
    const char *name; /**< Linux, hp_os_images_foreach(): its path as the loader has it ("" for the program) */
} hp_os_image;

/**
 * The file a module path names (hp_module_load): a bare file name (no directory separator, Windows:
 * no drive either) is in the program's own directory (where LoadLibrary looks first), nowhere else;
 * any other path is taken as given (a relative one from the current directory; Windows: made full
 * with GetFullPathNameA). *out is a new heap block (hp_os_free).
 * @return HP_OK; HP_ERR_IO (why: the program's directory is unknown, or the path too long);
 *         HP_ERR_NO_MEMORY.
 */
hp_status hp_os_module_path(const char *path, char **out, char *why, size_t why_size);

/**
 * Read the whole regular file at `path` into a new heap block (*out, hp_os_free; *out_size bytes).
 * @param why receives the OS's reason on failure (NUL-terminated, cut to why_size).
 * @return HP_OK; HP_ERR_IO; HP_ERR_NO_MEMORY.
 */
hp_status hp_os_read_file(const char *path, uint8_t **out, size_t *out_size, char *why, size_t why_size);

/**
 * Read at most `n` bytes from the start of the file at `path` into buf (*got: how many).
 * @return HP_OK; HP_ERR_IO.
 */
hp_status hp_os_read_head(const char *path, uint8_t *buf, size_t n, size_t *got);

/** Windows: the file the loaded image at `base` was mapped from (GetModuleFileNameA), into buf; 0 when
    unknown (and always on Linux). */
int hp_os_image_file(uintptr_t base, char *buf, size_t size);

/**
 * Load the library at `path` (Linux: dlopen RTLD_NOW | RTLD_LOCAL; Windows: LoadLibraryA of its full
 * path) and describe it. A path without a directory is taken relative to the current directory, as
 * hp_os_read_file() takes it, never searched for.
 * @return HP_OK; HP_ERR_IO (why: the loader's message).
 */
hp_status hp_os_lib_open(const char *path, hp_os_image *out, char *why, size_t why_size);
/** Unload a library hp_os_lib_open() loaded (its handle). */
void hp_os_lib_close(void *handle);

/** The loaded image that holds `addr`: 1 and *out, or 0. */
int hp_os_image_at(const void *addr, hp_os_image *out);
/** Windows: the loaded module named `name` (GetModuleHandleA: a DLL, or the program itself); Linux: 0. */
int hp_os_image_named(const char *name, hp_os_image *out);
/** Call fn for every loaded image until it returns nonzero (Linux: dl_iterate_phdr; Windows: none). */
typedef int (*hp_os_image_fn)(void *ctx, const hp_os_image *img);
void hp_os_images_foreach(hp_os_image_fn fn, void *ctx);

/* ------------------------------------------------------------------------- */
/* Checks for tests                                                           */
/* ------------------------------------------------------------------------- */

/**
 * Count the mappings of this process that are writable and executable; the
 * first one's base is stored in *first (may be NULL).
 */
size_t hp_os_count_wx(uintptr_t *first);

#ifdef __cplusplus
}
#endif

#endif /* HP_OS_H */
