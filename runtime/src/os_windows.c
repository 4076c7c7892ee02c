/*
 * os_windows.c — the OS layer on Windows (x64 and x86). See os.h.
 *
 * Built with the MinGW headers, or freestanding for the MSVC ABI
 * (HP_FREESTANDING: no CRT and no SDK exist there, so the few kernel32
 * functions used are declared below by hand, with their documented layouts).
 */
#if defined(_WIN32)
#include "os.h"

#if defined(HP_FREESTANDING)

typedef unsigned long DWORD;
typedef int BOOL;
typedef void *HANDLE;
typedef void *LPVOID;
typedef const void *LPCVOID;
typedef size_t SIZE_T;
typedef DWORD *PDWORD;

#define WINAPI __stdcall
#define HP_IMPORT __declspec(dllimport)

typedef struct _MEMORY_BASIC_INFORMATION {
    LPVOID BaseAddress;
    LPVOID AllocationBase;
    DWORD AllocationProtect;
#if defined(_WIN64)
    unsigned short PartitionId;
#endif
    SIZE_T RegionSize;
    DWORD State;
    DWORD Protect;
    DWORD Type;
} MEMORY_BASIC_INFORMATION;

typedef struct _RTL_SRWLOCK {
    void *Ptr;
} SRWLOCK;

typedef struct _RTL_CONDITION_VARIABLE {
    void *Ptr;
} CONDITION_VARIABLE;

HP_IMPORT LPVOID WINAPI VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType,
                                     DWORD flProtect);
HP_IMPORT BOOL WINAPI VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect,
                                     PDWORD lpflOldProtect);
HP_IMPORT SIZE_T WINAPI VirtualQuery(LPCVOID lpAddress, MEMORY_BASIC_INFORMATION *lpBuffer,
                                     SIZE_T dwLength);
HP_IMPORT BOOL WINAPI FlushInstructionCache(HANDLE hProcess, LPCVOID lpBaseAddress, SIZE_T dwSize);
HP_IMPORT void WINAPI FlushProcessWriteBuffers(void);
HP_IMPORT HANDLE WINAPI GetCurrentProcess(void);
HP_IMPORT BOOL WINAPI VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType);
HP_IMPORT void WINAPI AcquireSRWLockExclusive(SRWLOCK *SRWLock);
HP_IMPORT void WINAPI ReleaseSRWLockExclusive(SRWLOCK *SRWLock);
HP_IMPORT BOOL WINAPI SleepConditionVariableSRW(CONDITION_VARIABLE *ConditionVariable, SRWLOCK *SRWLock,
                                                DWORD dwMilliseconds, unsigned long Flags);
HP_IMPORT void WINAPI WakeConditionVariable(CONDITION_VARIABLE *ConditionVariable);

#define MEM_COMMIT 0x00001000u
#define MEM_RESERVE 0x00002000u
#define MEM_FREE 0x00010000u
#define PAGE_NOACCESS 0x01u
#define PAGE_READONLY 0x02u
#define PAGE_READWRITE 0x04u
#define PAGE_WRITECOPY 0x08u
#define PAGE_EXECUTE 0x10u
#define PAGE_EXECUTE_READ 0x20u
#define PAGE_EXECUTE_READWRITE 0x40u
#define PAGE_EXECUTE_WRITECOPY 0x80u
#define MEM_RELEASE 0x00008000u
#define MEM_IMAGE 0x01000000u
#define INFINITE 0xFFFFFFFFu

/* Patch modules: what kernel32.def lists is imported; the rest is looked up (k32_proc below). */
typedef void *HMODULE;
HP_IMPORT BOOL WINAPI CloseHandle(HANDLE hObject);
HP_IMPORT BOOL WINAPI FreeLibrary(HMODULE hLibModule);
HP_IMPORT DWORD WINAPI GetLastError(void);
HP_IMPORT HMODULE WINAPI GetModuleHandleW(const unsigned short *lpModuleName);
HP_IMPORT void *WINAPI GetProcAddress(HMODULE hModule, const char *lpProcName);

