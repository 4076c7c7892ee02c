/*
 * post.c — the post-link pass over the output image (hp_link_post.h).
 *
 * The table is read from its bytes with hp_table_iter_next()
 * (hotpatch_table.h): every record form, runs and blocks included.
 */
#include "hp_link_post.h"
#include "hp_link_fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotpatch.h"
#include "hotpatch_pe.h"
#include "hp_audit.h"

#define HASH_LEN 16u

/* ------------------------------------------------------------------------- */
/* Small helpers                                                              */
/* ------------------------------------------------------------------------- */

uint64_t hp_link_fnv1a64(const uint8_t *data, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a offset basis */
    for (size_t i = 0; i < len; i++) {
        h ^= data[i];
        h *= 0x100000001b3ull; /* FNV prime */
    }
    return h;
}

uint32_t hp_link_pe_checksum(const uint8_t *data, size_t size, size_t checksum_offset)
{
    uint64_t sum = 0;
    size_t even = size & ~(size_t)1;
    /* a 64-bit accumulator cannot overflow on 16-bit words below 2^48 bytes: fold once at the end */
    for (size_t i = 0; i < even; i += 2)
        sum += (uint32_t)data[i] | ((uint32_t)data[i + 1] << 8);
    if (size & 1)
        sum += data[size - 1]; /* an odd last byte counts as a word with a zero high byte */
    /* the CheckSum field itself counts as zero */
    for (size_t i = checksum_offset & ~(size_t)1; i < checksum_offset + 4 && i + 1 < size; i += 2)
        if (i >= checksum_offset)
            sum -= (uint32_t)data[i] | ((uint32_t)data[i + 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint32_t)sum + (uint32_t)size;
}

static int write_file(const char *path, const unsigned char *data, size_t size)
{
    /* rewrite in place: keeps the mode, owner and links of what lld created */
    FILE *f = fopen(path, "r+b");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------------------- */
/* The result and its strings                                                 */
/* ------------------------------------------------------------------------- */

typedef struct post_impl {
    hp_link_post pub; /* first */
    char **strs;      /* every string the result owns */
    size_t nstrs, capstrs;
    size_t capfns, capviol;
    int oom;
} post_impl;

static const char *keep_str(post_impl *p, char *s)
{
    if (!s) {
        p->oom = 1;
        return NULL;
    }
    if (p->nstrs == p->capstrs) {
        size_t cap = p->capstrs ? p->capstrs * 2 : 64;
        char **v = realloc(p->strs, cap * sizeof *v);
        if (!v) {
            free(s);
            p->oom = 1;
            return NULL;
        }
        p->strs = v;
        p->capstrs = cap;
    }
    p->strs[p->nstrs++] = s;
    return s;
}

static const char *dup_str(post_impl *p, const char *s, size_t len)
{
    char *c = malloc(len + 1);
    if (c) {
        memcpy(c, s, len);
        c[len] = 0;
    }
    return keep_str(p, c);
}

static const char *fmt_str(post_impl *p, const char *fmt, const char *a, const char *b, uint32_t x)
{
    int n = snprintf(NULL, 0, fmt, a, b, x);
    char *c = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (c)
        snprintf(c, (size_t)n + 1, fmt, a, b, x);
    return keep_str(p, c);
}

static void add_violation(post_impl *p, const char *fn, uint32_t rva, const char *reason, const char *message)
{
    hp_link_post *r = &p->pub;
    if (r->violation_count == p->capviol) {
        size_t cap = p->capviol ? p->capviol * 2 : 16;
        hp_link_violation *v = realloc(r->violations, cap * sizeof *v);
        if (!v) {
            p->oom = 1;
            return;
        }
        r->violations = v;
        p->capviol = cap;
    }
    hp_link_violation *v = &r->violations[r->violation_count++];
    v->function = fn;
    v->rva = rva;
    v->reason = reason;
    v->message = message;
    v->object = NULL;
}

void hp_link_post_destroy(hp_link_post *post)
{
    if (!post)
        return;
    post_impl *p = (post_impl *)post;
    for (size_t i = 0; i < p->nstrs; i++)
        free(p->strs[i]);
    free(p->strs);
    free(post->fns);
    free(post->violations);
    free(p);
}

hp_link_status hp_link_post_set_object(hp_link_post *post, size_t index, const char *object)
{
    if (!post || !object || index >= post->violation_count)
        return HP_LINK_ERR_ARGUMENT;
    post_impl *p = (post_impl *)post;
    const char *c = dup_str(p, object, strlen(object));
    if (!c)
        return HP_LINK_ERR_NO_MEMORY;
    post->violations[index].object = c;
    return HP_LINK_OK;
}

/* ------------------------------------------------------------------------- */
/* Names: exports and the COFF symbol table MinGW images keep                 */
/* ------------------------------------------------------------------------- */

typedef struct named {
    uint32_t rva;
    const char *name;
    int exported;
    const hp_site *site; /* exports: the audit's verdict (same rules, same bytes), not analysed twice */
} named;

typedef struct names {
    named *v;
    size_t n, cap;
} names;

static int names_add(names *ns, uint32_t rva, const char *name, int exported, const hp_site *site)
{
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 64;
        named *v = realloc(ns->v, cap * sizeof *v);
        if (!v)
            return -1;
        ns->v = v;
        ns->cap = cap;
    }
    ns->v[ns->n].rva = rva;
    ns->v[ns->n].name = name;
    ns->v[ns->n].exported = exported;
    ns->v[ns->n].site = site;
    ns->n++;
    return 0;
}

static int cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    if (x->rva != y->rva)
        return x->rva < y->rva ? -1 : 1;
    if (x->exported != y->exported)
        return y->exported - x->exported; /* export names first */
    return strcmp(x->name, y->name);
}

