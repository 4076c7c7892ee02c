/*
 * post_table.c — the post-link pass's walk from the plugin's table
 * (hp_link_post_table.h): the table's entries sorted once (they are in
 * address order already, or nearly), and every other source — exports,
 * .pdata, the symbol table — read straight onto them: an export or a symbol
 * finds its entry through an index of the entries by address, .pdata (read
 * in place) is walked in step with the table.
 * What the audit's walk builds for any image (four lists merged, every name
 * copied, a record per verdict handed over and merged again) is not built.
 *
 * The function list must be the audit's for every image this walk accepts:
 * names, sources, extents and site verdicts follow audit/src/image.c rule
 * for rule, and everything that would make the audit report something makes
 * this walk decline instead. HOTPATCH_LINK_CHECK_WALK=1 makes hotpatch-link run
 * both walks and compare them (the test suites and the link_post fuzz target
 * do).
 */
#include "hp_link_post_table.h"

#include <stdlib.h>
#include <string.h>

#include "hotpatch.h"
#include "hotpatch_table.h"
#include "hp_link_units.h"
#include "hp_tools.h"

#define NONE UINT32_MAX
/* walk.nm: an entry's name (offset + 1 in the names, 0 none) and what named it */
#define NM_EXPORT 0x80000000u /* an export: the name is the export's */
#define NM_SYMBOL 0x40000000u /* a function symbol: the name is the symbol's unless NM_EXPORT */
#define NM_NAME 0x3FFFFFFFu

typedef struct walk {
    const hp_pe *pe;
    const hp_link_table_walk_options *o;
    uint32_t *at;     /* the table's entries, by RVA, each once */
    size_t n, cap;
    uint32_t *bk;     /* index_entries() */
    size_t nbk;
    unsigned shift;
    uint32_t *nm;     /* per entry: NM_* */
    char *nb;         /* the names, NUL-terminated one after the other */
    size_t nbn, nbcap;
    uint32_t *exp_rva; /* per export index: the RVA of a code export, NONE otherwise */
    uint8_t *exp_named;
    size_t exp_count;
    const uint8_t *pd; /* .pdata in the image, 12 bytes an entry, in order of begin (else the walk declines) */
    size_t pdn;
    uint32_t *other;  /* entries the audit knows that the table does not list: function symbols, .pdata */
    size_t on, ocap;
    hp_link_units_walk *uw;
    hp_coff_symbol_section sym_sec;
    hp_pe_rva_cache urc; /* the unwind data's section */
    const char *why;  /* set once: the walk declines */
    int oom;
} walk;

static int decline(walk *w, const char *why)
{
    if (!w->why)
        w->why = why;
    return 1; /* stops the walker that called back */
}

/* `len` bytes of `s` and a NUL appended to the names: offset + 1, or 0 when out of memory. */
static uint32_t keep_name(walk *w, const char *s, size_t len)
{
    size_t need = w->nbn + len + 1;
    if (len >= NM_NAME || need >= NM_NAME ||
        (need > w->nbcap && !hp_vec_reserve_total((void **)&w->nb, &w->nbcap, need > 2 * w->nbcap ? need + 4096 : 2 * w->nbcap, 1))) {
        w->oom = 1;
        return 0;
    }
    memcpy(w->nb + w->nbn, s, len);
    w->nb[w->nbn + len] = 0;
    uint32_t at = (uint32_t)w->nbn + 1;
    w->nbn += len + 1;
    return at;
}

/* The entries by address: bucket b lists the entries from base + (b << shift) on (bk[b] the first,
   bk[b + 1] the end), two to four entries a bucket. Built once the entries are sorted; the exports
   and the symbols (90,000 lookups at 60,000 functions) each find their entry in a bucket of a few. */
static int index_entries(walk *w)
{
    uint64_t span = (uint64_t)w->at[w->n - 1] - w->at[0] + 1;
    unsigned shift = 0;
    while ((span >> shift) + 1 > w->n / 4 + 1)
        shift++;
    size_t nbk = (size_t)(span >> shift) + 1;
    if (!(w->bk = malloc((nbk + 1) * sizeof *w->bk)))
        return 0;
    size_t i = 0;
    for (size_t b = 0; b < nbk; b++) {
        uint64_t start = w->at[0] + ((uint64_t)b << shift);
        while (i < w->n && w->at[i] < start)
            i++;
        w->bk[b] = (uint32_t)i;
    }
    w->bk[nbk] = (uint32_t)w->n;
    w->nbk = nbk;
    w->shift = shift;
    return 1;
}

