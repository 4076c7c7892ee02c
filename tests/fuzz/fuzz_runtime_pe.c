/*
 * fuzz_runtime_pe.c — libFuzzer target: the PE view (hotpatch_pe.h) on any
 * bytes, in both layouts (file, mapped) and with and without
 * HP_PE_OPEN_ANY_MACHINE: hp_pe_open, then every walk an image allows —
 * sections, RVA lookups, the export directory (names, addresses, find), .pdata
 * (count, walk, find), the plugin's .hotp table and the CodeView record — with
 * the callbacks reading every byte and string the view hands out.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hotpatch_pe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned g_keep;

typedef struct walk {
    const hp_pe *pe;
    hp_pe_rva_cache cache; /* the cached lookups must answer as the plain ones do */
    unsigned sum;
    unsigned calls;
    char first_name[64]; /* an exported name, looked up again with hp_pe_export_find */
} walk;

/* Read the bytes the view says are readable around `rva`. */
static void touch_rva(walk *w, uint32_t rva)
{
    const uint8_t *p;
    size_t before, after;
    hp_pe_section sec;
    uint32_t off;
    hp_pe_span span;

    hp_status st = hp_pe_rva_bytes(w->pe, rva, &p, &before, &after, NULL);
    if (st == HP_OK) {
        if (before)
            w->sum += p[-(ptrdiff_t)before];
        if (after)
            w->sum += p[0] + p[after - 1];
    }
    const uint8_t *cp = NULL;
    size_t cbefore = 0, cafter = 0;
    hp_pe_span s1, s2;
    if (hp_pe_rva_cache_hit(&w->cache, rva, &cp, &cbefore, &cafter) &&
        (st != HP_OK || cp != p || cbefore != before || cafter != after))
        __builtin_trap(); /* the inline hit answers as the lookup does, or not at all */
    hp_status cst = hp_pe_rva_bytes_cached(w->pe, &w->cache, rva, &cp, &cbefore, &cafter, NULL);
    if (cst != st || (st == HP_OK && (cp != p || cbefore != before || cafter != after)))
        __builtin_trap();
    st = hp_pe_rva_span(w->pe, rva, 3, &s1, NULL);
    cst = hp_pe_rva_span_cached(w->pe, &w->cache, rva, 3, &s2, NULL);
    if (cst != st || (st == HP_OK && (s1.data != s2.data || s1.size != s2.size)))
        __builtin_trap();
    if (hp_pe_section_of_rva(w->pe, rva, &sec, NULL) == HP_OK)
        w->sum += (unsigned)strlen(sec.name);
    if (hp_pe_rva_to_offset(w->pe, rva, &off, NULL) == HP_OK)
        w->sum += off;
    if (hp_pe_rva_span(w->pe, rva, 16, &span, NULL) == HP_OK)
        w->sum += span.data[15];
}

static int on_export(void *ctx, const hp_pe_export *e)
{
    walk *w = ctx;
    if (e->name) {
        w->sum += (unsigned)strlen(e->name) + (unsigned)e->name_len;
        if (!w->first_name[0] && e->name_len < sizeof w->first_name)
            memcpy(w->first_name, e->name, e->name_len + 1);
    }
    if (e->forwarder)
        w->sum += (unsigned)strlen(e->forwarder);
    touch_rva(w, e->rva);
    return ++w->calls > 4096; /* bound the work per input; the walk itself is not bounded by us */
}

static int on_pdata(void *ctx, const hp_pe_runtime_function *rf)
{
    walk *w = ctx;
    touch_rva(w, rf->begin);
    w->sum += rf->end + rf->unwind;
    return ++w->calls > 8192;
}

static int on_record(void *ctx, const hp_table_record *rec)
{
    walk *w = ctx;
    touch_rva(w, (uint32_t)rec->where);
    return ++w->calls > 8192;
}

static void view(const uint8_t *data, size_t size, hp_pe_layout layout, unsigned flags)
{
    hp_pe pe;
    const char *detail = NULL;
    walk w = {.pe = &pe};

    if (hp_pe_open(&pe, data, size, layout, flags, &detail) != HP_OK) {
        g_keep += detail ? (unsigned)strlen(detail) : 0;
        return;
    }
    w.sum += (unsigned)strlen(hp_pe_machine_name(pe.coff_machine));
    for (uint32_t i = 0; i < pe.section_count; i++) {
        hp_pe_section sec;
        if (hp_pe_section_at(&pe, i, &sec) == HP_OK)
            touch_rva(&w, sec.virtual_address);
    }
    touch_rva(&w, pe.entry_point);

    hp_pe_export_info info;
    if (hp_pe_export_info_get(&pe, &info, &detail) == HP_OK && info.present) {
        if (info.dll_name)
            w.sum += (unsigned)strlen(info.dll_name);
        hp_pe_export_names(&pe, on_export, &w, &detail);
        w.calls = 0;
        hp_pe_export_addresses(&pe, on_export, &w, &detail);
        hp_pe_export e;
        if (w.first_name[0] && hp_pe_export_find(&pe, w.first_name, &e, &detail) == HP_OK)
            touch_rva(&w, e.rva);
        hp_pe_export_find(&pe, "\x01no such export", &e, &detail);
    }

    uint32_t count;
    w.calls = 0;
    if (hp_pe_pdata_count(&pe, &count, &detail) == HP_OK && count) {
        hp_pe_pdata_foreach(&pe, on_pdata, &w, &detail);
        hp_pe_runtime_function rf;
        hp_pe_pdata_find(&pe, pe.entry_point, &rf, &detail);
    }

    int present = 0;
    w.calls = 0;
    hp_pe_table_foreach(&pe, on_record, &w, &present, &detail);

    hp_pe_codeview cv;
    if (hp_pe_codeview_get(&pe, &cv, &detail) == HP_OK && cv.present && cv.path)
        w.sum += (unsigned)strlen(cv.path) + cv.age;

    size_t len;
    if (hp_pe_span_strlen(pe.image, pe.nt_offset, &len))
        w.sum += (unsigned)len;
    g_keep += w.sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    view(data, size, HP_PE_LAYOUT_FILE, 0);
    view(data, size, HP_PE_LAYOUT_FILE, HP_PE_OPEN_ANY_MACHINE);
    view(data, size, HP_PE_LAYOUT_MAPPED, 0);
    return 0;
}
