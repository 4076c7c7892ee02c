/*
 * lpt.h — helpers of the lld-pass suites: build fixtures, link them through
 * hotpatch-link, and read images independently of the code under test
 * (through the runtime's PE view, hotpatch_pe.h, not through lld-pass/).
 */
#ifndef LPT_H
#define LPT_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch_pe.h"
#include "hpt.h"

/** Path of a fixture source: <tests/lld-pass/fixtures>/<name>. Static buffer. */
const char *lpt_fixture(const char *name);

/** "<dir>/<name>" in a static ring of buffers (8 live at a time). */
const char *lpt_path(const char *dir, const char *name);

/** Compile `src` for `triple` to object `obj`; `plugin` adds -fplugin; extra args NULL-terminated. Asserts success. */
void lpt_compile(const char *triple, const char *src, const char *obj, int plugin, const char *const extra[]);
/** The two units of the `units` fixture (units/a.c, units/sub/b.c) with the plugin at -O2, its source
    root the fixture's folder (so that their units are "a.c" and "sub/b.c"), into a_o and b_o. */
void lpt_compile_units(const char *triple, const char *a_o, const char *b_o);

/**
 * Link through hotpatch-link with clang-19 for `triple` (MinGW: -fuse-ld=<abs path>; MSVC ABI: -B<dir>
 * -fuse-ld=hotpatch-lld-link). `args` are clang arguments (inputs, -o, -Wl,...), NULL-terminated.
 * @return clang's exit status; out has the captured output.
 */
int lpt_link(const char *triple, const char *const args[], hpt_proc *out);

/** Link the objects `objs` (NULL-terminated, at most 6) into the DLL `dll` through hotpatch-link for
    `triple` (MSVC ABI: without the C runtime and an entry point). Asserts success. */
void lpt_link_dll(const char *triple, const char *const objs[], const char *dll);

/** Run hotpatch-link itself with argv[1..] = args (NULL-terminated). */
int lpt_run_link(const char *const args[], hpt_proc *out);

/** An image read into memory, with the runtime's view over it. */
typedef struct lpt_image {
    unsigned char *data;
    size_t size;
    hp_pe pe;
} lpt_image;

/** Read and open an image; asserts it is a valid PE. */
void lpt_image_open(lpt_image *img, const char *path);
void lpt_image_close(lpt_image *img);

/** Entry RVAs of the plugin's table, read from the .hotp bytes (record RVA + where). Returns the count. */
size_t lpt_table_entries(const lpt_image *img, uint32_t *out, size_t max, uint8_t *pads);

/** RVA of export `name`, or 0. */
uint32_t lpt_export_rva(const lpt_image *img, const char *name);

/** Bytes at `rva` (asserting they exist) with `before` readable bytes before. */
const uint8_t *lpt_bytes(const lpt_image *img, uint32_t rva, size_t *before);

/** SHA-free file fingerprint for "untouched" checks: FNV-1a 64 over the whole file plus its size. */
uint64_t lpt_file_hash(const char *path);

/** Count occurrences of `needle` in `hay`. */
size_t lpt_count(const char *hay, const char *needle);

#endif /* LPT_H */
