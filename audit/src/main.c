/*
 * main.c — hotpatch-audit: parses the command line, runs the audit library,
 * renders the report, and is the only place that prints or maps statuses to
 * exit codes (0 all patchable, 1 findings, 2 an input could not be read or
 * the command line is wrong).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_audit.h"

#define EXIT_PASS 0
#define EXIT_FINDINGS 1
#define EXIT_UNREADABLE 2

static const char usage[] =
    "usage: hotpatch-audit [options] FILE...\n"
    "\n"
    "Checks that every exported function of PE images (.dll, .exe, .sys), COFF objects\n"
    "(.obj, .o) and archives (.lib, .a) can be hotpatched.\n"
    "\n"
    "options:\n"
    "  --pad N             required padding before each entry (default: 5 on x86, 6 on x64)\n"
    "  --format FMT        text (default), json or sarif\n"
    "  --output FILE, -o   write the report to FILE instead of standard output\n"
    "  --all               check every known function (plugin table, .pdata, symbols), not only exports\n"
    "  --allow FILE        reviewed exceptions: 'NAME-OR-GLOB REASON...' per line\n"
    "  --min-coverage PCT  fail when patchable coverage is below PCT percent\n"
    "  --quiet, -q         text: only findings and coverage\n"
    "  --help, -h          show this help\n"
    "  --version           show the version\n"
    "\n"
    "exit status: 0 all checked functions patchable, 1 findings, 2 an input could not be read\n";

static int write_file(void *ctx, const char *data, size_t len)
{
    return fwrite(data, 1, len, (FILE *)ctx) == len ? 0 : 1;
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("hotpatch-audit: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\ntry 'hotpatch-audit --help'\n", stderr);
    return EXIT_UNREADABLE;
}

/* "--name VALUE" or "--name=VALUE"; advances *i past a separate value. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static int is_option(const char *a, const char *name)
{
    size_t n = strlen(name);
    return strncmp(a, name, n) == 0 && (a[n] == 0 || a[n] == '=');
}

int main(int argc, char **argv)
{
    hp_audit_options opt = {0};
    hp_audit_format format = HP_AUDIT_FORMAT_TEXT;
    const char *output = NULL, *allow = NULL;
    int quiet = 0;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    int nfiles = 0, only_files = 0;
    if (!files) {
        fputs("hotpatch-audit: out of memory\n", stderr);
        return EXIT_UNREADABLE;
    }

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (only_files || a[0] != '-' || a[1] == 0) {
            files[nfiles++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            only_files = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            free(files);
            return EXIT_PASS;
        } else if (strcmp(a, "--version") == 0) {
            printf("hotpatch-audit %s\n", HP_AUDIT_VERSION_STRING);
            free(files);
            return EXIT_PASS;
        } else if (strcmp(a, "--all") == 0) {
            opt.all = 1;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = 1;
        } else if (is_option(a, "--pad")) {
            char *end;
            if (!(v = option_value(argc, argv, &i, "--pad")))
                return free(files), usage_error("%s needs a value", "--pad");
            errno = 0;
            unsigned long n = strtoul(v, &end, 10);
            if (errno || *end || end == v || n > HP_MAX_PAD)
                return free(files), usage_error("--pad: '%s' is not a number from 0 to 64", v);
            opt.pad = (uint32_t)n;
        } else if (is_option(a, "--format")) {
            if (!(v = option_value(argc, argv, &i, "--format")))
                return free(files), usage_error("%s needs a value", "--format");
            if (hp_audit_format_parse(v, &format) != HP_OK)
                return free(files), usage_error("--format: '%s' is not text, json or sarif", v);
        } else if (is_option(a, "--output") || strcmp(a, "-o") == 0) {
            if (strcmp(a, "-o") == 0) {
                if (i + 1 >= argc)
                    return free(files), usage_error("%s needs a value", "-o");
                output = argv[++i];
            } else if (!(output = option_value(argc, argv, &i, "--output"))) {
                return free(files), usage_error("%s needs a value", "--output");
            }
        } else if (is_option(a, "--allow")) {
            if (!(allow = option_value(argc, argv, &i, "--allow")))
                return free(files), usage_error("%s needs a value", "--allow");
        } else if (is_option(a, "--min-coverage")) {
            char *end;
            if (!(v = option_value(argc, argv, &i, "--min-coverage")))
                return free(files), usage_error("%s needs a value", "--min-coverage");
            errno = 0;
            double pct = strtod(v, &end);
            if (errno || *end || end == v || !(pct >= 0 && pct <= 100))
                return free(files), usage_error("--min-coverage: '%s' is not a percentage from 0 to 100", v);
            opt.min_coverage = pct;
        } else {
            return free(files), usage_error("unknown option '%s'", a);
        }
    }
    if (nfiles == 0) {
        free(files);
        return usage_error("%s", "no input files");
    }

    hp_audit_report *r = NULL;
    if (hp_audit_report_create(&opt, &r) != HP_OK) {
        free(files);
        fputs("hotpatch-audit: out of memory\n", stderr);
        return EXIT_UNREADABLE;
    }
    int rc = EXIT_UNREADABLE;
    FILE *out = stdout;
    if (allow) {
        const char *detail = "";
        size_t line = 0;
        hp_status st = hp_audit_allow_load(r, allow, &detail, &line);
        if (st == HP_ERR_FORMAT) {
            fprintf(stderr, "hotpatch-audit: %s:%zu: %s\n", allow, line, detail);
            goto out;
        }
        if (st != HP_OK) {
            fprintf(stderr, "hotpatch-audit: %s: %s\n", allow, st == HP_ERR_IO ? strerror(errno) : hp_status_str(st));
            goto out;
        }
    }
    for (int i = 0; i < nfiles; i++) {
        hp_status st = hp_audit_file(r, files[i]);
        if (st == HP_ERR_NO_MEMORY) {
            fputs("hotpatch-audit: out of memory\n", stderr);
            goto out;
        }
    }
    if (hp_audit_report_finish(r) != HP_OK) {
        fputs("hotpatch-audit: out of memory\n", stderr);
        goto out;
    }
    size_t count;
    const hp_audit_file_result *res = hp_audit_report_files(r, &count);
    for (size_t i = 0; i < count; i++)
        if (res[i].status != HP_OK)
            fprintf(stderr, "hotpatch-audit: %s: %s\n", res[i].path, res[i].error ? res[i].error : "unreadable");

    if (output && !(out = fopen(output, "w"))) {
        fprintf(stderr, "hotpatch-audit: %s: %s\n", output, strerror(errno));
        out = stdout;
        goto out;
    }
    unsigned flags = quiet ? HP_AUDIT_RENDER_QUIET : 0;
    if (format == HP_AUDIT_FORMAT_TEXT && out == stdout && isatty(STDOUT_FILENO) && !getenv("NO_COLOR"))
        flags |= HP_AUDIT_RENDER_COLOR;
    if (hp_audit_render(r, format, flags, write_file, out) != HP_OK || fflush(out) != 0) {
        fprintf(stderr, "hotpatch-audit: %s: write failed\n", output ? output : "standard output");
        goto out;
    }
    switch (hp_audit_report_outcome(r)) {
    case HP_AUDIT_PASS: rc = EXIT_PASS; break;
    case HP_AUDIT_FINDINGS: rc = EXIT_FINDINGS; break;
    default: rc = EXIT_UNREADABLE; break;
    }
out:
    if (out != stdout && fclose(out) != 0 && rc != EXIT_UNREADABLE) {
        fprintf(stderr, "hotpatch-audit: %s: write failed\n", output);
        rc = EXIT_UNREADABLE;
    }
    hp_audit_report_destroy(r);
    free(files);
    return rc;
}
