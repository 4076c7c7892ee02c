/*
 * coff.c — layer 6 of the audit library (audit/README.md, "Source layout"),
 * a reader: COFF objects (.obj/.o, and archive members) — the audit of every
 * defined function symbol (symbols read with hp_coff_symbols(), hp_tools.h).
 *
 * May call: verdict, builder, arena (called by archive.c, input.c).
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "builder.h"
#include "hp_tools.h"
#include "readers.h"
#include "verdict.h"

enum {
    COFF_HEADER_SIZE = 20,
    COFF_SECTION_SIZE = 40,
};

/* CodeView: .debug$S = u32 signature 4, then subsections {u32 kind, u32 length, bytes, pad to 4}; in a
   symbols subsection (0xF1) records {u16 length, u16 kind, ...}; S_COMPILE3 (0x113C) starts with u32
   flags whose bit 14 is HotPatch. */
enum {
    CV_SIGNATURE_C13 = 4,
    CV_SUBSECTION_SYMBOLS = 0xF1,
    CV_S_COMPILE3 = 0x113C,
    CV_COMPILE3_HOTPATCH = 1u << 14,
};

static int cv_symbols_hotpatch(hp_pe_span syms)
{
    uint64_t off = 0;
    uint16_t len, kind;
    while (hp_pe_span_u16(syms, off, &len) && hp_pe_span_u16(syms, off + 2, &kind) && len >= 2) {
        uint32_t flags;
        if (kind == CV_S_COMPILE3 && len >= 6 && hp_pe_span_u32(syms, off + 4, &flags))
            return (flags & CV_COMPILE3_HOTPATCH) != 0;
        off += 2u + len;
    }
    return 0;
}

/* Does any .debug$S section of the object say it was compiled for hotpatching? */
static int cv_hotpatch(hp_pe_span file, hp_pe_span sections, uint32_t nsec)
{
    for (uint32_t i = 0; i < nsec; i++) {
        const uint8_t *sh = sections.data + (size_t)i * COFF_SECTION_SIZE;
        uint32_t raw_size, raw_ptr, sig;
        hp_pe_span data;
        if (memcmp(sh, ".debug$S", 8) != 0)
            continue;
        hp_pe_span_u32((hp_pe_span){sh, COFF_SECTION_SIZE}, 16, &raw_size);
        hp_pe_span_u32((hp_pe_span){sh, COFF_SECTION_SIZE}, 20, &raw_ptr);
        if (!hp_pe_span_sub(file, raw_ptr, raw_size, &data) || !hp_pe_span_u32(data, 0, &sig) ||
            sig != CV_SIGNATURE_C13)
            continue;
        uint64_t off = 4;
        uint32_t kind, len;
        while (hp_pe_span_u32(data, off, &kind) && hp_pe_span_u32(data, off + 4, &len)) {
            hp_pe_span sub;
            if (!hp_pe_span_sub(data, off + 8, len, &sub))
                break;
            if (kind == CV_SUBSECTION_SYMBOLS && cv_symbols_hotpatch(sub))
                return 1;
            off += 8u + (((uint64_t)len + 3u) & ~(uint64_t)3u);
        }
    }
    return 0;
}

int hpa_is_coff_object(hp_pe_span b)
{
    uint16_t machine, opt;
    if (!hp_pe_span_u16(b, 0, &machine) || !hp_pe_span_u16(b, 16, &opt) || b.size < COFF_HEADER_SIZE)
        return 0;
    switch (machine) {
    case HP_PE_MACHINE_I386:
    case HP_PE_MACHINE_AMD64:
    case HP_PE_MACHINE_ARM64:
    case HP_PE_MACHINE_ARM64EC:
    case HP_PE_MACHINE_ARMNT:
        return opt == 0; /* objects carry no optional header */
    default:
        return 0;
    }
}

int hpa_is_short_import(hp_pe_span b)
{
    /* IMPORT_OBJECT_HEADER: Sig1 = IMAGE_FILE_MACHINE_UNKNOWN (0), Sig2 = 0xFFFF, Version 0 */
    uint16_t sig1, sig2, version;
    return hp_pe_span_u16(b, 0, &sig1) && hp_pe_span_u16(b, 2, &sig2) && hp_pe_span_u16(b, 4, &version) &&
           sig1 == 0 && sig2 == 0xFFFF && version == 0;
}

/* ---- object audit ---------------------------------------------------------- */

typedef struct obj_fn {
    int32_t section;
    uint32_t value;
    int external; /* storage class EXTERNAL: visible to other objects, what a DLL can export */
    const char *name;
} obj_fn;

typedef struct obj_ctx {
    hpa_file *f;
    obj_fn *fns;
    size_t count, cap;
} obj_ctx;

static int on_obj_symbol(void *ctx, const hp_coff_symbol *s)
{
    obj_ctx *c = ctx;
    if (!hp_coff_is_function(s))
        return 0;
    if (!hp_vec_reserve((void **)&c->fns, &c->cap, c->count, sizeof *c->fns)) {
        c->f->oom = 1;
        return 1;
    }
    obj_fn *o = &c->fns[c->count];
    o->section = s->section;
    o->value = s->value;
    o->external = hp_coff_is_external(s);
    o->name = hpa_strndup(&c->f->report->arena, s->name, s->name_len);
    if (!o->name) {
        c->f->oom = 1;
        return 1;
    }
    c->count++;
    return 0;
}

static int cmp_obj_fn(const void *a, const void *b)
{
    const obj_fn *x = a, *y = b;
    if (x->section != y->section)
        return x->section < y->section ? -1 : 1;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return strcmp(x->name, y->name);
}

