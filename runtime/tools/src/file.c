/*
 * file.c — hp_file_read(), hp_file_map(), hp_file_replace_*(), hp_self_exe() and hp_path_basename(): the
 * tools' one file reader, their files written whole or not at all, and paths.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_POPULATE */
#include "hp_tools.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

FILE *hp_file_replace_begin(hp_file_replace *r, const char *path)
{
    r->f = NULL;
    r->path = path;
    size_t n = strlen(path) + 32;
    r->tmp = malloc(n);
    if (!r->tmp)
        return NULL;
    snprintf(r->tmp, n, "%s.%ld.tmp", path, (long)getpid());
    r->f = fopen(r->tmp, "w");
    if (!r->f) {
        free(r->tmp);
        r->tmp = NULL;
    }
    return r->f;
}

int hp_file_replace_end(hp_file_replace *r, int ok)
{
    if (!r->f)
        return 0;
    if (ferror(r->f))
        ok = 0;
    if (fclose(r->f) != 0)
        ok = 0;
    if (ok && rename(r->tmp, r->path) != 0)
        ok = 0;
    if (!ok)
        unlink(r->tmp);
    free(r->tmp);
    r->f = NULL;
    r->tmp = NULL;
    return ok;
}

/* Open `path` for reading as a regular file: the descriptor and its size, or an error naming it.
   The caller's results are cleared first. */
static hp_status open_regular(const char *path, unsigned char **out_data, size_t *out_size, int *out_fd,
                              size_t *size, char *msg, size_t msg_size)
{
    if (!path || !out_data || !out_size)
        return HP_ERR_ARGUMENT;
    *out_data = NULL;
    *out_size = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        hp_msg_set(msg, msg_size, "%s: %s", path, strerror(errno));
        return HP_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        hp_msg_set(msg, msg_size, "%s: %s", path, strerror(errno));
        close(fd);
        return HP_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        hp_msg_set(msg, msg_size, "%s: not a regular file (%s)", path,
                   S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a pipe" : "a device or socket");
        close(fd);
        return HP_ERR_IO;
    }
    if ((uint64_t)st.st_size >= (uint64_t)SIZE_MAX) {
        hp_msg_set(msg, msg_size, "%s: too large", path);
        close(fd);
        return HP_ERR_IO;
    }
    *out_fd = fd;
    *size = (size_t)st.st_size;
    return HP_OK;
}

static hp_status map_file(const char *path, int whole, unsigned char **out_data, size_t *out_size, char *msg,
                          size_t msg_size)
{
    static unsigned char empty[1];
    int fd;
    size_t size;
    hp_status st = open_regular(path, out_data, out_size, &fd, &size, msg, msg_size);
    if (st != HP_OK)
        return st;
    if (size == 0) {
        close(fd);
        *out_data = empty;
        return HP_OK;
    }
    /* writable: no MAP_POPULATE, which on a writable private mapping would copy every page up front;
       read-only and whole: the page cache's pages mapped in one call */
#ifndef MAP_POPULATE
#define MAP_POPULATE 0 /* not Linux: the pages come one fault at a time */
#endif
    void *p = whole ? mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0)
                    : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (p == MAP_FAILED) {
        hp_msg_set(msg, msg_size, "%s: %s", path, strerror(err));
        return err == ENOMEM ? HP_ERR_NO_MEMORY : HP_ERR_IO;
    }
#if defined(MADV_POPULATE_READ)
    /* writable: the page cache's pages mapped read-only in one call (a page is copied only when
       written), instead of a fault every sixteen pages as they are first read */
    if (!whole)
        (void)madvise(p, size, MADV_POPULATE_READ); /* EINVAL before Linux 5.14: faults as before */
#endif
    *out_data = p;
    *out_size = size;
    return HP_OK;
}

hp_status hp_file_map(const char *path, unsigned char **out_data, size_t *out_size, char *msg, size_t msg_size)
{
    return map_file(path, 0, out_data, out_size, msg, msg_size);
}

hp_status hp_file_map_whole(const char *path, const unsigned char **out_data, size_t *out_size, char *msg,
                            size_t msg_size)
{
    unsigned char *d = NULL;
    hp_status st = map_file(path, 1, &d, out_size, msg, msg_size);
    *out_data = d;
    return st;
}

void hp_file_unmap(const unsigned char *data, size_t size)
{
    if (data && size)
        munmap((void *)(uintptr_t)data, size);
}

