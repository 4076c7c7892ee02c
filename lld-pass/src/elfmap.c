/*
 * elfmap.c — the ELF view and the map of an ELF image (hp_link_manifest.h).
 *
 * The view reads ELF32/ELF64 little-endian x86/x86-64 executables and shared objects through the
 * runtime's span reader (hotpatch_pe.h: every read checked with `len <= size - off`, nothing can
 * wrap). The map lists:
 *   - functions: STT_FUNC symbols with a size, in executable memory, once per address (the exported
 *     name first, then a global one, then a local one), judged by the site rules in the image context;
 *   - units: the STT_FILE symbols of .symtab, each starting the group of local symbols that follow it;
 *   - symbols: every named, defined STT_FUNC and STT_OBJECT. A local symbol belongs to the unit of the
 *     STT_FILE before it; a global one has no unit (-1, "null"): ELF lists globals after all locals,
 *     so .symtab does not say which unit defined them, and a guess by address order would be wrong for
 *     units without local symbols. Fixes name globals without a unit (hp_map_find with unit -1).
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_manifest.h"

#include <stdlib.h>
#include <string.h>

#include "hotpatch_fix.h"
#include "hp_link_map.h"

/* ELF constants (the gABI's values) */
#define ET_EXEC 2u
#define ET_DYN 3u
#define PT_LOAD 1u
#define PT_NOTE 4u
#define PF_X 1u
#define SHT_SYMTAB 2u
#define SHT_STRTAB 3u
#define SHT_NOTE 7u
#define SHT_NOBITS 8u
#define SHT_DYNSYM 11u
#define SHF_ALLOC 2u
#define SHF_EXECINSTR 4u
#define SHN_UNDEF 0u
#define SHN_LORESERVE 0xff00u
#define SHN_XINDEX 0xffffu
#define STT_OBJECT 1u
#define STT_FUNC 2u
#define STT_FILE 4u
#define STB_LOCAL 0u
#define STB_GLOBAL 1u
#define STB_WEAK 2u
#define STV_DEFAULT 0u
#define NT_GNU_BUILD_ID 3u

/* The map hashes at most this many bytes of a function (lld-pass/README.md, "The map"). */
#define MAP_HASH_MAX 65536u

int hp_link_is_elf(const uint8_t *data, size_t size)
{
    return data && size >= 4 && data[0] == 0x7F && data[1] == 'E' && data[2] == 'L' && data[3] == 'F';
}

/* A 32-bit or 64-bit little-endian word at `off`. */
static int rd_word(hp_pe_span s, int is64, uint64_t off, uint64_t *out)
{
    if (is64)
        return hp_pe_span_u64(s, off, out);
    uint32_t v;
    int ok = hp_pe_span_u32(s, off, &v);
    *out = v;
    return ok;
}

static int rd_u8(hp_pe_span s, uint64_t off, uint8_t *out)
{
    *out = 0;
    if (off >= s.size)
        return 0;
    *out = s.data[off];
    return 1;
}

void hp_link_elf_close(hp_elf *elf)
{
    if (!elf)
        return;
    free(elf->segs);
    free(elf->secs);
    elf->segs = NULL;
    elf->secs = NULL;
    elf->seg_count = elf->sec_count = 0;
}

/* Find the GNU build id among the notes of [off, off + len) (`align`: 4 or 8). 1 found, 0 none, -1 bad. */
static int find_build_id(hp_elf *e, uint64_t off, uint64_t len, uint64_t align)
{
    hp_pe_span all = {e->data, e->size}, notes;
    if (!hp_pe_span_sub(all, off, len, &notes))
        return -1;
    uint64_t a = align == 8 ? 8 : 4;
    uint64_t pos = 0;
    while (notes.size - pos >= 12) {
        uint32_t namesz, descsz, type;
        hp_pe_span_u32(notes, pos, &namesz);
        hp_pe_span_u32(notes, pos + 4, &descsz);
        hp_pe_span_u32(notes, pos + 8, &type);
        /* the name and the descriptor each start at the next multiple of the alignment */
        uint64_t name_off = pos + 12;
        uint64_t desc_off = (name_off + namesz + a - 1) & ~(a - 1);
        uint64_t next = (desc_off + descsz + a - 1) & ~(a - 1);
        hp_pe_span desc;
        if (desc_off > notes.size || !hp_pe_span_sub(notes, desc_off, descsz, &desc))
            return -1;
        if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(notes.data + name_off, "GNU", 4) == 0) {
            if (descsz == 0 || descsz > sizeof e->build_id)
                return -1;
            memcpy(e->build_id, desc.data, descsz);
            e->build_id_len = descsz;
            return 1;
        }
        if (next > notes.size)
            break; /* the last note's padding may be cut */
        pos = next;
    }
    return 0;
}

