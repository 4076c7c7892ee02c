/*
 * fuzz_runtime_site.c — libFuzzer target: the site rules (hp_site_analyze) on
 * arbitrary bytes, lengths, machines, paddings, addresses and body sizes,
 * then hp_insn_length, the verdict policy and the reason vocabulary on what
 * they found. Input layout: fuzz_runtime_site.h.
 *
 * The code bytes are copied into a buffer of exactly their size, so that a
 * read outside [entry - before, entry + after) — the rules' contract — is an
 * ASan report, not a silent read of the header.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_runtime_site.h"
#include "hotpatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned g_keep;

static unsigned le16(const uint8_t *p)
{
    return (unsigned)p[0] | ((unsigned)p[1] << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HP_FUZZ_SITE_HEADER)
        return 0;
    size_t n = size - HP_FUZZ_SITE_HEADER;
    uint8_t *code = malloc(n ? n : 1);
    if (!code)
        return 0;
    memcpy(code, data + HP_FUZZ_SITE_HEADER, n);

    size_t entry = le16(data + 2);
    if (entry > n)
        entry = n;
    size_t body = le16(data + 4);
    if (body > n - entry)
        body = n - entry;
    uint64_t address = 0;
    for (int i = 7; i >= 0; i--)
        address = (address << 8) | data[8 + i];

    hp_site_input in = {
        .entry = code + entry,
        .before = entry,
        .after = n - entry,
        .address = address,
        .machine = (hp_machine)data[0],
        .pad = data[1],
        .body_size = body,
    };
    hp_site site;
    hp_site_reason reason = hp_site_analyze(&in, &site);
    if (reason != site.reason)
        abort(); /* the result and the record must agree */
    if (reason == HP_SITE_OK && (site.entry_len < 2 || site.pad_found < site.pad_required))
        abort(); /* "patchable" must mean what README.md ("The site rules") says */

    unsigned keep = hp_insn_length(in.machine, in.entry, in.after);
    keep += hp_site_pad(in.machine, in.pad);
    for (int c = HP_SITE_CONTEXT_IMAGE; c <= HP_SITE_CONTEXT_LIVE; c++)
        keep += (unsigned)hp_site_verdict((hp_site_context)c, reason);
    keep += (unsigned)strlen(hp_site_reason_str(reason)) + (unsigned)strlen(hp_site_reason_text(reason));
    keep += hp_site_is_filler(data[1]);
    g_keep += keep;
    free(code);
    return 0;
}
