/*
 * manifest.c — the manifest of a fix module (section .hpfix, runtime/include/hotpatch_fix.h): read it,
 * and check and complete it against the real target image (hp_link_manifest.h).
 *
 * The fix (FIX) and the target (IMAGE) are untrusted files: every field is read through the span
 * reader of hotpatch_pe.h, every count is checked against the bytes present before anything is
 * allocated, and every pointer field must lead into FIX. The fill works on a copy of FIX in memory and
 * writes it (temporary file + rename) only when every check passed.
 *
 * Pointer fields hold link-time addresses of FIX. In a PE file they are stored in place (the base
 * relocations only add the load delta). In an ELF shared object of x86-64 the value usually lives in
 * a dynamic relocation (R_X86_64_RELATIVE's addend; lld leaves the place zero), so the dynamic
 * relocation sections are consulted: RELATIVE (addend, or the place for REL), and a word relocation
 * against a defined dynamic symbol (its value plus the addend). RELR relocations keep the value in place.
 */
#define _XOPEN_SOURCE 700 /* realpath, mkstemp, fchmod */
#include "hp_link_manifest.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hotpatch_pe.h"
#include "hp_link_post.h"

#define SHT_RELA 4u
#define SHT_REL 9u
#define SHF_ALLOC 2u
#define PF_X 1u
#define R_X86_WORD 1u     /* R_X86_64_64, R_386_32 */
#define R_X86_RELATIVE 8u /* R_X86_64_RELATIVE, R_386_RELATIVE */
#define PE_SCN_MEM_WRITE 0x80000000u

/* The most bytes an entry may hash: the map's limit. */
#define HASH_LEN_MAX 65536u

#define HDR_SIZE ((uint64_t)sizeof(hp_fix_header))
#define ENTRY_SIZE ((uint64_t)sizeof(hp_fix_entry))
#define SLOT_SIZE ((uint64_t)sizeof(hp_fix_slot))

/* ------------------------------------------------------------------------- */
/* The fix module in memory                                                   */
/* ------------------------------------------------------------------------- */

/* A value a dynamic relocation gives the pointer field at `where` (ELF). */
typedef struct relval {
    uint64_t where;
    uint64_t value;
    int in_place; /* REL: the value is the place's (plus `value`, a symbol's address) */
} relval;

typedef struct fixmod {
    const char *path;
    unsigned char *data;
    size_t size;
    int is_pe;
    hp_pe pe;
    hp_elf elf;
    uint64_t sec_off, sec_size, sec_addr; /* .hpfix: file offset, bytes, link-time address */
    relval *rel;                          /* sorted by where */
    size_t nrel, caprel;
} fixmod;

typedef struct manifest_impl {
    hp_link_manifest pub; /* first */
    fixmod mod;
} manifest_impl;

static void fixmod_free(fixmod *m)
{
    hp_link_elf_close(&m->elf);
    free(m->rel);
    free(m->data);
    m->rel = NULL;
    m->data = NULL;
}

void hp_link_manifest_free(hp_link_manifest *manifest)
{
    if (!manifest)
        return;
    manifest_impl *mi = (manifest_impl *)manifest;
    for (size_t i = 0; i < manifest->fragment_count; i++) {
        free(manifest->fragments[i].entries);
        free(manifest->fragments[i].slots);
    }
    free(manifest->fragments);
    fixmod_free(&mi->mod);
    free(mi);
}

static int cmp_relval(const void *a, const void *b)
{
    const relval *x = a, *y = b;
    return x->where < y->where ? -1 : x->where > y->where;
}

/* The dynamic relocations of an ELF fix that land in .hpfix. */
static hp_status collect_relocs(fixmod *m, char *msg, size_t msg_size)
{
    const hp_elf *e = &m->elf;
    for (size_t i = 1; i < e->sec_count; i++) {
        const hp_elf_section *s = &e->secs[i];
        if ((s->type != SHT_RELA && s->type != SHT_REL) || !(s->flags & SHF_ALLOC))
            continue;
        int rela = s->type == SHT_RELA;
        uint64_t recsize = e->is64 ? (rela ? 24 : 16) : (rela ? 12 : 8);
        uint64_t stride = s->entsize ? s->entsize : recsize;
        if (!s->in_file || stride < recsize) {
            hp_msg_set(msg, msg_size, "%s: malformed relocation section '%s'", m->path, s->name);
            return HP_ERR_FORMAT;
        }
        hp_pe_span recs = {m->data + s->offset, (size_t)s->size};
        /* the symbols of word relocations: the section's linked table (.dynsym) */
        const hp_elf_section *symsec = s->link && s->link < e->sec_count ? &e->secs[s->link] : NULL;
        for (uint64_t p = 0; p + recsize <= recs.size; p += stride) {
            uint64_t where, info, addend = 0;
            uint32_t type, sym;
            if (e->is64) {
                hp_pe_span_u64(recs, p, &where);
                hp_pe_span_u64(recs, p + 8, &info);
                if (rela)
                    hp_pe_span_u64(recs, p + 16, &addend);
                type = (uint32_t)info;
                sym = (uint32_t)(info >> 32);
            } else {
                uint32_t w, inf, add = 0;
                hp_pe_span_u32(recs, p, &w);
                hp_pe_span_u32(recs, p + 4, &inf);
                if (rela)
                    hp_pe_span_u32(recs, p + 8, &add);
                where = w;
                info = inf;
                addend = add;
                type = inf & 0xFF;
                sym = inf >> 8;
            }
            if (where < m->sec_addr || where - m->sec_addr >= m->sec_size)
                continue;
            relval rv;
            rv.where = where;
            rv.in_place = !rela;
            if (type == R_X86_RELATIVE) {
                rv.value = rela ? addend : 0;
            } else if (type == R_X86_WORD) {
                /* against a symbol the fix defines (a dynamic symbol's value is its link-time address) */
                uint64_t symsize = e->is64 ? 24 : 16;
                uint64_t value = 0;
                uint16_t shndx = 0;
                hp_pe_span syms;
                int ok = symsec && symsec->in_file &&
                         hp_pe_span_sub((hp_pe_span){m->data, m->size}, symsec->offset, symsec->size, &syms) &&
                         (uint64_t)sym < syms.size / symsize;
                if (ok) {
                    uint64_t at = (uint64_t)sym * symsize;
                    if (e->is64) {
                        hp_pe_span_u16(syms, at + 6, &shndx);
                        hp_pe_span_u64(syms, at + 8, &value);
                    } else {
                        uint32_t v32;
                        hp_pe_span_u32(syms, at + 4, &v32);
                        hp_pe_span_u16(syms, at + 14, &shndx);
                        value = v32;
                    }
                }
                if (!ok || shndx == 0) {
                    hp_msg_set(msg, msg_size,
                               "%s: a pointer of the manifest (at 0x%llx) refers to a symbol the fix does not define",
                               m->path, (unsigned long long)where);
                    return HP_ERR_MODULE;
                }
                rv.value = value + addend;
            } else {
                hp_msg_set(msg, msg_size, "%s: a pointer of the manifest (at 0x%llx) has relocation type %u",
                           m->path, (unsigned long long)where, type);
                return HP_ERR_MODULE;
            }
            if (!HP_VEC_PUSH(m->rel, m->nrel, m->caprel, rv))
                return HP_ERR_NO_MEMORY;
        }
    }
    if (m->nrel)
        qsort(m->rel, m->nrel, sizeof *m->rel, cmp_relval);
    return HP_OK;
}

