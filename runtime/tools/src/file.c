/*
 * file.c — hp_file_read() and hp_path_basename(): the tools' one file reader.
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_tools.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

hp_status hp_file_read(const char *path, unsigned char **out_data, size_t *out_size, char *msg, size_t msg_size)
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
    size_t size = (size_t)st.st_size;
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
