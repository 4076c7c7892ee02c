/*
 * fuzz_audit_input.c — libFuzzer target: any bytes, as a PE image, COFF
 * object or archive, through the whole audit (hp_audit_buffer: the readers,
 * the COFF symbol reader of hp_tools, the site rules, the PE view) and every
 * renderer.
 *
 * The last byte of the input picks the options, so mutations explore both
 * modes: bit 0 clear = --all (every source: table, .pdata, symbols), set =
 * exports only; bits 1-2 the padding asked for (machine default, 5, 6, 64).
 * Built by the fuzz build (cmake/HpFuzz.cmake, tests/fuzz/README.md).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hp_audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the harness read, kept so that the reads are not optimised away. */
static volatile unsigned g_keep;

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t pads[] = {0, 5, 6, 64};
    static const char *const excludes[] = {"*_excluded"};
    uint8_t last = size ? data[size - 1] : 0;
    hp_audit_options opt = {
        .all = (last & 1) == 0,
        .pad = pads[(last >> 1) & 3],
        .exclude = excludes,
        .exclude_count = 1,
    };
    hp_audit_report *r = NULL;
    unsigned sum = 0;
    size_t n = 0, len = 0;

    if (hp_audit_report_create(&opt, &r) != HP_OK)
        return 0;
    hp_audit_buffer(r, "fuzz", data, size);
    if (hp_audit_report_finish(r) == HP_OK) {
        const hp_audit_file_result *files = hp_audit_report_files(r, &n);
        for (size_t i = 0; i < n; i++) {
            len += touch(files[i].machine) + touch(files[i].error);
            for (size_t f = 0; f < files[i].function_count; f++)
                len += touch(files[i].functions[f].name) + touch(files[i].functions[f].member) +
                       touch(files[i].functions[f].section) + touch(files[i].functions[f].check_id);
            for (size_t f = 0; f < files[i].finding_count; f++)
                len += touch(files[i].findings[f].message) + touch(files[i].findings[f].function);
        }
        (void)hp_audit_report_outcome(r);
        hp_audit_render(r, HP_AUDIT_FORMAT_TEXT, (last & 8) ? HP_AUDIT_RENDER_COLOR : 0, sink, &sum);
        hp_audit_render(r, HP_AUDIT_FORMAT_JSON, 0, sink, &sum);
        hp_audit_render(r, HP_AUDIT_FORMAT_SARIF, 0, sink, &sum);
    }
    hp_audit_report_destroy(r);
    g_keep += sum + (unsigned)len;
    return 0;
}
