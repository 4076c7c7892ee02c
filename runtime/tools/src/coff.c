/*
 * coff.c — the COFF symbol table reader, for objects, archive members and
 * the symbol table MinGW keeps in images.
 */
#include "hp_tools.h"

#include <string.h>

enum {
    COFF_SYMBOL_SIZE = 18,
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
