/*
 * hp_test_os.c — threads, clock, W+X scan and the case runner for the runtime's
 * portable test programs. Independent of the runtime's own OS layer on purpose:
 * the tests must not trust the code they test.
 */
#if !defined(_WIN32)
#define _GNU_SOURCE
#endif
#include "hp_test.h"

#if defined(_WIN32) && defined(HP_FREESTANDING)
typedef unsigned long DWORD;
typedef int BOOL;
typedef void *HANDLE;
typedef struct {
    void *BaseAddress;
    void *AllocationBase;
    DWORD AllocationProtect;
#if defined(_WIN64)
    unsigned short PartitionId;
#endif
    size_t RegionSize;
    DWORD State;
    DWORD Protect;
    DWORD Type;
} MEMORY_BASIC_INFORMATION;
typedef union {
    long long QuadPart;
} LARGE_INTEGER;
typedef DWORD(__stdcall *LPTHREAD_START_ROUTINE)(void *);
__declspec(dllimport) HANDLE __stdcall CreateThread(void *, size_t, LPTHREAD_START_ROUTINE, void *, DWORD, DWORD *);
__declspec(dllimport) DWORD __stdcall WaitForSingleObject(HANDLE, DWORD);
__declspec(dllimport) BOOL __stdcall CloseHandle(HANDLE);
__declspec(dllimport) BOOL __stdcall QueryPerformanceCounter(LARGE_INTEGER *);
__declspec(dllimport) BOOL __stdcall QueryPerformanceFrequency(LARGE_INTEGER *);
__declspec(dllimport) BOOL __stdcall SwitchToThread(void);
__declspec(dllimport) size_t __stdcall VirtualQuery(const void *, MEMORY_BASIC_INFORMATION *, size_t);
__declspec(dllimport) BOOL __stdcall VirtualProtect(void *, size_t, DWORD, DWORD *);
__declspec(dllimport) HANDLE __stdcall GetCurrentProcess(void);
__declspec(dllimport) BOOL __stdcall FlushInstructionCache(HANDLE, const void *, size_t);
__declspec(dllimport) void *__stdcall VirtualAlloc(void *, size_t, DWORD, DWORD);
__declspec(dllimport) BOOL __stdcall VirtualFree(void *, size_t, DWORD);
__declspec(dllimport) HANDLE __stdcall GetModuleHandleW(const unsigned short *);
__declspec(dllimport) void *__stdcall GetProcAddress(HANDLE, const char *);
__declspec(dllimport) HANDLE __stdcall LoadLibraryW(const unsigned short *);
__declspec(dllimport) BOOL __stdcall FreeLibrary(HANDLE);
#define WINAPI __stdcall
#define INFINITE 0xFFFFFFFFu
#define MEM_COMMIT 0x1000u
#define MEM_RESERVE 0x2000u
#define MEM_RELEASE 0x8000u
#define PAGE_NOACCESS 0x01u
#define PAGE_READONLY 0x02u
#define PAGE_READWRITE 0x04u
#define PAGE_WRITECOPY 0x08u
#define PAGE_EXECUTE 0x10u
#define PAGE_EXECUTE_READ 0x20u
#define PAGE_EXECUTE_READWRITE 0x40u
#define PAGE_EXECUTE_WRITECOPY 0x80u
#elif defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

/* ------------------------------------------------------------------------- */
/* Threads                                                                    */
/* ------------------------------------------------------------------------- */

typedef struct start_block {
    hp_thread_fn fn;
    void *arg;
} start_block;

/* One start block per thread a program may run at once (no heap needed). */
static start_block g_starts[64];
static unsigned g_nstarts;

#if defined(_WIN32)
static DWORD WINAPI thread_main(void *p)
{
    start_block *s = p;
    s->fn(s->arg);
    return 0;
}
#else
static void *thread_main(void *p)
{
    start_block *s = p;
    s->fn(s->arg);
    return NULL;
}
#endif

