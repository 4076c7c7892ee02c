/*
 * fuzz_audit_allow.c — libFuzzer target: any bytes as an --allow file
 * (hp_audit_allow_parse), then matched against the findings of a real image
 * (hp_audit_report_finish applies the exceptions; HP3001 for unused ones) and
 * rendered (justifications in text, JSON and SARIF).
 *
 * The image is read once at start from the file named by the environment
 * variable HP_FUZZ_ALLOW_IMAGE (the ctest entries and scripts/fuzz name an
 * audit fixture whose functions fail: plain-x86_64-w64-mingw32.dll); without
 * it only the parser runs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hp_audit.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the harness read, kept so that the reads are not optimised away. */
static volatile unsigned g_keep;

static unsigned char *g_image;
static size_t g_image_size;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *path = getenv("HP_FUZZ_ALLOW_IMAGE");
    if (!path || !*path)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0) {
        fprintf(stderr, "fuzz_audit_allow: cannot read HP_FUZZ_ALLOW_IMAGE=%s\n", path);
        abort();
    }
    long n = ftell(f);
    rewind(f);
    g_image = malloc(n > 0 ? (size_t)n : 1);
    if (n <= 0 || !g_image || fread(g_image, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "fuzz_audit_allow: cannot read HP_FUZZ_ALLOW_IMAGE=%s\n", path);
        abort();
    }
    g_image_size = (size_t)n;
    fclose(f);
    return 0;
}

static int sink(void *ctx, const char *s, size_t n)
{
    unsigned *sum = ctx;
    for (size_t i = 0; i < n; i++)
        *sum += (unsigned char)s[i];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hp_audit_options opt = {.all = 1};
    hp_audit_report *r = NULL;
    char msg[128];
    unsigned sum = 0;

    if (hp_audit_report_create(&opt, &r) != HP_OK)
        return 0;
    if (g_image)
        hp_audit_buffer(r, "fixture.dll", g_image, g_image_size);
    if (hp_audit_allow_parse(r, (const char *)data, size, msg, sizeof msg) == HP_OK &&
        hp_audit_report_finish(r) == HP_OK) {
        hp_audit_render(r, HP_AUDIT_FORMAT_TEXT, 0, sink, &sum);
        hp_audit_render(r, HP_AUDIT_FORMAT_JSON, 0, sink, &sum);
        hp_audit_render(r, HP_AUDIT_FORMAT_SARIF, 0, sink, &sum);
    }
    hp_audit_report_destroy(r);
    g_keep += sum;
    return 0;
}
