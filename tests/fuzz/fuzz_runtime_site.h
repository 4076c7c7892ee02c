/*
 * fuzz_runtime_site.h — the input layout of fuzz_runtime_site, shared with the
 * seed writer (seeds.c), which encodes the runtime's site cases in it.
 *
 *   offset  size  field
 *   0       1     machine (any value: 1 = x86, 2 = x64, others test bad-machine)
 *   1       1     pad asked for (any value: 0 = default, raised / clamped by the rules)
 *   2       2     entry: offset of the entry in the code bytes (LE; clamped to their length)
 *   4       2     body_size (LE; clamped to the bytes after the entry, as the contract requires)
 *   6       2     reserved (0)
 *   8       8     address of the entry (LE; the 64-byte line check)
 *   16      ...   code bytes
 */
#ifndef HP_FUZZ_RUNTIME_SITE_H
#define HP_FUZZ_RUNTIME_SITE_H

#define HP_FUZZ_SITE_HEADER 16u

#endif
