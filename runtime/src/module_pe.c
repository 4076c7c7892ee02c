/*
 * module_pe.c — patch modules, PE side (module.h): the HP_FIX_SECTION of a
 * module file and its image at link-time addresses (ImageBase + RVA, as its
 * pointers are stored), and the view of an image the Windows loader mapped
 * (sections at base + RVA, identity from its headers and CodeView record).
 * Everything goes through the PE view (pe.c); pure, no OS calls, so it builds
 * (and is tested) everywhere.
 */
#include "module.h"

#include "hotpatch_pe.h"
#include "os.h"

#define SCN_MEM_WRITE 0x80000000u
#define BASERELOC_DIR 5u   /* IMAGE_DIRECTORY_ENTRY_BASERELOC */
#define REL_HIGHLOW 3u     /* IMAGE_REL_BASED_HIGHLOW: 32-bit address */
#define REL_DIR64 10u      /* IMAGE_REL_BASED_DIR64: 64-bit address */

/* A section's extent in memory: VirtualSize, or SizeOfRawData when a linker left it 0. */
static uint32_t vsize_of(const hp_pe_section *s)
{
    return s->virtual_size ? s->virtual_size : s->raw_size;
}

static uint32_t region_flags(const hp_pe_section *s)
{
    return (hp_pe_section_is_code(s) ? HP_MF_REGION_X : 0u) | ((s->characteristics & SCN_MEM_WRITE) ? HP_MF_REGION_W : 0u);
}

/* Same name as HP_FIX_SECTION (section names are at most 8 bytes: no long-name lookup needed). */
static int is_fix_section(const hp_pe_section *s)
{
    const char *want = HP_FIX_SECTION;
    int i = 0;
    for (; want[i] != '\0'; i++)
        if (s->name[i] != want[i])
            return 0;
    return s->name[i] == '\0';
}

hp_status hp_pe_file_view(const uint8_t *file, size_t size, hp_file_view *v, char *msg, size_t msg_size)
{
    memset(v, 0, sizeof *v);
    hp_pe pe;
    const char *detail = NULL;
    hp_status st = hp_pe_open(&pe, file, size, HP_PE_LAYOUT_FILE, HP_PE_OPEN_ANY_MACHINE, &detail);
    if (st != HP_OK) {
        hp_msgf(msg, msg_size, "%s", detail != NULL ? detail : "not a PE image");
        return HP_ERR_FORMAT;
    }
    if (pe.section_count > HP_MF_MAX_REGIONS) {
        hp_msgf(msg, msg_size, "%u sections (at most %u)", (unsigned)pe.section_count, (unsigned)HP_MF_MAX_REGIONS);
        return HP_ERR_FORMAT;
    }
    uint64_t base = pe.image_base;
    v->img.machine = pe.coff_machine;
    v->img.ptr_size = pe.pe32plus ? 8u : 4u;
    v->img.lo = base;
    v->img.hi = base + pe.size_of_image;
    v->img.regions = v->regions;
    /* the headers */
    hp_mf_region *r = &v->regions[v->img.nregions++];
    r->lo = base;
    r->hi = base + pe.size_of_headers;
    r->bytes = file;
    r->nbytes = pe.size_of_headers < size ? pe.size_of_headers : size;
    int found = 0;
    for (uint32_t i = 0; i < pe.section_count; i++) {
        hp_pe_section s;
        if (hp_pe_section_at(&pe, i, &s) != HP_OK)
            continue;
        uint32_t vs = vsize_of(&s);
        uint32_t fs = s.raw_size < vs ? s.raw_size : vs;
        r = &v->regions[v->img.nregions++];
        r->lo = base + s.virtual_address;
        r->hi = r->lo + vs;
        r->bytes = fs != 0 ? file + s.raw_offset : NULL; /* hp_pe_open checked the raw data lies in the file */
        r->nbytes = fs;
        r->flags = region_flags(&s);
        if (!found && is_fix_section(&s)) {
            found = 1;
            v->section = r->bytes;
            v->section_size = fs;
            v->section_addr = s.virtual_address;
        }
    }
    if (!found) {
        hp_msgf(msg, msg_size, "no %s section: not a patch module", HP_FIX_SECTION);
        return HP_ERR_NO_MANIFEST;
    }
    return HP_OK;
}

