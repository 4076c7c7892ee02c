/*
 * test_corpus.c — suite corpus: the promise "what the audit passes, the runtime patches" (issue 16,
 * "The invariant, tested on a real corpus") checked on binaries nobody here wrote: every PE image
 * Debian's installed libwine ships for x64 (`dpkg -L libwine`, found at test time) and a fixed
 * sample of libwine:i386 (fetched and cached in the build tree by wine_i386.cmake, the ctest
 * fixture audit_corpus_i386_fetch).
 *
 * For every function the audit passes (patchable, and no error finding at its address) — in a
 * default run (exports) and in an --all run (table, .pdata, symbols) — two other verdicts on the
 * same bytes must agree (the live rules also see the sites the gate fails only for folding):
 *   - the runtime's: hp_site_analyze() with the input hp_probe() builds (runtime/src/engine.c,
 *     view_locked/analyze_view: READ_BEFORE bytes before, READ_AFTER after, capped at a page that
 *     is not readable, pad 0, no body), over the image laid out as the loader maps it, then
 *     hp_site_verdict(HP_SITE_CONTEXT_LIVE);
 *   - hotpatch-link's: hp_link_post_run() with no_fill (on a copy in the build tree): no violation
 *     at the function's RVA, and the function patchable in its list. The pass checks exports and
 *     table entries only: functions known from .pdata or symbols alone are outside its scope and
 *     counted apart.
 * Expected values: none from the code under test; the only expectation is agreement. The figures
 * (images, functions, verdicts per reason, patchable share) are printed for audit/README.md.
 */
#define _POSIX_C_SOURCE 200809L /* popen, lstat, strdup */

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hotpatch.h"
#include "hotpatch_pe.h"
#include "hp_audit.h"
#include "hp_link_post.h"
#include "hpa_test.h"

/* hp_probe's window: READ_BEFORE and READ_AFTER of runtime/src/engine.c (private there). */
#define LIVE_BEFORE HP_MAX_PAD
#define LIVE_AFTER 32u
/* The page of the loader's protections (x86 and x64 Windows). */
#define PAGE 4096u
#define PAGE_OF(rva) ((rva) & ~(uint64_t)(PAGE - 1))
/* IMAGE_SCN_MEM_READ; hotpatch_pe.h names only the code bits. */
#define SCN_MEM_READ 0x40000000u
#define PROT_R 1u
#define PROT_X 2u
/* Disagreements printed in full; the count is always given. */
#define SHOW_MAX 40u

/* ------------------------------------------------------------------------- */
/* The corpus                                                                 */
/* ------------------------------------------------------------------------- */

typedef struct paths {
    char **v;
    size_t n, cap;
} paths;

static void paths_add(paths *p, const char *s)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 256;
        p->v = realloc(p->v, p->cap * sizeof *p->v);
        cr_assert_not_null(p->v);
    }
    p->v[p->n] = strdup(s);
    cr_assert_not_null(p->v[p->n]);
    p->n++;
}

static void paths_free(paths *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A regular file (not a link) that starts with "MZ". */
static int is_mz(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 64)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char m[2] = {0, 0};
    size_t got = fread(m, 1, 2, f);
    fclose(f);
    return got == 2 && m[0] == 'M' && m[1] == 'Z';
}

/* The first line `cmd` prints (no newline), or "" (static buffer). */
static const char *first_line(const char *cmd)
{
    static char line[256];
    line[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p)
        return line;
    if (!fgets(line, sizeof line, p))
        line[0] = 0;
    pclose(p);
    line[strcspn(line, "\n")] = 0;
    return line;
}