hp_status hpa_object(hpa_file *f, hp_pe_span b, const char **detail)
{
    if (hpa_is_short_import(b)) {
        f->res.coverage.import_members++;
        return HP_OK;
    }
    uint16_t machine, nsec, opt;
    uint32_t symptr, nsyms;
    if (b.size < COFF_HEADER_SIZE) {
        *detail = "truncated coff header";
        return HP_ERR_FORMAT;
    }
    hp_pe_span_u16(b, 0, &machine);
    hp_pe_span_u16(b, 2, &nsec);
    hp_pe_span_u32(b, 8, &symptr);
    hp_pe_span_u32(b, 12, &nsyms);
    hp_pe_span_u16(b, 16, &opt);
    f->res.machine = hp_pe_machine_name(machine);
    hp_machine m;
    if (machine == HP_PE_MACHINE_I386) {
        m = HP_MACHINE_X86;
    } else if (machine == HP_PE_MACHINE_AMD64) {
        m = HP_MACHINE_X64;
    } else if (machine == HP_PE_MACHINE_ARM64 || machine == HP_PE_MACHINE_ARM64EC) {
        *detail = "architecture not yet supported (arm64)";
        return HP_ERR_UNSUPPORTED;
    } else {
        *detail = "architecture not supported";
        return HP_ERR_UNSUPPORTED;
    }
    hp_pe_span sections;
    if (!hp_pe_span_sub(b, (uint64_t)COFF_HEADER_SIZE + opt, (uint64_t)nsec * COFF_SECTION_SIZE, &sections)) {
        *detail = "truncated section table";
        return HP_ERR_FORMAT;
    }
    /* GNU import libraries hold ordinary objects with .idata$N sections and a jmp thunk: an import member */
    for (uint32_t i = 0; i < nsec; i++)
        if (memcmp(sections.data + (size_t)i * COFF_SECTION_SIZE, ".idata$", 7) == 0) {
            f->res.coverage.import_members++;
            return HP_OK;
        }
    if (!symptr || !nsyms)
        return HP_OK; /* no symbols: no functions known */
    /* lld adds /functionpadmin padding only to objects whose CodeView says "hotpatch" */
    int link_pads = cv_hotpatch(b, sections, nsec);

    obj_ctx c;
    memset(&c, 0, sizeof c);
    c.f = f;
    hp_status st = hp_coff_symbols(b, symptr, nsyms, on_obj_symbol, &c, detail);
    if (st != HP_OK || f->oom) {
        free(c.fns);
        return st != HP_OK ? st : HP_ERR_NO_MEMORY;
    }
    if (c.count)
        qsort(c.fns, c.count, sizeof *c.fns, cmp_obj_fn);

    hp_audit_coverage *cov = &f->res.coverage;
    for (size_t i = 0; i < c.count; i++) {
        obj_fn *o = &c.fns[i];
        if ((uint32_t)o->section > nsec)
            continue; /* a symbol in a section that does not exist: nothing to read */
        hp_pe_span sh;
        hp_pe_span_sub(sections, (uint64_t)(o->section - 1) * COFF_SECTION_SIZE, COFF_SECTION_SIZE, &sh);
        uint32_t raw_size, raw_ptr, chars;
        hp_pe_span_u32(sh, 16, &raw_size);
        hp_pe_span_u32(sh, 20, &raw_ptr);
        hp_pe_span_u32(sh, 36, &chars);
        if (!(chars & (HP_PE_SCN_CNT_CODE | HP_PE_SCN_MEM_EXECUTE)))
            continue;
        hp_pe_span data;
        if (!hp_pe_span_sub(b, raw_ptr, raw_size, &data)) {
            *detail = "section data outside the file";
            free(c.fns);
            return HP_ERR_FORMAT;
        }
        if (o->value >= data.size)
            continue;
        /* extent: up to the next function of the same section, or the section's end */
        uint32_t end = raw_size;
        for (size_t k = i + 1; k < c.count && c.fns[k].section == o->section; k++)
            if (c.fns[k].value > o->value) {
                end = c.fns[k].value;
                break;
            }
        if (hpa_report_excluded(f->report, o->name))
            continue; /* excluded by the build (exclude=): neither checked nor reported */
        char secname[9];
        memcpy(secname, sh.data, 8);
        secname[8] = 0;
        hpa_site_request req;
        memset(&req, 0, sizeof req);
        req.name = o->name;
        req.section = hpa_strdup(&f->report->arena, secname);
        req.address = o->value;
        req.from = HP_AUDIT_FROM_SYMBOL;
        req.entry = data.data + o->value;
        req.before = o->value;
        req.after = data.size - o->value;
        req.body_size = end - o->value;
        req.machine = m;
        /* At offset 0 of its section nothing precedes the entry yet: the linker pads it when the object's
           CodeView carries the hotpatch flag (-fms-hotpatch -gcodeview, MSVC /hotpatch /Zi), and then the
           entry is judged with that padding; otherwise it stays padding-short, as the link will leave it. */
        req.link_time = o->value == 0 && link_pads;
        int ok = hpa_check_site(f, &req);
        cov->all_checked++;
        cov->all_patchable += (uint32_t)ok;
        if (o->external) {
            /* objects have no export table: external functions are what a DLL could export */
            cov->exports_checked++;
            cov->exports_patchable += (uint32_t)ok;
        }
    }
    free(c.fns);
    return f->oom ? HP_ERR_NO_MEMORY : HP_OK;
}
