/*
 * fuzz_link_manifest.c — libFuzzer target: hotpatch-manifest's reader of fix
 * modules (hp_link_manifest_parse, lld-pass/include/hp_link_manifest.h) on any
 * file bytes — the PE or ELF view, the .hpfix section, ELF dynamic relocations,
 * every fragment, entry, slot and string — and the ELF view itself
 * (hp_link_elf_open and its lookups) when the bytes start like ELF.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hp_link_manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned g_keep;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[256];
    hp_link_manifest *m = NULL;
    hp_status st = hp_link_manifest_parse(data, size, "fuzz", &m, msg, sizeof msg);
    g_keep += (unsigned)st + (unsigned)strlen(msg);
    if (st == HP_OK) {
        for (size_t f = 0; f < m->fragment_count; f++) {
            const hp_link_manifest_fragment *fr = &m->fragments[f];
            g_keep += fr->target_name ? (unsigned)strlen(fr->target_name) : 0;
            g_keep += fr->unit ? (unsigned)strlen(fr->unit) : 0;
            for (uint32_t i = 0; i < fr->header.entry_count; i++)
                g_keep += (fr->entries[i].name ? (unsigned)strlen(fr->entries[i].name) : 0) + fr->entries[i].target_rva;
            for (uint32_t i = 0; i < fr->header.slot_count; i++)
                g_keep += (fr->slots[i].name ? (unsigned)strlen(fr->slots[i].name) : 0) + fr->slots[i].kind;
        }
        hp_link_manifest_free(m);
    }
    if (hp_link_is_elf(data, size)) {
        hp_elf elf;
        memset(&elf, 0, sizeof elf);
        if (hp_link_elf_open(&elf, data, size, "fuzz", msg, sizeof msg) == HP_OK) {
            const hp_elf_section *s = hp_link_elf_section(&elf, ".text");
            g_keep += s ? (unsigned)s->size : 0;
            for (size_t i = 0; i < elf.seg_count; i++) {
                size_t off;
                g_keep += hp_link_elf_file_range(&elf, elf.segs[i].vaddr, 1, &off) != NULL;
                g_keep += hp_link_elf_mem_range(&elf, elf.segs[i].vaddr + elf.segs[i].memsz, 1) != NULL;
            }
        }
        hp_link_elf_close(&elf);
    }
    return 0;
}