/* Every PE image of the installed libwine (x64): `dpkg -L libwine`, filtered by the MZ header. */
static void x64_images(paths *out)
{
    FILE *p = popen("dpkg -L libwine 2>/dev/null", "r");
    cr_assert_not_null(p, "cannot run dpkg -L libwine");
    char line[4096];
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        if (is_mz(line))
            paths_add(out, line);
    }
    int st = pclose(p);
    cr_assert_eq(st, 0, "dpkg -L libwine failed (status %d): libwine comes with wine64, which "
                        "scripts/setup-deps installs", st);
    qsort(out->v, out->n, sizeof *out->v, cmp_str);
}

/* The cached i386 sample (every MZ file of the directory wine_i386.cmake fills). */
static void i386_images(paths *out)
{
    DIR *d = opendir(HPA_WINE_I386_DIR "/sample");
    cr_assert_not_null(d, "%s/sample is missing: the ctest fixture audit_corpus_i386_fetch fetches it "
                          "(ctest -R test_audit_corpus, or `ninja audit_corpus_fetch`)", HPA_WINE_I386_DIR);
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "%s/sample/%s", HPA_WINE_I386_DIR, e->d_name);
        if (is_mz(path))
            paths_add(out, path);
    }
    closedir(d);
    qsort(out->v, out->n, sizeof *out->v, cmp_str);
}

/* ------------------------------------------------------------------------- */
/* The image as the loader maps it                                            */
/* ------------------------------------------------------------------------- */

typedef struct image {
    const char *path;
    const uint8_t *file;
    size_t size;
    hp_pe pe;
    hp_pe_section *sections; /* the section table, read once */
    uint32_t section_count;
} image;

static uint32_t align_up(uint32_t v, uint32_t a)
{
    return a ? (uint32_t)(((uint64_t)v + a - 1) / a * a) : v;
}

/* Bytes a section occupies once loaded: its virtual size (raw size when that is 0), aligned. */
static uint32_t loaded_span(const image *im, const hp_pe_section *s)
{
    return align_up(s->virtual_size ? s->virtual_size : s->raw_size, im->pe.section_alignment);
}

/* Protections of the page holding `rva` once loaded (PROT_*; 0 outside the image). With a section
   alignment below the page size the whole image is one mapping of one protection. */
static unsigned page_prot(const image *im, uint64_t rva)
{
    const hp_pe *pe = &im->pe;
    if (rva >= pe->size_of_image)
        return 0;
    if (pe->section_alignment < PAGE)
        return PROT_R | PROT_X;
    for (uint32_t i = 0; i < im->section_count; i++) {
        const hp_pe_section *s = &im->sections[i];
        if (rva >= s->virtual_address && rva - s->virtual_address < loaded_span(im, s))
            return ((s->characteristics & SCN_MEM_READ) ? PROT_R : 0u) |
                   ((s->characteristics & HP_PE_SCN_MEM_EXECUTE) ? PROT_X : 0u);
    }
    return rva < align_up(pe->size_of_headers, pe->section_alignment) ? PROT_R : 0u; /* the headers */
}

/* Copy the file bytes [from, from + len) of the file to `out` at RVA `at` - `lo`, clipped to [lo, hi). */
static void map_range(const image *im, uint64_t at, uint64_t from, uint64_t len, uint64_t lo, uint64_t hi,
                      uint8_t *out)
{
    if (from > im->size)
        return;
    if (len > im->size - from)
        len = im->size - from;
    uint64_t b = at > lo ? at : lo, e = at + len < hi ? at + len : hi;
    if (b < e)
        memcpy(out + (b - lo), im->file + from + (b - at), (size_t)(e - b));
}

/* The loaded bytes [lo, hi) (RVAs): the headers, each section's raw data up to its loaded span, zero
   elsewhere (the loader maps the image at its preferred base here: no relocation is applied). */
static void map_bytes(const image *im, uint64_t lo, uint64_t hi, uint8_t *out)
{
    memset(out, 0, (size_t)(hi - lo));
    map_range(im, 0, 0, im->pe.size_of_headers, lo, hi, out);
    for (uint32_t i = 0; i < im->section_count; i++) {
        const hp_pe_section *s = &im->sections[i];
        uint32_t span = loaded_span(im, s);
        map_range(im, s->virtual_address, s->raw_offset, s->raw_size < span ? s->raw_size : span, lo, hi, out);
    }
}