hp_status hp_link_elf_open(hp_elf *e, const uint8_t *data, size_t size, const char *name, char *msg,
                           size_t msg_size)
{
    if (!e || (!data && size))
        return HP_ERR_ARGUMENT;
    memset(e, 0, sizeof *e);
    if (!name)
        name = "image";
    e->data = data;
    e->size = size;
    hp_pe_span all = {data, size};
#define BAD(...)                                   \
    do {                                           \
        hp_msg_set(msg, msg_size, __VA_ARGS__);    \
        hp_link_elf_close(e);                      \
        return HP_ERR_FORMAT;                      \
    } while (0)
    if (!hp_link_is_elf(data, size))
        BAD("%s: not an ELF file", name);
    if (size < 16)
        BAD("%s: truncated ELF header", name);
    if (data[4] != 1 && data[4] != 2)
        BAD("%s: bad ELF class %u", name, data[4]);
    if (data[5] != 1) {
        hp_msg_set(msg, msg_size, "%s: big-endian ELF files are not supported", name);
        return HP_ERR_UNSUPPORTED;
    }
    e->is64 = data[4] == 2;
    uint64_t ehsize = e->is64 ? 64 : 52;
    if (size < ehsize)
        BAD("%s: truncated ELF header (%zu bytes, the header needs %u)", name, size, (unsigned)ehsize);
    uint16_t type, machine, phentsize, phnum, shentsize, shnum, shstrndx;
    uint64_t phoff, shoff;
    hp_pe_span_u16(all, 16, &type);
    hp_pe_span_u16(all, 18, &machine);
    rd_word(all, e->is64, 24 + (e->is64 ? 8 : 4), &phoff);
    rd_word(all, e->is64, 24 + (e->is64 ? 16 : 8), &shoff);
    uint64_t h = e->is64 ? 54 : 42; /* e_phentsize */
    hp_pe_span_u16(all, h, &phentsize);
    hp_pe_span_u16(all, h + 2, &phnum);
    hp_pe_span_u16(all, h + 4, &shentsize);
    hp_pe_span_u16(all, h + 6, &shnum);
    hp_pe_span_u16(all, h + 8, &shstrndx);
    e->type = type;
    e->machine = machine;
    if (type == 1)
        BAD("%s: a relocatable object, not a linked executable or shared object", name);
    if (type != ET_EXEC && type != ET_DYN)
        BAD("%s: ELF type %u is not an executable or a shared object", name, type);
    if (machine == HP_ELF_EM_X86_64 && e->is64) {
        e->hm = HP_MACHINE_X64;
    } else if (machine == HP_ELF_EM_386 && !e->is64) {
        e->hm = HP_MACHINE_X86;
    } else {
        hp_msg_set(msg, msg_size, "%s: ELF machine %u (%s) is not x86 or x86-64", name, machine,
                   e->is64 ? "64-bit" : "32-bit");
        return HP_ERR_UNSUPPORTED;
    }

    /* program headers: the PT_LOAD segments and the notes */
    uint64_t phsize = e->is64 ? 56 : 32;
    hp_pe_span ph;
    if (phnum == 0)
        BAD("%s: no program headers", name);
    if (phentsize < phsize)
        BAD("%s: program header size %u is smaller than %u", name, phentsize, (unsigned)phsize);
    if (!hp_pe_span_sub(all, phoff, (uint64_t)phnum * phentsize, &ph))
        BAD("%s: the program headers lie outside the file", name);
    e->segs = calloc(phnum, sizeof *e->segs);
    if (!e->segs) {
        hp_link_elf_close(e);
        return HP_ERR_NO_MEMORY;
    }
    int id = 0;
    for (uint32_t i = 0; i < phnum; i++) {
        uint64_t p = (uint64_t)i * phentsize;
        uint32_t ptype, pflags;
        uint64_t off, vaddr, filesz, memsz, align;
        hp_pe_span_u32(ph, p, &ptype);
        if (e->is64) {
            hp_pe_span_u32(ph, p + 4, &pflags);
            hp_pe_span_u64(ph, p + 8, &off);
            hp_pe_span_u64(ph, p + 16, &vaddr);
            hp_pe_span_u64(ph, p + 32, &filesz);
            hp_pe_span_u64(ph, p + 40, &memsz);
            hp_pe_span_u64(ph, p + 48, &align);
        } else {
            uint32_t v[7];
            for (int k = 0; k < 7; k++)
                hp_pe_span_u32(ph, p + 4 + 4 * (uint64_t)k, &v[k]);
            off = v[0];
            vaddr = v[1];
            filesz = v[3];
            memsz = v[4];
            pflags = v[5];
            align = v[6];
        }
        if (ptype == PT_LOAD) {
            hp_pe_span bytes;
            if (!hp_pe_span_sub(all, off, filesz, &bytes))
                BAD("%s: PT_LOAD segment %u lies outside the file", name, i);
            if (filesz > memsz)
                BAD("%s: PT_LOAD segment %u has more file bytes than memory", name, i);
            if (vaddr > UINT64_MAX - memsz || (!e->is64 && vaddr + memsz > UINT32_MAX + (uint64_t)1))
                BAD("%s: PT_LOAD segment %u wraps the address space", name, i);
            hp_elf_segment *s = &e->segs[e->seg_count++];
            s->vaddr = vaddr;
            s->memsz = memsz;
            s->offset = off;
            s->filesz = filesz;
            s->flags = pflags;
        } else if (ptype == PT_NOTE && !id) {
            id = find_build_id(e, off, filesz, align);
            if (id < 0)
                BAD("%s: malformed note segment (program header %u), or a build id longer than 32 bytes", name, i);
        }
    }
    if (!e->seg_count)
        BAD("%s: no PT_LOAD segment", name);
    uint64_t low = UINT64_MAX;
    for (size_t i = 0; i < e->seg_count; i++)
        if (e->segs[i].vaddr < low)
            low = e->segs[i].vaddr;
    e->base = low & ~(uint64_t)(HP_ELF_RVA_PAGE - 1);

    /* section headers, when present (stripped-of-sections files keep only the segments) */
    if (shoff) {
        uint64_t shsize = e->is64 ? 64 : 40;
        if (shentsize < shsize)
            BAD("%s: section header size %u is smaller than %u", name, shentsize, (unsigned)shsize);
        uint64_t count = shnum;
        uint32_t strndx = shstrndx;
        if (count == 0 || strndx == SHN_XINDEX) {
            /* extended numbering: section 0 holds the real count (sh_size) and index (sh_link) */
            hp_pe_span s0;
            if (!hp_pe_span_sub(all, shoff, shsize, &s0))
                BAD("%s: the section headers lie outside the file", name);
            uint64_t n0;
            uint32_t link0;
            rd_word(s0, e->is64, e->is64 ? 32 : 20, &n0);
            hp_pe_span_u32(s0, e->is64 ? 40 : 24, &link0);
            if (count == 0)
                count = n0;
            if (strndx == SHN_XINDEX)
                strndx = link0;
        }
        hp_pe_span sh;
        if (count > size / shentsize || !hp_pe_span_sub(all, shoff, count * shentsize, &sh))
            BAD("%s: the section headers lie outside the file", name);
        e->secs = count ? calloc((size_t)count, sizeof *e->secs) : NULL;
        if (count && !e->secs) {
            hp_link_elf_close(e);
            return HP_ERR_NO_MEMORY;
        }
        e->sec_count = (size_t)count;
        uint32_t *names = count ? calloc((size_t)count, sizeof *names) : NULL;
        if (count && !names) {
            hp_link_elf_close(e);
            return HP_ERR_NO_MEMORY;
        }
        for (size_t i = 0; i < e->sec_count; i++) {
            hp_elf_section *s = &e->secs[i];
            uint64_t p = (uint64_t)i * shentsize;
            uint64_t flags, addr, off, sz, ent;
            hp_pe_span_u32(sh, p, &names[i]);
            hp_pe_span_u32(sh, p + 4, &s->type);
            if (e->is64) {
                hp_pe_span_u64(sh, p + 8, &flags);
                hp_pe_span_u64(sh, p + 16, &addr);
                hp_pe_span_u64(sh, p + 24, &off);
                hp_pe_span_u64(sh, p + 32, &sz);
                hp_pe_span_u32(sh, p + 40, &s->link);
                hp_pe_span_u32(sh, p + 44, &s->info);
                hp_pe_span_u64(sh, p + 56, &ent);
            } else {
                uint32_t v;
                hp_pe_span_u32(sh, p + 8, &v);
                flags = v;
                hp_pe_span_u32(sh, p + 12, &v);
                addr = v;
                hp_pe_span_u32(sh, p + 16, &v);
                off = v;
                hp_pe_span_u32(sh, p + 20, &v);
                sz = v;
                hp_pe_span_u32(sh, p + 24, &s->link);
                hp_pe_span_u32(sh, p + 28, &s->info);
                hp_pe_span_u32(sh, p + 36, &v);
                ent = v;
            }
            s->flags = flags;
            s->addr = addr;
            s->offset = off;
            s->size = sz;
            s->entsize = ent;
            hp_pe_span tmp;
            s->in_file = s->type != SHT_NOBITS && i != 0 && hp_pe_span_sub(all, off, sz, &tmp);
            s->name = "";
        }
        if (strndx < e->sec_count && e->secs[strndx].in_file) {
            const hp_elf_section *st = &e->secs[strndx];
            hp_pe_span strs = {data + st->offset, (size_t)st->size};
            for (size_t i = 0; i < e->sec_count; i++) {
                size_t len;
                if (hp_pe_span_strlen(strs, names[i], &len))
                    e->secs[i].name = (const char *)strs.data + names[i];
            }
        }
        free(names);
    }

    /* no build id in a PT_NOTE segment: look in the note sections */
    if (!id) {
        for (size_t i = 0; i < e->sec_count && !id; i++) {
            const hp_elf_section *s = &e->secs[i];
            if (s->type != SHT_NOTE || !s->in_file)
                continue;
            uint64_t align;
            hp_pe_span shdr;
            align = 4;
            if (hp_pe_span_sub(all, shoff + (uint64_t)i * shentsize, e->is64 ? 64 : 40, &shdr))
                rd_word(shdr, e->is64, e->is64 ? 48 : 32, &align);
            id = find_build_id(e, s->offset, s->size, align);
            if (id < 0)
                BAD("%s: malformed note section '%s', or a build id longer than 32 bytes", name, s->name);
        }
    }
#undef BAD
    return HP_OK;
}