int hp_thread_create(hp_thread *t, hp_thread_fn fn, void *arg)
{
    start_block *s = &g_starts[g_nstarts++ % 64];
    s->fn = fn;
    s->arg = arg;
#if defined(_WIN32)
    t->h = CreateThread(NULL, 0, thread_main, s, 0, NULL);
    return t->h != NULL ? 0 : -1;
#else
    pthread_t th;
    if (pthread_create(&th, NULL, thread_main, s) != 0)
        return -1;
    t->id = (uintptr_t)th;
    return 0;
#endif
}

void hp_thread_join(hp_thread *t)
{
#if defined(_WIN32)
    WaitForSingleObject(t->h, INFINITE);
    CloseHandle(t->h);
#else
    pthread_join((pthread_t)t->id, NULL);
#endif
}

void hp_thread_lower_priority(void)
{
#if defined(_WIN32) && !defined(HP_FREESTANDING)
    SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_LOWEST);
#elif !defined(_WIN32)
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19); /* Linux: per-thread nice */
#endif
}

void hp_thread_yield(void)
{
#if defined(_WIN32)
    SwitchToThread();
#else
    sched_yield();
#endif
}

unsigned long long hp_now_us(void)
{
#if defined(_WIN32)
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (unsigned long long)((double)c.QuadPart * 1e6 / (double)f.QuadPart);
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u;
#endif
}

/* ------------------------------------------------------------------------- */
/* W+X scan                                                                   */
/* ------------------------------------------------------------------------- */

unsigned hp_test_count_wx(void)
{
    unsigned n = 0;
#if defined(_WIN32)
    MEMORY_BASIC_INFORMATION mbi;
    uintptr_t addr = 0;
    while (VirtualQuery((const void *)addr, &mbi, sizeof mbi) != 0) {
        uintptr_t next = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
        DWORD p = mbi.Protect & 0xFFu;
        if (mbi.State == MEM_COMMIT && (p == PAGE_EXECUTE_READWRITE || p == PAGE_EXECUTE_WRITECOPY))
            n++;
        if (next <= addr)
            break;
        addr = next;
    }
#else
    /* "start-end perms ...": count lines whose perms read ?wx? */
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    char buf[4096];
    int field = 0, col = 0, w = 0;
    ssize_t got;
    if (fd < 0)
        return 0;
    while ((got = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < got; i++) {
            char c = buf[i];
            if (c == '\n') {
                field = col = w = 0;
                continue;
            }
            if (c == ' ') {
                field++;
                col = 0;
                continue;
            }
            if (field == 1) {
                if (col == 1)
                    w = c == 'w';
                if (col == 2 && w && c == 'x')
                    n++;
                col++;
            }
        }
    }
    close(fd);
#endif
    return n;
}

/* ------------------------------------------------------------------------- */
/* Foreign code writes                                                        */
/* ------------------------------------------------------------------------- */

/*
 * Write `n` bytes into code at `at` the way another hooking tool would: the
 * page(s) made writable for the write (the tests run the target on this
 * thread only while doing this), then put back as they were.
 */
