/*
 * fuzz_audit.c — libFuzzer target: any bytes, as an image, object or archive,
 * through the whole audit and every formatter. Build with -DHP_AUDIT_FUZZ=ON
 * and CC=clang-19 (needs compiler-rt: Debian package libclang-rt-19-dev);
 * seed it with tests/audit fixtures.
 */
#include <stddef.h>
#include <stdint.h>

#include "hp_audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    (void)s;
    (void)n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hp_audit_options opt = {.all = 1};
    hp_audit_report *r = NULL;
    if (hp_audit_report_create(&opt, &r) != HP_OK)
        return 0;
    hp_audit_buffer(r, "fuzz", data, size);
    if (hp_audit_report_finish(r) == HP_OK) {
        hp_audit_render(r, HP_AUDIT_FORMAT_TEXT, 0, sink, NULL);
        hp_audit_render(r, HP_AUDIT_FORMAT_JSON, 0, sink, NULL);
        hp_audit_render(r, HP_AUDIT_FORMAT_SARIF, 0, sink, NULL);
    }
    hp_audit_report_destroy(r);
    return 0;
}
