/*
 * fuzz_link_code.c — libFuzzer target: the fix builder's readers of untrusted files — the code
 * digests of a COFF object (hp_link_digest_object, lld-pass/include/hp_link_digest.h: sections,
 * relocations, symbols, plain and /bigobj), the digests an object carries (hp_link_carried_find,
 * hp_link_carry_object: hp_link_carry.h) and the .hpcode text file (hp_link_code_parse,
 * hp_link_codefile.h) — on any bytes.
 *
 * Checked beyond "no crash": an object the plugin's step added digests to carries exactly the
 * digests computed from it; whatever the lines' check of a carried block accepts, the .hpcode reader
 * reads (or refuses only for a name given twice, which the check leaves to it).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_link_carry.h"
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
    /* the digests carried: found in the input as it is, and added to it */
    hp_link_carried got;
    hp_link_carried_state found = hp_link_carried_find(data, size, &got);
    g_keep += (unsigned)found;
    /* what the link takes: the carried lines as they are, else the computed digests */
    hp_link_digest_unit *taken = NULL;
    hp_link_carried_state state = HP_CARRIED_NONE;
    if (hp_link_digest_for_code(data, size, &taken, &state, msg, sizeof msg) == HP_OK && taken) {
        if (state != found || (state == HP_CARRIED_OK && (taken->lines_len != got.lines_len || taken->count != 0 ||
                                                          memcmp(taken->lines, got.lines, got.lines_len) != 0)))
            __builtin_trap(); /* not what was found */
        hp_link_digest_destroy(taken);
    }
    uint8_t *carried = NULL;
    size_t carried_size = 0;
    if (hp_link_carry_object(data, size, &carried, &carried_size, msg, sizeof msg) == HP_OK && carried) {
        if (hp_link_carried_find(carried, carried_size, &got) != HP_CARRIED_OK)
            __builtin_trap(); /* what was added is not found */
        hp_link_digest_unit *computed = NULL;
        char *lines = NULL;
        size_t len = 0;
        if (hp_link_digest_object(data, size, HP_DIGEST_UNSORTED, &computed, msg, sizeof msg) == HP_OK && computed &&
            hp_link_code_unit_lines(computed, &lines, &len) == HP_OK &&
            (len != got.lines_len || (len && memcmp(lines, got.lines, len) != 0)))
            __builtin_trap(); /* carried lines are not the computed ones */
        free(lines);
        hp_link_digest_destroy(computed);
        free(carried);
    }
    /* the lines' check against the reader: a .hpcode file of one unit with the input as its lines */
    if (hp_link_code_lines_valid((const char *)data, size, NULL)) {
        static const char head[] = "hotpatch-code 1\nimage x64 0 0 0 x.dll\nunit 00000000 x.c\n";
        char *text = malloc(sizeof head - 1 + size + 1);
        if (text) {
            memcpy(text, head, sizeof head - 1);
            if (size)
                memcpy(text + sizeof head - 1, data, size);
            hp_link_code *lc = NULL;
            char why[256] = "";
            hp_status rs = hp_link_code_parse(text, sizeof head - 1 + size, &lc, why, sizeof why);
            if (rs != HP_OK && !strstr(why, "' twice"))
                __builtin_trap(); /* accepted by the check, refused by the reader */
            hp_link_code_destroy(lc);
            free(text);
        }
    }
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