int hp_test_poke_code(void *at, const void *bytes, size_t n)
{
    uintptr_t page = (uintptr_t)at & ~(uintptr_t)4095u;
    size_t len = ((uintptr_t)at + n - page + 4095u) & ~(size_t)4095u;
#if defined(_WIN32)
    DWORD old;
    if (!VirtualProtect((void *)page, len, PAGE_EXECUTE_READWRITE, &old))
        return 0;
    memcpy(at, bytes, n);
    VirtualProtect((void *)page, len, old, &old);
    FlushInstructionCache(GetCurrentProcess(), at, n);
#else
    if (mprotect((void *)page, len, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
        return 0;
    memcpy(at, bytes, n);
    mprotect((void *)page, len, PROT_READ | PROT_EXEC);
#endif
    return 1;
}

/* ------------------------------------------------------------------------- */
/* Pages and modules                                                          */
/* ------------------------------------------------------------------------- */

#if defined(_WIN32)
static unsigned prot_of_native(DWORD p)
{
    switch (p & 0xFFu) {
    case PAGE_READONLY: return HP_TEST_R;
    case PAGE_READWRITE:
    case PAGE_WRITECOPY: return HP_TEST_R | HP_TEST_W;
    case PAGE_EXECUTE: return HP_TEST_X;
    case PAGE_EXECUTE_READ: return HP_TEST_R | HP_TEST_X;
    case PAGE_EXECUTE_READWRITE:
    case PAGE_EXECUTE_WRITECOPY: return HP_TEST_R | HP_TEST_W | HP_TEST_X;
    default: return 0;
    }
}

static DWORD native_of_prot(unsigned prot)
{
    if (prot & HP_TEST_X)
        return (prot & HP_TEST_R) ? PAGE_EXECUTE_READ : PAGE_EXECUTE;
    if (prot & HP_TEST_W)
        return PAGE_READWRITE;
    return (prot & HP_TEST_R) ? PAGE_READONLY : PAGE_NOACCESS;
}
#else
/* Permissions "rwxp" of the /proc/self/maps line that holds `a`; 0 when none does. */
static unsigned maps_prot(uintptr_t a)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    static char buf[1 << 18];
    size_t have = 0;
    ssize_t got;
    unsigned prot = 0;
    if (fd < 0)
        return 0;
    while (have < sizeof buf - 1 && (got = read(fd, buf + have, sizeof buf - 1 - have)) > 0)
        have += (size_t)got;
    close(fd);
    buf[have] = 0;
    for (char *line = buf; *line;) {
        char *end = line;
        while (*end && *end != '\n')
            end++;
        unsigned long lo = 0, hi = 0;
        char *c = line;
        for (; *c && *c != '-'; c++)
            lo = lo * 16 + (unsigned long)(*c <= '9' ? *c - '0' : (*c | 0x20) - 'a' + 10);
        for (c++; *c && *c != ' '; c++)
            hi = hi * 16 + (unsigned long)(*c <= '9' ? *c - '0' : (*c | 0x20) - 'a' + 10);
        if (a >= lo && a < hi && c + 4 < end) {
            prot = (c[1] == 'r' ? HP_TEST_R : 0) | (c[2] == 'w' ? HP_TEST_W : 0) | (c[3] == 'x' ? HP_TEST_X : 0);
            break;
        }
        line = *end ? end + 1 : end;
    }
    return prot;
}
#endif

unsigned hp_test_page_prot(const void *p)
{
#if defined(_WIN32)
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(p, &mbi, sizeof mbi) == 0 || mbi.State != MEM_COMMIT)
        return 0;
    return prot_of_native(mbi.Protect);
#else
    return maps_prot((uintptr_t)p);
#endif
}

int hp_test_set_page_prot(void *p, unsigned prot)
{
    void *page = (void *)((uintptr_t)p & ~(uintptr_t)4095u);
    if ((prot & HP_TEST_W) && (prot & HP_TEST_X))
        return 0;
#if defined(_WIN32)
    DWORD old;
    return VirtualProtect(page, 4096, native_of_prot(prot), &old) != 0;
#else
    int np = ((prot & HP_TEST_R) ? PROT_READ : 0) | ((prot & HP_TEST_W) ? PROT_WRITE : 0) |
             ((prot & HP_TEST_X) ? PROT_EXEC : 0);
    return mprotect(page, 4096, np) == 0;
#endif
}

void *hp_test_map(void *at, size_t size)
{
#if defined(_WIN32)
    return VirtualAlloc(at, size, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
#else
    void *p = mmap(at, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED_NOREPLACE : 0),
                   -1, 0);
    return p == MAP_FAILED || (at != NULL && p != at) ? NULL : p;
#endif
}

void *hp_test_map_near(const void *close_to, size_t size)
{
    uintptr_t start = ((uintptr_t)close_to & ~(uintptr_t)0xFFFFu) - 0x10000u;
    for (uintptr_t a = start; a > 0x10000u && start - a < ((uintptr_t)1 << 30); a -= 0x10000u) {
        void *p = hp_test_map((void *)a, size);
        if (p != NULL)
            return p;
    }
    return NULL;
}

void hp_test_unmap(void *p, size_t size)
{
#if defined(_WIN32)
    (void)size;
    VirtualFree(p, 0, MEM_RELEASE);
#else
    munmap(p, size);
#endif
}