const hp_elf_section *hp_link_elf_section(const hp_elf *e, const char *name)
{
    if (!e || !name)
        return NULL;
    for (size_t i = 1; i < e->sec_count; i++)
        if (strcmp(e->secs[i].name, name) == 0)
            return &e->secs[i];
    return NULL;
}

const hp_elf_segment *hp_link_elf_file_range(const hp_elf *e, uint64_t vaddr, uint64_t len, size_t *out_offset)
{
    if (!e)
        return NULL;
    for (size_t i = 0; i < e->seg_count; i++) {
        const hp_elf_segment *s = &e->segs[i];
        if (vaddr < s->vaddr)
            continue;
        uint64_t rel = vaddr - s->vaddr;
        if (rel > s->filesz || len > s->filesz - rel || (len == 0 && rel == s->filesz))
            continue;
        if (out_offset)
            *out_offset = (size_t)(s->offset + rel);
        return s;
    }
    return NULL;
}

const hp_elf_segment *hp_link_elf_mem_range(const hp_elf *e, uint64_t vaddr, uint64_t len)
{
    if (!e)
        return NULL;
    for (size_t i = 0; i < e->seg_count; i++) {
        const hp_elf_segment *s = &e->segs[i];
        if (vaddr < s->vaddr)
            continue;
        uint64_t rel = vaddr - s->vaddr;
        if (rel > s->memsz || len > s->memsz - rel || (len == 0 && rel == s->memsz))
            continue;
        return s;
    }
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* Paths                                                                      */
/* ------------------------------------------------------------------------- */

/* `path` lexically normalised into a new string: absolute stays absolute; '.' and empty components go;
   'x/..' cancel; a relative path keeps its leading '..'. "" and "." become ".". */
static char *normalise(const char *path)
{
    size_t len = strlen(path);
    char *out = malloc(len + 2);
    if (!out)
        return NULL;
    int abs = path[0] == '/';
    size_t n = 0;      /* bytes of out in use */
    size_t floor = 0;  /* components before this offset are leading '..' of a relative path */
    if (abs)
        out[n++] = '/';
    size_t start = n;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *q = p;
        while (*q && *q != '/')
            q++;
        size_t cl = (size_t)(q - p);
        if (cl == 0 || (cl == 1 && p[0] == '.')) {
            /* nothing */
        } else if (cl == 2 && p[0] == '.' && p[1] == '.') {
            if (n > floor && n > start) {
                /* drop the last component */
                while (n > start && out[n - 1] != '/')
                    n--;
                if (n > start)
                    n--; /* its separator */
            } else if (!abs) {
                if (n > start)
                    out[n++] = '/';
                memcpy(out + n, "..", 2);
                n += 2;
                floor = n;
            }
        } else {
            if (n > start)
                out[n++] = '/';
            memcpy(out + n, p, cl);
            n += cl;
        }
        p = q;
    }
    if (n == 0)
        out[n++] = '.';
    out[n] = 0;
    return out;
}

