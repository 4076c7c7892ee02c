/*
 * os_linux.c — the OS layer on Linux (x86-64 and i386). See os.h.
 */
#if defined(__linux__)
#define _GNU_SOURCE
#include "os.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "module.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000 /* Linux >= 4.17; older kernels treat it as a plain hint */
#endif

size_t hp_os_page_size(void)
{
    return 4096u;
}

size_t hp_os_map_granularity(void)
{
    return 4096u;
}

/* ------------------------------------------------------------------------- */
/* /proc/self/maps                                                            */
/* ------------------------------------------------------------------------- */

/* One mapping: [start, end) with HP_PROT_* flags and the exact PROT_* bits. */
typedef struct maps_entry {
    uintptr_t start, end;
    uint32_t flags;
    uint32_t native;
} maps_entry;

/* Called for every mapping in address order; returns nonzero to stop. */
typedef int (*maps_fn)(const maps_entry *e, void *ctx);

static int parse_hex(const char **p, uintptr_t *out)
{
    uintptr_t v = 0;
    int n = 0;
    for (;; ++*p, ++n) {
        char c = **p;
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            break;
        v = (v << 4) | d;
    }
    *out = v;
    return n > 0;
}

static int parse_maps_line(const char *line, maps_entry *e)
{
    const char *p = line;
    if (!parse_hex(&p, &e->start) || *p++ != '-' || !parse_hex(&p, &e->end) || *p++ != ' ')
        return 0;
    if (p[0] == '\0' || p[1] == '\0' || p[2] == '\0')
        return 0;
    e->flags = 0;
    e->native = 0;
    if (p[0] == 'r') { e->flags |= HP_PROT_R; e->native |= PROT_READ; }
    if (p[1] == 'w') { e->flags |= HP_PROT_W; e->native |= PROT_WRITE; }
    if (p[2] == 'x') { e->flags |= HP_PROT_X; e->native |= PROT_EXEC; }
    return 1;
}

/*
 * Walk /proc/self/maps without allocating (a stack buffer; lines longer than
 * the buffer are only parsed for their leading address range and permissions).
 * Returns -1 when the file cannot be read.
 */
