/*
 * fuzz_link_post.c — libFuzzer target: hotpatch-link's post-link pass (hp_link_post_run,
 * lld-pass/include/hp_link_post.h) over any bytes as the linked image: the audit's walk with the
 * fill of the plugin's padding done as the audit reads the table, the checksum, the write-back,
 * the map's units from the symbol table, the function list for the map.
 *
 * Besides memory safety it checks the pass's contract on the file it was given:
 *   - a failed pass leaves the file byte for byte as it was (nothing half-written);
 *   - a pass that succeeded changed nothing but the padding it reports (`filled` bytes, each 0x90
 *     before and int3 after) and the PE checksum field, and wrote the checksum of what it left;
 *   - every function's hash is hp_fix_hash of its final bytes over its hash_len;
 *   - its functions are in strictly increasing RVA order, its violations in RVA order, and the
 *     function list can be given back (hp_link_post_release_functions) with the rest intact;
 *   - an image the pass's own walk from the table judges (hp_link_post_table.h) gets the function
 *     list the audit's walk gives it (options.check_walk: a difference fails the pass).
 * The last input byte picks the options: bit 0 no fill, bit 1 the map's units, bit 2 the padding
 * before every table entry made 0x90 first (as older plugins wrote it), so that the fill has work
 * on the seeds, whose plugin wrote int3.
 */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_files.h"
#include "hotpatch_fix.h"
#include "hotpatch_pe.h"
#include "hp_link_post.h"
#include "hp_link_units.h"
#include "hp_tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t g_keep;

/* bit 2: the table entries' padding as NOPs, in place (a copy of the input) */
typedef struct nopify {
    const hp_pe *pe;
    uint8_t *bytes;
} nopify;

static int nop_padding(void *ctx, const hp_table_record *rec)
{
    nopify *n = ctx;
    uint32_t off = 0;
    if (rec->pad && hp_pe_rva_to_offset(n->pe, (uint32_t)rec->where, &off, NULL) == HP_OK && off >= rec->pad &&
        off <= n->pe->image.size)
        memset(n->bytes + off - rec->pad, 0x90, rec->pad);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    uint8_t *copy = NULL;
    const uint8_t *data = input;
    if (size && (input[size - 1] & 4) && (copy = malloc(size)) != NULL) {
        memcpy(copy, input, size);
        hp_pe view;
        if (hp_pe_open(&view, copy, size, HP_PE_LAYOUT_FILE, 0, NULL) == HP_OK) {
            nopify n = {&view, copy};
            (void)hp_pe_table_foreach(&view, nop_padding, &n, NULL, NULL);
        }
        data = copy;
    }
    char path[512];
    fuzz_temp_path(path, sizeof path, "fuzz_link_post", ".dll");
    if (!fuzz_write_file(path, data, size))
        __builtin_trap(); /* the harness's own file: nothing to learn from here */
    uint8_t opts = size ? data[size - 1] : 0;
    hp_link_post_options o;
    memset(&o, 0, sizeof o);
    o.no_fill = opts & 1;
    o.units = (opts >> 1) & 1;
    o.check_walk = 1; /* an image the pass's table walk accepts is judged by the audit's walk too */
    hp_link_post *post = NULL;
    char msg[256] = "";
    hp_status st = hp_link_post_run(path, &o, &post, msg, sizeof msg);
    if (st != HP_OK && strstr(msg, "audit's walk differ"))
        __builtin_trap(); /* the two walks disagree on an image the table walk accepted */
    size_t after_size = 0;
    uint8_t *after = NULL;
    if (hp_file_read(path, &after, &after_size, NULL, 0) != HP_OK)
        after = NULL;
    unlink(path);
    if (!after || after_size != size)
        __builtin_trap(); /* the pass never changes the file's length */
    if (st != HP_OK) {
        if (post || memcmp(after, data, size) != 0 || !msg[0])
            __builtin_trap(); /* a failure: no result, a message, and the file as it was */
        free(after);
        free(copy);
        return 0;
    }
    /* what changed: the checksum field and padding bytes 0x90 -> 0xCC, `filled` of them */
    hp_pe pe;
    if (hp_pe_open(&pe, data, size, HP_PE_LAYOUT_FILE, 0, NULL) != HP_OK)
        __builtin_trap(); /* the pass read it as an image */
    size_t csum = (size_t)pe.nt_offset + 4 + 20 + 64, filled = 0;
    for (size_t i = 0; i < size; i++) {
        if (after[i] == data[i] || (i >= csum && i < csum + 4))
            continue;
        if (o.no_fill || data[i] != 0x90 || after[i] != 0xCC)
            __builtin_trap();
        filled++;
    }
    if (filled != post->filled || (post->rewritten && !filled && post->checksum == pe.checksum))
        __builtin_trap();
    if (!o.no_fill && csum + 4 <= size) {
        uint32_t stored = (uint32_t)after[csum] | (uint32_t)after[csum + 1] << 8 | (uint32_t)after[csum + 2] << 16 |
                          (uint32_t)after[csum + 3] << 24;
        if (stored != post->checksum || (post->rewritten && stored != hp_link_pe_checksum(after, size, csum)))
            __builtin_trap();
    }
    for (size_t i = 1; i < post->fn_count; i++)
        if (post->fns[i - 1].rva >= post->fns[i].rva)
            __builtin_trap();
    for (size_t i = 1; i < post->violation_count; i++)
        if (post->violations[i - 1].rva > post->violations[i].rva)
            __builtin_trap();
    /* each hash is hp_fix_hash of the function's final bytes (the file as the pass left it) */
    hp_pe final_pe;
    if (hp_pe_open(&final_pe, after, after_size, HP_PE_LAYOUT_FILE, 0, NULL) != HP_OK)
        __builtin_trap();
    for (size_t i = 0; i < post->fn_count; i++) {
        const hp_link_fn *fn = &post->fns[i];
        const uint8_t *b = NULL;
        size_t avail = 0;
        if (fn->hash_len == 0) {
            if (fn->hash != HP_FIX_HASH_BASIS)
                __builtin_trap();
        } else if (hp_pe_rva_bytes(&final_pe, fn->rva, &b, NULL, &avail, NULL) != HP_OK || avail < fn->hash_len ||
                   fn->hash != hp_fix_hash(b, fn->hash_len)) {
            __builtin_trap();
        }
        g_keep += fn->hash + (fn->name ? strlen(fn->name) : 0);
    }
    size_t nv = post->violation_count;
    hp_link_post_release_functions(post);
    if (post->fns || post->fn_count || post->violation_count != nv)
        __builtin_trap();
    for (size_t i = 0; i < nv; i++)
        g_keep += strlen(post->violations[i].function) + strlen(post->violations[i].reason) +
                  (post->violations[i].message ? strlen(post->violations[i].message) : 0);
    if (post->units)
        g_keep += post->units->unit_count + post->units->symbol_count;
    hp_link_post_destroy(post);
    free(after);
    free(copy);
    return 0;
}
