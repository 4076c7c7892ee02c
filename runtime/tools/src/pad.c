/*
 * pad.c — hp_pad_parse(): the one parser of padding options (plugin pad=,
 * hotpatch-audit --pad, hotpatch-link --hotpatch-pad).
 */
#include "hp_tools.h"

hp_status hp_pad_parse(const char *option, const char *text, uint32_t *out_pad, char *msg, size_t msg_size)
{
    if (!option || !out_pad)
        return HP_ERR_ARGUMENT;
    uint32_t v = 0;
    const char *p = text;
    if (!p || !*p)
        goto bad;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        v = v * 10u + (uint32_t)(*p - '0');
        if (v > HP_MAX_PAD)
            goto bad;
    }
    if (v < HP_MIN_PAD_OPTION) {
        hp_msg_set(msg, msg_size,
                   "%s: %s bytes cannot hold the runtime's long jump: padding must be at least %u (x86) or %u "
                   "(x64), at most %u",
                   option, text, HP_MIN_PAD_X86, HP_MIN_PAD_X64, HP_MAX_PAD);
        return HP_ERR_BAD_VALUE;
    }
    *out_pad = v;
    return HP_OK;
bad:
    hp_msg_set(msg, msg_size, "%s: '%s' is not a number from %u to %u", option, text ? text : "", HP_MIN_PAD_OPTION,
               HP_MAX_PAD);
    return HP_ERR_BAD_VALUE;
}
