/*
 * hp_link_fileio.h — file reads and path names for hotpatch-link and its bitcode helper.
 */
#ifndef HP_LINK_FILEIO_H
#define HP_LINK_FILEIO_H

#include <stddef.h>

/**
 * Read the whole file at `path` into a new buffer (one spare byte after the data).
 * @return the buffer (the caller frees it) and its size in *out_size, or NULL when the file cannot
 *         be opened, sized or read.
 */
unsigned char *hp_link_read_file(const char *path, size_t *out_size);

/** The file name part of `path` (after the last '/'); a pointer into `path`. */
const char *hp_link_basename(const char *path);

#endif /* HP_LINK_FILEIO_H */
