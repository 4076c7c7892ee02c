/*
 * main.c — hotpatch-audit: parses the command line, runs the audit library,
 * renders the report, and is the only place that prints or maps statuses to
 * exit codes (0 all patchable, 1 findings, 2 an input could not be read or
 * the command line is wrong).
 *
 * Above the library's layers (audit/README.md, "Source layout"): calls only
 * the library's public API (hp_audit.h) and hp_tools.h.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_audit.h"
#include "hp_tools.h"

#define EXIT_PASS 0
#define EXIT_FINDINGS 1
#define EXIT_UNREADABLE 2

static const char usage[] =
    "usage: hotpatch-audit [options] FILE...\n"
    "       hotpatch-audit --source compile_commands.json [--def FILE]... [options]\n"
    "\n"
    "Checks that every exported function of PE images (.dll, .exe, .sys), COFF objects\n"
    "(.obj, .o) and archives (.lib, .a) can be hotpatched; with --source, finds in the C\n"
    "sources of a compilation database what no binary check can see (checks HP4xxx).\n"
    "\n"
    "options:\n"
    "  --pad N             required padding before each entry, 5..64 (default: 5 on x86, 6 on x64)\n"
    "  --exclude GLOB      neither check nor report functions matching GLOB (repeatable; the\n"
    "                      plugin's exclude= dialect: *, ?, [..])\n"
    "  --format FMT        text (default), json or sarif\n"
    "  --output FILE, -o   write the report to FILE instead of standard output\n"
    "  --all               check every known function (plugin table, .pdata, symbols), not only exports\n"
    "  --allow FILE        reviewed exceptions: 'NAME-OR-GLOB REASON...' per line\n"
    "  --min-coverage PCT  fail when patchable coverage is below PCT percent\n"
    "  --quiet, -q         text: only findings and coverage\n"
    "\n"
    "source audit:\n"
    "  --source DB         audit the translation units of DB (a compile_commands.json, or its\n"
    "                      directory) with libclang (repeatable)\n"
    "  --def FILE          a module-definition file: its EXPORTS are exported (repeatable)\n"
    "  --unit PATTERN      audit only units whose file matches (absolute: a glob on the path;\n"
    "                      relative: its last components, e.g. src/*.c) (repeatable)\n"
    "  --jobs N, -j N      parse N units at a time (default: one per processor)\n"
    "\n"
    "other:\n"
    "  --help, -h          show this help\n"
    "  --version           show the version\n"
    "\n"
    "exit status: 0 all checked functions patchable, 1 findings, 2 an input (or a compilation\n"
    "database) could not be read\n";

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
    /* a separate value never starts with '-': "--format --all" lacks the format, it does not take "--all" */
    if (a[n] == 0 && *i + 1 < argc && argv[*i + 1][0] != '-')
        return argv[++*i];
    return NULL;
}

/* Read all of standard input (the input "-"); *failed when it could not be read or memory ran out. */
static unsigned char *read_stdin(size_t *size, int *failed)
{
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    *failed = 0;
    for (;;) {
        if (!hp_vec_reserve((void **)&buf, &cap, n + 65536, 1)) {
            *failed = 1;
            break;
        }
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0)
            break;
    }
    if (*failed || ferror(stdin)) {
        free(buf);
        *failed = 1;
        *size = 0;
        return NULL;
    }
    *size = n;
    return buf;
}

/* Is `output` the same file as one of the inputs? (Writing the report there would destroy it.) */
static int output_is_input(const char *output, char **files, int nfiles)
{
    struct stat o, in;
    if (stat(output, &o) != 0)
        return 0;
    for (int i = 0; i < nfiles; i++)
        if (strcmp(files[i], "-") != 0 && stat(files[i], &in) == 0 && in.st_dev == o.st_dev && in.st_ino == o.st_ino)
            return 1;
    return 0;
}

static int is_option(const char *a, const char *name)
{
    size_t n = strlen(name);
    return strncmp(a, name, n) == 0 && (a[n] == 0 || a[n] == '=');
}

/* The source audit's progress line: on a terminal only (main decides), for more than a few units. */
typedef struct progress {
    int shown;
} progress;