/*
 * The runtime's verdict on the entry at `rva`, as hp_probe() reaches it in a process that loaded
 * the image (engine.c: view_locked, analyze_view, judge_apply_locked without a record of its own).
 * `win` receives the bytes [rva - LIVE_BEFORE, rva + LIVE_AFTER) (unreadable ones as 0).
 */
static hp_status live_verdict(const image *im, uint32_t rva, hp_site *site, uint8_t win[LIVE_BEFORE + LIVE_AFTER])
{
    memset(site, 0, sizeof *site);
    memset(win, 0, LIVE_BEFORE + LIVE_AFTER);
    unsigned prot = page_prot(im, rva);
    if (!(prot & PROT_R) || !(prot & PROT_X))
        return HP_ERR_ARGUMENT; /* not code: hp_probe refuses the address */
    size_t before = LIVE_BEFORE, after = LIVE_AFTER;
    uint64_t first = (uint64_t)rva - LIVE_BEFORE, last = (uint64_t)rva + LIVE_AFTER - 1;
    if (rva < LIVE_BEFORE || (PAGE_OF(first) != PAGE_OF(rva) && !(page_prot(im, first) & PROT_R)))
        before = rva - PAGE_OF(rva);
    if (PAGE_OF(last) != PAGE_OF(rva) && !(page_prot(im, last) & PROT_R))
        after = PAGE_OF(rva) + PAGE - rva;
    map_bytes(im, (uint64_t)rva - before, (uint64_t)rva + after, win + LIVE_BEFORE - before);
    hp_site_input in;
    memset(&in, 0, sizeof in);
    in.entry = win + LIVE_BEFORE;
    in.before = before;
    in.after = after;
    in.address = im->pe.image_base + rva;
    in.machine = im->pe.machine;
    in.pad = 0;
    in.body_size = 0;
    hp_site_analyze(&in, site);
    return hp_site_verdict(HP_SITE_CONTEXT_LIVE, site->reason);
}

/* ------------------------------------------------------------------------- */
/* Figures and disagreements                                                  */
/* ------------------------------------------------------------------------- */

#define REASONS (HP_SITE_BAD_MACHINE + 1)

typedef struct figures {
    const char *arch;
    size_t images;
    size_t exports_checked, exports_patchable; /* default run */
    size_t checked, patchable;                 /* --all run */
    size_t reasons[REASONS];                   /* --all run, by the site's reason */
    size_t passed;                             /* --all run: patchable, no error finding at the address */
    size_t nop_padded;                         /* --all run: passed on multi-byte NOP padding */
    size_t live_checked;                       /* both runs: every patchable site */
    size_t link_checked, link_outside;         /* both runs: passed, in hotpatch-link's scope or not */
    size_t disagreements;
    char first[1024];                          /* the first disagreement, for the assertion */
} figures;

/* Record that `who` does not pass what `run` passed: image, function, RVA, both verdicts, the bytes. */
static void disagree(figures *fg, const image *im, const char *run, const hp_audit_function *fn, const char *who,
                     const char *says, const uint8_t win[LIVE_BEFORE + LIVE_AFTER])
{
    char bytes[3 * 24 + 8];
    size_t k = 0;
    for (size_t i = LIVE_BEFORE - 16; i < LIVE_BEFORE + 8; i++) /* 16 bytes before the entry, '|', 8 from it */
        k += (size_t)snprintf(bytes + k, sizeof bytes - k, i == LIVE_BEFORE ? "| %02x " : "%02x ", win[i]);
    char line[1024];
    snprintf(line, sizeof line, "%s %s: %s at RVA 0x%x: %s says patchable (%s), %s says %s [bytes -16..+8: %s]",
             fg->arch, im->path, fn->name, fn->address, run, hp_site_reason_str(fn->site.reason), who, says, bytes);
    if (fg->disagreements < SHOW_MAX)
        fprintf(stderr, "DISAGREEMENT %s\n", line);
    if (!fg->disagreements)
        snprintf(fg->first, sizeof fg->first, "%s", line);
    fg->disagreements++;
}

