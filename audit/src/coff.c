/*
 * coff.c — COFF objects (.obj/.o, and archive members): the symbol table
 * reader (also used for the symbol table MinGW keeps in images) and the
 * audit of every defined function symbol.
 */
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

enum {
    COFF_HEADER_SIZE = 20,
    COFF_SECTION_SIZE = 40,
    COFF_SYMBOL_SIZE = 18,
    SYM_CLASS_EXTERNAL = 2,
    SYM_CLASS_STATIC = 3,
    SYM_DTYPE_FUNCTION = 2, /* (type >> 4) & 3 */
};

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

int hpa_coff_is_function(const hpa_coff_symbol *s)
{
    if (s->section <= 0)
        return 0;
    if (((s->type >> 4) & 3) == SYM_DTYPE_FUNCTION)
        return s->storage_class == SYM_CLASS_EXTERNAL || s->storage_class == SYM_CLASS_STATIC;
    /* assemblers leave the type 0 on plain labels: an external label is a function when its section
       holds code, which the callers check */
    return s->type == 0 && s->storage_class == SYM_CLASS_EXTERNAL;
}

hp_status hpa_coff_symbols(hp_pe_span file, uint32_t offset, uint32_t count, hpa_symbol_fn fn, void *ctx,
                           const char **detail)
{
    hp_pe_span table, strings = {NULL, 0};
    if (!hp_pe_span_sub(file, offset, (uint64_t)count * COFF_SYMBOL_SIZE, &table)) {
        *detail = "symbol table outside the file";
        return HP_ERR_FORMAT;
    }
    /* the string table follows the symbols; its first 4 bytes are its size, themselves included */
    uint64_t str_off = (uint64_t)offset + (uint64_t)count * COFF_SYMBOL_SIZE;
    uint32_t str_size;
    if (!hp_pe_span_u32(file, str_off, &str_size)) {
        *detail = "truncated string table"; /* it always exists: at least its 4-byte size */
        return HP_ERR_FORMAT;
    }
    if (str_size >= 4 && !hp_pe_span_sub(file, str_off, str_size, &strings)) {
        *detail = "string table outside the file";
        return HP_ERR_FORMAT;
    }
    for (uint32_t i = 0; i < count; i++) {
        hpa_coff_symbol s;
        hp_pe_span rec;
        hp_pe_span_sub(table, (uint64_t)i * COFF_SYMBOL_SIZE, COFF_SYMBOL_SIZE, &rec);
        uint32_t zeros, name_off;
        uint16_t section;
        hp_pe_span_u32(rec, 0, &zeros);
        hp_pe_span_u32(rec, 4, &name_off);
        hp_pe_span_u32(rec, 8, &s.value);
        hp_pe_span_u16(rec, 12, &section);
        hp_pe_span_u16(rec, 14, &s.type);
        s.storage_class = rec.data[16];
        s.aux_count = rec.data[17];
        s.section = (int16_t)section;
        if (zeros == 0) {
            if (!hp_pe_span_strlen(strings, name_off, &s.name_len)) {
                *detail = "symbol name outside the string table";
                return HP_ERR_FORMAT;
            }
            s.name = (const char *)strings.data + name_off;
        } else {
            memcpy(s.buf, rec.data, 8);
            s.buf[8] = 0;
            s.name = s.buf;
            s.name_len = strlen(s.buf);
        }
        if (fn(ctx, &s))
            break;
        if (s.aux_count > count - 1 - i)
            break; /* aux records past the end: nothing more to read */
        i += s.aux_count;
    }
    return HP_OK;
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

static int on_obj_symbol(void *ctx, const hpa_coff_symbol *s)
{
    obj_ctx *c = ctx;
    if (!hpa_coff_is_function(s))
        return 0;
    if (!hpa_reserve((void **)&c->fns, &c->cap, c->count, sizeof *c->fns)) {
        c->f->oom = 1;
        return 1;
    }
    obj_fn *o = &c->fns[c->count];
    o->section = s->section;
    o->value = s->value;
    o->external = s->storage_class == SYM_CLASS_EXTERNAL;
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

    obj_ctx c;
    memset(&c, 0, sizeof c);
    c.f = f;
    hp_status st = hpa_coff_symbols(b, symptr, nsyms, on_obj_symbol, &c, detail);
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
        /* at offset 0 of its section nothing precedes the entry yet: the linker decides the padding */
        req.link_time = o->value == 0;
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
