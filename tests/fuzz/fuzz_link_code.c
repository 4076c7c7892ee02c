/*
 * fuzz_link_code.c — libFuzzer target: the fix builder's readers of untrusted files — the code
 * digests of a COFF object (hp_link_digest_object, lld-pass/include/hp_link_digest.h: sections,
 * relocations, symbols, plain and /bigobj) and the .hpcode text file (hp_link_code_parse,
 * hp_link_codefile.h) — on any bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hp_link_codefile.h"
#include "hp_link_digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t g_keep;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[256];
    hp_link_digest_unit *u = NULL;
    hp_status st = hp_link_digest_object(data, size, 0, &u, msg, sizeof msg);
    g_keep += (unsigned)st;
    if (u) {
        for (size_t i = 0; i < u->count; i++)
            g_keep += u->entries[i].digest + strlen(u->entries[i].name);
        hp_link_digest_destroy(u);
    }
    hp_link_call *calls = NULL;
    size_t ncalls = 0;
    if (hp_link_object_calls(data, size, &calls, &ncalls, msg, sizeof msg) == HP_OK)
        hp_link_calls_free(calls, ncalls);
    hp_link_code *c = NULL;
    st = hp_link_code_parse((const char *)data, size, &c, msg, sizeof msg);
    g_keep += (unsigned)st + strlen(msg);
    if (st == HP_OK) {
        for (size_t i = 0; i < c->unit_count; i++)
            g_keep += c->units[i]->count + (hp_link_code_unit(c, c->units[i]->unit) != NULL);
        hp_link_code_destroy(c);
    }
    return 0;
}