/* The entry at `rva`, or NONE. */
static size_t entry_of(const walk *w, uint32_t rva)
{
    if (rva < w->at[0])
        return NONE;
    size_t b = (size_t)((uint64_t)(rva - w->at[0]) >> w->shift); /* the shift can be 32 or 33 */
    if (b >= w->nbk)
        return NONE;
    size_t lo = w->bk[b], n = w->bk[b + 1] - lo;
    if (n <= 8) { /* the usual bucket */
        for (size_t end = lo + n; lo < end; lo++)
            if (w->at[lo] >= rva)
                return w->at[lo] == rva ? lo : NONE;
        return NONE;
    }
    while (n > 1) { /* a crafted image can crowd a bucket: a binary search within it */
        size_t half = n / 2;
        lo = w->at[lo + half] <= rva ? lo + half : lo;
        n -= half;
    }
    return n && w->at[lo] == rva ? lo : NONE;
}

static int on_table(void *ctx, const hp_table_record *rec)
{
    walk *w = ctx;
    if (w->o->on_table)
        w->o->on_table(w->o->on_table_ctx, rec);
    if (!HP_VEC_PUSH(w->at, w->n, w->cap, (uint32_t)rec->where)) {
        w->oom = 1;
        return 1;
    }
    return 0;
}

static int on_export_address(void *ctx, const hp_pe_export *e)
{
    walk *w = ctx;
    if (e->index >= w->exp_count)
        return decline(w, "an export outside its directory's count");
    if (e->kind == HP_PE_EXPORT_CODE) {
        if (e->rva == NONE)
            return decline(w, "an export at an address no entry can have");
        w->exp_rva[e->index] = e->rva;
    }
    return 0; /* data and forwarders: the audit notes them, nothing to judge */
}

static int on_export_name(void *ctx, const hp_pe_export *e)
{
    walk *w = ctx;
    if (e->index >= w->exp_count)
        return decline(w, "an export outside its directory's count");
    uint32_t rva = w->exp_rva[e->index];
    if (rva == NONE)
        return 0;
    if (w->exp_named[e->index])
        return decline(w, "an export with two names"); /* HP2001 */
    w->exp_named[e->index] = 1;
    size_t i = entry_of(w, rva);
    if (i == NONE)
        return decline(w, "an export the table does not list");
    if (w->nm[i] & NM_EXPORT)
        return decline(w, "exports that share an entry"); /* HP2001 */
    uint32_t at = keep_name(w, e->name, e->name_len);
    if (!at)
        return 1;
    w->nm[i] = NM_EXPORT | at; /* exports are read before symbols: no symbol's name is lost */
    return 0;
}