/* A violation of the link at `rva`, or NULL (violations are in RVA order). */
static const hp_link_violation *link_violation_at(const hp_link_post *lp, uint32_t rva)
{
    size_t lo = 0, hi = lp->violation_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lp->violations[mid].rva < rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < lp->violation_count && lp->violations[lo].rva == rva ? &lp->violations[lo] : NULL;
}

/* The link's function at `rva`, or NULL (fns are by RVA, one per RVA). */
static const hp_link_fn *link_fn_at(const hp_link_post *lp, uint32_t rva)
{
    size_t lo = 0, hi = lp->fn_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lp->fns[mid].rva < rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < lp->fn_count && lp->fns[lo].rva == rva ? &lp->fns[lo] : NULL;
}

/* Does file `fr` have an unsuppressed error finding at `address` (folded exports or functions)? */
static int error_at(const hp_audit_file_result *fr, uint32_t address)
{
    for (size_t i = 0; i < fr->finding_count; i++) {
        const hp_audit_finding *f = &fr->findings[i];
        if (f->level == HP_AUDIT_ERROR && !f->justification && f->has_address && f->address == address)
            return 1;
    }
    return 0;
}

/* (a) The runtime's live rules on a site the audit found patchable. */
static void check_live(figures *fg, const image *im, const char *run, const hp_audit_function *fn,
                       uint8_t win[LIVE_BEFORE + LIVE_AFTER])
{
    hp_site live;
    hp_status lv = live_verdict(im, fn->address, &live, win);
    fg->live_checked++;
    if (lv != HP_OK) {
        char says[160];
        snprintf(says, sizeof says, "%s (%s)", hp_status_str(lv), hp_site_reason_str(live.reason));
        disagree(fg, im, run, fn, "hp_probe (live rules)", says, win);
    }
}

/* (b) hotpatch-link's post-link pass on a function the audit passed. */
static void check_link(figures *fg, const image *im, const char *run, const hp_audit_function *fn,
                       const hp_link_post *lp, const uint8_t win[LIVE_BEFORE + LIVE_AFTER])
{
    const hp_link_fn *lf = link_fn_at(lp, fn->address);
    const hp_link_violation *v = link_violation_at(lp, fn->address);
    if (!(fn->from & (HP_AUDIT_FROM_EXPORT | HP_AUDIT_FROM_TABLE)) && !lf && !v) {
        fg->link_outside++; /* .pdata or symbols only: the pass checks exports and table entries */
        return;
    }
    fg->link_checked++;
    char says[600];
    if (v)
        snprintf(says, sizeof says, "violation %s (%s)", v->reason, v->message);
    else if (!lf)
        snprintf(says, sizeof says, "nothing (the function is not in its list)");
    else if (!lf->patchable)
        snprintf(says, sizeof says, "not patchable, without a violation (entry %02x %02x, padding %u)",
                 lf->entry_bytes[0], lf->entry_bytes[1], (unsigned)lf->padding);
    else
        return;
    disagree(fg, im, run, fn, "hotpatch-link", says, win);
}

