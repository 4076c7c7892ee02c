/*
 * hpt_fixfill.c — the test-only build step of the patch-module tests: a host
 * program run by the build (tests/runtime/portable/module.cmake), never by a
 * test.
 *
 *   hpt_fixfill rvas TARGET OUT.h SYMBOL...
 *       write `#define HPT_RVA_<SYMBOL> 0x...u` for each symbol of the target
 *       image (ELF .symtab/.dynsym, PE COFF symbol table or exports; a leading
 *       '_' is tried on x86 PE): the hand-written manifests of fix_modules.c
 *       name their functions and variables by these RVAs.
 *   hpt_fixfill fill TARGET FIX [--flip-identity]
 *       what `hotpatch-manifest fill` does for a real module (lld-pass/): in
 *       every fragment of FIX's .hpfix section fill the identity fields that
 *       are zero from TARGET (PE: TimeDateStamp, SizeOfImage, CheckSum, the
 *       CodeView GUID and age; ELF: the build-id), every entry's hash that is
 *       zero from TARGET's bytes at its RVA (hp_fix_hash over hash_len bytes),
 *       and set HP_FIX_F_CHECKED. --flip-identity then flips one identity bit
 *       (PE: TimeDateStamp bit 0; ELF: build-id byte 0 bit 0), for the
 *       identity-mismatch test.
 *
 * RVAs follow hotpatch_fix.h: PE the offset from the image base; ELF the
 * address minus the lowest PT_LOAD p_vaddr rounded down to 4096. Pointer
 * fields of the manifest are never touched (they are relocated). Exits 0, or 1
 * with a message.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotpatch_fix.h"

static const char *g_prog = "hpt_fixfill";

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", g_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

typedef struct file {
    const char *path;
    uint8_t *d;
    size_t n;
} file;

static file read_file(const char *path)
{
    file f = {path, NULL, 0};
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        die("cannot open %s", path);
    if (fseek(fp, 0, SEEK_END) != 0)
        die("cannot seek %s", path);
    long len = ftell(fp);
    if (len < 0 || fseek(fp, 0, SEEK_SET) != 0)
        die("cannot size %s", path);
    f.n = (size_t)len;
    f.d = malloc(f.n ? f.n : 1);
    if (f.d == NULL || fread(f.d, 1, f.n, fp) != f.n)
        die("cannot read %s", path);
    fclose(fp);
    return f;
}

static void write_back(const file *f, size_t off, size_t len)
{
    FILE *fp = fopen(f->path, "r+b");
    if (fp == NULL || fseek(fp, (long)off, SEEK_SET) != 0 || fwrite(f->d + off, 1, len, fp) != len || fclose(fp) != 0)
        die("cannot write %s", f->path);
}

/* Bounds-checked little-endian reads: a read past the end is a malformed file. */
static void need(const file *f, uint64_t off, uint64_t len)
{
    if (off > f->n || len > f->n - off)
        die("%s: truncated or malformed (offset 0x%llx, %llu bytes)", f->path, (unsigned long long)off,
            (unsigned long long)len);
}
static uint16_t u16(const file *f, uint64_t off)
{
    need(f, off, 2);
    return (uint16_t)(f->d[off] | (f->d[off + 1] << 8));
}
static uint32_t u32(const file *f, uint64_t off)
{
    need(f, off, 4);
    return (uint32_t)f->d[off] | ((uint32_t)f->d[off + 1] << 8) | ((uint32_t)f->d[off + 2] << 16) |
           ((uint32_t)f->d[off + 3] << 24);
}
static uint64_t u64(const file *f, uint64_t off)
{
    return (uint64_t)u32(f, off) | ((uint64_t)u32(f, off + 4) << 32);
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ------------------------------------------------------------------------- */
/* Images                                                                     */
/* ------------------------------------------------------------------------- */

typedef struct image {
    file f;
    int pe, is64;
    /* PE */
    uint32_t nt, nsec, sectab, time_date_stamp, size_of_image, checksum, symtab, nsyms;
    uint64_t image_base;
    int has_cv;
    uint8_t cv_guid[16];
    uint32_t cv_age;
    /* ELF */
    uint64_t phoff, phnum, shoff, shnum, rva_origin;
    uint32_t build_id_len;
    uint8_t build_id[32];
} image;

/* File offset of [rva, rva + len) of the image, or dies. */
static uint64_t rva_to_off(const image *m, uint64_t rva, uint64_t len)
{
    if (m->pe) {
        for (uint32_t i = 0; i < m->nsec; i++) {
            uint64_t h = m->sectab + (uint64_t)i * 40;
            uint32_t vs = u32(&m->f, h + 8), va = u32(&m->f, h + 12), rs = u32(&m->f, h + 16),
                     ro = u32(&m->f, h + 20);
            uint32_t size = vs != 0 && vs < rs ? vs : rs;
            if (rva >= va && rva - va < size && len <= size - (rva - va))
                return ro + (rva - va);
        }
    } else {
        uint64_t vaddr = rva + m->rva_origin;
        for (uint64_t i = 0; i < m->phnum; i++) {
            uint64_t h = m->phoff + i * (m->is64 ? 56 : 32);
            uint32_t type = u32(&m->f, h);
            uint64_t off = m->is64 ? u64(&m->f, h + 8) : u32(&m->f, h + 4);
            uint64_t va = m->is64 ? u64(&m->f, h + 16) : u32(&m->f, h + 8);
            uint64_t fs = m->is64 ? u64(&m->f, h + 32) : u32(&m->f, h + 16);
            if (type == 1 && vaddr >= va && vaddr - va < fs && len <= fs - (vaddr - va))
                return off + (vaddr - va);
        }
    }
    die("%s: RVA 0x%llx (+%llu) has no bytes in the file", m->f.path, (unsigned long long)rva,
        (unsigned long long)len);
    return 0;
}

static void elf_notes(image *m, uint64_t off, uint64_t len, uint64_t align)
{
    uint64_t p = 0;
    while (len - p >= 12) {
        uint32_t namesz = u32(&m->f, off + p), descsz = u32(&m->f, off + p + 4), type = u32(&m->f, off + p + 8);
        p += 12;
        uint64_t npad = (namesz + align - 1) & ~(align - 1), dpad = (descsz + align - 1) & ~(align - 1);
        need(&m->f, off + p, npad + dpad);
        if (type == 3 && namesz == 4 && memcmp(m->f.d + off + p, "GNU", 4) == 0) {
            if (descsz > 32)
                die("%s: build-id of %u bytes (at most 32)", m->f.path, descsz);
            m->build_id_len = descsz;
            memcpy(m->build_id, m->f.d + off + p + npad, descsz);
            return;
        }
        p += npad + dpad;
    }
}

static image open_image(const char *path)
{
    image m;
    memset(&m, 0, sizeof m);
    m.f = read_file(path);
    const file *f = &m.f;
    if (f->n >= 4 && memcmp(f->d, "\x7f" "ELF", 4) == 0) {
        need(f, 0, 64);
        m.is64 = f->d[4] == 2;
        m.phoff = m.is64 ? u64(f, 32) : u32(f, 28);
        m.phnum = u16(f, m.is64 ? 56 : 44);
        m.shoff = m.is64 ? u64(f, 40) : u32(f, 32);
        m.shnum = u16(f, m.is64 ? 60 : 48);
        int first = 1;
        for (uint64_t i = 0; i < m.phnum; i++) {
            uint64_t h = m.phoff + i * (m.is64 ? 56 : 32);
            uint32_t type = u32(f, h);
            uint64_t off = m.is64 ? u64(f, h + 8) : u32(f, h + 4);
            uint64_t va = m.is64 ? u64(f, h + 16) : u32(f, h + 8);
            uint64_t fs = m.is64 ? u64(f, h + 32) : u32(f, h + 16);
            uint64_t al = m.is64 ? u64(f, h + 48) : u32(f, h + 28);
            if (type == 1 && (first || va < m.rva_origin)) {
                m.rva_origin = va & ~(uint64_t)4095;
                first = 0;
            }
            if (type == 4 && m.build_id_len == 0)
                elf_notes(&m, off, fs, al == 8 ? 8 : 4);
        }
        return m;
    }
    if (f->n < 64 || f->d[0] != 'M' || f->d[1] != 'Z')
        die("%s: neither ELF nor PE", path);
    m.pe = 1;
    m.nt = u32(f, 0x3C);
    if (u32(f, m.nt) != 0x4550)
        die("%s: no PE signature", path);
    uint64_t fh = m.nt + 4, oh = fh + 20;
    m.nsec = u16(f, fh + 2);
    m.time_date_stamp = u32(f, fh + 4);
    m.symtab = u32(f, fh + 8);
    m.nsyms = u32(f, fh + 12);
    uint16_t optsize = u16(f, fh + 16), magic = u16(f, oh);
    m.is64 = magic == 0x20B;
    m.image_base = m.is64 ? u64(f, oh + 24) : u32(f, oh + 28);
    m.size_of_image = u32(f, oh + 56);
    m.checksum = u32(f, oh + 64);
    m.sectab = (uint32_t)(oh + optsize);
    /* the debug directory (index 6): its CodeView RSDS record */
    uint64_t dirs = oh + (m.is64 ? 112 : 96);
    uint32_t ndirs = u32(f, oh + (m.is64 ? 108 : 92));
    if (ndirs > 6 && u32(f, dirs + 6 * 8) != 0) {
        uint32_t drva = u32(f, dirs + 6 * 8), dsize = u32(f, dirs + 6 * 8 + 4);
        uint64_t doff = rva_to_off(&m, drva, dsize);
        for (uint32_t k = 0; k + 28 <= dsize; k += 28) {
            uint32_t type = u32(f, doff + k + 12), size = u32(f, doff + k + 16), ptr = u32(f, doff + k + 24);
            if (type != 2 || size < 24 || u32(f, ptr) != 0x53445352u) /* "RSDS" */
                continue;
            need(f, ptr, 24);
            memcpy(m.cv_guid, f->d + ptr + 4, 16);
            m.cv_age = u32(f, ptr + 20);
            m.has_cv = 1;
            break;
        }
    }
    return m;
}

/* ------------------------------------------------------------------------- */
/* Symbols                                                                    */
/* ------------------------------------------------------------------------- */

/* The RVA of symbol `name`, or 0 with *found = 0. */
static uint64_t elf_symbol(const image *m, const char *name, int *found)
{
    const file *f = &m->f;
    uint64_t shent = m->is64 ? 64 : 40, symsz = m->is64 ? 24 : 16;
    for (int pass = 0; pass < 2; pass++) { /* .symtab first, .dynsym then */
        uint32_t want = pass == 0 ? 2 : 11;
        for (uint64_t i = 0; i < m->shnum; i++) {
            uint64_t h = m->shoff + i * shent;
            if (u32(f, h + 4) != want)
                continue;
            uint64_t off = m->is64 ? u64(f, h + 24) : u32(f, h + 16);
            uint64_t size = m->is64 ? u64(f, h + 32) : u32(f, h + 20);
            uint32_t link = u32(f, h + (m->is64 ? 40 : 24));
            uint64_t sh = m->shoff + (uint64_t)link * shent;
            uint64_t stroff = m->is64 ? u64(f, sh + 24) : u32(f, sh + 16);
            uint64_t strsize = m->is64 ? u64(f, sh + 32) : u32(f, sh + 20);
            need(f, off, size);
            need(f, stroff, strsize);
            for (uint64_t k = 0; k + symsz <= size; k += symsz) {
                uint64_t s = off + k;
                uint32_t nm = u32(f, s);
                uint16_t shndx = u16(f, s + (m->is64 ? 6 : 14));
                uint64_t value = m->is64 ? u64(f, s + 8) : u32(f, s + 4);
                if (shndx == 0 || nm >= strsize)
                    continue;
                const char *sn = (const char *)f->d + stroff + nm;
                if (memchr(sn, 0, strsize - nm) != NULL && strcmp(sn, name) == 0) {
                    *found = 1;
                    return value - m->rva_origin;
                }
            }
        }
    }
    *found = 0;
    return 0;
}

static uint64_t pe_symbol(const image *m, const char *name, int *found)
{
    const file *f = &m->f;
    *found = 0;
    if (m->symtab != 0 && m->nsyms != 0) {
        uint64_t strtab = (uint64_t)m->symtab + (uint64_t)m->nsyms * 18;
        uint32_t strsize = u32(f, strtab);
        for (uint32_t i = 0; i < m->nsyms; i++) {
            uint64_t s = (uint64_t)m->symtab + (uint64_t)i * 18;
            need(f, s, 18);
            char sn[256];
            if (u32(f, s) == 0) {
                uint32_t o = u32(f, s + 4);
                if (o >= strsize)
                    continue;
                snprintf(sn, sizeof sn, "%.*s", (int)(strsize - o), (const char *)f->d + strtab + o);
            } else {
                snprintf(sn, sizeof sn, "%.8s", (const char *)f->d + s);
            }
            int16_t sec = (int16_t)u16(f, s + 12);
            uint8_t naux = f->d[s + 17];
            if (sec > 0 && (uint32_t)sec <= m->nsec &&
                (strcmp(sn, name) == 0 || (sn[0] == '_' && strcmp(sn + 1, name) == 0))) {
                *found = 1;
                return u32(f, m->sectab + (uint64_t)(sec - 1) * 40 + 12) + u32(f, s + 8);
            }
            i += naux;
        }
    }
    /* the export table */
    uint64_t oh = m->nt + 24, dirs = oh + (m->is64 ? 112 : 96);
    uint32_t erva = u32(f, dirs);
    if (erva == 0)
        return 0;
    uint64_t e = rva_to_off(m, erva, 40);
    uint32_t nnames = u32(f, e + 24), funcs = u32(f, e + 28), names = u32(f, e + 32), ords = u32(f, e + 36);
    for (uint32_t i = 0; i < nnames; i++) {
        uint32_t nrva = u32(f, rva_to_off(m, names + 4ull * i, 4));
        uint64_t no = rva_to_off(m, nrva, 1);
        if (strcmp((const char *)f->d + no, name) == 0) {
            uint16_t ord = u16(f, rva_to_off(m, ords + 2ull * i, 2));
            *found = 1;
            return u32(f, rva_to_off(m, funcs + 4ull * ord, 4));
        }
    }
    return 0;
}

static int cmd_rvas(int argc, char **argv)
{
    if (argc < 4)
        die("usage: rvas TARGET OUT.h SYMBOL...");
    image m = open_image(argv[2]);
    FILE *out = fopen(argv[3], "w");
    if (out == NULL)
        die("cannot write %s", argv[3]);
    fprintf(out, "/* Generated by hpt_fixfill from %s: RVAs of its symbols. */\n", argv[2]);
    for (int i = 4; i < argc; i++) {
        int found = 0;
        uint64_t rva = m.pe ? pe_symbol(&m, argv[i], &found) : elf_symbol(&m, argv[i], &found);
        if (!found)
            die("%s: no symbol %s", argv[2], argv[i]);
        fprintf(out, "#define HPT_RVA_%s 0x%llxu\n", argv[i], (unsigned long long)rva);
    }
    if (fclose(out) != 0)
        die("cannot write %s", argv[3]);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* fill                                                                       */
/* ------------------------------------------------------------------------- */

/* The file offset and size of the .hpfix section of `m`. */
static void fix_section(const image *m, uint64_t *off, uint64_t *size)
{
    const file *f = &m->f;
    if (m->pe) {
        for (uint32_t i = 0; i < m->nsec; i++) {
            uint64_t h = m->sectab + (uint64_t)i * 40;
            need(f, h, 40);
            if (strncmp((const char *)f->d + h, HP_FIX_SECTION, 8) == 0) {
                uint32_t vs = u32(f, h + 8), rs = u32(f, h + 16);
                *off = u32(f, h + 20);
                *size = vs != 0 && vs < rs ? vs : rs;
                need(f, *off, *size);
                return;
            }
        }
    } else {
        uint64_t shent = m->is64 ? 64 : 40;
        uint32_t strndx = u16(f, m->is64 ? 62 : 50);
        uint64_t sh = m->shoff + (uint64_t)strndx * shent;
        uint64_t stroff = m->is64 ? u64(f, sh + 24) : u32(f, sh + 16);
        for (uint64_t i = 0; i < m->shnum; i++) {
            uint64_t h = m->shoff + i * shent;
            uint32_t nm = u32(f, h);
            need(f, stroff + nm, sizeof HP_FIX_SECTION);
            if (memcmp(f->d + stroff + nm, HP_FIX_SECTION, sizeof HP_FIX_SECTION) == 0) {
                *off = m->is64 ? u64(f, h + 24) : u32(f, h + 16);
                *size = m->is64 ? u64(f, h + 32) : u32(f, h + 20);
                need(f, *off, *size);
                return;
            }
        }
    }
    die("%s: no %s section", f->path, HP_FIX_SECTION);
}

static int cmd_fill(int argc, char **argv)
{
    if (argc < 4)
        die("usage: fill TARGET FIX [--flip-identity]");
    int flip = argc > 4 && strcmp(argv[4], "--flip-identity") == 0;
    image t = open_image(argv[2]);
    image x = open_image(argv[3]);
    uint64_t off, size;
    fix_section(&x, &off, &size);
    uint8_t *sec = x.f.d + off;
    int fragments = 0;
    for (uint64_t p = 0; p + 8 <= size;) {
        static const uint8_t zero8[8];
        if (memcmp(sec + p, zero8, 8) == 0) {
            p += 8;
            continue;
        }
        if (size - p < sizeof(hp_fix_header) || memcmp(sec + p, HP_FIX_MAGIC, HP_FIX_MAGIC_SIZE) != 0)
            die("%s: no manifest fragment at offset 0x%llx", argv[3], (unsigned long long)p);
        hp_fix_header h;
        memcpy(&h, sec + p, sizeof h);
        if (h.size < sizeof h || h.size > size - p)
            die("%s: fragment at 0x%llx: bad size", argv[3], (unsigned long long)p);
        if (t.pe) {
            if (h.time_date_stamp == 0)
                h.time_date_stamp = t.time_date_stamp;
            if (h.size_of_image == 0)
                h.size_of_image = t.size_of_image;
            if (h.checksum == 0)
                h.checksum = t.checksum;
            static const uint8_t zero16[16];
            if (t.has_cv && h.codeview_age == 0 && memcmp(h.codeview_guid, zero16, 16) == 0) {
                memcpy(h.codeview_guid, t.cv_guid, 16);
                h.codeview_age = t.cv_age;
            }
            if (flip)
                h.time_date_stamp ^= 1u;
        } else {
            if (h.build_id_len == 0) {
                if (t.build_id_len == 0)
                    die("%s: no build-id (link it with --build-id)", argv[2]);
                h.build_id_len = t.build_id_len;
                memcpy(h.build_id, t.build_id, t.build_id_len);
            }
            if (flip)
                h.build_id[0] ^= 1u;
        }
        h.flags |= HP_FIX_F_CHECKED;
        memcpy(sec + p, &h, sizeof h);
        for (uint32_t i = 0; i < h.entry_count; i++) {
            uint8_t *e = sec + p + sizeof h + (uint64_t)i * sizeof(hp_fix_entry);
            if ((uint64_t)(e - sec) + sizeof(hp_fix_entry) > size)
                die("%s: entries beyond the section", argv[3]);
            hp_fix_entry ent;
            memcpy(&ent, e, sizeof ent);
            if (ent.hash != 0)
                continue;
            uint64_t to = rva_to_off(&t, ent.target_rva, ent.hash_len);
            ent.hash = hp_fix_hash(t.f.d + to, ent.hash_len);
            put64(e + offsetof(hp_fix_entry, hash), ent.hash);
        }
        fragments++;
        p += h.size;
    }
    if (fragments == 0)
        die("%s: the %s section holds no fragment", argv[3], HP_FIX_SECTION);
    write_back(&x.f, off, size);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: hpt_fixfill rvas TARGET OUT.h SYMBOL... | fill TARGET FIX [--flip-identity]");
    if (strcmp(argv[1], "rvas") == 0)
        return cmd_rvas(argc, argv);
    if (strcmp(argv[1], "fill") == 0)
        return cmd_fill(argc, argv);
    die("unknown command %s", argv[1]);
    return 1;
}
