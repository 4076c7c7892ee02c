/*
 * input.c — layer 7 of the audit library (audit/README.md, "Source layout"):
 * the input dispatch — files are mapped read-only, never copied; the bytes
 * say what they are (image, archive, object) and so which reader audits them.
 *
 * May call: readers, builder, report, arena.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "builder.h"
#include "readers.h"
#include "report.h"

/* Sniff the format and dispatch to the reader. */
static hp_status audit_bytes(hpa_file *f, hp_pe_span s, const char **detail)
{
    if (s.size == 0) {
        *detail = "empty file";
        return HP_ERR_FORMAT;
    }
    if (s.size >= 2 && s.data[0] == 'M' && s.data[1] == 'Z') {
        f->res.kind = HP_AUDIT_KIND_IMAGE;
        return hpa_image(f, s, detail);
    }
    if (s.size >= 8 && memcmp(s.data, "!<arch>\n", 8) == 0) {
        f->res.kind = HP_AUDIT_KIND_ARCHIVE;
        return hpa_archive(f, s, detail);
    }
    if (s.size >= 8 && memcmp(s.data, "!<thin>\n", 8) == 0) {
        *detail = "thin archives are not supported (their members live in other files)";
        return HP_ERR_UNSUPPORTED;
    }
    if (hpa_is_coff_object(s) || hpa_is_short_import(s)) {
        f->res.kind = HP_AUDIT_KIND_OBJECT;
        return hpa_object(f, s, detail);
    }
    *detail = "unrecognised format (not a pe image, coff object or archive)";
    return HP_ERR_FORMAT;
}

hp_status hp_audit_buffer(hp_audit_report *r, const char *path, const void *data, size_t size)
{
    if (!r || !path || (!data && size) || r->finished)
        return HP_ERR_ARGUMENT;
    hpa_file f;
    if (hpa_file_begin(&f, r, path) != HP_OK)
        return HP_ERR_NO_MEMORY;
    hp_pe_span s = {data, size};
    const char *detail = "";
    hp_status st = audit_bytes(&f, s, &detail);
    return hpa_file_end(&f, st, detail);
}

/* Record a file that could not even be opened. */
static hp_status io_failure(hp_audit_report *r, const char *path, const char *what, const char *why)
{
    hp_audit_file_result fr;
    memset(&fr, 0, sizeof fr);
    fr.path = hpa_strdup(&r->arena, path);
    fr.status = HP_ERR_IO;
    fr.error = hpa_printf(&r->arena, "%s: %s", what, why);
    if (!fr.path || !fr.error || hpa_report_add_file(r, &fr) != HP_OK)
        return HP_ERR_NO_MEMORY;
    return HP_ERR_IO;
}

hp_status hp_audit_file(hp_audit_report *r, const char *path)
{
    if (!r || !path || r->finished)
        return HP_ERR_ARGUMENT;
    /* O_NONBLOCK: a FIFO must not block the open; it is refused below like every non-regular file */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return io_failure(r, path, "cannot open", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return io_failure(r, path, "cannot stat", strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return io_failure(r, path, "not a regular file",
                          S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a pipe" : "a device or socket");
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
        return io_failure(r, path, "cannot map", strerror(e));
    hp_status s = hp_audit_buffer(r, path, map, size);
    munmap(map, size);
    return s;
}