/* One audit run (`all`) of the image, and the other verdicts on every function it passes. */
static void check_run(figures *fg, const image *im, int all, const hp_link_post *lp)
{
    const char *run = all ? "hotpatch-audit --all" : "hotpatch-audit";
    hp_audit_options opt;
    memset(&opt, 0, sizeof opt);
    opt.all = all;
    hp_audit_report *r = NULL;
    cr_assert_eq(hp_audit_report_create(&opt, &r), HP_OK);
    hp_status st = hp_audit_buffer(r, im->path, im->file, im->size);
    cr_assert_eq(hp_audit_report_finish(r), HP_OK);
    size_t nf = 0;
    const hp_audit_file_result *fr = hp_audit_report_files(r, &nf);
    cr_assert_eq(nf, 1);
    cr_assert_eq(st, HP_OK, "%s: %s: %s", im->path, run, fr->error ? fr->error : hp_status_str(st));
    if (all) {
        fg->checked += fr->function_count;
    } else {
        fg->exports_checked += fr->coverage.exports_checked;
        fg->exports_patchable += fr->coverage.exports_patchable;
    }
    for (size_t i = 0; i < fr->function_count; i++) {
        const hp_audit_function *fn = &fr->functions[i];
        if (all) {
            fg->reasons[(unsigned)fn->site.reason < REASONS ? fn->site.reason : HP_SITE_BAD_MACHINE]++;
            fg->patchable += fn->patchable != 0;
        }
        if (!fn->patchable)
            continue;
        uint8_t win[LIVE_BEFORE + LIVE_AFTER];
        check_live(fg, im, run, fn, win); /* the bytes: also of sites the gate fails for folding */
        if (error_at(fr, fn->address))
            continue; /* folded: the audit does not pass it (and the link reports it too) */
        if (all) {
            fg->passed++;
            fg->nop_padded += (fn->site.flags & HP_SITE_F_PADDING_NOPS) != 0;
        }
        check_link(fg, im, run, fn, lp, win);
    }
    hp_audit_report_destroy(r);
}

static void check_image(figures *fg, const char *path, hp_machine machine, const char *scratch)
{
    image im;
    memset(&im, 0, sizeof im);
    im.path = path;
    size_t size = 0;
    uint8_t *file = hpt_read_file(path, &size);
    cr_assert_not_null(file, "cannot read %s", path);
    im.file = file;
    im.size = size;
    const char *detail = NULL;
    hp_status st = hp_pe_open(&im.pe, file, size, HP_PE_LAYOUT_FILE, 0, &detail);
    cr_assert_eq(st, HP_OK, "%s: not a PE image of x86/x64: %s", path, detail ? detail : hp_status_str(st));
    cr_assert_eq(im.pe.machine, machine, "%s: machine %s, expected %s", path,
                 hp_pe_machine_name(im.pe.coff_machine), fg->arch);
    im.sections = calloc(im.pe.section_count + 1u, sizeof *im.sections);
    cr_assert_not_null(im.sections);
    for (uint32_t i = 0; i < im.pe.section_count; i++)
        if (hp_pe_section_at(&im.pe, i, &im.sections[im.section_count]) == HP_OK)
            im.section_count++;

    /* hotpatch-link's pass on a copy in the build tree: no_fill leaves the file alone, and the
       installed Wine must not depend on that promise */
    const char *base = strrchr(path, '/');
    char copy[4096];
    int cn = snprintf(copy, sizeof copy, "%s/%s", scratch, base ? base + 1 : path);
    cr_assert(cn > 0 && (size_t)cn < sizeof copy, "path too long: %s", path);
    FILE *f = fopen(copy, "wb");
    cr_assert_not_null(f, "cannot create %s", copy);
    cr_assert_eq(fwrite(file, 1, size, f), size, "cannot write %s", copy);
    cr_assert_eq(fclose(f), 0);
    hp_link_post_options lo;
    memset(&lo, 0, sizeof lo);
    lo.no_fill = 1;
    hp_link_post *lp = NULL;
    char msg[512] = "";
    st = hp_link_post_run(copy, &lo, &lp, msg, sizeof msg);
    cr_assert_eq(st, HP_OK, "%s: hp_link_post_run: %s (%s)", path, hp_status_str(st), msg);
    cr_assert(!lp->rewritten, "%s: hp_link_post_run wrote the image although no_fill was set", path);
    size_t csize = 0;
    uint8_t *after = hpt_read_file(copy, &csize);
    cr_assert(after && csize == size && memcmp(after, file, size) == 0,
              "%s: hp_link_post_run changed the image although no_fill was set", path);
    free(after);
    remove(copy);

    check_run(fg, &im, 0, lp);
    check_run(fg, &im, 1, lp);
    hp_link_post_destroy(lp);
    free(im.sections);
    free(file);
    fg->images++;
}