hp_status hp_pe_live_view(uintptr_t base, size_t mapped, hp_live_view *v, char *msg, size_t msg_size)
{
    memset(v, 0, sizeof *v);
    hp_pe pe;
    const char *detail = NULL;
    hp_status st = hp_pe_open(&pe, (const void *)base, mapped, HP_PE_LAYOUT_MAPPED, HP_PE_OPEN_ANY_MACHINE, &detail);
    if (st != HP_OK) {
        hp_msgf(msg, msg_size, "%s", detail != NULL ? detail : "not a PE image");
        return HP_ERR_FORMAT;
    }
    if (pe.section_count > HP_MF_MAX_REGIONS) {
        hp_msgf(msg, msg_size, "%u sections (at most %u)", (unsigned)pe.section_count, (unsigned)HP_MF_MAX_REGIONS);
        return HP_ERR_FORMAT;
    }
    size_t avail = pe.image.size; /* readable from base: the mapping, at most SizeOfImage */
    v->rva_base = base;
    v->img.ptr_size = pe.pe32plus ? 8u : 4u;
    v->img.lo = base;
    v->img.hi = (uint64_t)base + pe.size_of_image;
    v->img.regions = v->regions;
    hp_mf_region *r = &v->regions[v->img.nregions++];
    r->lo = base;
    r->hi = (uint64_t)base + pe.size_of_headers;
    r->bytes = (const uint8_t *)base;
    r->nbytes = pe.size_of_headers < avail ? pe.size_of_headers : avail;
    for (uint32_t i = 0; i < pe.section_count; i++) {
        hp_pe_section s;
        if (hp_pe_section_at(&pe, i, &s) != HP_OK || s.virtual_address >= avail)
            continue;
        uint32_t vs = vsize_of(&s);
        r = &v->regions[v->img.nregions++];
        r->lo = (uint64_t)base + s.virtual_address;
        r->hi = r->lo + vs;
        r->bytes = (const uint8_t *)(base + s.virtual_address);
        r->nbytes = vs <= avail - s.virtual_address ? vs : avail - s.virtual_address;
        r->flags = region_flags(&s);
    }
    v->machine = pe.coff_machine;
    v->image_base = pe.image_base;
    if (pe.dir_count > BASERELOC_DIR) {
        v->reloc_rva = pe.dirs[BASERELOC_DIR].rva;
        v->reloc_size = pe.dirs[BASERELOC_DIR].size;
    }
    v->time_date_stamp = pe.time_date_stamp;
    v->size_of_image = pe.size_of_image;
    v->checksum = pe.checksum;
    hp_pe_codeview cv;
    if (hp_pe_codeview_get(&pe, &cv, NULL) == HP_OK && cv.present) {
        v->has_codeview = 1;
        memcpy(v->codeview_guid, cv.guid, sizeof v->codeview_guid);
        v->codeview_age = cv.age;
    }
    return HP_OK;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

long hp_pe_unrelocate(const hp_live_view *v, uint32_t rva, uint8_t *copy, size_t len, uint64_t delta)
{
    if (v->reloc_rva == 0 || v->reloc_size == 0 || len == 0)
        return 0;
    /* the directory must lie in one readable region of the mapped image */
    uint64_t at = (uint64_t)v->rva_base + v->reloc_rva;
    const hp_mf_region *r = hp_mf_region_of(&v->img, at, v->reloc_size);
    if (r == NULL || r->bytes == NULL || v->reloc_size > r->nbytes - (at - r->lo))
        return -1;
    const uint8_t *d = r->bytes + (at - r->lo);
    uint64_t lo = rva, hi = (uint64_t)rva + len;
    long count = 0;
    for (uint32_t off = 0; v->reloc_size - off >= 8;) {
        uint32_t page = get32(d + off), bsize = get32(d + off + 4);
        if (bsize < 8 || bsize > v->reloc_size - off || bsize % 2 != 0)
            return -1;
        for (uint32_t k = 8; k + 2 <= bsize; k += 2) {
            unsigned e = (unsigned)(d[off + k] | (d[off + k + 1] << 8));
            unsigned type = e >> 12, w = type == REL_DIR64 ? 8u : type == REL_HIGHLOW ? 4u : 0u;
            uint64_t frva = (uint64_t)page + (e & 0xFFFu);
            if (w == 0 || frva + w <= lo || frva >= hi)
                continue;
            count++;
            if (delta == 0)
                continue;
            /* the fixed-up value as mapped (its bytes in the range from `copy`, which may stand in for
               bytes the engine rewrote), minus delta: the file's; only its bytes in the range change */
            const hp_mf_region *fr = hp_mf_region_of(&v->img, (uint64_t)v->rva_base + frva, w);
            if (fr == NULL || fr->bytes == NULL || fr->nbytes - ((uint64_t)v->rva_base + frva - fr->lo) < w)
                return -1;
            const uint8_t *src = fr->bytes + ((uint64_t)v->rva_base + frva - fr->lo);
            uint64_t val = 0;
            for (unsigned b = w; b-- > 0;) {
                uint64_t pos = frva + b;
                val = (val << 8) | (pos >= lo && pos < hi ? copy[pos - lo] : src[b]);
            }
            val -= delta;
            for (unsigned b = 0; b < w; b++) {
                uint64_t pos = frva + b;
                if (pos >= lo && pos < hi)
                    copy[pos - lo] = (uint8_t)(val >> (8 * b));
            }
        }
        off += bsize;
    }
    return count;
}

int hp_pe_head_image_base(const uint8_t *head, size_t n, uint64_t *out)
{
    if (n < 64 || head[0] != 'M' || head[1] != 'Z')
        return 0;
    uint32_t nt = get32(head + 0x3C);
    if (nt > n || n - nt < 24 + 32 || get32(head + nt) != 0x00004550u)
        return 0;
    const uint8_t *opt = head + nt + 24;
    unsigned magic = (unsigned)(opt[0] | (opt[1] << 8));
    if (magic == 0x20Bu) {
        *out = (uint64_t)get32(opt + 24) | ((uint64_t)get32(opt + 28) << 32);
        return 1;
    }
    if (magic == 0x10Bu) {
        *out = get32(opt + 28);
        return 1;
    }
    return 0;
}
