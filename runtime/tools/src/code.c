/*
 * code.c — hp_code_at_lookup(), the lookup of hp_code_at() (hp_tools.h): the bytes of a function
 * entry in an image's code, for the walks that judge every function of an image in address order (the
 * audit's, hotpatch-link's table walk): one section lookup per section, and the same bytes for both,
 * so that their verdicts agree.
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