/* Read FIX, recognise its format, find .hpfix (and, for ELF, the relocations of its pointers). */
static hp_status fixmod_parse(fixmod *m, char *msg, size_t msg_size);

static hp_status fixmod_open(fixmod *m, const char *path, char *msg, size_t msg_size)
{
    memset(m, 0, sizeof *m);
    m->path = path;
    hp_status st = hp_file_read(path, &m->data, &m->size, msg, msg_size);
    if (st != HP_OK)
        return st;
    return fixmod_parse(m, msg, msg_size);
}

/* Recognise the format of m->data, find .hpfix (and, for ELF, the relocations of its pointers). */
static hp_status fixmod_parse(fixmod *m, char *msg, size_t msg_size)
{
    const char *path = m->path;
    hp_status st;
    if (m->size >= 2 && m->data[0] == 'M' && m->data[1] == 'Z') {
        const char *detail = NULL;
        st = hp_pe_open(&m->pe, m->data, m->size, HP_PE_LAYOUT_FILE, 0, &detail);
        if (st != HP_OK) {
            hp_msg_set(msg, msg_size, "%s: not an x86/x64 PE image: %s", path, detail ? detail : hp_status_str(st));
            return HP_ERR_FORMAT;
        }
        m->is_pe = 1;
        for (uint32_t i = 0; i < m->pe.section_count; i++) {
            hp_pe_section s;
            if (hp_pe_section_at(&m->pe, i, &s) != HP_OK || strcmp(s.name, HP_FIX_SECTION) != 0)
                continue;
            m->sec_off = s.raw_offset;
            m->sec_size = s.virtual_size && s.virtual_size < s.raw_size ? s.virtual_size : s.raw_size;
            m->sec_addr = m->pe.image_base + s.virtual_address;
            return HP_OK;
        }
    } else if (hp_link_is_elf(m->data, m->size)) {
        st = hp_link_elf_open(&m->elf, m->data, m->size, path, msg, msg_size);
        if (st != HP_OK)
            return st == HP_ERR_UNSUPPORTED ? HP_ERR_FORMAT : st;
        const hp_elf_section *s = hp_link_elf_section(&m->elf, HP_FIX_SECTION);
        if (s) {
            if (!s->in_file) {
                hp_msg_set(msg, msg_size, "%s: the %s section has no bytes in the file", path, HP_FIX_SECTION);
                return HP_ERR_MODULE;
            }
            m->sec_off = s->offset;
            m->sec_size = s->size;
            m->sec_addr = s->addr;
            return collect_relocs(m, msg, msg_size);
        }
    } else {
        hp_msg_set(msg, msg_size, "%s: not a PE or ELF file", path);
        return HP_ERR_FORMAT;
    }
    hp_msg_set(msg, msg_size, "%s: no %s section: not a fix module (built without the plugin's fix mode?)", path,
               HP_FIX_SECTION);
    return HP_ERR_NO_MANIFEST;
}

static const char *fix_machine(const fixmod *m)
{
    hp_machine hm = m->is_pe ? m->pe.machine : m->elf.hm;
    return hm == HP_MACHINE_X64 ? "x64" : "x86";
}

/* ------------------------------------------------------------------------- */
/* Pointer fields                                                             */
/* ------------------------------------------------------------------------- */

/* The link-time address a pointer field at file offset `off` (inside .hpfix) holds. 0 when malformed. */
static int ptr_value(const fixmod *m, uint64_t off, uint64_t *out)
{
    hp_pe_span all = {m->data, m->size};
    uint64_t v;
    if (!hp_pe_span_u64(all, off, &v))
        return 0;
    int wide = m->is_pe ? m->pe.pe32plus : m->elf.is64;
    if (!wide && (v >> 32))
        return 0; /* the upper half of a 32-bit target's pointer is zero */
    if (!m->is_pe) {
        uint64_t where = m->sec_addr + (off - m->sec_off);
        size_t lo = 0, hi = m->nrel;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (m->rel[mid].where < where)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < m->nrel && m->rel[lo].where == where) {
            const relval *r = &m->rel[lo];
            v = r->in_place ? v + r->value : r->value;
            if (!wide)
                v &= 0xFFFFFFFFu; /* 32-bit arithmetic, as the loader does it */
            *out = v;
            return 1;
        }
    }
    *out = v;
    return 1;
}

/* The RVA of a PE address, or 0 when it is not inside the image. */
static int pe_rva(const hp_pe *pe, uint64_t va, uint32_t *rva)
{
    if (va < pe->image_base || va - pe->image_base >= pe->size_of_image)
        return 0;
    *rva = (uint32_t)(va - pe->image_base);
    return 1;
}

