/*
 * hpa_test.c — see hpa_test.h.
 */
#include "hpa_test.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

const char *hpa_fixture(const char *name)
{
    /* a ring of buffers: several paths may be used in one argument list */
    static char bufs[8][4096];
    static unsigned next;
    char *buf = bufs[next++ % 8];
    snprintf(buf, sizeof bufs[0], "%s/%s", HPA_FIXTURES_DIR, name);
    return buf;
}

hp_audit_report *hpa_audit(const char *path, const hp_audit_options *opt)
{
    hp_audit_report *r = NULL;
    cr_assert_eq(hp_audit_report_create(opt, &r), HP_OK);
    hp_audit_file(r, path);
    cr_assert_eq(hp_audit_report_finish(r), HP_OK);
    return r;
}

const hp_audit_function *hpa_function(const hp_audit_report *r, const char *name)
{
    size_t n;
    const hp_audit_file_result *f = hp_audit_report_files(r, &n);
    if (!n)
        return NULL;
    for (size_t i = 0; i < f[0].function_count; i++)
        if (strcmp(f[0].functions[i].name, name) == 0)
            return &f[0].functions[i];
    return NULL;
}

size_t hpa_count_findings(const hp_audit_report *r, const char *id, const char *function)
{
    size_t n, c = 0;
    const hp_audit_file_result *f = hp_audit_report_files(r, &n);
    if (!n)
        return 0;
    for (size_t i = 0; i < f[0].finding_count; i++) {
        const hp_audit_finding *x = &f[0].findings[i];
        if (strcmp(x->check_id, id) == 0 && (!function || (x->function && strcmp(x->function, function) == 0)))
            c++;
    }
    return c;
}

int hpa_cli(const char *const args[], hpt_proc *out)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = HPA_AUDIT_EXE;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return hpt_run(argv, NULL, 120, out);
}

const char *hpa_write(const char *dir, const char *name, const void *data, size_t size)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    if (size)
        cr_assert_eq(fwrite(data, 1, size, f), size);
    fclose(f);
    return path;
}
