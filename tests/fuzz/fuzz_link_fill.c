/*
 * fuzz_link_fill.c — libFuzzer target: hotpatch-manifest's check and completion of a fix module
 * against its target image (hp_link_manifest_fill, lld-pass/include/hp_link_manifest.h), both
 * files from the input: the module's bytes, then FUZZ_SPLIT, then the target's (no separator: the
 * input is both). The module is read as PE or ELF and its .hpfix parsed; the target is opened as
 * PE or ELF (identity, build id, CodeView record, code and data ranges), every entry's bytes are
 * hashed there and every slot placed, then the module is rewritten through a temporary file.
 *
 * Besides memory safety it checks the fill's contract on the files it was given:
 *   - the target is never written;
 *   - a failed fill leaves the module byte for byte as it was, says why, and leaves no temporary
 *     file behind;
 *   - a fill that succeeded changed only bytes of the module's .hpfix section and, for a PE
 *     module, its checksum field; the result reads back as a manifest whose every fragment is
 *     marked checked; `written` says whether anything changed;
 *   - it is idempotent: a second fill of the completed module against the same target succeeds,
 *     writes nothing and fills nothing.
 * The seeds pair each fix module built by tests/fuzz/corpus.cmake with the target it was built
 * for (x86-64 and i386 ELF, x64 PE), so the fill's success path is reached from the start.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_files.h"
#include "hotpatch_fix.h"
#include "hotpatch_pe.h"
#include "hp_link_manifest.h"
#include "hp_tools.h"

/* Between the module and the target in an input (tests/fuzz/corpus.cmake writes it too). */
#define FUZZ_SPLIT "\n--hotpatch-fuzz-target--\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t g_keep;

/* The first occurrence of FUZZ_SPLIT, or NULL. */
static const uint8_t *find_split(const uint8_t *d, size_t n)
{
    const size_t k = sizeof FUZZ_SPLIT - 1;
    for (size_t i = 0; i + k <= n; i++)
        if (d[i] == '\n' && memcmp(d + i, FUZZ_SPLIT, k) == 0)
            return d + i;
    return NULL;
}

/* The file range of the module's .hpfix section as the fill finds it (PE: raw data; ELF: section
   bytes), and the PE checksum field's offset (SIZE_MAX: none). 0 when there is none. */
static int fix_ranges(const uint8_t *d, size_t n, size_t *off, size_t *len, size_t *csum)
{
    *csum = SIZE_MAX;
    if (n >= 2 && d[0] == 'M' && d[1] == 'Z') {
        hp_pe pe;
        if (hp_pe_open(&pe, d, n, HP_PE_LAYOUT_FILE, 0, NULL) != HP_OK)
            return 0;
        *csum = (size_t)pe.nt_offset + 4 + 20 + 64;
        for (uint32_t i = 0; i < pe.section_count; i++) {
            hp_pe_section s;
            if (hp_pe_section_at(&pe, i, &s) == HP_OK && strcmp(s.name, HP_FIX_SECTION) == 0) {
                *off = s.raw_offset;
                *len = s.raw_size;
                return 1;
            }
        }
        return 0;
    }
    hp_elf elf;
    memset(&elf, 0, sizeof elf);
    int found = 0;
    if (hp_link_elf_open(&elf, d, n, "fuzz", NULL, 0) == HP_OK) {
        const hp_elf_section *s = hp_link_elf_section(&elf, HP_FIX_SECTION);
        if (s && s->in_file) {
            *off = (size_t)s->offset;
            *len = (size_t)s->size;
            found = 1;
        }
    }
    hp_link_elf_close(&elf);
    return found;
}

/* The directory holds exactly the module and the target: a fill leaves no temporary file. */
static int only_two(const char *dir)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(dh)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(dh);
    return n == 2;
}

