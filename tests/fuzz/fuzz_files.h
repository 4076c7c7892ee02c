/*
 * fuzz_files.h — what the harnesses that hand their input to code reading files (link_post,
 * link_fill, link_elfmap) share: writing the input out, in a path of their own process.
 */
#ifndef HP_FUZZ_FILES_H
#define HP_FUZZ_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* `n` bytes at `d` as the whole of `path`: 1, or 0 when they could not be written. */
static inline int fuzz_write_file(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(d, 1, n, f) == n;
    return (fclose(f) == 0) && ok;
}

/* `<$TMPDIR or /tmp>/<name>.<pid><suffix>` into buf: one path per process, so that parallel
   fuzzers (-jobs, -fork) and the ctest entries never share a file. */
static inline void fuzz_temp_path(char *buf, size_t size, const char *name, const char *suffix)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, size, "%s/%s.%ld%s", tmp && *tmp ? tmp : "/tmp", name, (long)getpid(), suffix);
}

#endif