static int maps_walk(maps_fn fn, void *ctx)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[4096];
    size_t have = 0;
    int skipping = 0; /* inside the tail of an over-long line */
    int stop = 0;
    for (;;) {
        ssize_t got = read(fd, buf + have, sizeof buf - 1 - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
        buf[have] = '\0';
        char *line = buf;
        char *nl;
        while ((nl = memchr(line, '\n', have - (size_t)(line - buf))) != NULL) {
            *nl = '\0';
            maps_entry e;
            if (!skipping && parse_maps_line(line, &e) && fn(&e, ctx)) {
                stop = 1;
                break;
            }
            skipping = 0;
            line = nl + 1;
        }
        if (stop)
            break;
        size_t rest = have - (size_t)(line - buf);
        if (rest == sizeof buf - 1) {
            /* one line fills the buffer: its head is parsed, the tail skipped */
            maps_entry e;
            if (!skipping && parse_maps_line(buf, &e) && fn(&e, ctx)) {
                stop = 1;
                break;
            }
            skipping = 1;
            rest = 0;
        }
        memmove(buf, line, rest);
        have = rest;
    }
    close(fd);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Protections                                                                */
/* ------------------------------------------------------------------------- */

typedef struct query_ctx {
    const uintptr_t *pages;
    size_t n, i;
    hp_os_prot *out;
} query_ctx;

static int query_cb(const maps_entry *e, void *vctx)
{
    query_ctx *q = vctx;
    while (q->i < q->n && q->pages[q->i] < e->end) {
        if (q->pages[q->i] >= e->start) {
            q->out[q->i].flags = e->flags;
            q->out[q->i].native = e->native;
        }
        q->i++;
    }
    return q->i == q->n;
}

/*
 * Does /proc/self/maps under-report execute permission? qemu-user 7.2 shows
 * guest code as r-- (it maps it without host PROT_EXEC). Detected once, by
 * looking at the page of this very function, which is certainly executable.
 * Then every readable page is reported executable too: the engine only asks
 * about pages that hold code it was told to patch. -1 = not known yet.
 */
static int exec_unreliable = -1;

static void check_exec_reliable(void)
{
    uintptr_t self = (uintptr_t)&hp_os_query_prots & ~(uintptr_t)4095u;
    hp_os_prot p = {0, 0};
    query_ctx q = {&self, 1, 0, &p};
    if (maps_walk(query_cb, &q) < 0)
        return;
    __atomic_store_n(&exec_unreliable, (p.flags & HP_PROT_R) && !(p.flags & HP_PROT_X), __ATOMIC_RELAXED);
}

hp_status hp_os_query_prots(const uintptr_t *pages, size_t n, hp_os_prot *out)
{
    for (size_t i = 0; i < n; i++)
        out[i].flags = out[i].native = 0;
    if (__atomic_load_n(&exec_unreliable, __ATOMIC_RELAXED) < 0)
        check_exec_reliable();
    query_ctx q = {pages, n, 0, out};
    if (maps_walk(query_cb, &q) < 0) {
        /* no /proc: assume code pages are r-x (see os.h) */
        for (size_t i = 0; i < n; i++) {
            out[i].flags = HP_PROT_R | HP_PROT_X;
            out[i].native = PROT_READ | PROT_EXEC;
        }
        return HP_OK;
    }
    if (exec_unreliable == 1) {
        for (size_t i = 0; i < n; i++) {
            if (out[i].flags & HP_PROT_R) {
                out[i].flags |= HP_PROT_X;
                out[i].native |= PROT_EXEC;
            }
        }
    }
    return HP_OK;
}

static int native_prot(uint32_t prot);

hp_os_prot hp_os_prot_make(uint32_t flags)
{
    hp_os_prot p = {flags, (uint32_t)native_prot(flags)};
    return p;
}

hp_os_prot hp_os_prot_writable(hp_os_prot p)
{
    p.flags |= HP_PROT_W | HP_PROT_R;
    p.native |= PROT_WRITE | PROT_READ;
    return p;
}

hp_status hp_os_protect(uintptr_t page, size_t len, hp_os_prot want)
{
    if (mprotect((void *)page, len, (int)want.native) != 0)
        return HP_ERR_PROTECT;
    return HP_OK;
}

/* ------------------------------------------------------------------------- */
/* Instruction streams                                                        */
/* ------------------------------------------------------------------------- */

void hp_os_code_written(const void *addr, size_t len)
{
    /* x86 keeps instruction caches coherent with stores; the cross-core
       serialisation is hp_os_sync_cores' job. */
    (void)addr;
    (void)len;
}

enum { SYNC_UNKNOWN = 0, SYNC_CORE, SYNC_EXPEDITED, SYNC_MPROTECT };

/*
 * The one piece of state of the OS layer: which synchronisation mechanism the
 * kernel granted (registered once, never changes afterwards), and the page the
 * mprotect fallback toggles. Written only under the engine lock; read with
 * relaxed atomics so a racing reader at worst registers again (harmless).
 */
static int sync_mode = SYNC_UNKNOWN;
static void *sync_page;

static long membarrier(int cmd)
{
    return syscall(__NR_membarrier, cmd, 0, 0);
}

static int sync_choose(void)
{
    long cmds = membarrier(MEMBARRIER_CMD_QUERY);
    if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) &&
        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) == 0)
        return SYNC_CORE;
    if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
        return SYNC_EXPEDITED;
    sync_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sync_page == MAP_FAILED)
        sync_page = NULL;
    return SYNC_MPROTECT;
}