static void print_figures(const figures *fg, const char *version)
{
    fprintf(stderr, "corpus %s: libwine %s: %zu images\n", fg->arch, version, fg->images);
    fprintf(stderr, "  hotpatch-audit (exports): %zu checked, %zu patchable (%.1f%%)\n", fg->exports_checked,
            fg->exports_patchable,
            hp_audit_coverage_percent((uint32_t)fg->exports_patchable, (uint32_t)fg->exports_checked));
    fprintf(stderr, "  hotpatch-audit --all: %zu functions checked, %zu patchable (%.1f%%), %zu passed "
                    "(%zu on NOP padding)\n",
            fg->checked, fg->patchable, hp_audit_coverage_percent((uint32_t)fg->patchable, (uint32_t)fg->checked),
            fg->passed, fg->nop_padded);
    fprintf(stderr, "  verdicts (--all):");
    for (unsigned r = 0; r < REASONS; r++)
        if (fg->reasons[r])
            fprintf(stderr, " %s %zu", hp_site_reason_str((hp_site_reason)r), fg->reasons[r]);
    fprintf(stderr, "\n  checked again (both runs): live rules %zu patchable sites; hotpatch-link %zu passed functions "
                    "(+%zu known only from .pdata/symbols, outside its scope)\n",
            fg->live_checked, fg->link_checked, fg->link_outside);
    fprintf(stderr, "  disagreements: %zu\n", fg->disagreements);
}

static void check_corpus(const char *arch, hp_machine machine, const paths *images, const char *version)
{
    figures fg;
    memset(&fg, 0, sizeof fg);
    fg.arch = arch;
    char name[64];
    snprintf(name, sizeof name, "corpus-%s", arch);
    const char *s = hpt_scratch(name);
    cr_assert_not_null(s);
    char scratch[4096];
    snprintf(scratch, sizeof scratch, "%s", s);
    for (size_t i = 0; i < images->n; i++)
        check_image(&fg, images->v[i], machine, scratch);
    print_figures(&fg, version);
    cr_expect_eq(fg.disagreements, 0, "%zu disagreement(s) on %s; first: %s", fg.disagreements, arch, fg.first);
    cr_expect_gt(fg.live_checked, 0, "%s: no function passed: nothing was compared", arch);
}

/* ------------------------------------------------------------------------- */
/* The tests                                                                  */
/* ------------------------------------------------------------------------- */

Test(corpus, x64_wine_images_pass_only_what_runtime_and_link_pass)
{
    paths p = {0};
    x64_images(&p);
    cr_assert_gt(p.n, 100, "only %zu PE images in libwine", p.n);
    char version[256];
    snprintf(version, sizeof version, "%s", first_line("dpkg-query -W -f='${Version}' libwine 2>/dev/null"));
    check_corpus("x64", HP_MACHINE_X64, &p, version);
    paths_free(&p);
}

Test(corpus, i386_wine_sample_passes_only_what_runtime_and_link_pass)
{
    paths p = {0};
    i386_images(&p);
    cr_assert_gt(p.n, 0, "the i386 sample in %s/sample is empty", HPA_WINE_I386_DIR);
    char version[256];
    snprintf(version, sizeof version, "%s", first_line("cat '" HPA_WINE_I386_DIR "/VERSION' 2>/dev/null"));
    check_corpus("i386", HP_MACHINE_X86, &p, version);
    paths_free(&p);
}
