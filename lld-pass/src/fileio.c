/*
 * fileio.c — see hp_link_fileio.h.
 */
#include "hp_link_fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned char *hp_link_read_file(const char *path, size_t *out_size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    long end;
    if (fseek(f, 0, SEEK_END) == 0 && (end = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)end + 1);
        if (buf && fread(buf, 1, (size_t)end, f) != (size_t)end) {
            free(buf);
            buf = NULL;
        }
        *out_size = (size_t)end;
    }
    fclose(f);
    return buf;
}

const char *hp_link_basename(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}