#define INVALID_HANDLE_VALUE ((HANDLE)(intptr_t)-1)
#define GENERIC_READ 0x80000000u
#define FILE_SHARE_READ 0x1u
#define FILE_SHARE_DELETE 0x4u
#define OPEN_EXISTING 3u
#define FILE_ATTRIBUTE_NORMAL 0x80u
#define GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT 0x2u
#define GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS 0x4u
#define FORMAT_MESSAGE_IGNORE_INSERTS 0x200u
#define FORMAT_MESSAGE_FROM_SYSTEM 0x1000u
#define FILE_TYPE_DISK 0x1u

#else /* MinGW */

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#endif

#include "module.h"

size_t hp_os_page_size(void)
{
    return 4096u;
}

size_t hp_os_map_granularity(void)
{
    return 65536u; /* VirtualAlloc's allocation granularity on every Windows */
}

/* ------------------------------------------------------------------------- */
/* Protections                                                                */
/* ------------------------------------------------------------------------- */

static uint32_t flags_of(DWORD native)
{
    switch (native & 0xFFu) {
    case PAGE_READONLY: return HP_PROT_R;
    case PAGE_READWRITE:
    case PAGE_WRITECOPY: return HP_PROT_R | HP_PROT_W;
    case PAGE_EXECUTE: return HP_PROT_X;
    case PAGE_EXECUTE_READ: return HP_PROT_R | HP_PROT_X;
    case PAGE_EXECUTE_READWRITE:
    case PAGE_EXECUTE_WRITECOPY: return HP_PROT_R | HP_PROT_W | HP_PROT_X;
    default: return 0;
    }
}

hp_status hp_os_query_prots(const uintptr_t *pages, size_t n, hp_os_prot *out)
{
    for (size_t i = 0; i < n; i++) {
        MEMORY_BASIC_INFORMATION mbi;
        out[i].flags = out[i].native = 0;
        if (VirtualQuery((LPCVOID)pages[i], &mbi, sizeof mbi) == 0)
            continue;
        if (mbi.State != MEM_COMMIT)
            continue;
        out[i].native = (uint32_t)mbi.Protect;
        out[i].flags = flags_of(mbi.Protect);
    }
    return HP_OK;
}

static DWORD native_prot(uint32_t prot);

hp_os_prot hp_os_prot_make(uint32_t flags)
{
    hp_os_prot p;
    p.native = (uint32_t)native_prot(flags);
    p.flags = flags_of(p.native);
    return p;
}

hp_os_prot hp_os_prot_writable(hp_os_prot p)
{
    uint32_t base = p.native & 0xFFu, mods = p.native & ~0xFFu;
    switch (base) {
    case PAGE_READONLY: base = PAGE_READWRITE; break;
    case PAGE_EXECUTE:
    case PAGE_EXECUTE_READ: base = PAGE_EXECUTE_READWRITE; break;
    default: break; /* already writable (or no access: the protect call will say so) */
    }
    p.native = base | mods;
    p.flags = flags_of(p.native);
    return p;
}

hp_status hp_os_protect(uintptr_t page, size_t len, hp_os_prot want)
{
    DWORD old;
    if (!VirtualProtect((LPVOID)page, len, want.native, &old))
        return HP_ERR_PROTECT;
    return HP_OK;
}

/* ------------------------------------------------------------------------- */
/* Instruction streams                                                        */
/* ------------------------------------------------------------------------- */

void hp_os_code_written(const void *addr, size_t len)
{
    FlushInstructionCache(GetCurrentProcess(), addr, len);
}

void hp_os_sync_cores(void)
{
    /* IPIs every processor running a thread of this process; the interrupt's
       return serialises each of them. */
    FlushProcessWriteBuffers();
}

/* ------------------------------------------------------------------------- */
/* Mappings                                                                   */
/* ------------------------------------------------------------------------- */

static DWORD native_prot(uint32_t prot)
{
    if (prot & HP_PROT_X)
        return (prot & HP_PROT_R) ? PAGE_EXECUTE_READ : PAGE_EXECUTE;
    if (prot & HP_PROT_W)
        return PAGE_READWRITE;
    if (prot & HP_PROT_R)
        return PAGE_READONLY;
    return PAGE_NOACCESS;
}

