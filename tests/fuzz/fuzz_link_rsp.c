/*
 * fuzz_link_rsp.c — libFuzzer target: hotpatch-link's response-file splitter
 * (hp_link_rsp_split, lld-pass/src/rsp.c) on any text. The first byte picks
 * the quoting (bit 0: GNU or Windows), the rest is the file's text, handed
 * over without a terminating NUL (the splitter takes a length).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_link_rsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t g_keep;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    hp_link_quoting q = (data[0] & 1) ? HP_LINK_QUOTING_WINDOWS : HP_LINK_QUOTING_GNU;
    size_t len = size - 1;
    /* a copy of exactly `len` bytes: a read past the end is an ASan report */
    char *text = malloc(len ? len : 1);
    if (!text)
        return 0;
    memcpy(text, data + 1, len);

    char **args = NULL;
    size_t count = 0, total = 0;
    if (hp_link_rsp_split(len ? text : NULL, len, q, &args, &count) == HP_OK) {
        if (!args || args[count])
            abort(); /* documented: never NULL on success, NULL-terminated */
        for (size_t i = 0; i < count; i++)
            total += strlen(args[i]) + 1;
        if (total > len + count)
            abort(); /* splitting never makes text: each argument is at most its bytes, plus a NUL */
        hp_link_rsp_free(args, count);
    }
    g_keep += total;
    free(text);
    return 0;
}
