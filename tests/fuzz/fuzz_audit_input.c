/*
 * fuzz_audit_input.c — libFuzzer target: any bytes, as a PE image, COFF
 * object or archive, through the whole audit (the readers, the COFF symbol
 * reader of hp_tools, the site rules, the PE view), the end of the run and
 * every renderer.
 *
 * The last byte of the input picks the options, so mutations explore every
 * mode: bit 0 clear = --all (every source: table, .pdata, symbols), set =
 * exports only; bits 1-2 the padding asked for (machine default, 5, 6, 64);
 * bit 3 colour in the text report; bit 4 the bytes are written to a file and
 * read by hp_audit_file (the path the CLI takes) instead of hp_audit_buffer;
 * bit 5 --min-coverage 100; bit 6 the quiet text report; bit 7 the bytes are audited a second time
 * with the verdicts handed over (hp_audit_options.on_function) and those must be the ones the first
 * report kept, in order, with the same coverage and findings (abort() otherwise).
 */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_audit.h"

#include "../audit/hpa_same.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the harness read, kept so that the reads are not optimised away. */
static volatile unsigned g_keep;
static char g_path[4096]; /* the file bit 4 audits */

static void cleanup(void)
{
    unlink(g_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_path, sizeof g_path, "%s/hp-fuzz-audit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(g_path);
    if (fd < 0) {
        perror("fuzz_audit_input: temporary file");
        abort();
    }
    close(fd);
    atexit(cleanup);
    return 0;
}

/* Reads every byte handed out, so a renderer that writes from freed or
   uninitialised memory is caught by ASan here rather than ignored. */
static int sink(void *ctx, const char *s, size_t n)
{
    unsigned *sum = ctx;
    for (size_t i = 0; i < n; i++)
        *sum += (unsigned char)s[i];
    return 0;
}

static size_t touch(const char *s)
{
    return s ? strlen(s) : 0;
}

static size_t touch_findings(const hp_audit_finding *x, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += touch(x[i].check_id) + touch(x[i].message) + touch(x[i].function) + touch(x[i].member) +
               touch(x[i].justification);
    return len;
}

/* Audit the bytes again, verdicts handed over, and compare with what `kept` holds. */
static void compare_handed_over(const hp_audit_options *opt, const hp_audit_report *kept, const uint8_t *data,
                                size_t size)
{
    hpa_collected h = {0};
    hp_audit_options o = *opt;
    o.on_function = hpa_collect;
    o.on_function_ctx = &h;
    hp_audit_report *r = NULL;
    if (hp_audit_report_create(&o, &r) != HP_OK)
        return;
    hp_audit_buffer(r, "fuzz", data, size);
    if (hp_audit_report_finish(r) == HP_OK) {
        size_t nk = 0, nh = 0, at = 0;
        const hp_audit_file_result *fk = hp_audit_report_files(kept, &nk);
        const hp_audit_file_result *fh = hp_audit_report_files(r, &nh);
        if (nk != nh)
            abort();
        int whole = 1; /* a file that ends in error keeps no verdicts: what was handed over for it is void */
        for (size_t i = 0; i < nk; i++) {
            if (fh[i].status != fk[i].status || fh[i].function_count != 0 || fk[i].finding_count != fh[i].finding_count ||
                memcmp(&fk[i].coverage, &fh[i].coverage, sizeof fk[i].coverage) != 0)
                abort();
            whole &= fk[i].status == HP_OK;
            for (size_t k = 0; k < fk[i].function_count; k++, at++) {
                const hp_audit_function *a = &fk[i].functions[k], *b = at < h.n ? &h.v[at] : NULL;
                if (!b || !hpa_same_function(a, b))
                    abort();
            }
        }
        if (whole && at != h.n)
            abort();
    }
    hp_audit_report_destroy(r);
    free(h.v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t pads[] = {0, 5, 6, 64};
    static const char *const excludes[] = {"*_excluded"};
    static const char *const formats[] = {"text", "json", "sarif", "xml"};
    uint8_t last = size ? data[size - 1] : 0;
    hp_audit_options opt = {
        .all = (last & 1) == 0,
        .pad = pads[(last >> 1) & 3],
        .min_coverage = (last & 0x20) ? 100.0 : 0.0,
        .exclude = excludes,
        .exclude_count = 1,
    };
    hp_audit_report *r = NULL;
    unsigned sum = 0;
    size_t n = 0, len = 0;

    if (hp_audit_report_create(&opt, &r) != HP_OK)
        return 0;
    if (last & 0x10) {
        FILE *f = fopen(g_path, "wb");
        if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
            abort();
        hp_audit_file(r, g_path);
    } else {
        hp_audit_buffer(r, "fuzz", data, size);
    }
    if (hp_audit_report_finish(r) == HP_OK) {
        const hp_audit_file_result *files = hp_audit_report_files(r, &n);
        for (size_t i = 0; i < n; i++) {
            len += touch(files[i].machine) + touch(files[i].error);
            for (size_t f = 0; f < files[i].function_count; f++)
                len += touch(files[i].functions[f].name) + touch(files[i].functions[f].member) +
                       touch(files[i].functions[f].section) + touch(files[i].functions[f].check_id);
            len += touch_findings(files[i].findings, files[i].finding_count);
        }
        const hp_audit_finding *run = hp_audit_report_findings(r, &n);
        len += touch_findings(run, n);
        if ((last & 0x80) && !(last & 0x10))
            compare_handed_over(&opt, r, data, size);
        hp_audit_coverage total = hp_audit_report_total(r);
        len += total.exports_checked + total.all_checked;
        len += hp_audit_report_options(r)->pad;
        len += (size_t)hp_audit_report_outcome(r);
        for (size_t k = 0; k < sizeof formats / sizeof formats[0]; k++) {
            hp_audit_format fmt;
            if (hp_audit_format_parse(formats[k], &fmt) != HP_OK)
                continue;
            unsigned flags = ((last & 8) ? HP_AUDIT_RENDER_COLOR : 0) | ((last & 0x40) ? HP_AUDIT_RENDER_QUIET : 0);
            hp_audit_render(r, fmt, flags, sink, &sum);
        }
    }
    hp_audit_report_destroy(r);
    g_keep += sum + (unsigned)len;
    return 0;
}