/* The NUL-terminated string at link-time address `va` of the fix, or NULL. */
static const char *fix_string(const fixmod *m, uint64_t va)
{
    const uint8_t *p;
    size_t avail;
    if (m->is_pe) {
        uint32_t rva;
        hp_pe_section s;
        if (!pe_rva(&m->pe, va, &rva) || hp_pe_section_of_rva(&m->pe, rva, &s, NULL) != HP_OK ||
            hp_pe_rva_bytes(&m->pe, rva, &p, NULL, &avail, NULL) != HP_OK)
            return NULL;
    } else {
        size_t off;
        const hp_elf_segment *seg = hp_link_elf_file_range(&m->elf, va, 1, &off);
        if (!seg)
            return NULL;
        p = m->data + off;
        avail = (size_t)(seg->offset + seg->filesz - off);
    }
    return avail && memchr(p, 0, avail) ? (const char *)p : NULL;
}

/* 1 when `va` is in the fix's code. */
static int fix_code(const fixmod *m, uint64_t va)
{
    if (m->is_pe) {
        uint32_t rva;
        hp_pe_section s;
        return pe_rva(&m->pe, va, &rva) && hp_pe_section_of_rva(&m->pe, rva, &s, NULL) == HP_OK &&
               hp_pe_section_is_code(&s);
    }
    const hp_elf_segment *seg = hp_link_elf_mem_range(&m->elf, va, 1);
    return seg && (seg->flags & PF_X);
}

/* 1 when `len` bytes at `va` are inside one section (segment) of the fix that is not code. */
static int fix_data(const fixmod *m, uint64_t va, uint64_t len)
{
    if (m->is_pe) {
        uint32_t rva;
        hp_pe_section s;
        if (!pe_rva(&m->pe, va, &rva) || hp_pe_section_of_rva(&m->pe, rva, &s, NULL) != HP_OK ||
            hp_pe_section_is_code(&s))
            return 0;
        uint64_t extent = s.virtual_size > s.raw_size ? s.virtual_size : s.raw_size;
        return (uint64_t)(rva - s.virtual_address) + len <= extent;
    }
    const hp_elf_segment *seg = hp_link_elf_mem_range(&m->elf, va, len);
    return seg && !(seg->flags & PF_X);
}

/* ------------------------------------------------------------------------- */
/* Decoding                                                                   */
/* ------------------------------------------------------------------------- */

static uint32_t get_u32(const fixmod *m, uint64_t off)
{
    uint32_t v;
    hp_pe_span_u32((hp_pe_span){m->data, m->size}, off, &v);
    return v;
}