static void cleanup(const char *dir, const char *fix, const char *target)
{
    unlink(fix);
    unlink(target);
    /* a leftover temporary file (a broken contract: already reported by then) */
    DIR *dh = opendir(dir);
    if (dh) {
        char p[600];
        for (struct dirent *e; (e = readdir(dh)) != NULL;)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(dh);
    }
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *split = find_split(data, size);
    const uint8_t *mod = data, *tgt = data;
    size_t mod_size = size, tgt_size = size;
    if (split) {
        mod_size = (size_t)(split - data);
        tgt = split + sizeof FUZZ_SPLIT - 1;
        tgt_size = size - mod_size - (sizeof FUZZ_SPLIT - 1);
    }
    char dir[400], fix[500], target[500];
    fuzz_temp_path(dir, sizeof dir, "fuzz_link_fill", "");
    snprintf(fix, sizeof fix, "%s/fix.mod", dir);
    snprintf(target, sizeof target, "%s/target", dir); /* the name the seeds' manifests record */
    cleanup(dir, fix, target); /* what an earlier process of this pid left */
    if (mkdir(dir, 0700) != 0 || !fuzz_write_file(fix, mod, mod_size) || !fuzz_write_file(target, tgt, tgt_size))
        __builtin_trap(); /* the harness's own files: nothing to learn from here */

    char msg[512] = "";
    hp_link_manifest_fill_result res;
    hp_status st = hp_link_manifest_fill(fix, target, NULL, &res, msg, sizeof msg);

    uint8_t *after = NULL, *tafter = NULL;
    size_t after_size = 0, tafter_size = 0;
    if (hp_file_read(fix, &after, &after_size, NULL, 0) != HP_OK ||
        hp_file_read(target, &tafter, &tafter_size, NULL, 0) != HP_OK)
        __builtin_trap(); /* both files are still there */
    if (tafter_size != tgt_size || memcmp(tafter, tgt, tgt_size) != 0)
        __builtin_trap(); /* the target is never written */
    if (!only_two(dir))
        __builtin_trap(); /* no temporary file left behind, success or not */
    if (st != HP_OK) {
        if (!msg[0] || after_size != mod_size || memcmp(after, mod, mod_size) != 0)
            __builtin_trap(); /* a failure: a message, and the module as it was */
        goto done;
    }

    /* success: only .hpfix (and a PE module's checksum) changed, and `written` says whether */
    size_t off = 0, len = 0, csum = SIZE_MAX;
    if (after_size != mod_size || !fix_ranges(mod, mod_size, &off, &len, &csum))
        __builtin_trap();
    int changed = 0;
    for (size_t i = 0; i < mod_size; i++) {
        if (after[i] == mod[i])
            continue;
        changed = 1;
        if (!(i >= off && i - off < len) && !(csum != SIZE_MAX && i >= csum && i - csum < 4))
            __builtin_trap();
    }
    if (changed != res.written || (res.fields_filled && !res.written))
        __builtin_trap();
    hp_link_manifest *m = NULL;
    if (hp_link_manifest_parse(after, after_size, "fuzz", &m, NULL, 0) != HP_OK)
        __builtin_trap(); /* what the fill wrote reads back */
    for (size_t f = 0; f < m->fragment_count; f++) {
        if (!(m->fragments[f].header.flags & HP_FIX_F_CHECKED))
            __builtin_trap();
        g_keep += m->fragments[f].header.entry_count + m->fragments[f].header.slot_count;
    }
    if (m->fragment_count != res.fragments)
        __builtin_trap();
    hp_link_manifest_free(m);

    /* idempotent: the completed module against the same target again */
    hp_link_manifest_fill_result again;
    char msg2[512] = "";
    if (hp_link_manifest_fill(fix, target, NULL, &again, msg2, sizeof msg2) != HP_OK || again.written ||
        again.fields_filled)
        __builtin_trap();
    uint8_t *third = NULL;
    size_t third_size = 0;
    if (hp_file_read(fix, &third, &third_size, NULL, 0) != HP_OK || third_size != after_size ||
        memcmp(third, after, after_size) != 0)
        __builtin_trap();
    free(third);

done:
    g_keep += (uint64_t)st + strlen(msg);
    free(after);
    free(tafter);
    cleanup(dir, fix, target);
    return 0;
}
