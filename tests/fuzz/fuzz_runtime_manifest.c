/*
 * fuzz_runtime_manifest.c — libFuzzer target: the runtime's manifest reader
 * (hp_mf_parse, runtime/src/module.h) on any section bytes, against an image
 * whose one region holds the same bytes (fuzz_runtime_manifest.h), with 8- and
 * 4-byte pointers; on success every entry's and slot's strings are read back
 * through the reader's own lookups.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/src/module.h"
#include "../../runtime/src/os.h"
#include "fuzz_runtime_manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The OS layer's heap, which the reader allocates with: the C library's here. */
void *hp_os_alloc(size_t size)
{
    return malloc(size ? size : 1);
}

void *hp_os_calloc(size_t n, size_t size)
{
    return calloc(n ? n : 1, size ? size : 1);
}

void hp_os_free(void *p)
{
    free(p);
}

static volatile unsigned g_keep;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned ptr_size = (data[0] & 1) ? 4 : 8;
    const uint8_t *sec = data + 1;
    size_t n = size - 1;
    hp_mf_region region = {FUZZ_MF_BASE, FUZZ_MF_BASE + n, sec, n, HP_MF_REGION_X | HP_MF_REGION_W};
    hp_mf_image img;
    memset(&img, 0, sizeof img);
    img.ptr_size = ptr_size;
    img.lo = FUZZ_MF_BASE;
    img.hi = FUZZ_MF_BASE + n;
    img.regions = &region;
    img.nregions = 1;
    hp_mf mf;
    char msg[160];
    hp_status st = hp_mf_parse(sec, n, &img, &mf, msg, sizeof msg);
    g_keep += (unsigned)strlen(msg) + (unsigned)st;
    if (st != HP_OK)
        return 0;
    const char *s = hp_mf_string(&img, mf.target_name);
    g_keep += s ? (unsigned)strlen(s) : 0;
    for (size_t i = 0; i < mf.nentries; i++) {
        s = hp_mf_string(&img, mf.entries[i].name);
        g_keep += (s ? (unsigned)strlen(s) : 0) + mf.entries[i].target_rva + mf.entries[i].hash_len;
        g_keep += hp_mf_region_of(&img, mf.entries[i].replacement, 1) != NULL;
    }
    for (size_t i = 0; i < mf.nslots; i++) {
        s = hp_mf_string(&img, mf.slots[i].name);
        g_keep += (s ? (unsigned)strlen(s) : 0) + mf.slots[i].kind;
        g_keep += hp_mf_region_of(&img, mf.slots[i].slot, ptr_size) != NULL;
    }
    hp_mf_free(&mf);
    return 0;
}
