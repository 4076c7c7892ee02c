/*
 * module_elf.c — patch modules, ELF side (module.h): the HP_FIX_SECTION of a
 * module file (section headers, names from .shstrtab) with its PT_LOAD
 * segments at link-time addresses, and the view of an image of this process
 * from its program headers (segments at bias + p_vaddr, the NT_GNU_BUILD_ID
 * note).
 *
 * A pointer of the manifest is a link-time address. On x86-64 a linker that
 * writes RELA relocations may leave the stored bytes 0 and keep the value in
 * the relocation's addend (lld does, without --apply-dynamic-relocs), so the
 * reader applies the module's dynamic relocations that fall into the section
 * to a copy of it, at load bias 0: RELATIVE gives the addend, a symbol's
 * relocation the symbol's value plus the addend (0 for a symbol the module does
 * not define: such a pointer is outside the module and refused). On i386 (REL)
 * the stored bytes are the addend already. RELR packs only relative
 * relocations whose addends are stored in place: nothing to apply.
 *
 * Every read of the file is bounded: a table's extent is checked as
 * `count * entsize <= size - offset` in 64 bits before any entry is read.
 * Pure: no OS calls, no libc; it builds (and is tested) everywhere.
 */
#include "module.h"

#include "os.h"

/* ELF constants (the System V ABI; the ones read here). */
enum {
    ET_DYN = 3,
    EM_386 = 3,
    EM_X86_64 = 62,
    PT_LOAD = 1,
    PT_NOTE = 4,
    PF_X = 1,
    PF_W = 2,
    PF_R = 4,
    SHT_RELA = 4,
    SHT_NOBITS = 8,
    SHT_REL = 9,
    SHF_ALLOC = 2,
    NT_GNU_BUILD_ID = 3,
    R_X86_64_64 = 1,
    R_X86_64_RELATIVE = 8,
    R_386_32 = 1,
    R_386_RELATIVE = 8,
};

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/* A field of the file's class: 8 bytes (ELF64) or 4 (ELF32). */
static uint64_t rdw(const uint8_t *p, int is64)
{
    return is64 ? rd64(p) : rd32(p);
}

