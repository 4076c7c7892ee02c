/*
 * coff.c — the COFF symbol table reader, for objects, archive members and
 * the symbol table MinGW keeps in images.
 */
#include "hp_tools.h"

#include <string.h>

/* The class ID of a /bigobj header (ANON_OBJECT_HEADER_BIGOBJ.ClassID). */
static const uint8_t bigobj_class[16] = {0xC7, 0xA1, 0xBA, 0xD1, 0xEE, 0xBA, 0xA9, 0x4B,
                                         0xAF, 0x20, 0xFA, 0xF6, 0x6A, 0xA4, 0xDC, 0xB8};

enum {
    COFF_HEADER_PLAIN = 20,
    COFF_HEADER_BIG = 56,
    COFF_SYMBOL_SIZE = 18,
    COFF_SYMBOL_SIZE_BIG = 20,
    SYM_CLASS_EXTERNAL = 2,
    SYM_CLASS_STATIC = 3,
    SYM_DTYPE_FUNCTION = 2, /* (type >> 4) & 3 */
};

int hp_coff_is_external(const hp_coff_symbol *s)
{
    return s->storage_class == SYM_CLASS_EXTERNAL;
}

void hp_coff_c_name(int x86, const char **p, size_t *len)
{
    if (!x86 || *len < 2 || ((*p)[0] != '_' && (*p)[0] != '@'))
        return;
    const char *s = *p + 1;
    size_t n = *len - 1, i = n;
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
        i--;
    if (i > 1 && i < n && s[i - 1] == '@')
        n = i - 1;
    else if ((*p)[0] == '@')
        return; /* not a fastcall decoration after all */
    *p = s;
    *len = n;
}

int hp_coff_is_typed_function(const hp_coff_symbol *s)
{
    return s->section > 0 && ((s->type >> 4) & 3) == SYM_DTYPE_FUNCTION &&
           (s->storage_class == SYM_CLASS_EXTERNAL || s->storage_class == SYM_CLASS_STATIC);
}

int hp_coff_is_function(const hp_coff_symbol *s)
{
    if (s->section <= 0)
        return 0;
    if (((s->type >> 4) & 3) == SYM_DTYPE_FUNCTION)
        return s->storage_class == SYM_CLASS_EXTERNAL || s->storage_class == SYM_CLASS_STATIC;
    /* assemblers leave the type 0 on plain labels: an external label is a function when its section
       holds code, which the callers check */
    return s->type == 0 && s->storage_class == SYM_CLASS_EXTERNAL;
}

int hp_coff_object_header_read(hp_pe_span f, hp_coff_object_header *h)
{
    uint16_t sig1 = 0, sig2 = 0, opt = 0;
    memset(h, 0, sizeof *h);
    if (!hp_pe_span_u16(f, 0, &sig1) || !hp_pe_span_u16(f, 2, &sig2))
        return 0;
    if (sig1 == 0 && sig2 == 0xFFFF && f.size >= COFF_HEADER_BIG && memcmp(f.data + 12, bigobj_class, 16) == 0) {
        h->big = 1;
        hp_pe_span_u16(f, 6, &h->machine);
        hp_pe_span_u32(f, 44, &h->section_count);
        hp_pe_span_u32(f, 48, &h->symtab_offset);
        hp_pe_span_u32(f, 52, &h->symbol_count);
        h->symbol_size = COFF_SYMBOL_SIZE_BIG;
        h->section_table = COFF_HEADER_BIG;
        return 1;
    }
    uint16_t nsec = 0;
    h->machine = sig1;
    hp_pe_span_u16(f, 2, &nsec);
    h->section_count = nsec;
    if (!hp_pe_span_u32(f, 8, &h->symtab_offset) || !hp_pe_span_u32(f, 12, &h->symbol_count) ||
        !hp_pe_span_u16(f, 16, &opt))
        return 0;
    h->symbol_size = COFF_SYMBOL_SIZE;
    h->section_table = COFF_HEADER_PLAIN + opt;
    return 1;
}

int hp_coff_image_symtab(const hp_pe *pe, uint32_t *offset, uint32_t *count)
{
    hp_pe_span_u32(pe->image, (uint64_t)pe->nt_offset + 4 + 8, offset);
    hp_pe_span_u32(pe->image, (uint64_t)pe->nt_offset + 4 + 12, count);
    return *offset && *count;
}

hp_status hp_coff_symbols(hp_pe_span file, uint32_t offset, uint32_t count, hp_coff_symbol_fn fn, void *ctx,
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
        hp_coff_symbol s;
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