void hp_os_sync_cores(void)
{
    int mode = __atomic_load_n(&sync_mode, __ATOMIC_ACQUIRE);
    if (mode == SYNC_UNKNOWN) {
        mode = sync_choose();
        __atomic_store_n(&sync_mode, mode, __ATOMIC_RELEASE);
    }
    switch (mode) {
    case SYNC_CORE:
        if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) == 0)
            return;
        break;
    case SYNC_EXPEDITED:
        if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
            return;
        break;
    default:
        break;
    }
    /* Fallback: dirty a private page, then revoke write access. The kernel
       must shoot the stale TLB entry down on every core that runs this mm,
       with an IPI whose return to user mode serialises that core. */
    if (sync_page != NULL) {
        *(volatile char *)sync_page = 1;
        mprotect(sync_page, 4096, PROT_READ);
        mprotect(sync_page, 4096, PROT_READ | PROT_WRITE);
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ------------------------------------------------------------------------- */
/* Mappings                                                                   */
/* ------------------------------------------------------------------------- */

/* Lowest and highest addresses a mapping is tried at (mmap_min_addr; 47-bit user space). */
#define MAP_FLOOR ((uintptr_t)0x10000)
#if UINTPTR_MAX > 0xFFFFFFFFu
#define MAP_CEIL ((uintptr_t)0x7FFFFFFFF000ull)
#else
#define MAP_CEIL ((uintptr_t)0xFFFFF000u)
#endif

typedef struct gap_ctx {
    uintptr_t hint, lo, hi, size;
    uintptr_t prev_end;
    uintptr_t best;     /* candidate base; 0 = none */
    uintptr_t best_dist;
} gap_ctx;

static uintptr_t dist(uintptr_t a, uintptr_t b)
{
    return a > b ? a - b : b - a;
}

/* Consider the free range [start, end) for a mapping of g->size inside [lo, hi). */
static void gap_consider(gap_ctx *g, uintptr_t start, uintptr_t end)
{
    const uintptr_t gran = 4096u;
    if (start < g->lo)
        start = g->lo;
    if (end > g->hi)
        end = g->hi;
    start = (start + gran - 1) & ~(gran - 1);
    end &= ~(gran - 1);
    if (start >= end || end - start < g->size)
        return;
    /* the base in [start, end - size] closest to hint */
    uintptr_t base;
    if (g->hint <= start)
        base = start;
    else if (g->hint >= end - g->size)
        base = end - g->size;
    else
        base = g->hint & ~(gran - 1);
    uintptr_t d = dist(base, g->hint);
    if (g->best == 0 || d < g->best_dist) {
        g->best = base;
        g->best_dist = d;
    }
}

static int gap_cb(const maps_entry *e, void *vctx)
{
    gap_ctx *g = vctx;
    if (e->start > g->prev_end)
        gap_consider(g, g->prev_end, e->start);
    if (e->end > g->prev_end)
        g->prev_end = e->end;
    return 0;
}

static int native_prot(uint32_t prot)
{
    int p = PROT_NONE;
    if (prot & HP_PROT_R)
        p |= PROT_READ;
    if (prot & HP_PROT_W)
        p |= PROT_WRITE;
    if (prot & HP_PROT_X)
        p |= PROT_EXEC;
    return p;
}

void *hp_os_map(uintptr_t hint, uintptr_t lo, uintptr_t hi, size_t size, uint32_t prot)
{
    if ((prot & HP_PROT_W) && (prot & HP_PROT_X))
        return NULL;
    int nprot = native_prot(prot);
    if (lo >= hi) {
        void *p = mmap(NULL, size, nprot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    if (lo < MAP_FLOOR)
        lo = MAP_FLOOR;
    if (hi > MAP_CEIL)
        hi = MAP_CEIL;
    /* a few rounds: another thread may map the gap between our look and our mmap */
    for (int round = 0; round < 8; round++) {
        gap_ctx g = {hint, lo, hi, size, MAP_FLOOR, 0, 0};
        if (maps_walk(gap_cb, &g) < 0)
            return NULL;
        gap_consider(&g, g.prev_end, MAP_CEIL);
        if (g.best == 0)
            return NULL;
        void *want = (void *)g.best;
        void *p = mmap(want, size, nprot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == want)
            return p;
        if (p != MAP_FAILED)
            munmap(p, size); /* kernel < 4.17 took the flag as a hint and put it elsewhere */
        else if (errno != EEXIST)
            return NULL;
    }
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* Heap and lock                                                              */
/* ------------------------------------------------------------------------- */

void *hp_os_alloc(size_t size)
{
    return malloc(size);
}

void *hp_os_calloc(size_t n, size_t size)
{
    return calloc(n, size);
}

void *hp_os_realloc(void *p, size_t size)
{
    return realloc(p, size);
}

void hp_os_free(void *p)
{
    free(p);
}

void hp_os_mutex_lock(hp_os_mutex *m)
{
    pthread_mutex_lock(&m->m);
}

void hp_os_mutex_unlock(hp_os_mutex *m)
{
    pthread_mutex_unlock(&m->m);
}

/* ------------------------------------------------------------------------- */
/* W+X scan                                                                   */
/* ------------------------------------------------------------------------- */

typedef struct wx_ctx {
    size_t count;
    uintptr_t first;
} wx_ctx;

static int wx_cb(const maps_entry *e, void *vctx)
{
    wx_ctx *w = vctx;
    if ((e->flags & HP_PROT_W) && (e->flags & HP_PROT_X)) {
        if (w->count++ == 0)
            w->first = e->start;
    }
    return 0;
}

int hp_os_image_of(uintptr_t addr, uintptr_t *base, size_t *header_len)
{
    /* ELF calls through the PLT and takes addresses through the GOT: no thunk is followed. */
    (void)addr;
    *base = 0;
    *header_len = 0;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Patch modules                                                              */
/* ------------------------------------------------------------------------- */

/* Largest module file read (a patch module is small; this bounds a mistake). */
#define MAX_FILE ((size_t)1 << 30)

static void errno_text(int err, char *why, size_t why_size)
{
    char buf[128];
    const char *t = strerror_r(err, buf, sizeof buf); /* the GNU form: returns the text */
    hp_msgf(why, why_size, "%s", t);
}

hp_status hp_os_read_file(const char *path, uint8_t **out, size_t *out_size, char *why, size_t why_size)
{
    *out = NULL;
    *out_size = 0;
    /* O_NONBLOCK: a FIFO is refused below instead of blocking the open */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        errno_text(errno, why, why_size);
        return HP_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        errno_text(errno, why, why_size);
        close(fd);
        return HP_ERR_IO;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE) {
        hp_msgf(why, why_size, "%s", S_ISREG(st.st_mode) ? "too large" : "not a regular file");
        close(fd);
        return HP_ERR_IO;
    }
    size_t size = (size_t)st.st_size, have = 0;
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL) {
        close(fd);
        hp_msgf(why, why_size, "out of memory");
        return HP_ERR_NO_MEMORY;
    }
    while (have < size) {
        ssize_t got = read(fd, buf + have, size - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got < 0)
                errno_text(errno, why, why_size);
            else
                hp_msgf(why, why_size, "the file shrank while read");
            free(buf);
            close(fd);
            return HP_ERR_IO;
        }
        have += (size_t)got;
    }
    close(fd);
    *out = buf;
    *out_size = size;
    return HP_OK;
}

hp_status hp_os_module_path(const char *path, char **out, char *why, size_t why_size)
{
    size_t n = strlen(path);
    *out = NULL;
    if (strchr(path, '/') != NULL) {
        *out = malloc(n + 1);
        if (*out == NULL)
            return HP_ERR_NO_MEMORY;
        memcpy(*out, path, n + 1);
        return HP_OK;
    }
    char exe[4096];
    ssize_t got = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = got > 0 && (size_t)got < sizeof exe - 1 ? (exe[got] = '\0', strrchr(exe, '/')) : NULL;
    if (slash == NULL) {
        hp_msgf(why, why_size, "the program's directory is unknown (/proc/self/exe)");
        return HP_ERR_IO;
    }
    size_t d = (size_t)(slash - exe) + 1; /* with the '/' */
    *out = malloc(d + n + 1);
    if (*out == NULL)
        return HP_ERR_NO_MEMORY;
    memcpy(*out, exe, d);
    memcpy(*out + d, path, n + 1);
    return HP_OK;
}

hp_status hp_os_read_head(const char *path, uint8_t *buf, size_t n, size_t *got)
{
    *got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return HP_ERR_IO;
    while (*got < n) {
        ssize_t r = read(fd, buf + *got, n - *got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        *got += (size_t)r;
    }
    close(fd);
    return HP_OK;
}

int hp_os_image_file(uintptr_t base, char *buf, size_t size)
{
    (void)base; /* ELF images need no file: their code is not relocated */
    (void)buf;
    (void)size;
    return 0;
}

/* dl_iterate_phdr: the object whose load bias and dynamic section are a link_map's. */
typedef struct lm_find {
    uintptr_t bias, dyn;
    const void *phdr;
    size_t phnum;
    int found;
} lm_find;

static int lm_find_cb(struct dl_phdr_info *info, size_t size, void *vctx)
{
    (void)size;
    lm_find *f = vctx;
    if (info->dlpi_addr != f->bias)
        return 0;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC && info->dlpi_addr + info->dlpi_phdr[i].p_vaddr == f->dyn) {
            f->phdr = info->dlpi_phdr;
            f->phnum = info->dlpi_phnum;
            f->found = 1;
            return 1;
        }
    }
    return 0;
}

hp_status hp_os_lib_open(const char *path, hp_os_image *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    /* dlopen searches the library path for a name without '/': make it a path, as open() reads it */
    char *rel = NULL;
    const char *p = path;
    if (strchr(path, '/') == NULL) {
        size_t n = strlen(path);
        rel = malloc(n + 3);
        if (rel == NULL) {
            hp_msgf(why, why_size, "out of memory");
            return HP_ERR_NO_MEMORY;
        }
        memcpy(rel, "./", 2);
        memcpy(rel + 2, path, n + 1);
        p = rel;
    }
    void *h = dlopen(p, RTLD_NOW | RTLD_LOCAL);
    free(rel);
    if (h == NULL) {
        const char *e = dlerror();
        hp_msgf(why, why_size, "%s", e != NULL ? e : "dlopen failed");
        return HP_ERR_IO;
    }
    struct link_map *lm = NULL;
    lm_find f = {0, 0, NULL, 0, 0};
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm != NULL) {
        f.bias = (uintptr_t)lm->l_addr;
        f.dyn = (uintptr_t)lm->l_ld;
        dl_iterate_phdr(lm_find_cb, &f);
    }
    if (!f.found) {
        dlclose(h);
        hp_msgf(why, why_size, "loaded, but its program headers cannot be found");
        return HP_ERR_IO;
    }
    out->base = f.bias;
    out->phdr = f.phdr;
    out->phnum = f.phnum;
    out->handle = h;
    return HP_OK;
}