void *hp_test_dll_export(const char *dll, const char *name)
{
#if defined(_WIN32)
    unsigned short wide[64];
    size_t i = 0;
    for (; dll[i] != 0 && i < 63; i++)
        wide[i] = (unsigned short)(unsigned char)dll[i];
    wide[i] = 0;
    HANDLE h = GetModuleHandleW((const void *)wide);
    return h != NULL ? (void *)(uintptr_t)GetProcAddress(h, name) : NULL;
#else
    (void)dll;
    (void)name;
    return NULL;
#endif
}

/* ------------------------------------------------------------------------- */
/* Libraries (the patch-module cases)                                         */
/* ------------------------------------------------------------------------- */

#if defined(_WIN32)
/* `s` as UTF-16 (ASCII paths only: what the tests use); 0 when too long. */
static int widen(const char *s, unsigned short *w, size_t n)
{
    size_t i = 0;
    for (; s[i] != 0; i++) {
        if (i + 1 >= n)
            return 0;
        w[i] = (unsigned short)(unsigned char)s[i];
    }
    w[i] = 0;
    return 1;
}
#endif

int hp_test_exe_dir(char *buf, size_t size)
{
    size_t n = 0;
#if defined(_WIN32)
    typedef DWORD(__stdcall * get_module_file_name_a_fn)(HANDLE, char *, DWORD);
    get_module_file_name_a_fn f =
        (get_module_file_name_a_fn)(uintptr_t)hp_test_dll_export("kernel32.dll", "GetModuleFileNameA");
    if (f == NULL || size < 2)
        return 0;
    n = f(NULL, buf, (DWORD)size);
    if (n == 0 || n >= size)
        return 0;
#else
    ssize_t got = readlink("/proc/self/exe", buf, size - 1);
    if (got <= 0 || (size_t)got >= size - 1)
        return 0;
    n = (size_t)got;
#endif
    buf[n] = 0;
    while (n > 0 && buf[n - 1] != '/' && buf[n - 1] != '\\')
        n--;
    if (n == 0)
        return 0;
    buf[n - 1] = 0; /* no trailing separator */
    return 1;
}

void *hp_test_lib_open(const char *path)
{
#if defined(_WIN32)
    unsigned short w[1024];
    return widen(path, w, sizeof w / sizeof w[0]) ? (void *)LoadLibraryW((const void *)w) : NULL;
#else
    return dlopen(path, RTLD_NOW | RTLD_LOCAL);
#endif
}

void *hp_test_lib_sym(void *lib, const char *name)
{
#if defined(_WIN32)
    return lib != NULL ? (void *)(uintptr_t)GetProcAddress(lib, name) : NULL;
#else
    return lib != NULL ? dlsym(lib, name) : NULL;
#endif
}

void hp_test_lib_close(void *lib)
{
#if defined(_WIN32)
    if (lib != NULL)
        FreeLibrary(lib);
#else
    if (lib != NULL)
        dlclose(lib);
#endif
}

int hp_test_lib_loaded(const char *path)
{
#if defined(_WIN32)
    const char *base = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    unsigned short w[1024];
    return widen(base, w, sizeof w / sizeof w[0]) && GetModuleHandleW((const void *)w) != NULL;
#else
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (h != NULL)
        dlclose(h);
    return h != NULL;
#endif
}

/* ------------------------------------------------------------------------- */
/* Runner                                                                     */
/* ------------------------------------------------------------------------- */

int hp_test_main(const char *prog, const hp_test_case *cases, size_t n)
{
    unsigned passed = 0, failed = 0;
    unsigned wx0 = hp_test_count_wx();
    for (size_t i = 0; i < n; i++) {
        unsigned f0 = hpt_failures();
        unsigned long long t0 = hp_now_us();
        cases[i].fn();
        unsigned wx = hp_test_count_wx();
        if (!hpt_check(wx <= wx0, "no new writable+executable mapping", __FILE__, __LINE__))
            hpt_outf("    %u W+X mappings after %s (%u before)\n", wx, cases[i].name, wx0);
        int ok = hpt_failures() == f0;
        hpt_outf("%s %s/%s (%llu ms)\n", ok ? "ok  " : "FAIL", prog, cases[i].name,
                 (hp_now_us() - t0) / 1000u);
        if (ok)
            passed++;
        else
            failed++;
    }
    hpt_outf("%u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}
