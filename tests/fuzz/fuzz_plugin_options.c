/*
 * fuzz_plugin_options.c — libFuzzer target: the clang plugin's option parser
 * (hp_policy_set_option, plugin/src/options.c: what follows
 * -fplugin-arg-hotpatch-) and the exclude= globs it stores (hp_policy_excluded,
 * hp_glob_match). options.c includes LLVM-C's headers but calls nothing of
 * LLVM, so it is linked here without libLLVM.
 *
 * Input layout: the first byte is the size of the message buffer (0..255:
 * messages cut to it must end in "..." and stay inside it); then options, each
 * ended by a NUL byte, applied in order to one policy; the text after the last
 * NUL is a function name matched against the exclude= globs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t g_keep;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t msg_size = data[0];
    char *msg = malloc(msg_size ? msg_size : 1); /* exactly msg_size bytes: ASan sees an overflow */
    char *buf = malloc(size);                     /* data[1..] + a NUL */
    hp_policy *p = NULL;
    if (!msg || !buf || hp_policy_create(&p) != HP_OK) {
        free(msg);
        free(buf);
        return 0;
    }
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = 0;

    size_t keep = 0, pos = 0, n = size - 1;
    while (pos < n) {
        size_t len = strlen(buf + pos);
        if (pos + len == n)
            break; /* no NUL after it: the name, below */
        if (msg_size)
            msg[0] = 0;
        if (hp_policy_set_option(p, buf + pos, msg, msg_size) != HP_OK && msg_size)
            keep += strlen(msg); /* a message always fits, NUL included */
        pos += len + 1;
    }
    keep += (size_t)hp_policy_excluded(p, buf + pos);
    hp_policy_destroy(p);
    g_keep += keep;
    free(msg);
    free(buf);
    return 0;
}