char *hp_link_path_relative(const char *path, const char *root)
{
    if (!path)
        return NULL;
    char *np = normalise(path);
    if (!np || !root || !root[0])
        return np;
    char *nr = normalise(root);
    if (!nr) {
        free(np);
        return NULL;
    }
    size_t rl = strlen(nr);
    char *res = np;
    if (strcmp(np, nr) == 0) {
        res = strdup(".");
        free(np);
    } else if (strcmp(nr, ".") != 0 && strncmp(np, nr, rl) == 0 && (np[rl] == '/' || (rl == 1 && nr[0] == '/'))) {
        const char *rest = np + rl + (np[rl] == '/');
        res = strdup(rest);
        free(np);
    }
    free(nr);
    return res;
}

/* ------------------------------------------------------------------------- */
/* The map                                                                    */
/* ------------------------------------------------------------------------- */

typedef struct esym {
    const char *name;
    uint64_t value, size;
    uint8_t type, bind, vis;
    uint32_t shndx;
} esym;

/* A symbol table: its records and its string table. */
typedef struct symtab {
    hp_pe_span recs, strs;
    uint64_t stride;
    size_t count;
    size_t first_global; /* sh_info */
} symtab;

static hp_status symtab_open(const hp_elf *e, const hp_elf_section *s, symtab *t, const char *name, char *msg,
                             size_t msg_size)
{
    memset(t, 0, sizeof *t);
    uint64_t recsize = e->is64 ? 24 : 16;
    uint64_t stride = s->entsize ? s->entsize : recsize;
    if (!s->in_file || stride < recsize || s->link >= e->sec_count || !e->secs[s->link].in_file ||
        e->secs[s->link].type != SHT_STRTAB) {
        hp_msg_set(msg, msg_size, "%s: malformed symbol table '%s'", name, s->name);
        return HP_ERR_FORMAT;
    }
    const hp_elf_section *str = &e->secs[s->link];
    t->recs.data = e->data + s->offset;
    t->recs.size = (size_t)s->size;
    t->strs.data = e->data + str->offset;
    t->strs.size = (size_t)str->size;
    t->stride = stride;
    t->count = (size_t)(s->size / stride);
    t->first_global = s->info;
    return HP_OK;
}