/* Lowest and highest addresses tried (the first 64 KiB are never mappable). */
#define MAP_FLOOR ((uintptr_t)0x10000)

/*
 * First free block of `size` at or above `addr` (aligned to `gran`) that lies
 * inside [addr, hi); 0 when none.
 */
static uintptr_t free_above(uintptr_t addr, uintptr_t hi, size_t size, uintptr_t gran)
{
    addr = (addr + gran - 1) & ~(gran - 1);
    while (addr < hi && hi - addr >= size) {
        MEMORY_BASIC_INFORMATION mbi;
        if (VirtualQuery((LPCVOID)addr, &mbi, sizeof mbi) == 0)
            return 0;
        uintptr_t rbase = (uintptr_t)mbi.BaseAddress, rend = rbase + mbi.RegionSize;
        if (mbi.State == MEM_FREE && rend - addr >= size)
            return addr;
        if (rend <= addr)
            return 0;
        addr = (rend + gran - 1) & ~(gran - 1);
    }
    return 0;
}

/* Last free block of `size` whose base is at or below `addr` and >= lo; 0 when none. */
static uintptr_t free_below(uintptr_t addr, uintptr_t lo, size_t size, uintptr_t gran)
{
    addr &= ~(gran - 1);
    while (addr >= lo && addr >= MAP_FLOOR) {
        MEMORY_BASIC_INFORMATION mbi;
        if (VirtualQuery((LPCVOID)addr, &mbi, sizeof mbi) == 0)
            return 0;
        uintptr_t rbase = (uintptr_t)mbi.BaseAddress, rend = rbase + mbi.RegionSize;
        if (mbi.State == MEM_FREE) {
            uintptr_t top = rend - size < addr ? rend - size : addr;
            top &= ~(gran - 1);
            if (rend - rbase >= size && top >= rbase && top >= lo)
                return top;
        }
        uintptr_t next = (mbi.State == MEM_FREE ? rbase : (uintptr_t)mbi.AllocationBase);
        if (next < gran)
            return 0;
        addr = (next - 1) & ~(gran - 1);
    }
    return 0;
}

