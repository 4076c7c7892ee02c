/*
 * image.c — layer 6 of the audit library (audit/README.md, "Source layout"),
 * a reader: PE32/PE32+ images — exports (and with --all every entry known
 * from the plugin's table, .pdata and the COFF symbol table) against the site
 * rules, folded exports and functions, forwarders and data exports.
 *
 * May call: verdict, builder, arena.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "builder.h"
#include "hp_tools.h"
#include "readers.h"
#include "verdict.h"

/* One export, as collected from the address and name tables. */
typedef struct exp_ent {
    uint32_t index;
    uint32_t ordinal;
    uint32_t rva;
    hp_pe_export_kind kind;
    const char *name;      /* arena; "#<ordinal>" for ordinal-only exports */
    const char *forwarder; /* arena or NULL */
    int named;
} exp_ent;

/* One known entry (a function start) for --all and for body extents. */
typedef struct known {
    uint32_t rva;
    unsigned from;
    const char *name;   /* best name known (export > symbol), or NULL */
} known;

/* A checked export group's address and verdict (with --all, for the walk over every entry). */
typedef struct exp_verdict {
    uint32_t rva;
    int ok;
} exp_verdict;

/* An entry several functions share: the message of HP2007 (rare: kept beside the entries). */
typedef struct folded_at {
    uint32_t rva;
    const char *message;
} folded_at;

typedef struct image_ctx {
    hpa_file *f;
    const hp_pe *pe;
    exp_ent *exps;
    size_t exp_count, exp_cap;
    uint32_t *exp_at;      /* exp_at[index]: where the address walk put export `index` (UINT32_MAX: none) */
    size_t exp_at_count, exp_at_cap;
    exp_verdict *ev;       /* with --all: the verdicts of the export groups, in address order */
    size_t ev_count, ev_cap;
    known *known;          /* after known_merge: every entry once, in address order */
    folded_at *folded;     /* after known_merge: the folded ones among them, in address order */
    size_t folded_count, folded_cap;
    size_t known_count;
    struct {               /* the entries of the sources without names as found (exports, table, .pdata):
                              their addresses (the source is the list's; 4 bytes an entry, not 16) */
        uint32_t *v;
        size_t n, cap;
    } rv[3];
    struct {               /* and the symbols', with their names */
        known *v;
        size_t n, cap;
    } sym;
    hp_pe_runtime_function *pdata; /* every .pdata entry, by begin: extents (x64) */
    size_t pdata_count, pdata_cap, pdata_hint;
    size_t known_hint;             /* where known_next() answered last */
    uint32_t sec_va;               /* the last section looked up, and its name in the arena */
    const char *sec_name;
    hp_code_view code;            /* the last code section's bytes, for the functions that follow in it */
    hp_pe_rva_cache unwind_rc;    /* the section of the unwind data (.xdata) */
    hp_coff_symbol_section sym_sec; /* the last symbol's section, for the next ones */
    const char *detail; /* set by callbacks on failure */
    hp_status st;
} image_ctx;

/* The sources in the order known_merge takes them: exports, table, .pdata (addresses only), symbols. */
static const unsigned src_from[4] = {HP_AUDIT_FROM_EXPORT, HP_AUDIT_FROM_TABLE, HP_AUDIT_FROM_PDATA,
                                     HP_AUDIT_FROM_SYMBOL};

static int add_known(image_ctx *c, uint32_t rva, unsigned from, const char *name)
{
    int ok;
    if (from == HP_AUDIT_FROM_SYMBOL) {
        known k = {rva, from, name};
        ok = HP_VEC_PUSH(c->sym.v, c->sym.n, c->sym.cap, k);
    } else {
        size_t i = from == HP_AUDIT_FROM_EXPORT ? 0 : from == HP_AUDIT_FROM_TABLE ? 1 : 2;
        ok = HP_VEC_PUSH(c->rv[i].v, c->rv[i].n, c->rv[i].cap, rva);
    }
    if (!ok) {
        c->f->oom = 1;
        return 1;
    }
    return 0;
}

/* Entry e of source s (src_from's order). */
static size_t src_count(const image_ctx *c, size_t s)
{
    return s < 3 ? c->rv[s].n : c->sym.n;
}

static uint32_t src_rva(const image_ctx *c, size_t s, size_t e)
{
    return s < 3 ? c->rv[s].v[e] : c->sym.v[e].rva;
}