/* Symbol `i` of a table; 0 when its name lies outside the string table. */
static int symtab_get(const hp_elf *e, const symtab *t, size_t i, esym *out)
{
    uint64_t p = (uint64_t)i * t->stride;
    uint32_t name;
    uint16_t shndx;
    uint8_t info, other;
    memset(out, 0, sizeof *out);
    hp_pe_span_u32(t->recs, p, &name);
    if (e->is64) {
        rd_u8(t->recs, p + 4, &info);
        rd_u8(t->recs, p + 5, &other);
        hp_pe_span_u16(t->recs, p + 6, &shndx);
        hp_pe_span_u64(t->recs, p + 8, &out->value);
        hp_pe_span_u64(t->recs, p + 16, &out->size);
    } else {
        uint32_t v, sz;
        hp_pe_span_u32(t->recs, p + 4, &v);
        hp_pe_span_u32(t->recs, p + 8, &sz);
        rd_u8(t->recs, p + 12, &info);
        rd_u8(t->recs, p + 13, &other);
        hp_pe_span_u16(t->recs, p + 14, &shndx);
        out->value = v;
        out->size = sz;
    }
    out->type = info & 0xF;
    out->bind = info >> 4;
    out->vis = other & 3;
    out->shndx = shndx;
    size_t len;
    if (!hp_pe_span_strlen(t->strs, name, &len))
        return 0;
    out->name = (const char *)t->strs.data + name;
    return 1;
}

/* Defined in a section of the image (not undefined, absolute or common). */
static int sym_defined(const esym *s)
{
    return s->shndx != SHN_UNDEF && (s->shndx < SHN_LORESERVE || s->shndx == SHN_XINDEX);
}

typedef struct fncand {
    uint64_t vaddr, size;
    const char *name;
    int rank; /* 2 exported, 1 global, 0 local: the name kept for an address is the highest */
    int exported;
} fncand;

static int cmp_fncand(const void *a, const void *b)
{
    const fncand *x = a, *y = b;
    if (x->vaddr != y->vaddr)
        return x->vaddr < y->vaddr ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank > y->rank ? -1 : 1;
    return strcmp(x->name, y->name);
}