static uint64_t get_u64(const fixmod *m, uint64_t off)
{
    uint64_t v;
    hp_pe_span_u64((hp_pe_span){m->data, m->size}, off, &v);
    return v;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void put_u64(unsigned char *p, uint64_t v)
{
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}

/* A pointer field that must be 0 or lead to a string of the fix. */
static hp_status decode_string(const fixmod *m, uint64_t off, const char *what, const char *where_label,
                               const char **out, char *msg, size_t msg_size)
{
    uint64_t va;
    *out = NULL;
    if (!ptr_value(m, off, &va)) {
        hp_msg_set(msg, msg_size, "%s: %s: %s is not a valid pointer", m->path, where_label, what);
        return HP_ERR_MODULE;
    }
    if (va == 0)
        return HP_OK;
    *out = fix_string(m, va);
    if (!*out) {
        hp_msg_set(msg, msg_size, "%s: %s: %s (0x%llx) does not lead to a string inside the fix", m->path,
                   where_label, what, (unsigned long long)va);
        return HP_ERR_MODULE;
    }
    return HP_OK;
}

/* One fragment at `off` of the section: the header checked, entries and slots decoded. */
static hp_status decode_fragment(const fixmod *m, uint64_t off, size_t index, hp_link_manifest_fragment *f,
                                 char *msg, size_t msg_size)
{
    char label[96];
    snprintf(label, sizeof label, "%s fragment %zu (offset 0x%llx)", HP_FIX_SECTION, index, (unsigned long long)off);
    uint64_t left = m->sec_size - off;
    uint64_t at = m->sec_off + off;
    if (left < HDR_SIZE) {
        hp_msg_set(msg, msg_size, "%s: %s: truncated: %llu bytes left, a header needs %llu", m->path, label,
                   (unsigned long long)left, (unsigned long long)HDR_SIZE);
        return HP_ERR_MODULE;
    }
    if (memcmp(m->data + at, HP_FIX_MAGIC, HP_FIX_MAGIC_SIZE) != 0) {
        hp_msg_set(msg, msg_size, "%s: %s: bad magic (not \"%s\")", m->path, label, HP_FIX_MAGIC);
        return HP_ERR_MODULE;
    }
    hp_fix_header *h = &f->header;
    memcpy(h->magic, m->data + at, HP_FIX_MAGIC_SIZE);
#define H32(field) (h->field = get_u32(m, at + offsetof(hp_fix_header, field)))
    H32(version);
    H32(size);
    H32(flags);
    H32(entry_count);
    H32(slot_count);
    H32(format);
    H32(machine);
    H32(time_date_stamp);
    H32(size_of_image);
    H32(checksum);
    H32(codeview_age);
    H32(build_id_len);
#undef H32
    /* the reserved words, whatever their count: all must be 0 */
    memcpy(&h->reserved, m->data + at + offsetof(hp_fix_header, reserved), sizeof h->reserved);
    int reserved_set = !all_zero((const uint8_t *)&h->reserved, sizeof h->reserved);
    memcpy(h->codeview_guid, m->data + at + offsetof(hp_fix_header, codeview_guid), sizeof h->codeview_guid);
    memcpy(h->build_id, m->data + at + offsetof(hp_fix_header, build_id), sizeof h->build_id);
    h->target_name.u = get_u64(m, at + offsetof(hp_fix_header, target_name));
    h->unit.u = get_u64(m, at + offsetof(hp_fix_header, unit));
    f->offset = off;
    if (h->version != HP_FIX_VERSION) {
        hp_msg_set(msg, msg_size, "%s: %s: manifest version %u (this tool reads version %u)", m->path, label,
                   h->version, HP_FIX_VERSION);
        return HP_ERR_MANIFEST_VERSION;
    }
    uint64_t want = HDR_SIZE + ENTRY_SIZE * h->entry_count + SLOT_SIZE * h->slot_count;
    if (h->size != want) {
        hp_msg_set(msg, msg_size,
                   "%s: %s: size %u does not match its counts (%u entries, %u slots: %llu bytes)", m->path, label,
                   h->size, h->entry_count, h->slot_count, (unsigned long long)want);
        return HP_ERR_MODULE;
    }
    if (want > left) {
        hp_msg_set(msg, msg_size, "%s: %s: size %u runs past the end of the section (%llu bytes left)", m->path,
                   label, h->size, (unsigned long long)left);
        return HP_ERR_MODULE;
    }
    if (h->flags & ~HP_FIX_F_CHECKED) {
        hp_msg_set(msg, msg_size, "%s: %s: unknown flags 0x%x", m->path, label, h->flags & ~HP_FIX_F_CHECKED);
        return HP_ERR_MODULE;
    }
    if (reserved_set) {
        hp_msg_set(msg, msg_size, "%s: %s: the reserved field is not 0", m->path, label);
        return HP_ERR_MODULE;
    }
    if (h->format != 0 && h->format != HP_FIX_FORMAT_PE && h->format != HP_FIX_FORMAT_ELF) {
        hp_msg_set(msg, msg_size, "%s: %s: unknown target format %u", m->path, label, h->format);
        return HP_ERR_MODULE;
    }
    if (h->build_id_len > sizeof h->build_id) {
        hp_msg_set(msg, msg_size, "%s: %s: build_id_len %u is more than %zu", m->path, label, h->build_id_len,
                   sizeof h->build_id);
        return HP_ERR_MODULE;
    }
    hp_status st = decode_string(m, at + offsetof(hp_fix_header, target_name), "the target name", label,
                                 &f->target_name, msg, msg_size);
    if (st == HP_OK)
        st = decode_string(m, at + offsetof(hp_fix_header, unit), "the unit", label, &f->unit, msg, msg_size);
    if (st != HP_OK)
        return st;
    if (f->unit)
        snprintf(label, sizeof label, "%s fragment %zu (unit '%.40s')", HP_FIX_SECTION, index, f->unit);
    if (!f->target_name) {
        hp_msg_set(msg, msg_size, "%s: %s: no target name", m->path, label);
        return HP_ERR_MODULE;
    }

    f->entries = h->entry_count ? calloc(h->entry_count, sizeof *f->entries) : NULL;
    f->slots = h->slot_count ? calloc(h->slot_count, sizeof *f->slots) : NULL;
    if ((h->entry_count && !f->entries) || (h->slot_count && !f->slots))
        return HP_ERR_NO_MEMORY;
    uint64_t p = at + HDR_SIZE;
    for (uint32_t i = 0; i < h->entry_count; i++, p += ENTRY_SIZE) {
        hp_link_manifest_entry *en = &f->entries[i];
        char what[64];
        snprintf(what, sizeof what, "entry %u's name", i);
        st = decode_string(m, p + offsetof(hp_fix_entry, name), what, label, &en->name, msg, msg_size);
        if (st != HP_OK)
            return st;
        en->target_rva = get_u32(m, p + offsetof(hp_fix_entry, target_rva));
        en->hash_len = get_u32(m, p + offsetof(hp_fix_entry, hash_len));
        en->hash = get_u64(m, p + offsetof(hp_fix_entry, hash));
        en->flags = get_u32(m, p + offsetof(hp_fix_entry, flags));
        uint32_t reserved = get_u32(m, p + offsetof(hp_fix_entry, reserved));
        const char *nm = en->name ? en->name : "(unnamed)";
        if (!ptr_value(m, p + offsetof(hp_fix_entry, replacement), &en->replacement) || !en->replacement ||
            !fix_code(m, en->replacement)) {
            hp_msg_set(msg, msg_size, "%s: %s: entry '%s': the replacement (0x%llx) is not code of the fix", m->path,
                       label, nm, (unsigned long long)en->replacement);
            return HP_ERR_MODULE;
        }
        if (en->flags || reserved) {
            hp_msg_set(msg, msg_size, "%s: %s: entry '%s': flags 0x%x and reserved 0x%x must be 0", m->path, label,
                       nm, en->flags, reserved);
            return HP_ERR_MODULE;
        }
        if (en->hash_len == 0 || en->hash_len > HASH_LEN_MAX) {
            hp_msg_set(msg, msg_size, "%s: %s: entry '%s': hash_len %u is not in 1..%u", m->path, label, nm,
                       en->hash_len, HASH_LEN_MAX);
            return HP_ERR_MODULE;
        }
    }
    for (uint32_t i = 0; i < h->slot_count; i++, p += SLOT_SIZE) {
        hp_link_manifest_slot *sl = &f->slots[i];
        char what[64];
        snprintf(what, sizeof what, "slot %u's name", i);
        st = decode_string(m, p + offsetof(hp_fix_slot, name), what, label, &sl->name, msg, msg_size);
        if (st != HP_OK)
            return st;
        sl->kind = get_u32(m, p + offsetof(hp_fix_slot, kind));
        sl->target_rva = get_u32(m, p + offsetof(hp_fix_slot, target_rva));
        sl->size = get_u32(m, p + offsetof(hp_fix_slot, size));
        sl->flags = get_u32(m, p + offsetof(hp_fix_slot, flags));
        const char *nm = sl->name ? sl->name : "(unnamed)";
        uint64_t ptrsize = (m->is_pe ? m->pe.pe32plus : m->elf.is64) ? 8 : 4;
        if (!ptr_value(m, p + offsetof(hp_fix_slot, slot), &sl->slot) || !sl->slot ||
            !fix_data(m, sl->slot, ptrsize)) {
            hp_msg_set(msg, msg_size, "%s: %s: slot '%s': its variable (0x%llx) is not data of the fix", m->path,
                       label, nm, (unsigned long long)sl->slot);
            return HP_ERR_MODULE;
        }
        if (sl->kind != HP_FIX_SLOT_SYMBOL && sl->kind != HP_FIX_SLOT_PREVIOUS) {
            hp_msg_set(msg, msg_size, "%s: %s: slot '%s': unknown kind %u", m->path, label, nm, sl->kind);
            return HP_ERR_MODULE;
        }
        if (sl->flags) {
            hp_msg_set(msg, msg_size, "%s: %s: slot '%s': flags 0x%x must be 0", m->path, label, nm, sl->flags);
            return HP_ERR_MODULE;
        }
    }
    return HP_OK;
}

/* Every fragment of .hpfix; 8-byte runs of zeros between them are the linker's alignment fill. */
static hp_status decode_all(manifest_impl *mi, char *msg, size_t msg_size)
{
    fixmod *m = &mi->mod;
    hp_link_manifest *man = &mi->pub;
    man->format = m->is_pe ? "pe" : "elf";
    man->machine = fix_machine(m);
    man->section_address = m->sec_addr;
    man->section_size = m->sec_size;
    size_t cap = 0;
    uint64_t off = 0;
    while (off < m->sec_size) {
        uint64_t left = m->sec_size - off;
        const unsigned char *p = m->data + m->sec_off + off;
        size_t run = left < 8 ? (size_t)left : 8;
        int zero = 1;
        for (size_t i = 0; i < run && zero; i++)
            zero = p[i] == 0;
        if (zero) {
            off += run;
            continue;
        }
        hp_link_manifest_fragment f;
        memset(&f, 0, sizeof f);
        hp_status st = decode_fragment(m, off, man->fragment_count, &f, msg, msg_size);
        if (st == HP_OK && !HP_VEC_PUSH(man->fragments, man->fragment_count, cap, f))
            st = HP_ERR_NO_MEMORY;
        if (st != HP_OK) {
            free(f.entries);
            free(f.slots);
            return st;
        }
        off += f.header.size;
    }
    if (!man->fragment_count) {
        hp_msg_set(msg, msg_size, "%s: the %s section holds no manifest fragment", m->path, HP_FIX_SECTION);
        return HP_ERR_NO_MANIFEST;
    }
    return HP_OK;
}

static hp_status manifest_load(const char *path, manifest_impl **out, char *msg, size_t msg_size)
{
    *out = NULL;
    manifest_impl *mi = calloc(1, sizeof *mi);
    if (!mi)
        return HP_ERR_NO_MEMORY;
    hp_status st = fixmod_open(&mi->mod, path, msg, msg_size);
    if (st == HP_OK)
        st = decode_all(mi, msg, msg_size);
    if (st == HP_ERR_NO_MEMORY)
        hp_msg_set(msg, msg_size, "%s: out of memory", path);
    if (st != HP_OK) {
        hp_link_manifest_free(&mi->pub);
        return st;
    }
    *out = mi;
    return HP_OK;
}

hp_status hp_link_manifest_parse(const uint8_t *data, size_t size, const char *name, hp_link_manifest **out,
                                 char *msg, size_t msg_size)
{
    if ((!data && size) || !name || !out)
        return HP_ERR_ARGUMENT;
    *out = NULL;
    manifest_impl *mi = calloc(1, sizeof *mi);
    if (!mi)
        return HP_ERR_NO_MEMORY;
    mi->mod.path = name;
    mi->mod.data = malloc(size ? size : 1);
    if (!mi->mod.data) {
        free(mi);
        return HP_ERR_NO_MEMORY;
    }
    if (size)
        memcpy(mi->mod.data, data, size);
    mi->mod.size = size;
    hp_status st = fixmod_parse(&mi->mod, msg, msg_size);
    if (st == HP_OK)
        st = decode_all(mi, msg, msg_size);
    if (st != HP_OK) {
        hp_link_manifest_free(&mi->pub);
        return st;
    }
    *out = &mi->pub;
    return HP_OK;
}

hp_status hp_link_manifest_read(const char *fix_path, hp_link_manifest **out, char *msg, size_t msg_size)
{
    if (!fix_path || !out)
        return HP_ERR_ARGUMENT;
    manifest_impl *mi;
    hp_status st = manifest_load(fix_path, &mi, msg, msg_size);
    *out = st == HP_OK ? &mi->pub : NULL;
    return st;
}

/* ------------------------------------------------------------------------- */
/* The target image                                                           */
/* ------------------------------------------------------------------------- */

typedef struct target {
    const char *path;
    unsigned char *data;
    size_t size;
    int is_pe;
    hp_pe pe;
    hp_elf elf;
    uint32_t format, machine;
    uint32_t time_date_stamp, size_of_image, checksum, codeview_age;
    uint8_t codeview_guid[16];
    uint32_t build_id_len;
    uint8_t build_id[32];
} target;

static void target_close(target *t)
{
    hp_link_elf_close(&t->elf);
    free(t->data);
    t->data = NULL;
}

static hp_status target_open(target *t, const char *path, char *msg, size_t msg_size)
{
    memset(t, 0, sizeof *t);
    t->path = path;
    hp_status st = hp_file_read(path, &t->data, &t->size, msg, msg_size);
    if (st != HP_OK)
        return st;
    if (t->size >= 2 && t->data[0] == 'M' && t->data[1] == 'Z') {
        const char *detail = NULL;
        st = hp_pe_open(&t->pe, t->data, t->size, HP_PE_LAYOUT_FILE, 0, &detail);
        if (st != HP_OK) {
            hp_msg_set(msg, msg_size, "%s: not an x86/x64 PE image: %s", path, detail ? detail : hp_status_str(st));
            return HP_ERR_FORMAT;
        }
        t->is_pe = 1;
        t->format = HP_FIX_FORMAT_PE;
        t->machine = t->pe.coff_machine;
        t->time_date_stamp = t->pe.time_date_stamp;
        t->size_of_image = t->pe.size_of_image;
        t->checksum = t->pe.checksum;
        hp_pe_codeview cv;
        st = hp_pe_codeview_get(&t->pe, &cv, &detail);
        if (st != HP_OK) {
            hp_msg_set(msg, msg_size, "%s: malformed debug directory: %s", path, detail ? detail : hp_status_str(st));
            return HP_ERR_FORMAT;
        }
        if (cv.present) {
            memcpy(t->codeview_guid, cv.guid, 16);
            t->codeview_age = cv.age;
        }
        return HP_OK;
    }
    if (hp_link_is_elf(t->data, t->size)) {
        st = hp_link_elf_open(&t->elf, t->data, t->size, path, msg, msg_size);
        if (st != HP_OK)
            return st == HP_ERR_UNSUPPORTED ? HP_ERR_FORMAT : st;
        t->format = HP_FIX_FORMAT_ELF;
        t->machine = t->elf.machine;
        t->build_id_len = t->elf.build_id_len;
        memcpy(t->build_id, t->elf.build_id, sizeof t->build_id);
        return HP_OK;
    }
    hp_msg_set(msg, msg_size, "%s: not a PE or ELF file", path);
    return HP_ERR_FORMAT;
}

/* `len` bytes of the target's code at `rva`: 0 ok, 1 `rva` is not in code, 2 the bytes run past it. */
static int target_code(const target *t, uint32_t rva, uint32_t len, const uint8_t **out)
{
    if (t->is_pe) {
        hp_pe_section s;
        if (hp_pe_section_of_rva(&t->pe, rva, &s, NULL) != HP_OK || !hp_pe_section_is_code(&s))
            return 1;
        hp_pe_span sp;
        if (hp_pe_rva_span(&t->pe, rva, len, &sp, NULL) != HP_OK)
            return 2;
        *out = sp.data;
        return 0;
    }
    uint64_t va = t->elf.base + rva;
    if (va < t->elf.base)
        return 1;
    const hp_elf_segment *seg = hp_link_elf_mem_range(&t->elf, va, 1);
    if (!seg || !(seg->flags & PF_X))
        return 1;
    size_t off;
    seg = hp_link_elf_file_range(&t->elf, va, len, &off);
    if (!seg || !(seg->flags & PF_X))
        return 2;
    *out = t->data + off;
    return 0;
}

/* 1 when `len` bytes at `rva` (at least the byte at `rva`) are inside the target's image. */
static int target_contains(const target *t, uint32_t rva, uint32_t len)
{
    uint64_t n = len ? len : 1;
    if (t->is_pe) {
        hp_pe_section s;
        if (hp_pe_section_of_rva(&t->pe, rva, &s, NULL) != HP_OK)
            return 0;
        uint64_t extent = s.virtual_size > s.raw_size ? s.virtual_size : s.raw_size;
        return (uint64_t)(rva - s.virtual_address) + n <= extent;
    }
    uint64_t va = t->elf.base + rva;
    return va >= t->elf.base && hp_link_elf_mem_range(&t->elf, va, n) != NULL;
}

/* ------------------------------------------------------------------------- */
/* The fill                                                                   */
/* ------------------------------------------------------------------------- */

static void guid_text(const uint8_t *g, char *out, size_t size)
{
    snprintf(out, size, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", g[3], g[2], g[1],
             g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

static void hex_text(const uint8_t *b, uint32_t n, char *out, size_t size)
{
    size_t w = 0;
    if (size)
        out[0] = 0;
    for (uint32_t i = 0; i < n && w + 3 <= size; i++)
        w += (size_t)snprintf(out + w, size - w, "%02x", b[i]);
    if (n == 0 && size > 5)
        snprintf(out, size, "none");
}

typedef struct filler {
    const fixmod *m;
    const target *t;
    unsigned char *buf; /* the copy of FIX being completed */
    char label[128];    /* the fragment, for messages */
    size_t filled;
    char *msg;
    size_t msg_size;
} filler;

static const char *const another_build = "the fix was compiled against the map of another build";

/* An identity field: 0 is filled from the image, anything else must equal it. */
static hp_status id_u32(filler *fl, uint64_t at, size_t field, const char *name, uint32_t have, uint32_t image)
{
    if (have == image)
        return HP_OK;
    if (have == 0) {
        put_u32(fl->buf + at + field, image);
        fl->filled++;
        return HP_OK;
    }
    hp_msg_set(fl->msg, fl->msg_size, "%s: %s: %s is %u (0x%x) but %s has %u (0x%x): %s", fl->m->path, fl->label,
               name, have, have, fl->t->path, image, image, another_build);
    return HP_ERR_IDENTITY;
}

/* A field the target's format does not have: it must be 0. */
static hp_status id_absent(filler *fl, const char *name, uint32_t have)
{
    if (have == 0)
        return HP_OK;
    hp_msg_set(fl->msg, fl->msg_size, "%s: %s: %s is %u but %s is %s image, which has none: %s", fl->m->path,
               fl->label, name, have, fl->t->path, fl->t->is_pe ? "a PE" : "an ELF", another_build);
    return HP_ERR_IDENTITY;
}

static hp_status fill_identity(filler *fl, const hp_link_manifest_fragment *f, uint64_t at)
{
    const hp_fix_header *h = &f->header;
    const target *t = fl->t;
    hp_status st;
#define ID(field, value)                                                                                     \
    do {                                                                                                     \
        st = id_u32(fl, at, offsetof(hp_fix_header, field), #field, h->field, (value));                      \
        if (st != HP_OK)                                                                                     \
            return st;                                                                                       \
    } while (0)
#define ABSENT(field)                                   \
    do {                                                \
        st = id_absent(fl, #field, h->field);           \
        if (st != HP_OK)                                \
            return st;                                  \
    } while (0)
    ID(format, t->format);
    ID(machine, t->machine);
    if (t->is_pe) {
        ID(time_date_stamp, t->time_date_stamp);
        ID(size_of_image, t->size_of_image);
        ID(checksum, t->checksum);
        ID(codeview_age, t->codeview_age);
        ABSENT(build_id_len);
        if (!all_zero(h->build_id, sizeof h->build_id)) {
            hp_msg_set(fl->msg, fl->msg_size, "%s: %s: build_id is set but %s is a PE image, which has none: %s",
                       fl->m->path, fl->label, t->path, another_build);
            return HP_ERR_IDENTITY;
        }
        if (all_zero(h->codeview_guid, 16)) {
            if (!all_zero(t->codeview_guid, 16)) {
                memcpy(fl->buf + at + offsetof(hp_fix_header, codeview_guid), t->codeview_guid, 16);
                fl->filled++;
            }
        } else if (memcmp(h->codeview_guid, t->codeview_guid, 16) != 0) {
            char a[40], b[40];
            guid_text(h->codeview_guid, a, sizeof a);
            guid_text(t->codeview_guid, b, sizeof b);
            hp_msg_set(fl->msg, fl->msg_size, "%s: %s: codeview_guid is %s but %s has %s: %s", fl->m->path,
                       fl->label, a, t->path, all_zero(t->codeview_guid, 16) ? "no CodeView record" : b,
                       another_build);
            return HP_ERR_IDENTITY;
        }
    } else {
        ABSENT(time_date_stamp);
        ABSENT(size_of_image);
        ABSENT(checksum);
        ABSENT(codeview_age);
        if (!all_zero(h->codeview_guid, 16)) {
            hp_msg_set(fl->msg, fl->msg_size,
                       "%s: %s: codeview_guid is set but %s is an ELF image, which has none: %s", fl->m->path,
                       fl->label, t->path, another_build);
            return HP_ERR_IDENTITY;
        }
        if (h->build_id_len == 0 && all_zero(h->build_id, sizeof h->build_id)) {
            if (t->build_id_len) {
                put_u32(fl->buf + at + offsetof(hp_fix_header, build_id_len), t->build_id_len);
                memcpy(fl->buf + at + offsetof(hp_fix_header, build_id), t->build_id, t->build_id_len);
                fl->filled++;
            }
        } else if (h->build_id_len != t->build_id_len || memcmp(h->build_id, t->build_id, sizeof h->build_id) != 0) {
            char a[72], b[72];
            hex_text(h->build_id, h->build_id_len, a, sizeof a);
            hex_text(t->build_id, t->build_id_len, b, sizeof b);
            hp_msg_set(fl->msg, fl->msg_size, "%s: %s: build_id is %s but %s has %s: %s", fl->m->path, fl->label, a,
                       t->path, b, another_build);
            return HP_ERR_IDENTITY;
        }
    }
#undef ID
#undef ABSENT
    return HP_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int has_u32(const uint32_t *v, size_t n, uint32_t key)
{
    return bsearch(&key, v, n, sizeof *v, cmp_u32) != NULL;
}

/* Replace `path` by `size` bytes: a temporary file next to it, then rename (the mode is kept). */
static hp_status replace_file(const char *path, const unsigned char *data, size_t size, char *msg, size_t msg_size)
{
    char *real = realpath(path, NULL);
    const char *dest = real ? real : path;
    struct stat sb;
    if (stat(dest, &sb) != 0) {
        hp_msg_set(msg, msg_size, "%s: cannot stat the file to replace it", path);
        free(real);
        return HP_ERR_IO;
    }
    size_t len = strlen(dest);
    char *tmp = malloc(len + 16);
    if (!tmp) {
        free(real);
        return HP_ERR_NO_MEMORY;
    }
    memcpy(tmp, dest, len);
    memcpy(tmp + len, ".hpfix-XXXXXX", 14);
    int fd = mkstemp(tmp);
    hp_status st = HP_OK;
    if (fd < 0) {
        hp_msg_set(msg, msg_size, "%s: cannot create a temporary file next to it", path);
        st = HP_ERR_IO;
    } else {
        size_t done = 0;
        while (done < size) {
            ssize_t n = write(fd, data + done, size - done);
            if (n <= 0)
                break;
            done += (size_t)n;
        }
        int ok = done == size && fchmod(fd, sb.st_mode & 07777) == 0 && fsync(fd) == 0;
        if (close(fd) != 0)
            ok = 0;
        if (ok && rename(tmp, dest) != 0)
            ok = 0;
        if (!ok) {
            unlink(tmp);
            hp_msg_set(msg, msg_size, "%s: cannot write the completed file", path);
            st = HP_ERR_IO;
        }
    }
    free(tmp);
    free(real);
    return st;
}

static hp_status fill_checked(manifest_impl *mi, const target *t, const hp_link_manifest_fill_options *opt,
                              hp_link_manifest_fill_result *res, char *msg, size_t msg_size)
{
    fixmod *m = &mi->mod;
    hp_link_manifest *man = &mi->pub;
    /* the fix and the target: same format, same machine */
    if ((m->is_pe != 0) != (t->is_pe != 0)) {
        hp_msg_set(msg, msg_size, "%s: %s fix module, but %s is %s image", m->path, m->is_pe ? "a PE" : "an ELF",
                   t->path, t->is_pe ? "a PE" : "an ELF");
        return HP_ERR_IDENTITY;
    }
    uint32_t fix_machine_no = m->is_pe ? m->pe.coff_machine : m->elf.machine;
    if (fix_machine_no != t->machine) {
        hp_msg_set(msg, msg_size, "%s: a fix module for %s, but %s is %s", m->path, fix_machine(m), t->path,
                   (t->is_pe ? t->pe.machine : t->elf.hm) == HP_MACHINE_X64 ? "x64" : "x86");
        return HP_ERR_IDENTITY;
    }
    const char *want_name = opt && opt->target_name ? opt->target_name : hp_path_basename(t->path);

    /* every entry's target, for duplicates and for PREVIOUS slots */
    size_t nent = 0;
    for (size_t i = 0; i < man->fragment_count; i++)
        nent += man->fragments[i].header.entry_count;
    uint32_t *rvas = nent ? malloc(nent * sizeof *rvas) : NULL;
    if (nent && !rvas)
        return HP_ERR_NO_MEMORY;
    size_t k = 0;
    for (size_t i = 0; i < man->fragment_count; i++)
        for (uint32_t j = 0; j < man->fragments[i].header.entry_count; j++)
            rvas[k++] = man->fragments[i].entries[j].target_rva;
    if (nent)
        qsort(rvas, nent, sizeof *rvas, cmp_u32);

    unsigned char *buf = malloc(m->size ? m->size : 1);
    if (!buf) {
        free(rvas);
        return HP_ERR_NO_MEMORY;
    }
    memcpy(buf, m->data, m->size);
    filler fl;
    memset(&fl, 0, sizeof fl);
    fl.m = m;
    fl.t = t;
    fl.buf = buf;
    fl.msg = msg;
    fl.msg_size = msg_size;
    hp_status st = HP_OK;
    for (size_t i = 1; i < nent && st == HP_OK; i++) {
        if (rvas[i] == rvas[i - 1]) {
            hp_msg_set(msg, msg_size, "%s: two entries replace the function at 0x%x", m->path, rvas[i]);
            st = HP_ERR_MODULE;
        }
    }
    for (size_t i = 0; i < man->fragment_count && st == HP_OK; i++) {
        const hp_link_manifest_fragment *f = &man->fragments[i];
        uint64_t at = m->sec_off + f->offset;
        if (f->unit)
            snprintf(fl.label, sizeof fl.label, "%s fragment %zu (unit '%.60s')", HP_FIX_SECTION, i, f->unit);
        else
            snprintf(fl.label, sizeof fl.label, "%s fragment %zu", HP_FIX_SECTION, i);
        if (strcmp(f->target_name, want_name) != 0) {
            hp_msg_set(msg, msg_size, "%s: %s: the fix is for '%s', not for '%s'%s", m->path, fl.label,
                       f->target_name, want_name,
                       opt && opt->target_name ? "" : " (--target-name names the image otherwise)");
            st = HP_ERR_IDENTITY;
            break;
        }
        st = fill_identity(&fl, f, at);
        if (st != HP_OK)
            break;
        uint64_t p = at + HDR_SIZE;
        for (uint32_t j = 0; j < f->header.entry_count && st == HP_OK; j++, p += ENTRY_SIZE) {
            const hp_link_manifest_entry *en = &f->entries[j];
            const char *nm = en->name ? en->name : "(unnamed)";
            const uint8_t *bytes = NULL;
            int where = target_code(t, en->target_rva, en->hash_len, &bytes);
            if (where == 1) {
                hp_msg_set(msg, msg_size, "%s: %s: entry '%s': target_rva 0x%x is not inside the code of %s",
                           m->path, fl.label, nm, en->target_rva, t->path);
                st = HP_ERR_MODULE;
            } else if (where == 2) {
                hp_msg_set(msg, msg_size, "%s: %s: entry '%s': its %u bytes at 0x%x run past the code of %s",
                           m->path, fl.label, nm, en->hash_len, en->target_rva, t->path);
                st = HP_ERR_MODULE;
            } else {
                uint64_t h = hp_fix_hash(bytes, en->hash_len);
                if (en->hash == 0) {
                    put_u64(buf + p + offsetof(hp_fix_entry, hash), h);
                    fl.filled++;
                } else if (en->hash != h) {
                    hp_msg_set(msg, msg_size,
                               "%s: %s: entry '%s' at 0x%x: hash fnv1a64:%016llx, but its %u bytes in %s hash to "
                               "fnv1a64:%016llx: its bytes in %s differ from the map's",
                               m->path, fl.label, nm, en->target_rva, (unsigned long long)en->hash, en->hash_len,
                               t->path, (unsigned long long)h, t->path);
                    st = HP_ERR_HASH;
                }
            }
        }
        for (uint32_t j = 0; j < f->header.slot_count && st == HP_OK; j++) {
            const hp_link_manifest_slot *sl = &f->slots[j];
            const char *nm = sl->name ? sl->name : "(unnamed)";
            if (sl->kind == HP_FIX_SLOT_PREVIOUS) {
                if (!has_u32(rvas, nent, sl->target_rva)) {
                    hp_msg_set(msg, msg_size,
                               "%s: %s: slot '%s': target_rva 0x%x of a PREVIOUS slot is no entry's target_rva",
                               m->path, fl.label, nm, sl->target_rva);
                    st = HP_ERR_MODULE;
                }
            } else if (!target_contains(t, sl->target_rva, sl->size)) {
                hp_msg_set(msg, msg_size, "%s: %s: slot '%s': target_rva 0x%x (size %u) is not inside %s", m->path,
                           fl.label, nm, sl->target_rva, sl->size, t->path);
                st = HP_ERR_MODULE;
            }
        }
        if (st == HP_OK && !(f->header.flags & HP_FIX_F_CHECKED))
            put_u32(buf + at + offsetof(hp_fix_header, flags), f->header.flags | HP_FIX_F_CHECKED);
    }
    free(rvas);
    if (st == HP_OK && memcmp(buf, m->data, m->size) != 0) {
        if (m->is_pe && m->pe.checksum != 0) {
            size_t csum_off = (size_t)m->pe.nt_offset + 4 + 20 + 64; /* OptionalHeader.CheckSum, PE32 and PE32+ */
            put_u32(buf + csum_off, hp_link_pe_checksum(buf, m->size, csum_off));
        }
        st = replace_file(m->path, buf, m->size, msg, msg_size);
        if (st == HP_OK && res)
            res->written = 1;
    }
    if (res) {
        res->fields_filled = fl.filled;
        res->fragments = man->fragment_count;
        res->entries = nent;
        for (size_t i = 0; i < man->fragment_count; i++)
            res->slots += man->fragments[i].header.slot_count;
    }
    free(buf);
    return st;
}

hp_status hp_link_manifest_fill(const char *fix_path, const char *image_path,
                                const hp_link_manifest_fill_options *options, hp_link_manifest_fill_result *result,
                                char *msg, size_t msg_size)
{
    if (!fix_path || !image_path)
        return HP_ERR_ARGUMENT;
    if (result)
        memset(result, 0, sizeof *result);
    manifest_impl *mi = NULL;
    hp_status st = manifest_load(fix_path, &mi, msg, msg_size);
    if (st != HP_OK)
        return st;
    target t;
    st = target_open(&t, image_path, msg, msg_size);
    if (st == HP_OK)
        st = fill_checked(mi, &t, options, result, msg, msg_size);
    if (st == HP_ERR_NO_MEMORY)
        hp_msg_set(msg, msg_size, "%s: out of memory", fix_path);
    target_close(&t);
    hp_link_manifest_free(&mi->pub);
    return st;
}