#define PROGRESS_MIN_UNITS 5

static void show_progress(void *ctx, size_t done, size_t total, const char *unit)
{
    progress *p = ctx;
    if (total < PROGRESS_MIN_UNITS)
        return;
    struct winsize ws;
    size_t cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;
    char head[64];
    int n = snprintf(head, sizeof head, "hotpatch-audit: [%zu/%zu] ", done, total);
    size_t room = n > 0 && (size_t)n + 4 < cols ? cols - (size_t)n - 1 : 0, len = strlen(unit);
    /* one line that \r can rewrite: a long name keeps its end */
    fprintf(stderr, "\r\x1b[K%s%s%s", head, len > room ? "..." : "", len > room ? unit + len - room + 3 : unit);
    p->shown = 1;
}

int main(int argc, char **argv)
{
    hp_audit_options opt = {0};
    hp_audit_format format = HP_AUDIT_FORMAT_TEXT;
    const char *output = NULL, *allow = NULL;
    int quiet = 0;
    hp_audit_source_options src = {0};
    unsigned long jobs = 0;
    /* one allocation: the input files, the --exclude globs, the --source databases, the --def files and
       the --unit patterns (all point into argv) */
    char **files = calloc(5 * ((size_t)argc + 1), sizeof *files);
    const char **excludes = NULL, **sources = NULL, **defs = NULL, **units = NULL;
    int nfiles = 0, only_files = 0;
    size_t nsources = 0;
    if (files) {
        excludes = (const char **)(files + argc + 1);
        sources = excludes + argc + 1;
        defs = sources + argc + 1;
        units = defs + argc + 1;
        src.defs = defs;
        src.units = units;
    } else {
        fputs("hotpatch-audit: out of memory\n", stderr);
        return EXIT_UNREADABLE;
    }

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (only_files || a[0] != '-' || a[1] == 0) { /* "-" alone is standard input */
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
        } else if (is_option(a, "--exclude")) {
            if (!(v = option_value(argc, argv, &i, "--exclude")) || !*v)
                return free(files), usage_error("%s needs a function name or glob", "--exclude");
            excludes[opt.exclude_count++] = v;
            opt.exclude = excludes;
        } else if (is_option(a, "--source")) {
            if (!(v = option_value(argc, argv, &i, "--source")) || !*v)
                return free(files), usage_error("%s needs a compilation database (compile_commands.json)", "--source");
            sources[nsources++] = v;
        } else if (is_option(a, "--def")) {
            if (!(v = option_value(argc, argv, &i, "--def")) || !*v)
                return free(files), usage_error("%s needs a module-definition file", "--def");
            defs[src.def_count++] = v;
        } else if (is_option(a, "--unit")) {
            if (!(v = option_value(argc, argv, &i, "--unit")) || !*v)
                return free(files), usage_error("%s needs a file name or glob", "--unit");
            units[src.unit_count++] = v;
        } else if (is_option(a, "--jobs") || strncmp(a, "-j", 2) == 0) {
            char *end;
            if (strncmp(a, "-j", 2) == 0)
                v = a[2] ? a + 2 : (i + 1 < argc && argv[i + 1][0] != '-') ? argv[++i] : NULL;
            else
                v = option_value(argc, argv, &i, "--jobs");
            if (!v)
                return free(files), usage_error("%s needs a number of parallel parses", "--jobs");
            errno = 0;
            jobs = strtoul(v, &end, 10);
            if (errno || *end || end == v || jobs < 1 || jobs > 1024)
                return free(files), usage_error("--jobs: '%s' is not a number from 1 to 1024", v);
            src.jobs = (unsigned)jobs;
        } else if (is_option(a, "--pad")) {
            if (!(v = option_value(argc, argv, &i, "--pad")))
                return free(files), usage_error("%s needs a value", "--pad");
            char why[256];
            if (hp_pad_parse("--pad", v, &opt.pad, why, sizeof why) != HP_OK)
                return free(files), usage_error("%s", why);
        } else if (is_option(a, "--format")) {
            if (!(v = option_value(argc, argv, &i, "--format")))
                return free(files), usage_error("%s needs a value", "--format");
            if (hp_audit_format_parse(v, &format) != HP_OK)
                return free(files), usage_error("--format: '%s' is not text, json or sarif", v);
        } else if (is_option(a, "--output") || strcmp(a, "-o") == 0) {
            if (strcmp(a, "-o") == 0) {
                if (i + 1 >= argc || argv[i + 1][0] == '-')
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
    if (nfiles == 0 && nsources == 0) {
        free(files);
        return usage_error("%s", "no input files");
    }
    if ((opt.all || opt.min_coverage > 0) && nfiles == 0) {
        free(files);
        return usage_error("%s", "--all and --min-coverage judge images, objects and archives: give one (the source "
                                 "audit has no coverage)");
    }
    if ((src.def_count || src.unit_count || jobs) && nsources == 0) {
        free(files);
        return usage_error("%s", "--def, --unit and --jobs are options of the source audit: give --source too");
    }
    if (output && (output_is_input(output, files, nfiles) || output_is_input(output, (char **)sources, (int)nsources) ||
                   output_is_input(output, (char **)defs, (int)src.def_count))) {
        free(files);
        return usage_error("--output '%s' is one of the inputs: refusing to overwrite it", output);
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
        char why[1024];
        if (hp_audit_allow_load(r, allow, why, sizeof why) != HP_OK) {
            fprintf(stderr, "hotpatch-audit: --allow %s\n", why);
            goto out;
        }
    }
    for (int i = 0; i < nfiles; i++) {
        hp_status st;
        if (strcmp(files[i], "-") == 0) {
            size_t size;
            int failed;
            unsigned char *data = read_stdin(&size, &failed);
            st = failed ? HP_ERR_NO_MEMORY : hp_audit_buffer(r, "(standard input)", data, size);
            free(data);
        } else {
            st = hp_audit_file(r, files[i]);
        }
        if (st == HP_ERR_NO_MEMORY) {
            fputs("hotpatch-audit: out of memory\n", stderr);
            goto out;
        }
    }
    char cwd[4096];
    src.base_dir = getcwd(cwd, sizeof cwd) ? cwd : NULL; /* files under it are shown relative to it */
    progress prog = {0};
    if (isatty(STDERR_FILENO)) {
        src.progress = show_progress;
        src.progress_ctx = &prog;
    }
    for (size_t i = 0; i < nsources; i++) {
        hp_status st = hp_audit_source(r, sources[i], &src);
        if (prog.shown)
            fputs("\r\x1b[K", stderr); /* the progress line goes when the report comes */
        prog.shown = 0;
        if (st == HP_ERR_NO_MEMORY) {
            fputs("hotpatch-audit: out of memory\n", stderr);
            goto out;
        }
    }
    if (hp_audit_report_finish(r) != HP_OK) {
        fputs("hotpatch-audit: out of memory\n", stderr);
        goto out;
    }
    /* An unreadable input is said once: in the text report when that goes to standard output, on
       standard error when the report is JSON, SARIF or a file. */
    if (output || format != HP_AUDIT_FORMAT_TEXT) {
        size_t count;
        const hp_audit_file_result *res = hp_audit_report_files(r, &count);
        for (size_t i = 0; i < count; i++)
            if (res[i].status != HP_OK)
                fprintf(stderr, "hotpatch-audit: %s: %s\n", res[i].path, res[i].error ? res[i].error : "unreadable");
    }

    if (output && !(out = fopen(output, "w"))) {
        fprintf(stderr, "hotpatch-audit: --output %s: %s\n", output, strerror(errno));
        out = stdout;
        goto out;
    }
    unsigned flags = quiet ? HP_AUDIT_RENDER_QUIET : 0;
    if (format == HP_AUDIT_FORMAT_TEXT && out == stdout && isatty(STDOUT_FILENO) && !getenv("NO_COLOR"))
        flags |= HP_AUDIT_RENDER_COLOR;
    if (hp_audit_render(r, format, flags, write_file, out) != HP_OK || fflush(out) != 0) {
        fprintf(stderr, "hotpatch-audit: %s%s: write failed\n", output ? "--output " : "", output ? output : "standard output");
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