typedef struct dynexp {
    uint64_t vaddr;
    const char *name;
} dynexp;

static int cmp_dynexp(const void *a, const void *b)
{
    const dynexp *x = a, *y = b;
    if (x->vaddr != y->vaddr)
        return x->vaddr < y->vaddr ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The exported (dynamic, global or weak, default visibility) name at `vaddr` equal to `name`, or any
   exported name there when `name` is NULL. */
static const dynexp *find_export(const dynexp *v, size_t n, uint64_t vaddr, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].vaddr < vaddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < n && v[i].vaddr == vaddr; i++)
        if (!name || strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

static int cmp_fn_rva(const void *a, const void *b)
{
    const hp_link_fn *x = a, *y = b;
    return x->rva < y->rva ? -1 : x->rva > y->rva;
}

/* Where a function's bytes are: its executable section's bytes (else its PT_LOAD segment's file bytes)
   around `vaddr`. 0 when they are not in the file. */
static int code_bytes(const hp_elf *e, uint64_t vaddr, const uint8_t **ptr, size_t *before, size_t *after)
{
    for (size_t i = 1; i < e->sec_count; i++) {
        const hp_elf_section *s = &e->secs[i];
        if (!s->in_file || (s->flags & (SHF_ALLOC | SHF_EXECINSTR)) != (SHF_ALLOC | SHF_EXECINSTR))
            continue;
        if (vaddr < s->addr || vaddr - s->addr >= s->size)
            continue;
        uint64_t rel = vaddr - s->addr;
        *ptr = e->data + s->offset + rel;
        *before = (size_t)rel;
        *after = (size_t)(s->size - rel);
        return 1;
    }
    size_t off;
    const hp_elf_segment *seg = hp_link_elf_file_range(e, vaddr, 1, &off);
    if (!seg || !(seg->flags & PF_X))
        return 0;
    *ptr = e->data + off;
    *before = (size_t)(vaddr - seg->vaddr);
    *after = (size_t)(seg->filesz - (vaddr - seg->vaddr));
    return 1;
}

/* One function of the map, judged by the site rules as an image on disk would be. */
static void judge(const hp_elf *e, const fncand *c, uint32_t pad, hp_link_fn *f)
{
    const uint8_t *p;
    size_t before, after;
    memset(f, 0, sizeof *f);
    f->name = c->name;
    f->rva = (uint32_t)(c->vaddr - e->base);
    f->from = c->exported ? HP_LINK_FROM_EXPORT : 0u;
    if (!code_bytes(e, c->vaddr, &p, &before, &after)) {
        f->hash = hp_fix_hash(NULL, 0);
        return;
    }
    uint32_t padding = 0;
    while (padding < HP_MAX_PAD && padding < before && hp_site_is_filler(p[-(ptrdiff_t)padding - 1]))
        padding++;
    f->padding = (uint16_t)padding; /* at most HP_MAX_PAD */
    if (after >= 4 && p[0] == 0xF3 && p[1] == 0x0F && p[2] == 0x1E && (p[3] == 0xFA || p[3] == 0xFB))
        f->site_offset = 4;
    if (after > f->site_offset)
        f->entry_bytes[0] = p[f->site_offset];
    if (after > (size_t)f->site_offset + 1)
        f->entry_bytes[1] = p[f->site_offset + 1];
    size_t hl = after;
    if (c->size < hl)
        hl = (size_t)c->size;
    if (hl > MAP_HASH_MAX)
        hl = MAP_HASH_MAX;
    f->hash_len = (uint32_t)hl;
    f->hash = hp_fix_hash(p, hl);

    hp_site_input in;
    memset(&in, 0, sizeof in);
    in.entry = p;
    in.before = before;
    in.after = after;
    in.address = c->vaddr; /* the load bias is page-aligned: the address's line offset is the runtime's */
    in.machine = e->hm;
    in.pad = pad;
    in.body_size = c->size < after ? (size_t)c->size : after;
    hp_site site;
    hp_site_reason reason = hp_site_analyze(&in, &site);
    f->patchable = hp_site_verdict(HP_SITE_CONTEXT_IMAGE, reason) == HP_OK;
}

typedef struct mapbuild {
    fncand *cands;
    size_t ncands, capcands;
    dynexp *exps;
    size_t nexps, capexps;
    char **units;
    size_t nunits, capunits;
    hp_link_map_symbol *syms;
    size_t nsyms, capsyms;
    hp_link_fn *fns;
    size_t nfns;
} mapbuild;

static void mapbuild_free(mapbuild *b)
{
    free(b->cands);
    free(b->exps);
    for (size_t i = 0; i < b->nunits; i++)
        free(b->units[i]);
    free(b->units);
    free(b->syms);
    free(b->fns);
}

/* The index of unit `path` (normalised, relative to the source root), added when new; -2 out of memory. */
static int32_t unit_of(mapbuild *b, const char *path, const char *root)
{
    char *rel = hp_link_path_relative(path, root);
    if (!rel)
        return -2;
    for (size_t i = 0; i < b->nunits; i++) {
        if (strcmp(b->units[i], rel) == 0) {
            free(rel);
            return (int32_t)i;
        }
    }
    if (b->nunits >= INT32_MAX || !HP_VEC_PUSH(b->units, b->nunits, b->capunits, rel)) {
        free(rel);
        return -2;
    }
    return (int32_t)(b->nunits - 1);
}

/* Exported functions and variables: .dynsym's defined global/weak symbols of default visibility. */
static hp_status collect_exports(const hp_elf *e, mapbuild *b, const char *name, char *msg, size_t msg_size)
{
    for (size_t i = 1; i < e->sec_count; i++) {
        if (e->secs[i].type != SHT_DYNSYM)
            continue;
        symtab t;
        hp_status st = symtab_open(e, &e->secs[i], &t, name, msg, msg_size);
        if (st != HP_OK)
            return st;
        for (size_t k = 1; k < t.count; k++) {
            esym s;
            if (!symtab_get(e, &t, k, &s)) {
                hp_msg_set(msg, msg_size, "%s: dynamic symbol %zu: name outside the string table", name, k);
                return HP_ERR_FORMAT;
            }
            if (!sym_defined(&s) || !s.name[0] || (s.bind != STB_GLOBAL && s.bind != STB_WEAK) ||
                s.vis != STV_DEFAULT)
                continue;
            dynexp x = {s.value, s.name};
            if (!HP_VEC_PUSH(b->exps, b->nexps, b->capexps, x))
                return HP_ERR_NO_MEMORY;
        }
        break;
    }
    if (b->nexps)
        qsort(b->exps, b->nexps, sizeof *b->exps, cmp_dynexp);
    return HP_OK;
}

/* Units, symbols and function candidates from the symbol table (.symtab, else .dynsym). */
static hp_status collect_symbols(const hp_elf *e, mapbuild *b, const hp_link_elf_map_options *opt, const char *name,
                                 char *msg, size_t msg_size)
{
    const hp_elf_section *tab = NULL;
    for (size_t i = 1; i < e->sec_count && !tab; i++)
        if (e->secs[i].type == SHT_SYMTAB)
            tab = &e->secs[i];
    for (size_t i = 1; i < e->sec_count && !tab; i++)
        if (e->secs[i].type == SHT_DYNSYM)
            tab = &e->secs[i];
    if (!tab)
        return HP_OK; /* no symbols at all: an empty map but for the identity */
    symtab t;
    hp_status st = symtab_open(e, tab, &t, name, msg, msg_size);
    if (st != HP_OK)
        return st;
    int32_t unit = -1;
    for (size_t k = 1; k < t.count; k++) {
        esym s;
        if (!symtab_get(e, &t, k, &s)) {
            hp_msg_set(msg, msg_size, "%s: symbol %zu of '%s': name outside the string table", name, k, tab->name);
            return HP_ERR_FORMAT;
        }
        if (s.type == STT_FILE) {
            if (s.bind == STB_LOCAL) {
                unit = s.name[0] ? unit_of(b, s.name, opt->source_root) : -1;
                if (unit == -2)
                    return HP_ERR_NO_MEMORY;
            }
            continue;
        }
        if ((s.type != STT_FUNC && s.type != STT_OBJECT) || !sym_defined(&s) || !s.name[0])
            continue;
        if (s.shndx < e->sec_count && !(e->secs[s.shndx].flags & SHF_ALLOC))
            continue; /* not part of the loaded image */
        if (s.value < e->base || s.value - e->base > UINT32_MAX)
            continue; /* no RVA */
        int local = s.bind == STB_LOCAL;
        hp_link_map_symbol ms;
        ms.name = s.name;
        ms.unit = local ? unit : -1;
        ms.is_static = local;
        ms.is_function = s.type == STT_FUNC;
        ms.rva = (uint32_t)(s.value - e->base);
        ms.size = ms.is_function ? 0 : (s.size > UINT32_MAX ? UINT32_MAX : (uint32_t)s.size);
        if (!HP_VEC_PUSH(b->syms, b->nsyms, b->capsyms, ms))
            return HP_ERR_NO_MEMORY;
        if (s.type != STT_FUNC || s.size == 0)
            continue;
        const hp_elf_segment *seg = hp_link_elf_mem_range(e, s.value, 1);
        if (!seg || !(seg->flags & PF_X))
            continue; /* a function symbol outside executable memory (ifunc data, bad tables) */
        fncand c;
        c.vaddr = s.value;
        c.size = s.size;
        c.name = s.name;
        c.exported = !local && s.vis == STV_DEFAULT && find_export(b->exps, b->nexps, s.value, s.name) != NULL;
        c.rank = c.exported ? 2 : local ? 0 : 1;
        if (!HP_VEC_PUSH(b->cands, b->ncands, b->capcands, c))
            return HP_ERR_NO_MEMORY;
    }
    return HP_OK;
}

/* One function per address: the best name, exported if any of its names is. */
static hp_status build_functions(const hp_elf *e, mapbuild *b, uint32_t pad)
{
    if (!b->ncands)
        return HP_OK;
    qsort(b->cands, b->ncands, sizeof *b->cands, cmp_fncand);
    b->fns = calloc(b->ncands, sizeof *b->fns);
    if (!b->fns)
        return HP_ERR_NO_MEMORY;
    for (size_t i = 0; i < b->ncands;) {
        size_t j = i;
        fncand c = b->cands[i];
        uint64_t size = 0;
        while (j < b->ncands && b->cands[j].vaddr == c.vaddr) {
            c.exported |= b->cands[j].exported;
            if (b->cands[j].size > size)
                size = b->cands[j].size;
            j++;
        }
        c.size = size;
        if (find_export(b->exps, b->nexps, c.vaddr, NULL))
            c.exported = 1; /* exported under a name .symtab types otherwise (an alias) */
        judge(e, &c, pad, &b->fns[b->nfns++]);
        i = j;
    }
    qsort(b->fns, b->nfns, sizeof *b->fns, cmp_fn_rva);
    return HP_OK;
}

hp_status hp_link_elf_map_write(const char *image_path, const hp_link_elf_map_options *options, const char *out_path,
                                char *msg, size_t msg_size)
{
    if (!image_path || !out_path)
        return HP_ERR_ARGUMENT;
    hp_link_elf_map_options opt;
    memset(&opt, 0, sizeof opt);
    if (options)
        opt = *options;
    unsigned char *data = NULL;
    size_t size = 0;
    hp_status st = hp_file_read(image_path, &data, &size, msg, msg_size);
    if (st != HP_OK)
        return st;
    if (size >= 2 && data[0] == 'M' && data[1] == 'Z') {
        free(data);
        hp_msg_set(msg, msg_size, "%s: a PE image: PE maps are written by hotpatch-link", image_path);
        return HP_ERR_FORMAT;
    }
    hp_elf e;
    st = hp_link_elf_open(&e, data, size, image_path, msg, msg_size);
    if (st != HP_OK) {
        free(data);
        return st;
    }
    mapbuild b;
    memset(&b, 0, sizeof b);
    st = collect_exports(&e, &b, image_path, msg, msg_size);
    if (st == HP_OK)
        st = collect_symbols(&e, &b, &opt, image_path, msg, msg_size);
    if (st == HP_OK)
        st = build_functions(&e, &b, opt.pad);
    if (st == HP_OK) {
        hp_link_map_data m;
        memset(&m, 0, sizeof m);
        m.name = hp_path_basename(image_path);
        m.format = "elf";
        m.machine = e.hm == HP_MACHINE_X64 ? "x64" : "x86";
        m.build_id_len = e.build_id_len;
        memcpy(m.build_id, e.build_id, sizeof m.build_id);
        m.fns = b.fns;
        m.fn_count = b.nfns;
        m.units = (const char *const *)b.units;
        m.unit_count = b.nunits;
        m.symbols = b.syms;
        m.symbol_count = b.nsyms;
        st = hp_link_map_write_data(&m, out_path);
        if (st == HP_ERR_IO)
            hp_msg_set(msg, msg_size, "%s: cannot write the map", out_path);
    }
    if (st == HP_ERR_NO_MEMORY)
        hp_msg_set(msg, msg_size, "%s: out of memory", image_path);
    mapbuild_free(&b);
    hp_link_elf_close(&e);
    free(data);
    return st;
}