hp_status hp_file_read(const char *path, unsigned char **out_data, size_t *out_size, char *msg, size_t msg_size)
{
    int fd;
    size_t size;
    hp_status st = open_regular(path, out_data, out_size, &fd, &size, msg, msg_size);
    if (st != HP_OK)
        return st;
    unsigned char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return HP_ERR_NO_MEMORY;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            hp_msg_set(msg, msg_size, "%s: %s", path, n < 0 ? strerror(errno) : "file shrank while being read");
            free(buf);
            close(fd);
            return HP_ERR_IO;
        }
        got += (size_t)n;
    }
    close(fd);
    buf[size] = 0;
    *out_data = buf;
    *out_size = size;
    return HP_OK;
}

int hp_self_exe(char *buf, size_t size)
{
    if (!buf || size < 2)
        return 0;
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n <= 0 || (size_t)n >= size - 1)
        return 0; /* unknown, or perhaps cut short */
    buf[n] = 0;
    return 1;
}

int hp_self_dir(char *buf, size_t size)
{
    if (!hp_self_exe(buf, size))
        return 0;
    char *slash = strrchr(buf, '/');
    if (!slash)
        return 0;
    *slash = 0;
    return 1;
}

const char *hp_path_basename(const char *path)
{
    if (!path)
        return NULL;
    const char *b = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' || *p == '\\')
            b = p + 1;
    return b;
}

/* Normalise `in` (absolute, '/'-separated after the copy) into `out`: "." and ".." components and
   repeated separators go. 0 when it does not fit. */
static int normalise(const char *in, char *out, size_t size)
{
    size_t n = 0;
    if (size < 2)
        return 0;
    out[n++] = '/';
    for (const char *p = in; *p;) {
        while (*p == '/' || *p == '\\')
            p++;
        const char *c = p;
        while (*p && *p != '/' && *p != '\\')
            p++;
        size_t len = (size_t)(p - c);
        if (len == 0 || (len == 1 && c[0] == '.'))
            continue;
        if (len == 2 && c[0] == '.' && c[1] == '.') {
            while (n > 1 && out[n - 1] != '/')
                n--;
            if (n > 1)
                n--; /* the separator before the component dropped */
            continue;
        }
        if (n > 1) {
            if (n + 1 >= size)
                return 0;
            out[n++] = '/';
        }
        if (n + len >= size)
            return 0;
        memcpy(out + n, c, len);
        n += len;
    }
    out[n] = '\0';
    return 1;
}

static int is_absolute(const char *p)
{
    return p[0] == '/' || p[0] == '\\';
}

hp_status hp_path_unit(const char *path, const char *root, const char *cwd, char *out, size_t out_size)
{
    if (!path || !out || out_size == 0)
        return HP_ERR_ARGUMENT;
    char here[4096], joined[8192], norm_path[4096], norm_root[4096];
    if (!cwd && (!is_absolute(path) || (root && root[0] && !is_absolute(root)))) {
        if (!getcwd(here, sizeof here))
            return HP_ERR_IO;
        cwd = here;
    }
    if (is_absolute(path)) {
        if (strlen(path) >= sizeof joined)
            return HP_ERR_BAD_VALUE;
        strcpy(joined, path);
    } else if ((size_t)snprintf(joined, sizeof joined, "%s/%s", cwd, path) >= sizeof joined) {
        return HP_ERR_BAD_VALUE;
    }
    if (!normalise(joined, norm_path, sizeof norm_path))
        return HP_ERR_BAD_VALUE;
    const char *result = norm_path;
    if (root && root[0]) {
        if (is_absolute(root)) {
            if (strlen(root) >= sizeof joined)
                return HP_ERR_BAD_VALUE;
            strcpy(joined, root);
        } else if ((size_t)snprintf(joined, sizeof joined, "%s/%s", cwd, root) >= sizeof joined) {
            return HP_ERR_BAD_VALUE;
        }
        if (!normalise(joined, norm_root, sizeof norm_root))
            return HP_ERR_BAD_VALUE;
        size_t rl = strlen(norm_root);
        if (rl == 1) /* the root is "/" */
            result = norm_path + 1;
        else if (strncmp(norm_path, norm_root, rl) == 0 && norm_path[rl] == '/')
            result = norm_path + rl + 1;
    }
    if (strlen(result) >= out_size)
        return HP_ERR_BAD_VALUE;
    strcpy(out, result);
    return HP_OK;
}
