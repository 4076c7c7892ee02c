/*
 * manifest.c — the manifest reader (module.h): hp_mf_parse over a manifest
 * section's bytes, checked against an image description (hp_mf_image: the
 * module file at link-time addresses, or the module as loaded), and the
 * region and string lookups of those descriptions. Pure: reads only the bytes
 * it is given, bounded by the sizes given; allocates only the arrays of its
 * result. The format is hotpatch_fix.h.
 */
#include "module.h"
#include "os.h"
#include "ptrmap.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

static int str_eq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static int all_zero(const uint8_t *p, size_t n)
{
    unsigned acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* ------------------------------------------------------------------------- */
/* Images                                                                     */
/* ------------------------------------------------------------------------- */

const hp_mf_region *hp_mf_region_of(const hp_mf_image *img, uint64_t a, uint64_t len)
{
    for (size_t i = 0; i < img->nregions; i++) {
        const hp_mf_region *r = &img->regions[i];
        if (a >= r->lo && a < r->hi && len <= r->hi - a)
            return r;
    }
    return NULL;
}

#define MF_MAX_STRING 4095u

const char *hp_mf_string(const hp_mf_image *img, uint64_t a)
{
    const hp_mf_region *r = hp_mf_region_of(img, a, 1);
    if (r == NULL || r->bytes == NULL || a - r->lo >= r->nbytes)
        return NULL;
    uint64_t off = a - r->lo, room = r->nbytes - off;
    if (room > MF_MAX_STRING + 1)
        room = MF_MAX_STRING + 1;
    const uint8_t *s = r->bytes + off;
    for (uint64_t i = 0; i < room; i++)
        if (s[i] == 0)
            return (const char *)s;
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* The manifest reader                                                        */
/* ------------------------------------------------------------------------- */

#define HDR_SIZE ((uint64_t)sizeof(hp_fix_header))
#define ENTRY_SIZE ((uint64_t)sizeof(hp_fix_entry))
#define SLOT_SIZE ((uint64_t)sizeof(hp_fix_slot))
#define HOFF(f) offsetof(hp_fix_header, f)
#define EOFF(f) offsetof(hp_fix_entry, f)
#define SOFF(f) offsetof(hp_fix_slot, f)

/* The bytes every fragment of a manifest must agree on: format .. build_id (the target's identity). */
#define AGREE_OFF HOFF(format)
#define AGREE_LEN (HOFF(reserved) - HOFF(format))

/* Read one hp_fix_ptr; 0 when its upper half is set on a 32-bit image. */
static int mf_ptr(const hp_mf_image *img, const uint8_t *p, uint64_t *out)
{
    uint64_t v = rd64(p);
    if (img->ptr_size == 4 && (v >> 32) != 0)
        return 0;
    *out = v;
    return 1;
}

/* The string at `a` (may be 0 when allow_null): 1 when fine. */
static int mf_name_ok(const hp_mf_image *img, uint64_t a, int allow_null)
{
    if (a == 0)
        return allow_null;
    return hp_mf_string(img, a) != NULL;
}

/* A name for messages: the string, or "(unnamed)" when it cannot be read. */
static const char *mf_label(const hp_mf_image *img, uint64_t a)
{
    const char *s = a != 0 ? hp_mf_string(img, a) : NULL;
    return s != NULL ? s : "(unnamed)";
}

void hp_mf_free(hp_mf *m)
{
    if (m == NULL)
        return;
    hp_os_free(m->entries);
    hp_os_free(m->slots);
    memset(m, 0, sizeof *m);
}

/* Pass 1: the structure of one fragment at `off` (header fields, size, counts, flags). */
static hp_status mf_check_header(const uint8_t *sec, size_t size, size_t off, const hp_mf_image *img,
                                 uint32_t *out_size, char *msg, size_t msg_size)
{
    const uint8_t *h = sec + off;
    if (size - off < HDR_SIZE) {
        hp_msgf(msg, msg_size, "manifest: fragment at offset 0x%zx: header truncated (%zu of %u bytes)", off,
                size - off, (unsigned)HDR_SIZE);
        return HP_ERR_MODULE;
    }
    if (memcmp(h, HP_FIX_MAGIC, HP_FIX_MAGIC_SIZE) != 0) {
        hp_msgf(msg, msg_size, "manifest: no fragment at offset 0x%zx (magic %s missing)", off, HP_FIX_MAGIC);
        return HP_ERR_MODULE;
    }
    uint32_t version = rd32(h + HOFF(version));
    if (version != HP_FIX_VERSION) {
        hp_msgf(msg, msg_size, "manifest: fragment at offset 0x%zx has version %u; this runtime reads version %u",
                off, version, HP_FIX_VERSION);
        return HP_ERR_MANIFEST_VERSION;
    }
    uint32_t fsize = rd32(h + HOFF(size)), ne = rd32(h + HOFF(entry_count)), ns = rd32(h + HOFF(slot_count));
    uint64_t need = HDR_SIZE + (uint64_t)ne * ENTRY_SIZE + (uint64_t)ns * SLOT_SIZE; /* < 2^39: no wrap */
    if (fsize % 8u != 0 || fsize < need || fsize > size - off) {
        hp_msgf(msg, msg_size,
                "manifest: fragment at offset 0x%zx: size %u is not a multiple of 8 holding its header, %u entries "
                "and %u slots (%llu bytes) inside the section (%zu bytes left)",
                off, fsize, ne, ns, (unsigned long long)need, size - off);
        return HP_ERR_MODULE;
    }
    uint32_t flags = rd32(h + HOFF(flags));
    if (!(flags & HP_FIX_F_CHECKED)) {
        hp_msgf(msg, msg_size, "%s", HP_MF_UNCHECKED_TEXT);
        return HP_ERR_NO_MANIFEST;
    }
    if (flags & ~HP_FIX_F_CHECKED) {
        hp_msgf(msg, msg_size, "manifest: fragment at offset 0x%zx: unknown flags 0x%x", off, flags);
        return HP_ERR_MODULE;
    }
    if (rd64(h + HOFF(reserved)) != 0) {
        hp_msgf(msg, msg_size, "manifest: fragment at offset 0x%zx: reserved field not zero", off);
        return HP_ERR_MODULE;
    }
    uint32_t format = rd32(h + HOFF(format)), machine = rd32(h + HOFF(machine));
    if ((format != HP_FIX_FORMAT_PE && format != HP_FIX_FORMAT_ELF) || (img->format != 0 && format != img->format)) {
        hp_msgf(msg, msg_size, "manifest: fragment at offset 0x%zx names target format %u; the module is %s", off,
                format, img->format == HP_FIX_FORMAT_PE ? "PE" : img->format == HP_FIX_FORMAT_ELF ? "ELF" : "either");
        return HP_ERR_MODULE;
    }
    if (img->machine != 0 && machine != img->machine) {
        hp_msgf(msg, msg_size, "manifest: fragment at offset 0x%zx is for machine 0x%x; this one is 0x%x", off, machine,
                img->machine);
        return HP_ERR_MODULE;
    }
    uint32_t idlen = rd32(h + HOFF(build_id_len));
    if (idlen > sizeof(((hp_fix_header *)0)->build_id) || (format == HP_FIX_FORMAT_PE && idlen != 0)) {
        hp_msgf(msg, msg_size, "manifest: fragment at offset 0x%zx: build_id_len %u out of range", off, idlen);
        return HP_ERR_MODULE;
    }
    *out_size = fsize;
    return HP_OK;
}

/* Pass 2 for one fragment: its pointers and records, decoded into out's arrays. */
static hp_status mf_read_fragment(const uint8_t *sec, size_t off, const hp_mf_image *img, hp_mf *out, char *msg,
                                  size_t msg_size)
{
    const uint8_t *h = sec + off;
    uint64_t tname, unit;
    if (!mf_ptr(img, h + HOFF(target_name), &tname) || !mf_name_ok(img, tname, 0) ||
        !mf_ptr(img, h + HOFF(unit), &unit) || !mf_name_ok(img, unit, 1)) {
        hp_msgf(msg, msg_size, "manifest: fragment at offset 0x%zx: target or unit name outside the module", off);
        return HP_ERR_MODULE;
    }
    if (out->nfragments == 0) {
        out->target_name = tname;
    } else if (tname != out->target_name &&
               !str_eq(hp_mf_string(img, tname), hp_mf_string(img, out->target_name))) {
        hp_msgf(msg, msg_size, "manifest: fragments name different targets (%s, %s)",
                hp_mf_string(img, out->target_name), hp_mf_string(img, tname));
        return HP_ERR_MODULE;
    }
    uint32_t ne = rd32(h + HOFF(entry_count)), ns = rd32(h + HOFF(slot_count));
    const uint8_t *e = h + HDR_SIZE;
    for (uint32_t i = 0; i < ne; i++, e += ENTRY_SIZE) {
        hp_mf_entry *d = &out->entries[out->nentries];
        int ptrs = mf_ptr(img, e + EOFF(name), &d->name) && mf_ptr(img, e + EOFF(replacement), &d->replacement);
        d->target_rva = rd32(e + EOFF(target_rva));
        d->hash_len = rd32(e + EOFF(hash_len));
        d->hash = rd64(e + EOFF(hash));
        const char *what = NULL;
        const hp_mf_region *r;
        if (!ptrs || !mf_name_ok(img, d->name, 0))
            what = "its name is not a string of the module";
        else if (d->replacement == 0 || (r = hp_mf_region_of(img, d->replacement, 1)) == NULL ||
                 !(r->flags & HP_MF_REGION_X))
            what = "its replacement is not code of the module";
        else if (d->hash_len == 0 || d->hash_len > HP_MF_MAX_HASH_LEN ||
                 (uint64_t)d->target_rva + d->hash_len > 0xFFFFFFFFull)
            what = "hash_len out of range";
        else if (rd32(e + EOFF(flags)) != 0 || rd32(e + EOFF(reserved)) != 0)
            what = "flags or reserved field not zero";
        if (what != NULL) {
            hp_msgf(msg, msg_size, "manifest: fragment at offset 0x%zx, entry %u (%s): %s", off, i,
                    ptrs ? mf_label(img, d->name) : "(unnamed)", what);
            return HP_ERR_MODULE;
        }
        out->nentries++;
    }
    for (uint32_t i = 0; i < ns; i++, e += SLOT_SIZE) {
        hp_mf_slot *d = &out->slots[out->nslots];
        int ptrs = mf_ptr(img, e + SOFF(name), &d->name) && mf_ptr(img, e + SOFF(slot), &d->slot);
        d->kind = rd32(e + SOFF(kind));
        d->target_rva = rd32(e + SOFF(target_rva));
        d->size = rd32(e + SOFF(size));
        const char *what = NULL;
        const hp_mf_region *r;
        if (!ptrs || !mf_name_ok(img, d->name, 0))
            what = "its name is not a string of the module";
        else if (d->slot == 0 || d->slot % img->ptr_size != 0 ||
                 (r = hp_mf_region_of(img, d->slot, img->ptr_size)) == NULL || !(r->flags & HP_MF_REGION_W))
            what = "its variable is not aligned writable data of the module";
        else if (d->kind != HP_FIX_SLOT_SYMBOL && d->kind != HP_FIX_SLOT_PREVIOUS)
            what = "unknown kind";
        else if ((d->kind == HP_FIX_SLOT_PREVIOUS && d->size != 0) ||
                 (uint64_t)d->target_rva + d->size > 0xFFFFFFFFull)
            what = "size out of range";
        else if (rd32(e + SOFF(flags)) != 0)
            what = "flags not zero";
        if (what != NULL) {
            hp_msgf(msg, msg_size, "manifest: fragment at offset 0x%zx, slot %u (%s): %s", off, i,
                    ptrs ? mf_label(img, d->name) : "(unnamed)", what);
            return HP_ERR_MODULE;
        }
        out->nslots++;
    }
    out->nfragments++;
    return HP_OK;
}

/* No function twice among the entries; every PREVIOUS slot for one of them. */
static hp_status mf_check_targets(const hp_mf *m, const hp_mf_image *img, char *msg, size_t msg_size)
{
    hp_ptrmap seen = HP_PTRMAP_INIT(4); /* target_rva + 1 -> 1 (key 0 is never used: rva < 2^32 - 1) */
    hp_status st = hp_ptrmap_reserve(&seen, m->nentries);
    for (size_t i = 0; st == HP_OK && i < m->nentries; i++) {
        uintptr_t key = (uintptr_t)m->entries[i].target_rva + 1u;
        if (hp_ptrmap_get(&seen, key, NULL)) {
            hp_msgf(msg, msg_size, "manifest: the function at RVA 0x%x is replaced twice (%s)",
                    m->entries[i].target_rva, mf_label(img, m->entries[i].name));
            st = HP_ERR_MODULE;
        } else {
            hp_ptrmap_put_noresize(&seen, key, 1);
        }
    }
    for (size_t i = 0; st == HP_OK && i < m->nslots; i++) {
        const hp_mf_slot *s = &m->slots[i];
        if (s->kind == HP_FIX_SLOT_PREVIOUS && !hp_ptrmap_get(&seen, (uintptr_t)s->target_rva + 1u, NULL)) {
            hp_msgf(msg, msg_size, "manifest: PREVIOUS slot %s names RVA 0x%x, which the module does not replace",
                    mf_label(img, s->name), s->target_rva);
            st = HP_ERR_MODULE;
        }
    }
    if (st == HP_ERR_NO_MEMORY)
        hp_msgf(msg, msg_size, "out of memory");
    hp_ptrmap_free(&seen);
    return st;
}

hp_status hp_mf_parse(const uint8_t *sec, size_t size, const hp_mf_image *img, hp_mf *out, char *msg,
                      size_t msg_size)
{
    if (out == NULL || img == NULL || (sec == NULL && size != 0) || (img->ptr_size != 4 && img->ptr_size != 8))
        return HP_ERR_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (msg != NULL && msg_size != 0)
        msg[0] = '\0';

    /* pass 1: the fragments' structure; they agree on the target; count the records */
    size_t off = 0, first = 0, nfrag = 0, nent = 0, nslot = 0;
    while (off < size) {
        if (size - off < 8) {
            if (!all_zero(sec + off, size - off)) {
                hp_msgf(msg, msg_size, "manifest: %zu stray bytes at offset 0x%zx", size - off, off);
                return HP_ERR_MODULE;
            }
            break;
        }
        if (all_zero(sec + off, 8)) { /* alignment fill between fragments */
            off += 8;
            continue;
        }
        uint32_t fsize;
        hp_status st = mf_check_header(sec, size, off, img, &fsize, msg, msg_size);
        if (st != HP_OK)
            return st;
        if (nfrag == 0) {
            first = off;
        } else if (memcmp(sec + first + AGREE_OFF, sec + off + AGREE_OFF, AGREE_LEN) != 0) {
            hp_msgf(msg, msg_size,
                    "manifest: the fragments at offsets 0x%zx and 0x%zx name different targets (format, machine "
                    "or identity)",
                    first, off);
            return HP_ERR_MODULE;
        }
        nfrag++;
        nent += rd32(sec + off + HOFF(entry_count)); /* bounded by size / 40: no wrap */
        nslot += rd32(sec + off + HOFF(slot_count));
        off += fsize;
    }
    if (nfrag == 0) {
        hp_msgf(msg, msg_size, "manifest: the %s section holds no fragment", HP_FIX_SECTION);
        return HP_ERR_NO_MANIFEST;
    }

    /* what they agree on */
    const uint8_t *h = sec + first;
    out->format = rd32(h + HOFF(format));
    out->machine = rd32(h + HOFF(machine));
    out->time_date_stamp = rd32(h + HOFF(time_date_stamp));
    out->size_of_image = rd32(h + HOFF(size_of_image));
    out->checksum = rd32(h + HOFF(checksum));
    out->codeview_age = rd32(h + HOFF(codeview_age));
    out->build_id_len = rd32(h + HOFF(build_id_len));
    memcpy(out->codeview_guid, h + HOFF(codeview_guid), sizeof out->codeview_guid);
    memcpy(out->build_id, h + HOFF(build_id), sizeof out->build_id);

    /* pass 2: pointers and records */
    out->entries = nent != 0 ? hp_os_calloc(nent, sizeof *out->entries) : NULL;
    out->slots = nslot != 0 ? hp_os_calloc(nslot, sizeof *out->slots) : NULL;
    if ((nent != 0 && out->entries == NULL) || (nslot != 0 && out->slots == NULL)) {
        hp_mf_free(out);
        hp_msgf(msg, msg_size, "out of memory");
        return HP_ERR_NO_MEMORY;
    }
    hp_status st = HP_OK;
    for (off = 0; st == HP_OK && off + 8 <= size;) {
        if (all_zero(sec + off, 8)) {
            off += 8;
            continue;
        }
        st = mf_read_fragment(sec, off, img, out, msg, msg_size);
        off += rd32(sec + off + HOFF(size));
    }
    if (st == HP_OK)
        st = mf_check_targets(out, img, msg, msg_size);
    if (st != HP_OK)
        hp_mf_free(out);
    return st;
}