static void wrw(uint8_t *p, uint64_t v, int is64)
{
    for (int i = 0; i < (is64 ? 8 : 4); i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* [off, off + count * entsize) lies inside `size` (no product or sum wraps). */
static int table_ok(size_t size, uint64_t off, uint64_t count, uint64_t entsize)
{
    if (off > size)
        return 0;
    if (count == 0)
        return 1;
    return entsize != 0 && count <= ((uint64_t)size - off) / entsize;
}

/* One section header, decoded. */
typedef struct shdr {
    uint32_t name, type, link;
    uint64_t flags, addr, offset, size, entsize;
} shdr;

static void shdr_read(const uint8_t *p, int is64, shdr *s)
{
    s->name = rd32(p);
    s->type = rd32(p + 4);
    if (is64) {
        s->flags = rd64(p + 8);
        s->addr = rd64(p + 16);
        s->offset = rd64(p + 24);
        s->size = rd64(p + 32);
        s->link = rd32(p + 40);
        s->entsize = rd64(p + 56);
    } else {
        s->flags = rd32(p + 8);
        s->addr = rd32(p + 12);
        s->offset = rd32(p + 16);
        s->size = rd32(p + 20);
        s->link = rd32(p + 24);
        s->entsize = rd32(p + 36);
    }
}

/* One program header, decoded. */
typedef struct phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, filesz, memsz, align;
} phdr;

static void phdr_read(const uint8_t *p, int is64, phdr *h)
{
    h->type = rd32(p);
    if (is64) {
        h->flags = rd32(p + 4);
        h->offset = rd64(p + 8);
        h->vaddr = rd64(p + 16);
        h->filesz = rd64(p + 32);
        h->memsz = rd64(p + 40);
        h->align = rd64(p + 48);
    } else {
        h->offset = rd32(p + 4);
        h->vaddr = rd32(p + 8);
        h->filesz = rd32(p + 16);
        h->memsz = rd32(p + 20);
        h->flags = rd32(p + 24);
        h->align = rd32(p + 28);
    }
}

static uint32_t seg_flags(uint32_t pf)
{
    return ((pf & PF_X) ? HP_MF_REGION_X : 0u) | ((pf & PF_W) ? HP_MF_REGION_W : 0u);
}

/* The name at `off` of the string table [tab, tab + len) equals `want`. */
static int name_is(const uint8_t *tab, uint64_t len, uint32_t off, const char *want)
{
    uint64_t i = 0;
    for (; want[i] != '\0'; i++)
        if (off + i >= len || tab[off + i] != (uint8_t)want[i])
            return 0;
    return off + i < len && tab[off + i] == 0;
}

/* What the parsed headers say about one file. */
typedef struct elf_file {
    const uint8_t *d;
    size_t size;
    int is64;
    uint16_t machine;
    uint64_t shoff, shnum, shentsize;
} elf_file;

/* Apply the dynamic relocations of `f` that fall into [addr, addr + len) to `copy` (its bytes). */
static void apply_relocations(const elf_file *f, uint64_t addr, uint8_t *copy, uint64_t len)
{
    unsigned w = f->is64 ? 8u : 4u;
    for (uint64_t i = 0; i < f->shnum; i++) {
        shdr rs;
        shdr_read(f->d + f->shoff + i * f->shentsize, f->is64, &rs);
        if ((rs.type != SHT_RELA && rs.type != SHT_REL) || !(rs.flags & SHF_ALLOC))
            continue;
        int rela = rs.type == SHT_RELA;
        uint64_t ent = f->is64 ? (rela ? 24u : 16u) : (rela ? 12u : 8u);
        if (!table_ok(f->size, rs.offset, rs.size / ent, ent))
            continue;
        /* the symbol table the relocations refer to */
        shdr sym;
        memset(&sym, 0, sizeof sym);
        uint64_t symsz = f->is64 ? 24u : 16u, nsym = 0;
        if (rs.link != 0 && rs.link < f->shnum) {
            shdr_read(f->d + f->shoff + (uint64_t)rs.link * f->shentsize, f->is64, &sym);
            if (sym.type != SHT_NOBITS && table_ok(f->size, sym.offset, sym.size / symsz, symsz))
                nsym = sym.size / symsz;
        }
        for (uint64_t k = 0; k < rs.size / ent; k++) {
            const uint8_t *r = f->d + rs.offset + k * ent;
            uint64_t off = rdw(r, f->is64), info = rdw(r + w, f->is64);
            uint32_t type = f->is64 ? (uint32_t)(info & 0xFFFFFFFFu) : (uint32_t)(info & 0xFFu);
            uint64_t symi = f->is64 ? info >> 32 : info >> 8;
            if (off < addr || off - addr > len || w > len - (off - addr))
                continue;
            uint8_t *at = copy + (off - addr);
            uint64_t a = rela ? rdw(r + 2 * w, f->is64) : rdw(at, f->is64);
            int relative = f->machine == EM_X86_64 ? type == R_X86_64_RELATIVE : type == R_386_RELATIVE;
            int absolute = f->machine == EM_X86_64 ? type == R_X86_64_64 : type == R_386_32;
            uint64_t v;
            if (relative) {
                v = a;
            } else if (absolute) {
                uint64_t s = 0;
                if (symi != 0) {
                    if (symi < nsym) {
                        const uint8_t *sp = f->d + sym.offset + symi * symsz;
                        uint16_t shndx = rd16(sp + (f->is64 ? 6 : 14));
                        uint64_t value = f->is64 ? rd64(sp + 8) : rd32(sp + 4);
                        s = shndx != 0 ? value : 0; /* undefined: not the module's */
                    }
                    if (s == 0) {
                        wrw(at, 0, f->is64); /* a pointer out of the module: refused by the reader */
                        continue;
                    }
                }
                v = s + a;
            } else {
                continue;
            }
            wrw(at, v, f->is64);
        }
    }
}

hp_status hp_elf_file_view(const uint8_t *file, size_t size, hp_file_view *v, char *msg, size_t msg_size)
{
    memset(v, 0, sizeof *v);
    if (size < 52 || file[0] != 0x7F || file[1] != 'E' || file[2] != 'L' || file[3] != 'F') {
        hp_msgf(msg, msg_size, "no ELF header");
        return HP_ERR_FORMAT;
    }
    elf_file f;
    memset(&f, 0, sizeof f);
    f.d = file;
    f.size = size;
    if (file[4] != 1 && file[4] != 2) {
        hp_msgf(msg, msg_size, "unknown ELF class %u", (unsigned)file[4]);
        return HP_ERR_FORMAT;
    }
    f.is64 = file[4] == 2;
    if (file[5] != 1 || (f.is64 && size < 64)) {
        hp_msgf(msg, msg_size, file[5] != 1 ? "not little-endian" : "truncated ELF header");
        return HP_ERR_FORMAT;
    }
    if (rd16(file + 16) != ET_DYN) {
        hp_msgf(msg, msg_size, "not a shared object (e_type %u)", (unsigned)rd16(file + 16));
        return HP_ERR_FORMAT;
    }
    f.machine = rd16(file + 18);
    uint64_t phoff = f.is64 ? rd64(file + 32) : rd32(file + 28);
    f.shoff = f.is64 ? rd64(file + 40) : rd32(file + 32);
    uint64_t phentsize = rd16(file + (f.is64 ? 54 : 42)), phnum = rd16(file + (f.is64 ? 56 : 44));
    f.shentsize = rd16(file + (f.is64 ? 58 : 46));
    f.shnum = rd16(file + (f.is64 ? 60 : 48));
    uint32_t shstrndx = rd16(file + (f.is64 ? 62 : 50));

    /* the segments */
    if (phnum == 0 || phnum == 0xFFFF || phentsize != (f.is64 ? 56u : 32u) ||
        !table_ok(size, phoff, phnum, phentsize)) {
        hp_msgf(msg, msg_size, "program headers missing or outside the file");
        return HP_ERR_FORMAT;
    }
    v->img.regions = v->regions;
    for (uint64_t i = 0; i < phnum; i++) {
        phdr h;
        phdr_read(file + phoff + i * phentsize, f.is64, &h);
        if (h.type != PT_LOAD)
            continue;
        if (v->img.nregions == HP_MF_MAX_REGIONS || h.filesz > h.memsz || h.memsz > UINT64_MAX - h.vaddr ||
            !table_ok(size, h.offset, h.filesz, 1)) {
            hp_msgf(msg, msg_size, "PT_LOAD segment %u invalid or outside the file", (unsigned)i);
            return HP_ERR_FORMAT;
        }
        hp_mf_region *r = &v->regions[v->img.nregions++];
        r->lo = h.vaddr;
        r->hi = h.vaddr + h.memsz;
        r->bytes = file + h.offset;
        r->nbytes = h.filesz;
        r->flags = seg_flags(h.flags);
        if (v->img.nregions == 1 || r->lo < v->img.lo)
            v->img.lo = r->lo;
        if (r->hi > v->img.hi)
            v->img.hi = r->hi;
    }
    if (v->img.nregions == 0) {
        hp_msgf(msg, msg_size, "no PT_LOAD segment");
        return HP_ERR_FORMAT;
    }
    v->img.machine = f.machine;
    v->img.ptr_size = f.is64 ? 8u : 4u;

    /* the sections, by name */
    if (f.shoff == 0) {
        hp_msgf(msg, msg_size, "no section headers: no %s section", HP_FIX_SECTION);
        return HP_ERR_NO_MANIFEST;
    }
    if (f.shentsize != (f.is64 ? 64u : 40u) || !table_ok(size, f.shoff, 1, f.shentsize)) {
        hp_msgf(msg, msg_size, "section headers outside the file");
        return HP_ERR_FORMAT;
    }
    shdr s0;
    shdr_read(file + f.shoff, f.is64, &s0);
    if (f.shnum == 0)
        f.shnum = s0.size; /* more than 0xFF00 sections: the count is in section 0 */
    if (shstrndx == 0xFFFF)
        shstrndx = s0.link;
    if (!table_ok(size, f.shoff, f.shnum, f.shentsize) || shstrndx >= f.shnum) {
        hp_msgf(msg, msg_size, "section headers outside the file");
        return HP_ERR_FORMAT;
    }
    shdr strs;
    shdr_read(file + f.shoff + (uint64_t)shstrndx * f.shentsize, f.is64, &strs);
    if (strs.type == SHT_NOBITS || !table_ok(size, strs.offset, strs.size, 1)) {
        hp_msgf(msg, msg_size, "section names outside the file");
        return HP_ERR_FORMAT;
    }
    const uint8_t *names = file + strs.offset;
    shdr fix;
    uint64_t i = 0;
    for (; i < f.shnum; i++) {
        shdr_read(file + f.shoff + i * f.shentsize, f.is64, &fix);
        if (name_is(names, strs.size, fix.name, HP_FIX_SECTION))
            break;
    }
    if (i == f.shnum) {
        hp_msgf(msg, msg_size, "no %s section: not a patch module", HP_FIX_SECTION);
        return HP_ERR_NO_MANIFEST;
    }
    if (fix.type == SHT_NOBITS || !(fix.flags & SHF_ALLOC) || !table_ok(size, fix.offset, fix.size, 1) ||
        fix.size > (uint64_t)SIZE_MAX || hp_mf_region_of(&v->img, fix.addr, fix.size) == NULL) {
        hp_msgf(msg, msg_size, "the %s section is not loaded with the module, or lies outside the file",
                HP_FIX_SECTION);
        return HP_ERR_MODULE;
    }
    v->section = file + fix.offset;
    v->section_size = (size_t)fix.size;
    v->section_addr = fix.addr;

    /* the link-time values of its pointers */
    if (v->section_size != 0) {
        v->relocated = hp_os_alloc(v->section_size);
        if (v->relocated == NULL) {
            hp_msgf(msg, msg_size, "out of memory");
            return HP_ERR_NO_MEMORY;
        }
        memcpy(v->relocated, v->section, v->section_size);
        apply_relocations(&f, v->section_addr, v->relocated, v->section_size);
    }
    return HP_OK;
}

void hp_file_view_free(hp_file_view *v)
{
    if (v == NULL)
        return;
    hp_os_free(v->relocated);
    v->relocated = NULL;
}

/* ------------------------------------------------------------------------- */
/* Images of this process                                                     */
/* ------------------------------------------------------------------------- */

#define HOST64 (sizeof(void *) == 8)
#define HOST_PHENT (HOST64 ? 56u : 32u)

/* The NT_GNU_BUILD_ID note among the notes [p, p + len) (entries padded to `align`), into v. */
static void find_build_id(const uint8_t *p, uint64_t len, uint64_t align, hp_live_view *v)
{
    uint64_t off = 0;
    while (len - off >= 12) {
        uint64_t namesz = rd32(p + off), descsz = rd32(p + off + 4);
        uint32_t type = rd32(p + off + 8);
        off += 12;
        uint64_t npad = (namesz + align - 1) & ~(align - 1), dpad = (descsz + align - 1) & ~(align - 1);
        if (npad > len - off)
            return;
        const uint8_t *name = p + off;
        off += npad;
        if (descsz > len - off)
            return;
        if (type == NT_GNU_BUILD_ID && namesz == 4 && name[0] == 'G' && name[1] == 'N' && name[2] == 'U' &&
            name[3] == 0) {
            v->build_id_len = (uint32_t)descsz;
            memcpy(v->build_id, p + off, descsz < sizeof v->build_id ? (size_t)descsz : sizeof v->build_id);
            return;
        }
        if (dpad > len - off)
            return;
        off += dpad;
    }
}

hp_status hp_elf_live_view(uintptr_t bias, const void *phdrs, size_t phnum, hp_live_view *v, char *msg,
                           size_t msg_size)
{
    memset(v, 0, sizeof *v);
    v->img.regions = v->regions;
    v->img.ptr_size = (unsigned)sizeof(void *);
    uint64_t first_off = 1, first_vaddr = 0;
    uint32_t first_flags = 0;
    for (size_t i = 0; i < phnum; i++) {
        phdr h;
        phdr_read((const uint8_t *)phdrs + i * HOST_PHENT, HOST64, &h);
        if (h.type != PT_LOAD || h.memsz == 0)
            continue;
        if (v->img.nregions == HP_MF_MAX_REGIONS || h.vaddr > UINTPTR_MAX - bias ||
            h.memsz > UINTPTR_MAX - (bias + h.vaddr)) {
            hp_msgf(msg, msg_size, "PT_LOAD segment %u invalid", (unsigned)i);
            return HP_ERR_FORMAT;
        }
        hp_mf_region *r = &v->regions[v->img.nregions++];
        r->lo = (uint64_t)bias + h.vaddr;
        r->hi = r->lo + h.memsz;
        r->bytes = (h.flags & PF_R) ? (const uint8_t *)(uintptr_t)r->lo : NULL;
        r->nbytes = (h.flags & PF_R) ? h.memsz : 0;
        r->flags = seg_flags(h.flags);
        if (v->img.nregions == 1 || r->lo < v->img.lo) {
            v->img.lo = r->lo;
            first_off = h.offset;
            first_vaddr = h.vaddr;
            first_flags = h.flags;
        }
        if (r->hi > v->img.hi)
            v->img.hi = r->hi;
    }
    if (v->img.nregions == 0) {
        hp_msgf(msg, msg_size, "no PT_LOAD segment");
        return HP_ERR_FORMAT;
    }
    v->rva_base = bias + (uintptr_t)(first_vaddr & ~(uint64_t)4095u);
    /* the ELF header, where the first segment maps it */
    if (first_off == 0 && (first_flags & PF_R)) {
        const uint8_t *eh = (const uint8_t *)(bias + (uintptr_t)first_vaddr);
        if (eh[0] == 0x7F && eh[1] == 'E' && eh[2] == 'L' && eh[3] == 'F')
            v->machine = rd16(eh + 18);
    }
    for (size_t i = 0; i < phnum; i++) {
        phdr h;
        phdr_read((const uint8_t *)phdrs + i * HOST_PHENT, HOST64, &h);
        if (h.type != PT_NOTE || h.vaddr > UINTPTR_MAX - bias)
            continue;
        uintptr_t at = bias + (uintptr_t)h.vaddr;
        /* the note must be mapped: inside a readable segment */
        const hp_mf_region *r = hp_mf_region_of(&v->img, at, h.memsz);
        if (r == NULL || r->bytes == NULL)
            continue;
        find_build_id((const uint8_t *)at, h.memsz, h.align == 8 ? 8u : 4u, v);
        if (v->build_id_len != 0)
            break;
    }
    return HP_OK;
}