/* First name at `rva` (exports first), or NULL; *out_distinct receives how many distinct names share it. */
static const named *names_at(const names *ns, uint32_t rva, size_t *out_count)
{
    size_t lo = 0, hi = ns->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ns->v[mid].rva < rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t k = lo;
    while (k < ns->n && ns->v[k].rva == rva)
        k++;
    *out_count = k - lo;
    return k > lo ? &ns->v[lo] : NULL;
}

/* IMAGE_SYM_CLASS_EXTERNAL / STATIC, IMAGE_SYM_DTYPE_FUNCTION << 4 */
#define SYM_CLASS_EXTERNAL 2u
#define SYM_CLASS_STATIC 3u
#define SYM_TYPE_FUNCTION 0x20u

static void collect_symbols(post_impl *p, const hp_pe *pe, names *ns)
{
    uint32_t symptr = 0, nsyms = 0;
    hp_pe_span_u32(pe->image, (uint64_t)pe->nt_offset + 4 + 8, &symptr);
    hp_pe_span_u32(pe->image, (uint64_t)pe->nt_offset + 4 + 12, &nsyms);
    if (!symptr || !nsyms)
        return;
    hp_pe_span syms;
    if (!hp_pe_span_sub(pe->image, symptr, (uint64_t)nsyms * 18u, &syms))
        return;
    hp_pe_span strtab = {0};
    uint32_t strsize = 0;
    if (hp_pe_span_u32(pe->image, (uint64_t)symptr + (uint64_t)nsyms * 18u, &strsize) && strsize >= 4)
        hp_pe_span_sub(pe->image, (uint64_t)symptr + (uint64_t)nsyms * 18u, strsize, &strtab);
    for (uint32_t i = 0; i < nsyms; i++) {
        const uint8_t *s = syms.data + (size_t)i * 18u;
        uint32_t value = (uint32_t)s[8] | ((uint32_t)s[9] << 8) | ((uint32_t)s[10] << 16) | ((uint32_t)s[11] << 24);
        int16_t secno = (int16_t)(s[12] | (s[13] << 8));
        uint16_t type = (uint16_t)(s[14] | (s[15] << 8));
        uint8_t cls = s[16], aux = s[17];
        /* functions only (type 0x20): section symbols and labels are not names of functions */
        if (secno > 0 && (cls == SYM_CLASS_EXTERNAL || cls == SYM_CLASS_STATIC) && (type & 0xF0u) == SYM_TYPE_FUNCTION) {
            hp_pe_section sec;
            if (hp_pe_section_at(pe, (uint32_t)secno - 1, &sec) == HP_OK && hp_pe_section_is_code(&sec)) {
                const char *name = NULL;
                if (s[0] | s[1] | s[2] | s[3]) {
                    size_t len = 0;
                    while (len < 8 && s[len])
                        len++;
                    name = dup_str(p, (const char *)s, len);
                } else {
                    uint32_t off = (uint32_t)s[4] | ((uint32_t)s[5] << 8) | ((uint32_t)s[6] << 16) |
                                   ((uint32_t)s[7] << 24);
                    size_t len;
                    if (strtab.data && hp_pe_span_strlen(strtab, off, &len))
                        name = dup_str(p, (const char *)strtab.data + off, len);
                }
                if (name && names_add(ns, sec.virtual_address + value, name, 0, NULL))
                    p->oom = 1;
            }
        }
        i += aux;
    }
}

