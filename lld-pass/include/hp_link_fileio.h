/*
 * hp_link_fileio.h — whole-file reads for hotpatch-link and its bitcode helper.
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

#endif /* HP_LINK_FILEIO_H */
