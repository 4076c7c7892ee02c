/*
 * input.c — files are mapped read-only, never copied, then handed to the
 * format sniffer of report.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_internal.h"

/* Record a file that could not even be opened. */
static hp_status io_failure(hp_audit_report *r, const char *path, const char *what, int err)
{
    if (!hpa_reserve((void **)&r->files, &r->file_cap, r->file_count, sizeof *r->files))
        return HP_ERR_NO_MEMORY;
    hp_audit_file_result *fr = &r->files[r->file_count];
    memset(fr, 0, sizeof *fr);
    fr->path = hpa_strdup(&r->arena, path);
    fr->status = HP_ERR_IO;
    fr->error = hpa_printf(&r->arena, "%s: %s", what, strerror(err));
    if (!fr->path || !fr->error)
        return HP_ERR_NO_MEMORY;
    r->file_count++;
    return HP_ERR_IO;
}

hp_status hp_audit_file(hp_audit_report *r, const char *path)
{
    if (!r || !path || r->finished)
        return HP_ERR_ARGUMENT;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_failure(r, path, "cannot open", errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return io_failure(r, path, "cannot stat", e);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return io_failure(r, path, "not a regular file", EINVAL);
    }
    size_t size = (size_t)st.st_size;
    if (size == 0) {
        close(fd);
        return hp_audit_buffer(r, path, NULL, 0);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED)
        return io_failure(r, path, "cannot map", e);
    hp_status s = hp_audit_buffer(r, path, map, size);
    munmap(map, size);
    return s;
}