/* ------------------------------------------------------------------------- */
/* The table                                                                  */
/* ------------------------------------------------------------------------- */

typedef struct trec {
    uint32_t entry; /* RVA of the entry */
    uint32_t pad;   /* padding the plugin placed */
} trec;

static int cmp_trec(const void *a, const void *b)
{
    const trec *x = a, *y = b;
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* Read the records of .hotp; NULL with *count 0 when there is none. */
static trec *read_table(const hp_pe *pe, size_t *count, int *present, int *oom)
{
    *count = 0;
    *present = 0;
    for (uint32_t i = 0; i < pe->section_count; i++) {
        hp_pe_section s;
        if (hp_pe_section_at(pe, i, &s) != HP_OK || strcmp(s.name, HP_TABLE_COFF_SECTION) != 0)
            continue;
        *present = 1;
        const uint8_t *ptr;
        size_t after;
        if (hp_pe_rva_bytes(pe, s.virtual_address, &ptr, NULL, &after, NULL) != HP_OK)
            return NULL;
        uint32_t size = s.virtual_size ? s.virtual_size : s.raw_size;
        if (after < size)
            size = (uint32_t)after;
        /* at most one entry per 4 bytes (blocks) */
        size_t n = size / 4;
        trec *v = malloc((n ? n : 1) * sizeof *v);
        if (!v) {
            *oom = 1;
            return NULL;
        }
        size_t k = 0;
        hp_table_iter it;
        hp_table_entry e;
        int got;
        hp_table_iter_init(&it, ptr, size, s.virtual_address);
        while ((got = hp_table_iter_next(&it, &e)) != 0) {
            if (got < 0 || k == n)
                continue; /* a damaged record: the audit reports it */
            v[k].entry = e.rva;
            v[k].pad = e.pad;
            k++;
        }
        *count = k;
        return v;
    }
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* Exports, through the audit library                                         */
/* ------------------------------------------------------------------------- */

typedef struct audit_ctx {
    post_impl *p;
    names *ns;
} audit_ctx;

static hp_status audit_exports(post_impl *p, const char *path, const uint8_t *buf, size_t size, uint32_t pad,
                               names *ns, hp_audit_report **out_rep, const char **detail)
{
    hp_audit_options ao;
    memset(&ao, 0, sizeof ao);
    ao.pad = pad;
    hp_audit_report *rep = NULL;
    hp_status st = hp_audit_report_create(&ao, &rep);
    if (st != HP_OK)
        return st;
    st = hp_audit_buffer(rep, path, buf, size);
    if (st == HP_OK)
        st = hp_audit_report_finish(rep);
    size_t nf = 0;
    const hp_audit_file_result *fr = hp_audit_report_files(rep, &nf);
    if (st != HP_OK || nf != 1) {
        *detail = nf == 1 && fr[0].error ? dup_str(p, fr[0].error, strlen(fr[0].error)) : "cannot audit the image";
        hp_audit_report_destroy(rep);
        return st != HP_OK ? st : HP_ERR_FORMAT;
    }
    for (size_t i = 0; i < fr->function_count; i++) {
        const hp_audit_function *f = &fr->functions[i];
        const char *name = dup_str(p, f->name, strlen(f->name));
        if (name && names_add(ns, f->address, name, 1, &f->site))
            p->oom = 1;
    }
    for (size_t i = 0; i < fr->finding_count; i++) {
        const hp_audit_finding *fd = &fr->findings[i];
        if (strcmp(fd->check_id, "HP2001") == 0 && fd->function) {
            add_violation(p, dup_str(p, fd->function, strlen(fd->function)), fd->address, "folded",
                          dup_str(p, fd->message, strlen(fd->message)));
        }
    }
    *out_rep = rep; /* the sites above point into it */
    return HP_OK;
}

/* ------------------------------------------------------------------------- */
/* The pass                                                                   */
/* ------------------------------------------------------------------------- */

static int cmp_violation(const void *a, const void *b)
{
    const hp_link_violation *x = a, *y = b;
    if (x->rva != y->rva)
        return x->rva < y->rva ? -1 : 1;
    return strcmp(x->reason, y->reason);
}

static hp_link_fn *add_fn(post_impl *p)
{
    hp_link_post *r = &p->pub;
    if (r->fn_count == p->capfns) {
        size_t cap = p->capfns ? p->capfns * 2 : 64;
        hp_link_fn *v = realloc(r->fns, cap * sizeof *v);
        if (!v) {
            p->oom = 1;
            return NULL;
        }
        r->fns = v;
        p->capfns = cap;
    }
    hp_link_fn *f = &r->fns[r->fn_count++];
    memset(f, 0, sizeof *f);
    return f;
}

/* Check one entry; adds it to the result and a violation when it fails. */
static void check_entry(post_impl *p, const hp_pe *pe, uint32_t rva, unsigned from, const char *name, uint32_t pad,
                        const hp_site *known)
{
    const char *label = name ? name : fmt_str(p, "sub_%s%s%x", "", "", rva);
    hp_pe_section sec;
    if (hp_pe_section_of_rva(pe, rva, &sec, NULL) != HP_OK || !hp_pe_section_is_code(&sec)) {
        add_violation(p, label, rva, "table-entry-not-code",
                      fmt_str(p, "%s%stable record points at 0x%x, outside every code section", "", "", rva));
        return;
    }
    const uint8_t *ptr;
    size_t before = 0, after = 0;
    if (hp_pe_rva_bytes(pe, rva, &ptr, &before, &after, NULL) != HP_OK) {
        static const uint8_t none[1];
        ptr = none;
        before = after = 0;
    }
    size_t extent = 0;
    hp_pe_runtime_function rf;
    if (pe->machine == HP_MACHINE_X64 && hp_pe_pdata_find(pe, rva, &rf, NULL) == HP_OK && rf.end > rva &&
        rf.end - rva <= after)
        extent = rf.end - rva;
    hp_site_input in;
    memset(&in, 0, sizeof in);
    in.entry = ptr;
    in.before = before;
    in.after = after;
    in.address = rva;
    in.machine = pe->machine;
    in.pad = pad;
    in.body_size = extent;
    hp_site site;
    hp_site_reason why;
    if (known) {
        site = *known;
        why = site.reason;
    } else {
        why = hp_site_analyze(&in, &site);
    }
    hp_link_fn *f = add_fn(p);
    if (!f)
        return;
    f->name = name;
    f->rva = rva;
    f->from = from;
    f->patchable = why == HP_SITE_OK;
    f->reason = hp_site_reason_str(why);
    f->padding = site.pad_found;
    f->site_offset = site.site_offset;
    f->entry_bytes[0] = site.entry_bytes[0];
    f->entry_bytes[1] = site.entry_bytes[1];
    size_t hl = after < HASH_LEN ? after : HASH_LEN;
    if (extent && extent < hl)
        hl = extent;
    f->hash_len = (uint32_t)hl;
    f->hash = hp_link_fnv1a64(ptr, hl);
    if (why != HP_SITE_OK)
        add_violation(p, label, rva, hp_site_reason_str(why), hp_site_reason_text(why));
}

/* Rewrite the plugin's padding before each table entry (CC 90 90 .., or all 0x90 from older
   plugins) to 0xCC throughout; returns the bytes changed. */
static uint32_t fill(const hp_pe *pe, uint8_t *buf, const trec *t, size_t n)
{
    uint32_t count = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *ptr;
        size_t before = 0;
        uint32_t pad = t[i].pad;
        if (!pad || hp_pe_rva_bytes(pe, t[i].entry, &ptr, &before, NULL, NULL) != HP_OK || before < pad)
            continue;
        size_t off = (size_t)(ptr - buf);
        size_t k, nops = 0;
        for (k = off - pad; k < off && (buf[k] == 0x90 || buf[k] == 0xCC); k++)
            nops += buf[k] == 0x90;
        if (k != off)
            continue; /* not (only) the plugin's one-byte filler: leave it */
        memset(buf + off - pad, 0xCC, pad); /* CC = int3: stray execution traps */
        count += (uint32_t)nops;
    }
    return count;
}

hp_link_status hp_link_post_run(const char *path, const hp_link_post_options *options, hp_link_post **out,
                                char *msg, size_t msg_size)
{
    if (!path || !out)
        return HP_LINK_ERR_ARGUMENT;
    *out = NULL;
    hp_link_post_options opt;
    memset(&opt, 0, sizeof opt);
    if (options)
        opt = *options;
    size_t size = 0;
    uint8_t *buf = hp_link_read_file(path, &size);
    if (!buf) {
        if (msg && msg_size)
            snprintf(msg, msg_size, "cannot read the output image '%s'", path);
        return HP_LINK_ERR_IO;
    }
    post_impl *p = calloc(1, sizeof *p);
    if (!p) {
        free(buf);
        return HP_LINK_ERR_NO_MEMORY;
    }
    hp_link_post *r = &p->pub;
    hp_link_status ret = HP_LINK_OK;
    names ns = {0};
    trec *tab = NULL;
    hp_audit_report *rep = NULL;
    const char *detail = NULL;
    hp_pe pe;
    hp_status st = hp_pe_open(&pe, buf, size, HP_PE_LAYOUT_FILE, 0, &detail);
    if (st != HP_OK) {
        if (msg && msg_size)
            snprintf(msg, msg_size, "'%s' is not an x86/x64 PE image: %s", path, detail ? detail : "?");
        ret = HP_LINK_ERR_FORMAT;
        goto out;
    }
    r->machine = hp_pe_machine_name(pe.coff_machine);
    r->time_date_stamp = pe.time_date_stamp;
    r->size_of_image = pe.size_of_image;
    hp_pe_codeview cv;
    if (hp_pe_codeview_get(&pe, &cv, NULL) == HP_OK && cv.present) {
        r->has_codeview = 1;
        memcpy(r->codeview_guid, cv.guid, 16);
        r->codeview_age = cv.age;
    }

    /* 1. fill, then the checksum over the final bytes */
    size_t ntab = 0;
    int oom = 0;
    tab = read_table(&pe, &ntab, &r->has_table, &oom);
    if (oom) {
        ret = HP_LINK_ERR_NO_MEMORY;
        goto out;
    }
    if (!opt.no_fill) {
        r->filled = fill(&pe, buf, tab, ntab);
        size_t csum_off = (size_t)pe.nt_offset + 4 + 20 + 64; /* OptionalHeader.CheckSum: same offset in PE32 and PE32+ */
        uint32_t sum = hp_link_pe_checksum(buf, size, csum_off);
        if (r->filled || sum != pe.checksum) {
            buf[csum_off] = (uint8_t)sum;
            buf[csum_off + 1] = (uint8_t)(sum >> 8);
            buf[csum_off + 2] = (uint8_t)(sum >> 16);
            buf[csum_off + 3] = (uint8_t)(sum >> 24);
            if (write_file(path, buf, size)) {
                if (msg && msg_size)
                    snprintf(msg, msg_size, "cannot write the output image '%s'", path);
                ret = HP_LINK_ERR_IO;
                goto out;
            }
            r->rewritten = 1;
        }
        r->checksum = sum;
    } else {
        r->checksum = pe.checksum;
    }

    /* 2. exports through the audit (verdicts, folded exports), names from the symbol table */
    st = audit_exports(p, path, buf, size, opt.pad, &ns, &rep, &detail);
    if (st != HP_OK) {
        if (msg && msg_size)
            snprintf(msg, msg_size, "cannot audit '%s': %s", path, detail ? detail : hp_status_str(st));
        ret = st == HP_ERR_NO_MEMORY ? HP_LINK_ERR_NO_MEMORY : HP_LINK_ERR_FORMAT;
        goto out;
    }
    size_t n_exported = ns.n;
    collect_symbols(p, &pe, &ns);
    if (ns.n)
        qsort(ns.v, ns.n, sizeof *ns.v, cmp_named);

    /* 3. every table entry and every export, once, in RVA order */
    if (ntab)
        qsort(tab, ntab, sizeof *tab, cmp_trec);
    uint32_t *exp_rvas = malloc((n_exported ? n_exported : 1) * sizeof *exp_rvas);
    if (!exp_rvas) {
        ret = HP_LINK_ERR_NO_MEMORY;
        goto out;
    }
    size_t nexp = 0;
    for (size_t i = 0; i < ns.n; i++)
        if (ns.v[i].exported && (nexp == 0 || exp_rvas[nexp - 1] != ns.v[i].rva))
            exp_rvas[nexp++] = ns.v[i].rva;
    size_t ti = 0, ei = 0;
    while (ti < ntab || ei < nexp) {
        uint32_t rva;
        unsigned from = 0;
        if (ei >= nexp || (ti < ntab && tab[ti].entry <= exp_rvas[ei]))
            rva = tab[ti].entry;
        else
            rva = exp_rvas[ei];
        size_t same = 0;
        while (ti < ntab && tab[ti].entry == rva) {
            from |= HP_LINK_FROM_TABLE;
            ti++;
            same++;
        }
        while (ei < nexp && exp_rvas[ei] == rva) {
            from |= HP_LINK_FROM_EXPORT;
            ei++;
        }
        size_t nnames = 0;
        const named *nm = names_at(&ns, rva, &nnames);
        const hp_site *known = NULL;
        for (size_t k = 0; k < nnames; k++)
            if (nm[k].site)
                known = nm[k].site;
        check_entry(p, &pe, rva, from, nm ? nm->name : NULL, opt.pad, known);
        /* aliasing: two table records, or several function symbols, at one patchable entry (folded code).
           Several export names are reported by the audit (HP2001) already. */
        size_t distinct_syms = 0;
        for (size_t k = 0; k < nnames; k++)
            if (!nm[k].exported && (k == 0 || strcmp(nm[k].name, nm[k - 1].name) != 0))
                distinct_syms++;
        int reported = 0;
        for (size_t k = 0; k < r->violation_count; k++)
            if (r->violations[k].rva == rva && strcmp(r->violations[k].reason, "folded") == 0)
                reported = 1;
        if (!reported && (from & HP_LINK_FROM_TABLE) && (same > 1 || distinct_syms > 1)) {
            size_t len = 0;
            for (size_t k = 0; k < nnames; k++)
                len += strlen(nm[k].name) + 2;
            char *all = malloc(len + 1);
            if (all) {
                all[0] = 0;
                for (size_t k = 0; k < nnames; k++) {
                    if (k && strcmp(nm[k].name, nm[k - 1].name) == 0)
                        continue;
                    if (all[0])
                        strcat(all, ", ");
                    strcat(all, nm[k].name);
                }
            }
            const char *label = nm ? nm->name : fmt_str(p, "sub_%s%s%x", "", "", rva);
            const char *m = nnames > 1 ? fmt_str(p, "patchable functions %s%s share the entry at 0x%x: patching one "
                                                    "patches all (identical-code folding)",
                                                 all ? all : "?", "", rva)
                                       : fmt_str(p, "%s%s%u table records share this entry: patchable functions were "
                                                    "folded into one",
                                                 "", "", (uint32_t)same);
            free(all);
            add_violation(p, label, rva, "folded", m);
        }
    }
    free(exp_rvas);
    if (r->violation_count)
        qsort(r->violations, r->violation_count, sizeof *r->violations, cmp_violation);
    if (p->oom)
        ret = HP_LINK_ERR_NO_MEMORY;

out:
    hp_audit_report_destroy(rep);
    free(ns.v);
    free(tab);
    free(buf);
    if (ret != HP_LINK_OK) {
        hp_link_post_destroy(r);
        return ret;
    }
    *out = r;
    return HP_LINK_OK;
}