static known src_at(const image_ctx *c, size_t s, size_t e)
{
    if (s < 3) {
        known k = {c->rv[s].v[e], src_from[s], NULL};
        return k;
    }
    return c->sym.v[e];
}

static int on_export_address(void *ctx, const hp_pe_export *e)
{
    image_ctx *c = ctx;
    if (!hp_vec_reserve((void **)&c->exps, &c->exp_cap, c->exp_count, sizeof *c->exps)) {
        c->f->oom = 1;
        return 1;
    }
    /* the walk goes up the indices: the positions of the ones skipped (no address) stay unknown */
    while (c->exp_at_count <= e->index) {
        uint32_t at = c->exp_at_count == e->index ? (uint32_t)c->exp_count : UINT32_MAX;
        if (!HP_VEC_PUSH(c->exp_at, c->exp_at_count, c->exp_at_cap, at)) {
            c->f->oom = 1;
            return 1;
        }
    }
    exp_ent *x = &c->exps[c->exp_count++];
    memset(x, 0, sizeof *x);
    x->index = e->index;
    x->ordinal = e->ordinal;
    x->rva = e->rva;
    x->kind = e->kind;
    if (e->forwarder)
        x->forwarder = hpa_strndup(&c->f->report->arena, e->forwarder, e->forwarder_len);
    return 0;
}

static int on_export_name(void *ctx, const hp_pe_export *e)
{
    image_ctx *c = ctx;
    /* the entry the address walk made for this index */
    size_t lo = e->index < c->exp_at_count ? c->exp_at[e->index] : UINT32_MAX;
    if (lo >= c->exp_count || c->exps[lo].index != e->index)
        return 0; /* cannot happen for a consistent walk; nothing to name */
    const char *name = hpa_strndup(&c->f->report->arena, e->name, e->name_len);
    if (!name) {
        c->f->oom = 1;
        return 1;
    }
    if (!c->exps[lo].named) {
        c->exps[lo].name = name;
        c->exps[lo].named = 1;
        return 0;
    }
    /* a second name for the same ordinal: an alias by name */
    if (!hp_vec_reserve((void **)&c->exps, &c->exp_cap, c->exp_count, sizeof *c->exps)) {
        c->f->oom = 1;
        return 1;
    }
    exp_ent copy = c->exps[lo];
    copy.name = name;
    c->exps[c->exp_count++] = copy;
    return 0;
}

