/*
 * code.c — what the walks that judge every function of an image in address order (the audit's,
 * hotpatch-link's table walk) must read alike, so that their verdicts agree: hp_code_at_lookup(), the
 * lookup of hp_code_at() (hp_tools.h), the bytes of a function entry with one section lookup per
 * section; hp_pdata_begins_function(), which .pdata entries are function entries;
 * hp_coff_image_function(), which symbols name functions.
 */
#include "hp_tools.h"

int hp_code_at_lookup(const hp_pe *pe, hp_code_view *cv, uint32_t rva, hp_pe_section *sec, const uint8_t **p,
                      size_t *before, size_t *after)
{
    if (hp_pe_section_of_rva(pe, rva, sec, NULL) != HP_OK || !hp_pe_section_is_code(sec))
        return -1;
    if (hp_pe_rva_bytes(pe, rva, p, before, after, NULL) != HP_OK) {
        *p = NULL;
        *before = *after = 0;
        return 0;
    }
    if (*before == (size_t)(rva - sec->virtual_address)) {
        /* the section's bytes as the view gives them: reused while the RVAs stay inside */
        uint32_t vsize = sec->virtual_size ? sec->virtual_size : sec->raw_size;
        cv->valid = 1;
        cv->sec = *sec;
        cv->base = *p - *before;
        cv->size = *before + *after;
        cv->limit = cv->size < vsize ? cv->size : vsize;
    }
    return 1;
}

/* UNW_FLAG_CHAININFO: the RUNTIME_FUNCTION continues another one and is not a function entry */
#define UNW_FLAG_CHAININFO 0x4u

int hp_pdata_begins_function(const hp_pe *pe, hp_pe_rva_cache *cache, uint32_t unwind)
{
    if (unwind & 1u)
        return 0; /* some producers mark chained entries in bit 0 of the unwind RVA */
    /* the unwind record's first byte (flags in bits 3-7) */
    const uint8_t *u;
    size_t after = 0;
    return !(hp_pe_rva_bytes_quick(pe, cache, unwind, &u, NULL, &after) == HP_OK && after >= 1 &&
             ((u[0] >> 3) & UNW_FLAG_CHAININFO));
}

int hp_coff_image_function(const hp_pe *pe, hp_coff_symbol_section *cache, const hp_coff_symbol *sym, uint32_t *rva)
{
    /* only symbols typed "function" name functions in an image: the untyped labels that share code
       sections in MinGW images are data (__CTOR_LIST__, __DTOR_LIST__) or local labels */
    if (!hp_coff_is_typed_function(sym))
        return 0;
    uint32_t index = (uint32_t)(sym->section - 1);
    if (!cache->valid || cache->sec.index != index) {
        if (hp_pe_section_at(pe, index, &cache->sec) != HP_OK)
            return 0;
        cache->valid = 1;
    }
    const hp_pe_section *sec = &cache->sec;
    if (!hp_pe_section_is_code(sec) || sym->value >= (sec->virtual_size ? sec->virtual_size : sec->raw_size))
        return 0;
    *rva = sec->virtual_address + sym->value;
    return 1;
}