void hp_os_lib_close(void *handle)
{
    if (handle != NULL)
        dlclose(handle);
}

typedef struct images_ctx {
    hp_os_image_fn fn;
    void *ctx;
} images_ctx;

static int images_cb(struct dl_phdr_info *info, size_t size, void *vctx)
{
    (void)size;
    const images_ctx *c = vctx;
    hp_os_image img;
    memset(&img, 0, sizeof img);
    img.base = (uintptr_t)info->dlpi_addr;
    img.phdr = info->dlpi_phdr;
    img.phnum = info->dlpi_phnum;
    img.name = info->dlpi_name;
    return c->fn(c->ctx, &img);
}

void hp_os_images_foreach(hp_os_image_fn fn, void *ctx)
{
    images_ctx c = {fn, ctx};
    dl_iterate_phdr(images_cb, &c);
}

typedef struct image_at_ctx {
    uintptr_t addr;
    hp_os_image *out;
    int found;
} image_at_ctx;

static int image_at_cb(void *vctx, const hp_os_image *img)
{
    image_at_ctx *c = vctx;
    const ElfW(Phdr) *ph = img->phdr;
    for (size_t i = 0; i < img->phnum; i++) {
        uintptr_t lo = img->base + (uintptr_t)ph[i].p_vaddr;
        if (ph[i].p_type == PT_LOAD && c->addr >= lo && c->addr - lo < (uintptr_t)ph[i].p_memsz) {
            *c->out = *img;
            c->found = 1;
            return 1;
        }
    }
    return 0;
}

int hp_os_image_at(const void *addr, hp_os_image *out)
{
    image_at_ctx c = {(uintptr_t)addr, out, 0};
    hp_os_images_foreach(image_at_cb, &c);
    return c.found;
}

int hp_os_image_named(const char *name, hp_os_image *out)
{
    (void)name; /* ELF images are found by build-id (module.c) */
    (void)out;
    return 0;
}

size_t hp_os_count_wx(uintptr_t *first)
{
    wx_ctx w = {0, 0};
    maps_walk(wx_cb, &w);
    if (first != NULL)
        *first = w.first;
    return w.count;
}

#endif /* __linux__ */