static int cmp_exp_rva(const void *a, const void *b)
{
    const exp_ent *x = a, *y = b;
    if (x->rva != y->rva)
        return x->rva < y->rva ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_known(const void *a, const void *b)
{
    const known *x = a, *y = b;
    if (x->rva != y->rva)
        return x->rva < y->rva ? -1 : 1;
    if (!x->name || !y->name) /* named first, then by name: a group's distinct names are adjacent */
        return !x->name - !y->name;
    return strcmp(x->name, y->name);
}

static int on_table(void *ctx, const hp_table_record *rec)
{
    image_ctx *c = ctx;
    const hp_audit_options *o = &c->f->report->opt;
    if (o->on_table)
        o->on_table(o->on_table_ctx, rec);
    return add_known(c, (uint32_t)rec->where, HP_AUDIT_FROM_TABLE, NULL);
}

static int on_pdata(void *ctx, const hp_pe_runtime_function *rf)
{
    image_ctx *c = ctx;
    if (!HP_VEC_PUSH(c->pdata, c->pdata_count, c->pdata_cap, *rf)) {
        c->f->oom = 1;
        return 1;
    }
    if (!hp_pdata_begins_function(c->pe, &c->unwind_rc, rf->unwind))
        return 0; /* a chained entry */
    return add_known(c, rf->begin, HP_AUDIT_FROM_PDATA, NULL);
}

static int on_symbol(void *ctx, const hp_coff_symbol *s)
{
    image_ctx *c = ctx;
    const hp_audit_options *o = &c->f->report->opt;
    if (o->on_symbol)
        o->on_symbol(o->on_symbol_ctx, s);
    uint32_t rva;
    if (!hp_coff_image_function(c->pe, &c->sym_sec, s, &rva))
        return 0;
    const char *name = hpa_strndup(&c->f->report->arena, s->name, s->name_len);
    if (!name) {
        c->f->oom = 1;
        return 1;
    }
    return add_known(c, rva, HP_AUDIT_FROM_SYMBOL, name);
}

/* The message of HP2007 for the group g[0..n) of one RVA (ordered by cmp_known), or NULL when it is
   not folded: several records of the plugin's table, or several distinct function symbols, at one
   table entry. */
static const char *folded_message(image_ctx *c, const known *g, size_t n)
{
    size_t records = 0, names = 0, len = 0;
    for (size_t k = 0; k < n; k++) {
        records += (g[k].from & HP_AUDIT_FROM_TABLE) != 0;
        if ((g[k].from & HP_AUDIT_FROM_SYMBOL) && (k == 0 || !g[k - 1].name || strcmp(g[k].name, g[k - 1].name) != 0)) {
            names++;
            len += strlen(g[k].name) + 2;
        }
    }
    if (records == 0 || (records < 2 && names < 2))
        return NULL;
    hpa_arena *ar = &c->f->report->arena;
    if (names < 2)
        return hpa_printf(ar, "%zu table records share the entry at 0x%x: patchable functions were folded into one",
                          records, g[0].rva);
    char *all = malloc(len + 1);
    if (!all)
        return NULL;
    all[0] = 0;
    for (size_t k = 0; k < n; k++) {
        if (!(g[k].from & HP_AUDIT_FROM_SYMBOL) || (all[0] && strcmp(g[k].name, g[k - 1].name) == 0))
            continue;
        if (all[0])
            strcat(all, ", ");
        strcat(all, g[k].name);
    }
    const char *m = hpa_printf(ar, "patchable functions %s share the entry at 0x%x: patching one patches all "
                                   "(identical-code folding)", all, g[0].rva);
    free(all);
    return m;
}

/* One list of entries, one per RVA, sources or-ed, first name kept, folding noted: the sources'
   lists, each in address order (hp_sort_by_u32: they are, or nearly), merged in one pass. The
   entries of one RVA are ordered by cmp_known, the sources' order kept among equals. */
static void known_merge(image_ctx *c)
{
    size_t total = 0, pos[4] = {0, 0, 0, 0};
    for (size_t s = 0; s < 4; s++) {
        total += src_count(c, s);
        if (!(s < 3 ? hp_sort_by_u32(c->rv[s].v, c->rv[s].n, sizeof *c->rv[s].v, 0)
                    : hp_sort_by_u32(c->sym.v, c->sym.n, sizeof *c->sym.v, offsetof(known, rva)))) {
            c->f->oom = 1;
            return;
        }
    }
    if (!total)
        return;
    c->known = malloc(total * sizeof *c->known);
    if (!c->known) {
        c->f->oom = 1;
        return;
    }
    known group[16], *g = group;
    size_t gcap = sizeof group / sizeof group[0];
    /* each source's next address, 2^32 once it is used up: the entry is the least of the four */
    uint64_t head[4];
    for (size_t s = 0; s < 4; s++)
        head[s] = pos[s] < src_count(c, s) ? src_rva(c, s, pos[s]) : (uint64_t)1 << 32;
    for (;;) {
        uint64_t least = head[0] < head[1] ? head[0] : head[1];
        least = least < head[2] ? least : head[2];
        least = least < head[3] ? least : head[3];
        if (least >> 32)
            break;
        uint32_t rva = (uint32_t)least;
        /* the entry: the sources or-ed, named by a symbol (the only source with names); with at most
           one table record and one symbol (the usual case) nothing can be folded */
        size_t end[4];
        unsigned from = 0;
        const char *name = NULL;
        for (size_t s = 0; s < 3; s++) {
            size_t e = pos[s];
            if (head[s] == least) {
                const uint32_t *v = c->rv[s].v;
                size_t n = c->rv[s].n;
                while (e < n && v[e] == rva)
                    e++;
                from |= src_from[s];
                head[s] = e < n ? v[e] : (uint64_t)1 << 32;
            }
            end[s] = e;
        }
        size_t records = end[1] - pos[1], symbols = 0;
        {
            size_t e = pos[3];
            if (head[3] == least) {
                const known *v = c->sym.v;
                size_t n = c->sym.n;
                for (; e < n && v[e].rva == rva; e++) {
                    from |= v[e].from;
                    records += (v[e].from & HP_AUDIT_FROM_TABLE) != 0;
                    symbols += (v[e].from & HP_AUDIT_FROM_SYMBOL) != 0;
                    if (v[e].name && !name)
                        name = v[e].name;
                }
                head[3] = e < n ? v[e].rva : (uint64_t)1 << 32;
            }
            end[3] = e;
        }
        known merged = {rva, from, name};
        if (records > 1 || symbols > 1) {
            /* folding is possible: the group in cmp_known's order (named first, then by name), the
               sources' order kept among equals */
            size_t n = 0;
            for (size_t s = 0; s < 4; s++)
                for (size_t e = pos[s]; e < end[s]; e++) {
                    if (n == gcap) {
                        known *bigger = malloc(2 * gcap * sizeof *bigger);
                        if (!bigger) {
                            c->f->oom = 1;
                            goto out;
                        }
                        memcpy(bigger, g, n * sizeof *g);
                        if (g != group)
                            free(g);
                        g = bigger;
                        gcap *= 2;
                    }
                    known k = src_at(c, s, e);
                    size_t y = n++;
                    for (; y > 0 && cmp_known(&g[y - 1], &k) > 0; y--) /* stable insertion */
                        g[y] = g[y - 1];
                    g[y] = k;
                }
            merged.name = g[0].name;
            const char *folded = folded_message(c, g, n);
            if (folded) {
                folded_at fa = {rva, folded};
                if (!HP_VEC_PUSH(c->folded, c->folded_count, c->folded_cap, fa))
                    c->f->oom = 1;
            }
        }
        c->known[c->known_count++] = merged;
        for (size_t s = 0; s < 4; s++)
            pos[s] = end[s];
    }
out:
    if (g != group)
        free(g);
}

/* The first known entry strictly after `rva`, or 0. Callers ask in address order: the few entries
   after the last answer are tried before a binary search. */
static uint32_t known_next(image_ctx *c, uint32_t rva)
{
    size_t h = c->known_hint, lo = 0, hi = c->known_count;
    if (h < c->known_count && (h == 0 || c->known[h - 1].rva <= rva)) {
        for (size_t end = h + 8 < c->known_count ? h + 8 : c->known_count; h < end && c->known[h].rva <= rva; h++)
            ;
        if (h < c->known_count && c->known[h].rva > rva) {
            c->known_hint = h;
            return c->known[h].rva;
        }
        lo = h;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->known[mid].rva <= rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    c->known_hint = lo;
    return lo < c->known_count ? c->known[lo].rva : 0;
}

/* The .pdata entry that begins at `rva`, or NULL. Callers ask in address order (every export, then
   every entry): the few entries after the last one found are tried before a binary search. */
static const hp_pe_runtime_function *pdata_at(image_ctx *c, uint32_t rva)
{
    size_t h = c->pdata_hint, lo = 0, hi = c->pdata_count;
    if (h < c->pdata_count && c->pdata[h].begin <= rva) {
        for (size_t end = h + 8 < c->pdata_count ? h + 8 : c->pdata_count; h < end && c->pdata[h].begin < rva; h++)
            ;
        if (h < c->pdata_count && c->pdata[h].begin == rva) {
            c->pdata_hint = h;
            return &c->pdata[h];
        }
        lo = h; /* not among the next few: it is not before them either */
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->pdata[mid].begin < rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < c->pdata_count && c->pdata[lo].begin == rva) {
        c->pdata_hint = lo;
        return &c->pdata[lo];
    }
    return NULL;
}

/* The function's extent: .pdata on x64, else up to the next known entry; 0 when unknown. */
static size_t body_extent(image_ctx *c, uint32_t rva, size_t after)
{
    const hp_pe_runtime_function *rf = c->pe->machine == HP_MACHINE_X64 ? pdata_at(c, rva) : NULL;
    if (rf && rf->end > rf->begin)
        return rf->end - rf->begin < after ? rf->end - rf->begin : after;
    uint32_t next = known_next(c, rva);
    if (next)
        return next - rva < after ? next - rva : after;
    return after;
}

/* Run the site rules at `rva`. Returns 1 patchable, 0 not, -1 when the entry is not in a code section. */
static int check_rva(image_ctx *c, uint32_t rva, const char *name, int anonymous, unsigned from)
{
    hp_pe_section sec;
    const uint8_t *p;
    size_t before, after;
    if (hp_code_at(c->pe, &c->code, rva, &sec, &p, &before, &after) < 0)
        return -1;
    hpa_site_request req;
    memset(&req, 0, sizeof req);
    req.name = name;
    req.anonymous = anonymous;
    if (!c->sec_name || c->sec_va != sec.virtual_address) { /* one copy of each section's name */
        c->sec_name = hpa_strdup(&c->f->report->arena, sec.name);
        c->sec_va = sec.virtual_address;
    }
    req.section = c->sec_name;
    req.address = rva;
    req.from = from;
    static const uint8_t none[1];
    req.entry = p ? p : none;
    req.before = before;
    req.after = after;
    req.body_size = body_extent(c, rva, after);
    req.machine = c->pe->machine;
    return hpa_check_site(c->f, &req);
}

/* Every name of one export group is excluded. */
static int exports_excluded(const hp_audit_report *r, const exp_ent *e, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!hpa_report_excluded(r, e[k].name))
            return 0;
    return 1;
}

/* Did the export walk report HP2001 (folded exports) at `rva`? */
static int folded_exports_at(const hpa_file *f, uint32_t rva)
{
    for (size_t i = 0; i < f->res.finding_count; i++)
        if (f->finds[i].has_address && f->finds[i].address == rva && strcmp(f->finds[i].check_id, "HP2001") == 0)
            return 1;
    return 0;
}

/* Everything the walk allocated. */
static void image_free(image_ctx *c)
{
    free(c->exps);
    free(c->exp_at);
    free(c->ev);
    free(c->known);
    free(c->folded);
    for (size_t s = 0; s < 3; s++)
        free(c->rv[s].v);
    free(c->sym.v);
    free(c->pdata);
}

static hp_status image_fail(image_ctx *c, hp_status st, const char *detail, const char **out_detail)
{
    image_free(c);
    *out_detail = detail;
    return st;
}

hp_status hpa_image(hpa_file *f, hp_pe_span bytes, const char **detail)
{
    hp_pe pe;
    hp_status st = hp_pe_open(&pe, bytes.data, bytes.size, HP_PE_LAYOUT_FILE, 0, detail);
    f->res.machine = hp_pe_machine_name(pe.coff_machine);
    if (st != HP_OK)
        return st;
    f->res.time_date_stamp = pe.time_date_stamp;
    f->res.size_of_image = pe.size_of_image;
    f->res.checksum = pe.checksum;

    image_ctx c;
    memset(&c, 0, sizeof c);
    c.f = f;
    c.pe = &pe;
    hpa_arena *ar = &f->report->arena;

    /* exports: addresses in index order, then names attached */
    /* one entry per address of the directory (names that alias one add a few more) */
    hp_pe_export_info xi;
    if (hp_pe_export_info_get(&pe, &xi, NULL) == HP_OK &&
        (!hp_vec_reserve_total((void **)&c.exps, &c.exp_cap, xi.function_count, sizeof *c.exps) ||
         !hp_vec_reserve_total((void **)&c.exp_at, &c.exp_at_cap, xi.function_count, sizeof *c.exp_at)))
        return image_fail(&c, HP_ERR_NO_MEMORY, "out of memory", detail);
    st = hp_pe_export_addresses(&pe, on_export_address, &c, detail);
    if (st != HP_OK)
        return image_fail(&c, st, *detail, detail);
    st = hp_pe_export_names(&pe, on_export_name, &c, detail);
    if (st != HP_OK)
        return image_fail(&c, st, *detail, detail);
    for (size_t i = 0; i < c.exp_count; i++)
        if (!c.exps[i].name)
            c.exps[i].name = hpa_printf(ar, "#%u", c.exps[i].ordinal);
    if (f->oom)
        return image_fail(&c, HP_ERR_NO_MEMORY, "out of memory", detail);

    /* exports in address order; aliases (same RVA) share one verdict */
    if (c.exp_count)
        if (!hp_sort_by_u32_then(c.exps, c.exp_count, sizeof *c.exps, offsetof(exp_ent, rva), cmp_exp_rva))
            return image_fail(&c, HP_ERR_NO_MEMORY, "out of memory", detail);

    /* every entry known, for extents and --all: each source in address order, so that the sort
       below merges a few ordered runs */
    if (!hp_vec_reserve_total((void **)&c.rv[0].v, &c.rv[0].cap, c.exp_count, sizeof *c.rv[0].v))
        return image_fail(&c, HP_ERR_NO_MEMORY, "out of memory", detail);
    for (size_t i = 0; i < c.exp_count; i++)
        if (c.exps[i].kind == HP_PE_EXPORT_CODE)
            add_known(&c, c.exps[i].rva, HP_AUDIT_FROM_EXPORT, NULL);
    st = hp_pe_table_foreach(&pe, on_table, &c, &f->res.has_table, detail);
    if (st != HP_OK)
        return image_fail(&c, st, *detail, detail);
    /* the lists' lengths as the directories give them (bounded by the image): one allocation each */
    if (pe.dir_count > HP_PE_DIR_EXCEPTION && pe.dirs[HP_PE_DIR_EXCEPTION].size <= bytes.size) {
        size_t n = pe.dirs[HP_PE_DIR_EXCEPTION].size / 12;
        if (!hp_vec_reserve_total((void **)&c.pdata, &c.pdata_cap, n, sizeof *c.pdata) ||
            !hp_vec_reserve_total((void **)&c.rv[2].v, &c.rv[2].cap, n, sizeof *c.rv[2].v))
            return image_fail(&c, HP_ERR_NO_MEMORY, "out of memory", detail);
    }
    st = hp_pe_pdata_foreach(&pe, on_pdata, &c, detail);
    if (st != HP_OK)
        return image_fail(&c, st, *detail, detail);
    /* sorted by begin, as the format requires; a damaged image is sorted here rather than trusted */
    if (!hp_sort_by_u32(c.pdata, c.pdata_count, sizeof *c.pdata, offsetof(hp_pe_runtime_function, begin)))
        return image_fail(&c, HP_ERR_NO_MEMORY, "out of memory", detail);
    {
        uint32_t symptr = 0, nsyms = 0;
        if (hp_coff_image_symtab(&pe, &symptr, &nsyms)) {
            if (nsyms <= bytes.size / 18 && /* 18-byte records inside the image */
                !hp_vec_reserve_total((void **)&c.sym.v, &c.sym.cap, nsyms, sizeof *c.sym.v))
                return image_fail(&c, HP_ERR_NO_MEMORY, "out of memory", detail);
            st = hp_coff_symbols(pe.image, symptr, nsyms, on_symbol, &c, detail);
            if (st != HP_OK)
                return image_fail(&c, st, *detail, detail);
        }
    }
    if (f->oom)
        return image_fail(&c, HP_ERR_NO_MEMORY, "out of memory", detail);
    known_merge(&c);
    /* at most one function per export and per known entry: room for all of them at once (none kept
       when they are handed over) */
    if (!f->oom && !f->report->opt.on_function && !hp_vec_reserve_total((void **)&f->fns, &f->fn_cap,
                                         f->res.function_count + c.exp_count + (f->report->opt.all ? c.known_count : 0),
                                         sizeof *f->fns))
        f->oom = 1;
    if (f->oom)
        return image_fail(&c, HP_ERR_NO_MEMORY, "out of memory", detail);

    hp_audit_coverage *cov = &f->res.coverage;
    size_t kc = 0; /* the known entry at the export group's address (both in address order) */
    for (size_t i = 0; i < c.exp_count;) {
        exp_ent *e = &c.exps[i];
        size_t j = i + 1;
        while (j < c.exp_count && c.exps[j].rva == e->rva && c.exps[j].kind == e->kind)
            j++;
        if (e->kind == HP_PE_EXPORT_FORWARDER) {
            for (size_t k = i; k < j; k++) {
                cov->forwarders++;
                hpa_finding(f, "HP2002", c.exps[k].name, 0, 0, "'%s' is forwarded to %s", c.exps[k].name,
                            c.exps[k].forwarder ? c.exps[k].forwarder : "?");
            }
        } else if (e->kind == HP_PE_EXPORT_DATA) {
            for (size_t k = i; k < j; k++) {
                cov->data_exports++;
                hpa_finding(f, "HP2003", c.exps[k].name, 1, c.exps[k].rva, "'%s' is data (section not code)",
                            c.exps[k].name);
            }
        } else if (exports_excluded(f->report, c.exps + i, j - i)) {
            /* excluded by the build (exclude=): neither checked nor reported */
        } else {
            /* with --all, the record names every source of its entry (the known entries are in address
               order, as the exports are), unless the entry's own name is excluded */
            unsigned from = HP_AUDIT_FROM_EXPORT;
            if (f->report->opt.all) {
                while (kc < c.known_count && c.known[kc].rva < e->rva)
                    kc++;
                if (kc < c.known_count && c.known[kc].rva == e->rva && !hpa_report_excluded(f->report, c.known[kc].name))
                    from |= c.known[kc].from;
            }
            size_t first_fn = f->recorded;
            int ok = check_rva(&c, e->rva, e->name, 0, from);
            if (ok < 0)
                return image_fail(&c, HP_ERR_FORMAT, "export address outside every code section", detail);
            cov->exports_checked++;
            cov->exports_patchable += (uint32_t)ok;
            if (f->report->opt.all) {
                exp_verdict v = {e->rva, ok};
                if (!HP_VEC_PUSH(c.ev, c.ev_count, c.ev_cap, v))
                    f->oom = 1;
            }
            for (size_t k = i + 1; k < j && f->recorded > first_fn; k++) {
                hp_audit_function alias = f->last;
                alias.name = c.exps[k].name;
                hpa_add_function(f, &alias);
                cov->exports_checked++;
                cov->exports_patchable += (uint32_t)ok;
            }
            if (j - i > 1) {
                /* name the whole group in one finding: patching any one of them patches all */
                size_t len = 0;
                for (size_t k = i; k < j; k++)
                    len += strlen(c.exps[k].name) + 2;
                char *names = malloc(len + 1);
                if (!names)
                    return image_fail(&c, HP_ERR_NO_MEMORY, "out of memory", detail);
                names[0] = 0;
                for (size_t k = i; k < j; k++) {
                    if (k > i)
                        strcat(names, ", ");
                    strcat(names, c.exps[k].name);
                }
                hpa_finding(f, "HP2001", e->name, 1, e->rva,
                            "exports %s share the entry at 0x%x: patching one patches all", names, e->rva);
                free(names);
            }
        }
        i = j;
    }

    if (f->report->opt.all) {
        /* every known function once, exports included (their verdicts are repeated, not re-counted) */
        unsigned sources = f->report->opt.all_sources ? f->report->opt.all_sources : ~0u;
        size_t ex = 0; /* both lists are in address order: the export verdicts are met in a forward walk */
        size_t fi = 0; /* and so is the list of folded entries */
        for (size_t k = 0; k < c.known_count; k++) {
            known *kn = &c.known[k];
            while (fi < c.folded_count && c.folded[fi].rva < kn->rva)
                fi++;
            const char *folded = fi < c.folded_count && c.folded[fi].rva == kn->rva ? c.folded[fi].message : NULL;
            if (!(kn->from & (sources | HP_AUDIT_FROM_EXPORT)) || hpa_report_excluded(f->report, kn->name))
                continue;
            if (folded && !(kn->from & HP_AUDIT_FROM_EXPORT && folded_exports_at(f, kn->rva)))
                hpa_finding(f, "HP2007", kn->name ? kn->name : hpa_printf(ar, "sub_%x", kn->rva), 1, kn->rva, "%s",
                            folded);
            if (kn->from & HP_AUDIT_FROM_EXPORT) {
                /* checked with the exports (their records name this entry's sources already) */
                while (ex < c.ev_count && c.ev[ex].rva < kn->rva)
                    ex++;
                int ok = ex < c.ev_count && c.ev[ex].rva == kn->rva ? c.ev[ex].ok : 0;
                cov->all_checked++;
                cov->all_patchable += (uint32_t)ok;
                continue;
            }
            const char *name = kn->name ? kn->name : hpa_printf(ar, "sub_%x", kn->rva);
            if (!name)
                return image_fail(&c, HP_ERR_NO_MEMORY, "out of memory", detail);
            int ok = check_rva(&c, kn->rva, name, kn->name == NULL, kn->from);
            if (ok < 0) {
                if (kn->from & HP_AUDIT_FROM_TABLE)
                    hpa_finding(f, "HP2006", name, 1, kn->rva, "table record 0x%x is outside every code section",
                                kn->rva);
                continue;
            }
            cov->all_checked++;
            cov->all_patchable += (uint32_t)ok;
        }
    }
    image_free(&c);
    return f->oom ? HP_ERR_NO_MEMORY : HP_OK;
}