void *hp_os_map(uintptr_t hint, uintptr_t lo, uintptr_t hi, size_t size, uint32_t prot)
{
    if ((prot & HP_PROT_W) && (prot & HP_PROT_X))
        return NULL;
    DWORD np = native_prot(prot);
    if (lo >= hi)
        return VirtualAlloc(NULL, size, MEM_COMMIT | MEM_RESERVE, np);
    const uintptr_t gran = hp_os_map_granularity();
    if (lo < MAP_FLOOR)
        lo = MAP_FLOOR;
    uintptr_t up = hint, down = hint;
    /* walk outwards: try the closer of the next free block above and below */
    for (int tries = 0; tries < 64; tries++) {
        uintptr_t a = up ? free_above(up, hi, size, gran) : 0;
        uintptr_t b = down ? free_below(down, lo, size, gran) : 0;
        if (a == 0 && b == 0)
            return NULL;
        uintptr_t pick;
        if (a != 0 && (b == 0 || a - hint <= hint - b)) {
            pick = a;
            up = a + gran;
        } else {
            pick = b;
            down = b > gran ? b - gran : 0;
        }
        void *p = VirtualAlloc((LPVOID)pick, size, MEM_COMMIT | MEM_RESERVE, np);
        if (p != NULL)
            return p;
    }
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* Images                                                                     */
/* ------------------------------------------------------------------------- */

int hp_os_image_of(uintptr_t addr, uintptr_t *base, size_t *header_len)
{
    MEMORY_BASIC_INFORMATION mbi;
    *base = 0;
    *header_len = 0;
    if (VirtualQuery((LPCVOID)addr, &mbi, sizeof mbi) == 0 || mbi.State != MEM_COMMIT || mbi.Type != MEM_IMAGE)
        return 0;
    uintptr_t b = (uintptr_t)mbi.AllocationBase;
    /* the headers: the first region of the image, read-only once loaded */
    if (VirtualQuery((LPCVOID)b, &mbi, sizeof mbi) == 0 || mbi.State != MEM_COMMIT ||
        !(flags_of(mbi.Protect) & HP_PROT_R) || (mbi.Protect & 0x100u /* PAGE_GUARD */))
        return 0;
    *base = b;
    *header_len = mbi.RegionSize;
    return 1;
}

/* ------------------------------------------------------------------------- */
/* Heap and lock                                                              */
/* ------------------------------------------------------------------------- */

#if defined(HP_FREESTANDING)
/*
 * The freestanding build imports no heap functions (cmake/windows/kernel32.def
 * lists what exists), so small blocks come from size classes of 16..4096 bytes
 * carved out of 64 KiB VirtualAlloc chunks, larger ones straight from
 * VirtualAlloc. Every block is preceded by a 16-byte header holding its size
 * class (or its mapping size). State: the free lists below, behind their own
 * lock (hp_os_alloc may be called without the engine lock, e.g. by hp_txn_begin).
 */
#define HEAP_CLASSES 9 /* 16 << 0 .. 16 << 8 = 4096 */
#define HEAP_HDR 16u
typedef struct heap_free {
    struct heap_free *next;
} heap_free;
static heap_free *heap_lists[HEAP_CLASSES];
static SRWLOCK heap_lock;

static void *heap_big(size_t size)
{
    size_t total = (size + HEAP_HDR + 4095u) & ~(size_t)4095u;
    if (total < size)
        return NULL;
    uint8_t *p = VirtualAlloc(NULL, total, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (p == NULL)
        return NULL;
    *(size_t *)p = total; /* >= 4096 + 16: tells a big block from a class index */
    return p + HEAP_HDR;
}

void *hp_os_alloc(size_t size)
{
    unsigned c = 0;
    while (c < HEAP_CLASSES && ((size_t)16u << c) < size + HEAP_HDR)
        c++;
    if (c == HEAP_CLASSES)
        return heap_big(size);
    size_t bsize = (size_t)16u << c;
    AcquireSRWLockExclusive(&heap_lock);
    if (heap_lists[c] == NULL) {
        uint8_t *chunk = VirtualAlloc(NULL, 65536u, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
        if (chunk == NULL) {
            ReleaseSRWLockExclusive(&heap_lock);
            return NULL;
        }
        for (size_t off = 0; off + bsize <= 65536u; off += bsize) {
            heap_free *f = (heap_free *)(chunk + off);
            f->next = heap_lists[c];
            heap_lists[c] = f;
        }
    }
    heap_free *f = heap_lists[c];
    heap_lists[c] = f->next;
    ReleaseSRWLockExclusive(&heap_lock);
    *(size_t *)f = c;
    return (uint8_t *)f + HEAP_HDR;
}

static size_t heap_usable(const void *p)
{
    size_t tag = *(const size_t *)((const uint8_t *)p - HEAP_HDR);
    return tag < HEAP_CLASSES ? ((size_t)16u << tag) - HEAP_HDR : tag - HEAP_HDR;
}

void hp_os_free(void *p)
{
    if (p == NULL)
        return;
    uint8_t *b = (uint8_t *)p - HEAP_HDR;
    size_t tag = *(size_t *)b;
    if (tag >= HEAP_CLASSES) {
        VirtualFree(b, 0, MEM_RELEASE);
        return;
    }
    AcquireSRWLockExclusive(&heap_lock);
    ((heap_free *)b)->next = heap_lists[tag];
    heap_lists[tag] = (heap_free *)b;
    ReleaseSRWLockExclusive(&heap_lock);
}

void *hp_os_calloc(size_t n, size_t size)
{
    if (size != 0 && n > (size_t)-1 / size)
        return NULL;
    void *p = hp_os_alloc(n * size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *hp_os_realloc(void *p, size_t size)
{
    if (p == NULL)
        return hp_os_alloc(size);
    size_t have = heap_usable(p);
    if (size <= have)
        return p;
    void *q = hp_os_alloc(size);
    if (q == NULL)
        return NULL;
    memcpy(q, p, have);
    hp_os_free(p);
    return q;
}

#else /* MinGW: the process heap */

void *hp_os_alloc(size_t size)
{
    return HeapAlloc(GetProcessHeap(), 0, size ? size : 1);
}

void *hp_os_calloc(size_t n, size_t size)
{
    if (size != 0 && n > (size_t)-1 / size)
        return NULL;
    return HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, n * size ? n * size : 1);
}

void *hp_os_realloc(void *p, size_t size)
{
    if (p == NULL)
        return hp_os_alloc(size);
    return HeapReAlloc(GetProcessHeap(), 0, p, size ? size : 1);
}

void hp_os_free(void *p)
{
    if (p != NULL)
        HeapFree(GetProcessHeap(), 0, p);
}

#endif

/*
 * The fast path is one compare-and-swap of `state`. A thread that finds the
 * lock held announces itself in `waiters` (under the SRW lock) and sleeps on
 * the condition variable until a compare-and-swap succeeds; unlock wakes one
 * waiter when `waiters` is nonzero. No wake-up is lost: the waiter increments
 * `waiters` before its compare-and-swap and the unlocker clears `state` before
 * reading `waiters` (both sequentially consistent), so either the waiter's
 * compare-and-swap sees the lock free, or the unlocker sees the waiter and
 * wakes it — which it can only do once the waiter sleeps, since the waiter
 * holds the SRW lock until SleepConditionVariableSRW releases it.
 */
void hp_os_mutex_lock(hp_os_mutex *m)
{
    long free_state = 0;
    if (__atomic_compare_exchange_n(&m->state, &free_state, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    AcquireSRWLockExclusive((SRWLOCK *)&m->srw);
    __atomic_fetch_add(&m->waiters, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        free_state = 0;
        if (__atomic_compare_exchange_n(&m->state, &free_state, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            break;
        SleepConditionVariableSRW((CONDITION_VARIABLE *)&m->cv, (SRWLOCK *)&m->srw, INFINITE, 0);
    }
    __atomic_fetch_sub(&m->waiters, 1, __ATOMIC_SEQ_CST);
    ReleaseSRWLockExclusive((SRWLOCK *)&m->srw);
}

void hp_os_mutex_unlock(hp_os_mutex *m)
{
    __atomic_store_n(&m->state, 0, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&m->waiters, __ATOMIC_SEQ_CST) != 0) {
        AcquireSRWLockExclusive((SRWLOCK *)&m->srw);
        WakeConditionVariable((CONDITION_VARIABLE *)&m->cv);
        ReleaseSRWLockExclusive((SRWLOCK *)&m->srw);
    }
}

/* ------------------------------------------------------------------------- */
/* Patch modules                                                              */
/* ------------------------------------------------------------------------- */

/* Largest module file read (a patch module is small; this bounds a mistake). */
#define MAX_FILE ((uint64_t)1 << 30)

#if defined(HP_FREESTANDING)
/* kernel32 functions that cmake/windows/kernel32.def does not list: looked up by name each time
   (no state kept; kernel32 is always loaded). */
typedef HANDLE(WINAPI *create_file_a_fn)(const char *, DWORD, DWORD, void *, DWORD, DWORD, HANDLE);
typedef BOOL(WINAPI *get_file_size_ex_fn)(HANDLE, long long *);
typedef DWORD(WINAPI *get_file_type_fn)(HANDLE);
typedef BOOL(WINAPI *read_file_fn)(HANDLE, void *, DWORD, DWORD *, void *);
typedef DWORD(WINAPI *get_full_path_name_a_fn)(const char *, DWORD, char *, char **);
typedef HMODULE(WINAPI *load_library_a_fn)(const char *);
typedef BOOL(WINAPI *get_module_handle_ex_a_fn)(DWORD, const char *, HMODULE *);
typedef HMODULE(WINAPI *get_module_handle_a_fn)(const char *);
typedef DWORD(WINAPI *format_message_a_fn)(DWORD, const void *, DWORD, DWORD, char *, DWORD, void *);
typedef DWORD(WINAPI *get_module_file_name_a_fn)(HMODULE, char *, DWORD);

static void *k32_proc(const char *name)
{
    static const unsigned short k32[] = {'k', 'e', 'r', 'n', 'e', 'l', '3', '2', '.', 'd', 'l', 'l', 0};
    HMODULE k = GetModuleHandleW(k32);
    return k != NULL ? GetProcAddress(k, name) : NULL;
}
#define K32(type, name) ((type)(uintptr_t)k32_proc(#name))

static HANDLE w_create_file_a(const char *path)
{
    create_file_a_fn f = K32(create_file_a_fn, CreateFileA);
    return f != NULL ? f(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                         FILE_ATTRIBUTE_NORMAL, NULL)
                     : INVALID_HANDLE_VALUE;
}
static int w_file_size(HANDLE h, uint64_t *size)
{
    get_file_size_ex_fn f = K32(get_file_size_ex_fn, GetFileSizeEx);
    long long v = 0;
    if (f == NULL || !f(h, &v) || v < 0)
        return 0;
    *size = (uint64_t)v;
    return 1;
}
static int w_is_disk_file(HANDLE h)
{
    get_file_type_fn f = K32(get_file_type_fn, GetFileType);
    return f != NULL && f(h) == FILE_TYPE_DISK;
}
static int w_read(HANDLE h, void *buf, DWORD n, DWORD *got)
{
    read_file_fn f = K32(read_file_fn, ReadFile);
    return f != NULL && f(h, buf, n, got, NULL);
}
static DWORD w_full_path(const char *path, DWORD n, char *buf)
{
    get_full_path_name_a_fn f = K32(get_full_path_name_a_fn, GetFullPathNameA);
    return f != NULL ? f(path, n, buf, NULL) : 0;
}
static HMODULE w_load_library(const char *path)
{
    load_library_a_fn f = K32(load_library_a_fn, LoadLibraryA);
    return f != NULL ? f(path) : NULL;
}
static HMODULE w_module_at(const void *addr)
{
    get_module_handle_ex_a_fn f = K32(get_module_handle_ex_a_fn, GetModuleHandleExA);
    HMODULE h = NULL;
    if (f == NULL || !f(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                        (const char *)addr, &h))
        return NULL;
    return h;
}
static HMODULE w_module_named(const char *name)
{
    get_module_handle_a_fn f = K32(get_module_handle_a_fn, GetModuleHandleA);
    return f != NULL ? f(name) : NULL;
}
static DWORD w_module_file(HMODULE h, char *buf, DWORD n)
{
    get_module_file_name_a_fn f = K32(get_module_file_name_a_fn, GetModuleFileNameA);
    return f != NULL ? f(h, buf, n) : 0;
}
static DWORD w_format_message(DWORD err, char *buf, DWORD n)
{
    format_message_a_fn f = K32(format_message_a_fn, FormatMessageA);
    return f != NULL ? f(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0, buf, n, NULL) : 0;
}
#else
static HANDLE w_create_file_a(const char *path)
{
    return CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                       FILE_ATTRIBUTE_NORMAL, NULL);
}
static int w_file_size(HANDLE h, uint64_t *size)
{
    LARGE_INTEGER v;
    if (!GetFileSizeEx(h, &v) || v.QuadPart < 0)
        return 0;
    *size = (uint64_t)v.QuadPart;
    return 1;
}
static int w_is_disk_file(HANDLE h)
{
    return GetFileType(h) == FILE_TYPE_DISK;
}
static int w_read(HANDLE h, void *buf, DWORD n, DWORD *got)
{
    return ReadFile(h, buf, n, got, NULL) != 0;
}
static DWORD w_full_path(const char *path, DWORD n, char *buf)
{
    return GetFullPathNameA(path, n, buf, NULL);
}
static HMODULE w_load_library(const char *path)
{
    return LoadLibraryA(path);
}
static HMODULE w_module_at(const void *addr)
{
    HMODULE h = NULL;
    if (!GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            (const char *)addr, &h))
        return NULL;
    return h;
}
static HMODULE w_module_named(const char *name)
{
    return GetModuleHandleA(name);
}
static DWORD w_module_file(HMODULE h, char *buf, DWORD n)
{
    return GetModuleFileNameA(h, buf, n);
}
static DWORD w_format_message(DWORD err, char *buf, DWORD n)
{
    return FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0, buf, n, NULL);
}
#endif

/* "error N: <the system's text>" for GetLastError() value `err`. */
static void error_text(DWORD err, char *why, size_t why_size)
{
    char text[256];
    DWORD n = w_format_message(err, text, (DWORD)sizeof text);
    while (n > 0 && (text[n - 1] == '\r' || text[n - 1] == '\n' || text[n - 1] == ' ' || text[n - 1] == '.'))
        n--;
    text[n < sizeof text ? n : sizeof text - 1] = '\0';
    if (n != 0)
        hp_msgf(why, why_size, "error %lu: %s", (unsigned long)err, text);
    else
        hp_msgf(why, why_size, "error %lu", (unsigned long)err);
}

/* Longest path handled (MAX_PATH is 260; long paths need no more here). */
#define PATH_ROOM 1024u

hp_status hp_os_module_path(const char *path, char **out, char *why, size_t why_size)
{
    *out = NULL;
    char full[PATH_ROOM];
    size_t n = 0;
    while (path[n] != '\0')
        n++;
    int bare = 1;
    for (size_t i = 0; i < n; i++)
        if (path[i] == '\\' || path[i] == '/' || path[i] == ':')
            bare = 0;
    DWORD len;
    if (bare) {
        /* the program's directory, as LoadLibrary looks there first */
        len = w_module_file(NULL, full, (DWORD)sizeof full);
        while (len > 0 && full[len - 1] != '\\' && full[len - 1] != '/')
            len--;
        if (len == 0 || len + n + 1 > sizeof full) {
            hp_msgf(why, why_size, "the program's directory is unknown, or the path too long");
            return HP_ERR_IO;
        }
        memcpy(full + len, path, n + 1);
        len += (DWORD)n;
    } else {
        len = w_full_path(path, (DWORD)sizeof full, full);
        if (len == 0 || len >= sizeof full) {
            if (len == 0)
                error_text(GetLastError(), why, why_size);
            else
                hp_msgf(why, why_size, "path too long");
            return HP_ERR_IO;
        }
    }
    *out = hp_os_alloc(len + 1);
    if (*out == NULL)
        return HP_ERR_NO_MEMORY;
    memcpy(*out, full, len + 1);
    return HP_OK;
}

hp_status hp_os_read_head(const char *path, uint8_t *buf, size_t n, size_t *got)
{
    *got = 0;
    HANDLE h = w_create_file_a(path);
    if (h == INVALID_HANDLE_VALUE)
        return HP_ERR_IO;
    while (*got < n) {
        DWORD r = 0, want = n - *got > 0x10000000u ? 0x10000000u : (DWORD)(n - *got);
        if (!w_read(h, buf + *got, want, &r) || r == 0)
            break;
        *got += r;
    }
    CloseHandle(h);
    return HP_OK;
}

int hp_os_image_file(uintptr_t base, char *buf, size_t size)
{
    DWORD n = w_module_file((HMODULE)base, buf, (DWORD)size);
    return n != 0 && n < size;
}

hp_status hp_os_read_file(const char *path, uint8_t **out, size_t *out_size, char *why, size_t why_size)
{
    *out = NULL;
    *out_size = 0;
    HANDLE h = w_create_file_a(path);
    if (h == INVALID_HANDLE_VALUE) {
        error_text(GetLastError(), why, why_size);
        return HP_ERR_IO;
    }
    uint64_t size = 0;
    if (!w_is_disk_file(h) || !w_file_size(h, &size) || size > MAX_FILE) {
        hp_msgf(why, why_size, "%s", size > MAX_FILE ? "too large" : "not a regular file");
        CloseHandle(h);
        return HP_ERR_IO;
    }
    uint8_t *buf = hp_os_alloc(size ? (size_t)size : 1);
    if (buf == NULL) {
        CloseHandle(h);
        hp_msgf(why, why_size, "out of memory");
        return HP_ERR_NO_MEMORY;
    }
    size_t have = 0;
    while (have < size) {
        DWORD got = 0, want = size - have > 0x10000000u ? 0x10000000u : (DWORD)(size - have);
        if (!w_read(h, buf + have, want, &got) || got == 0) {
            if (got == 0)
                hp_msgf(why, why_size, "the file shrank while read");
            else
                error_text(GetLastError(), why, why_size);
            hp_os_free(buf);
            CloseHandle(h);
            return HP_ERR_IO;
        }
        have += got;
    }
    CloseHandle(h);
    *out = buf;
    *out_size = (size_t)size;
    return HP_OK;
}

/* Bytes of the image mapping at `base` readable from there: its committed regions, in a row. */
static size_t image_extent(uintptr_t base)
{
    MEMORY_BASIC_INFORMATION mbi;
    uintptr_t at = base;
    while (VirtualQuery((LPCVOID)at, &mbi, sizeof mbi) != 0 && (uintptr_t)mbi.AllocationBase == base &&
           mbi.State == MEM_COMMIT && mbi.RegionSize != 0)
        at = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
    return at - base;
}

static void image_of_handle(HMODULE h, hp_os_image *out)
{
    memset(out, 0, sizeof *out);
    out->base = (uintptr_t)h;
    out->size = image_extent(out->base);
}

hp_status hp_os_lib_open(const char *path, hp_os_image *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    /* the full path (LoadLibrary searches for a relative one): the file hp_os_read_file() read */
    char full[PATH_ROOM];
    DWORD n = w_full_path(path, (DWORD)sizeof full, full);
    if (n == 0 || n >= sizeof full) {
        if (n == 0)
            error_text(GetLastError(), why, why_size);
        else
            hp_msgf(why, why_size, "path too long");
        return HP_ERR_IO;
    }
    HMODULE h = w_load_library(full);
    if (h == NULL) {
        error_text(GetLastError(), why, why_size);
        return HP_ERR_IO;
    }
    image_of_handle(h, out);
    out->handle = h;
    return HP_OK;
}

void hp_os_lib_close(void *handle)
{
    if (handle != NULL)
        FreeLibrary((HMODULE)handle);
}

int hp_os_image_at(const void *addr, hp_os_image *out)
{
    HMODULE h = w_module_at(addr);
    if (h == NULL)
        return 0;
    image_of_handle(h, out);
    return 1;
}

int hp_os_image_named(const char *name, hp_os_image *out)
{
    HMODULE h = w_module_named(name);
    if (h == NULL)
        return 0;
    image_of_handle(h, out);
    return 1;
}

void hp_os_images_foreach(hp_os_image_fn fn, void *ctx)
{
    (void)fn; /* PE images are found by name or address */
    (void)ctx;
}

/* ------------------------------------------------------------------------- */
/* W+X scan                                                                   */
/* ------------------------------------------------------------------------- */

size_t hp_os_count_wx(uintptr_t *first)
{
    size_t count = 0;
    uintptr_t addr = 0, firstbad = 0;
    MEMORY_BASIC_INFORMATION mbi;
    while (VirtualQuery((LPCVOID)addr, &mbi, sizeof mbi) != 0) {
        uintptr_t base = (uintptr_t)mbi.BaseAddress, next = base + mbi.RegionSize;
        if (mbi.State == MEM_COMMIT) {
            DWORD p = mbi.Protect & 0xFFu;
            if (p == PAGE_EXECUTE_READWRITE || p == PAGE_EXECUTE_WRITECOPY) {
                if (count++ == 0)
                    firstbad = base;
            }
        }
        if (next <= addr)
            break;
        addr = next;
    }
    if (first != NULL)
        *first = firstbad;
    return count;
}

#endif /* _WIN32 */