/* Field `f` (0 begin, 1 end, 2 unwind) of .pdata entry k, little-endian as stored. */
static inline uint32_t pd_at(const walk *w, size_t k, int f)
{
    const uint8_t *p = w->pd + 12 * k + 4 * f;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* .pdata as hp_pe_pdata_foreach() walks it, in place (x64 only); 0 when it is outside the file or not
   in order of begin (the audit's walk sorts it). */
static int read_pdata(walk *w)
{
    hp_pe_span s;
    if (hp_pe_pdata_span(w->pe, &s, NULL) != HP_OK)
        return !decline(w, "damaged .pdata");
    w->pd = s.data;
    w->pdn = s.size / 12;
    for (size_t k = 1; k < w->pdn; k++)
        if (pd_at(w, k, 0) < pd_at(w, k - 1, 0))
            return !decline(w, ".pdata out of order");
    return 1;
}

/* .pdata entries that begin a function the table does not list are entries to the audit too (they
   end the extent of the function before them on x86-style lookups): chained ones are not. */
static int pdata_others(walk *w)
{
    size_t i = 0;
    for (size_t k = 0; k < w->pdn; k++) {
        uint32_t begin = pd_at(w, k, 0);
        while (i < w->n && w->at[i] < begin)
            i++;
        if ((i < w->n && w->at[i] == begin) || !hp_pdata_begins_function(w->pe, &w->urc, pd_at(w, k, 2)))
            continue;
        if (!HP_VEC_PUSH(w->other, w->on, w->ocap, begin)) {
            w->oom = 1;
            return 0;
        }
    }
    return 1;
}

static int on_symbol(void *ctx, const hp_coff_symbol *s)
{
    walk *w = ctx;
    if (w->uw)
        hp_link_units_symbol(w->uw, s);
    uint32_t rva;
    if (!hp_coff_image_function(w->pe, &w->sym_sec, s, &rva)) /* what names functions in an image */
        return 0;
    size_t i = entry_of(w, rva);
    if (i == NONE) {
        if (!HP_VEC_PUSH(w->other, w->on, w->ocap, rva)) {
            w->oom = 1;
            return 1;
        }
        return 0;
    }
    uint32_t nm = w->nm[i];
    if (!(nm & NM_SYMBOL)) {
        /* an exported entry is named by its export: its symbol's name is not kept */
        if (nm & NM_EXPORT) {
            w->nm[i] = nm | NM_SYMBOL;
        } else {
            uint32_t at = keep_name(w, s->name, s->name_len);
            if (!at)
                return 1;
            w->nm[i] = NM_SYMBOL | at;
        }
        return 0;
    }
    if (nm & NM_EXPORT)
        return decline(w, "function symbols that share an exported entry"); /* maybe HP2007: the audit decides */
    const char *first = w->nb + (nm & NM_NAME) - 1;
    const char *nul = memchr(s->name, 0, s->name_len); /* where the audit's copy of the name ends */
    size_t len = nul ? (size_t)(nul - s->name) : s->name_len;
    if (strncmp(first, s->name, len) != 0 || first[len] != 0)
        return decline(w, "function symbols that share an entry"); /* HP2007 */
    return 0;
}

static void walk_free(walk *w)
{
    free(w->at);
    free(w->bk);
    free(w->nm);
    free(w->nb);
    free(w->exp_rva);
    free(w->exp_named);
    free(w->other);
    hp_link_units_abandon(w->uw);
}

/* Every source read onto the table's entries; 0 when the walk declines or runs out of memory. */
static int read_sources(walk *w)
{
    const hp_pe *pe = w->pe;
    const char *detail = NULL; /* the audit's walk names what is damaged, not this one */
    int present = 0;
    if (hp_pe_table_foreach(pe, on_table, w, &present, &detail) != HP_OK)
        return !decline(w, "a damaged table");
    if (w->oom || w->why)
        return 0;
    if (!w->n)
        return !decline(w, "no table entries");
    if (!hp_sort_by_u32(w->at, w->n, sizeof *w->at, 0)) {
        w->oom = 1;
        return 0;
    }
    for (size_t i = 1; i < w->n; i++)
        if (w->at[i] == w->at[i - 1])
            return !decline(w, "table records that share an entry"); /* HP2007 */
    if (!index_entries(w) || !(w->nm = calloc(w->n, sizeof *w->nm))) {
        w->oom = 1;
        return 0;
    }

    hp_pe_export_info xi;
    if (hp_pe_export_info_get(pe, &xi, &detail) != HP_OK)
        return !decline(w, "a damaged export directory");
    if (xi.function_count) {
        w->exp_count = xi.function_count;
        if (!(w->exp_rva = malloc(w->exp_count * sizeof *w->exp_rva)) || !(w->exp_named = calloc(w->exp_count, 1))) {
            w->oom = 1;
            return 0;
        }
        memset(w->exp_rva, 0xFF, w->exp_count * sizeof *w->exp_rva);
        if (hp_pe_export_addresses(pe, on_export_address, w, &detail) != HP_OK ||
            hp_pe_export_names(pe, on_export_name, w, &detail) != HP_OK)
            return !decline(w, "a damaged export directory");
        if (w->oom || w->why)
            return 0;
        for (size_t k = 0; k < w->exp_count; k++)
            if (w->exp_rva[k] != NONE && !w->exp_named[k])
                return !decline(w, "an export by ordinal only");
    }

    if (!read_pdata(w))
        return 0;
    if (!pdata_others(w))
        return 0;

    uint32_t symptr = 0, nsyms = 0;
    if (w->o->units && !(w->uw = hp_link_units_begin(pe, 0))) {
        w->oom = 1;
        return 0;
    }
    if (hp_coff_image_symtab(pe, &symptr, &nsyms) &&
        hp_coff_symbols(pe->image, symptr, nsyms, on_symbol, w, &detail) != HP_OK)
        return !decline(w, "a damaged symbol table");
    if (w->oom || w->why)
        return 0;
    if (!hp_sort_by_u32(w->other, w->on, sizeof *w->other, 0)) {
        w->oom = 1;
        return 0;
    }
    return 1;
}

/* Every entry's site, with the extent the audit gives it (image.c, body_extent: .pdata on x64, else up
   to the next entry it knows, never past the section's bytes). */
static int judge(walk *w, hp_link_fn *fns)
{
    const hp_pe *pe = w->pe;
    hp_code_view cv;
    memset(&cv, 0, sizeof cv);
    size_t pk = 0, ok = 0;
    for (size_t i = 0; i < w->n; i++) {
        uint32_t rva = w->at[i];
        const uint8_t *p;
        size_t before = 0, after = 0;
        hp_pe_section sec;
        if (hp_code_at(pe, &cv, rva, &sec, &p, &before, &after) <= 0) /* the audit's bytes (image.c) */
            return !decline(w, "a table entry outside the code"); /* HP2006, or a site without bytes */
        size_t extent = 0;
        uint32_t end = 0; /* the .pdata entry's end, when one begins at the entry (x64) */
        if (pe->machine == HP_MACHINE_X64) {
            while (pk < w->pdn && pd_at(w, pk, 0) < rva)
                pk++;
            if (pk < w->pdn && pd_at(w, pk, 0) == rva)
                end = pd_at(w, pk, 1);
        }
        if (end > rva) {
            extent = end - rva;
        } else {
            uint64_t next = i + 1 < w->n ? w->at[i + 1] : (uint64_t)1 << 32;
            while (ok < w->on && w->other[ok] <= rva)
                ok++;
            if (ok < w->on && w->other[ok] < next)
                next = w->other[ok];
            extent = next >> 32 ? after : (size_t)(next - rva);
        }
        if (extent > after)
            extent = after;
        hp_site_input in;
        memset(&in, 0, sizeof in);
        in.entry = p;
        in.before = before;
        in.after = after;
        in.address = rva;
        in.machine = pe->machine;
        in.pad = w->o->pad;
        in.body_size = extent;
        hp_site site;
        memset(&site, 0, sizeof site);
        if (hp_site_verdict(HP_SITE_CONTEXT_IMAGE, hp_site_analyze(&in, &site)) != HP_OK)
            return !decline(w, "a site the rules refuse");
        hp_link_fn *f = &fns[i];
        f->rva = rva;
        f->from = HP_LINK_FROM_TABLE | (w->nm[i] & NM_EXPORT ? HP_LINK_FROM_EXPORT : 0u);
        f->patchable = 1;
        f->padding = (uint16_t)site.pad_found;
        f->site_offset = (uint16_t)site.site_offset;
        f->entry_bytes[0] = site.entry_bytes[0];
        f->entry_bytes[1] = site.entry_bytes[1];
        f->hash_len = (uint32_t)(extent ? extent : after); /* the audit's extent, else the section's bytes */
    }
    return 1;
}

int hp_link_table_walk(const hp_pe *pe, const hp_link_table_walk_options *options, hp_link_table_walk_result *out,
                       const char **why)
{
    memset(out, 0, sizeof *out);
    if (why)
        *why = NULL;
    walk w;
    memset(&w, 0, sizeof w);
    w.pe = pe;
    w.o = options;
    hp_link_fn *fns = NULL;
    int done = read_sources(&w);
    if (done && !(fns = calloc(w.n, sizeof *fns)))
        done = 0, w.oom = 1;
    done = done && judge(&w, fns);
    if (done) {
        for (size_t i = 0; i < w.n; i++) {
            uint32_t at = w.nm[i] & NM_NAME; /* the export's, else the function symbol's (image.c) */
            fns[i].name = at ? w.nb + at - 1 : NULL;
        }
        if (w.uw) {
            hp_link_units_walk *uw = w.uw;
            w.uw = NULL; /* ended here, freed in every case */
            if (hp_link_units_end(uw, &out->units) != HP_OK)
                done = 0, w.oom = 1;
        }
    }
    if (done) {
        out->fns = fns;
        out->fn_count = w.n;
        out->names = w.nb;
        fns = NULL;
        w.nb = NULL;
    } else if (why && w.why) {
        *why = w.why;
    }
    free(fns);
    walk_free(&w);
    return done ? 1 : w.why ? 0 : -1;
}
