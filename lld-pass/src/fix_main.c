/*
 * fix_main.c — hotpatch-fix: builds the patch module of a released image from
 * corrected sources, replacing exactly the functions whose generated code
 * differs from the release's (lld-pass/README.md, "hotpatch-fix").
 *
 *   1. each source is compiled as the release was (hotpatch-cc: clang with the plugin);
 *   2. its code digests are compared with the release's (<image>.hpcode beside the image);
 *   3. the report says what changed, what is new, what cannot be patched, and why;
 *   4. the units with changes are compiled again in the plugin's fix mode against <image>.hpmap,
 *      with exactly those functions, and linked by hotpatch-link --hotpatch-fix-for=<image>.
 *
 * Exit status (the one mapping is exit_for()):
 *   0  the module is written (--dry-run, --objects: the comparison found code to replace)
 *   1  refused: a change a swap of functions cannot make (each named, with the reason)
 *   2  bad command line, an unreadable or malformed input, a compile or link that failed
 *   3  nothing to do: no generated code changed (no module written)
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hp_link_codefile.h"
#include "hp_link_digest.h"
#include "hp_link_fixplan.h"
#include "hp_map.h"
#include "hp_tools.h"

enum { EXIT_MODULE = 0, EXIT_REFUSED = 1, EXIT_ERROR = 2, EXIT_NOTHING = 3 };

static const char *prog = "hotpatch-fix";

typedef struct unit_alias {
    char *source;        /* as given (owned) */
    const char *release; /* into argv */
} unit_alias;

typedef struct options {
    const char *image, *output, *map, *code, *root, *target, *functions_out;
    const char *cc, *plugin;
    int dry_run, objects, verbose, keep;
    const char **inputs;
    size_t ninputs, inputs_cap;
    const char **calls; /* --calls: with --objects, each object's build without inlining, in order */
    size_t ncalls, calls_cap;
    unit_alias *units;
    size_t nunits, units_cap;
    char **flags; /* after "--" */
    size_t nflags;
} options;

typedef struct input {
    const char *path;     /* the source (or object) */
    char *object;         /* the comparison's object */
    char *release_path;   /* --unit */
    hp_link_digest_unit *digests;
    hp_link_call *calls;
    size_t ncalls;
} input;

static void help(void)
{
    printf("usage: hotpatch-fix --for IMAGE [options] SOURCE... [-- COMPILER-FLAGS...]\n"
           "       hotpatch-fix --for IMAGE --objects [options] OBJECT...\n"
           "\n"
           "Builds the patch module of a released IMAGE from corrected sources: compiles them as the\n"
           "release was compiled (clang with the hotpatch plugin, through hotpatch-cc), compares the\n"
           "generated code of every function with the release's (IMAGE.hpcode, written by hotpatch-link\n"
           "beside the image), and builds the module from exactly the functions whose code differs.\n"
           "COMPILER-FLAGS must be those of the release (-O2, -D, -I...): other flags give other code.\n"
           "\n"
           "Options:\n"
           "  --for IMAGE          the released image; IMAGE.hpmap and IMAGE.hpcode must be beside it\n"
           "  -o, --output FILE    the patch module (default: IMAGE's name with .fix before the extension)\n"
           "  --source-root DIR    the directory the release's units are named relative to (default: .)\n"
           "  --unit SOURCE=PATH   SOURCE is the release's unit PATH (a file that moved; repeatable)\n"
           "  --target TRIPLE      the target (default: from -target/--target= in the flags, else the\n"
           "                       MinGW triple of the image's machine)\n"
           "  --map FILE           the release's map (default IMAGE.hpmap)\n"
           "  --code FILE          the release's code digests (default IMAGE.hpcode)\n"
           "  --dry-run            compare and report only; write nothing\n"
           "  --objects            the inputs are objects a build compiled with the plugin: compare them\n"
           "                       (no module is built; with --functions-out for build systems)\n"
           "  --calls OBJECT       with --objects: the object's unit compiled with -O0, for the report's\n"
           "                       \"inlines f()\" (repeatable: one for each object, in order)\n"
           "  --functions-out FILE write the functions to replace, \"<name>\\t<unit>\" per line, for the\n"
           "                       plugin's fix-functions=@FILE\n"
           "  --cc PATH            the compiler hotpatch-cc runs (default: clang-19)\n"
           "  --plugin PATH        the hotpatch plugin (default: the installed one)\n"
           "  --keep-temps         keep the temporary directory (its path is printed)\n"
           "  -v, --verbose        print every command\n"
           "  --help, --version\n"
           "\n"
           "Exit status: 0 the module is written (--dry-run, --objects: there is code to replace);\n"
           "1 refused: a change a swap of functions cannot make (each named); 2 bad command line,\n"
           "unreadable or malformed input, a compile or link that failed; 3 nothing to do: no generated\n"
           "code changed (no module is written).\n");
}

/* A line of progress on stderr, when it is a terminal (compiles of large units take minutes). */
static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void progress(const char *fmt, ...)
{
    if (!isatty(2))
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: error: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s: try '%s --help'\n", prog, prog);
    return EXIT_ERROR;
}

static int error(const char *msg)
{
    fprintf(stderr, "%s: error: %s\n", prog, msg);
    return EXIT_ERROR;
}

/* The options that take a value: the string option they set (offset into options), or a list (-1). */
static const struct {
    const char *name;
    ptrdiff_t field;
} k_valued[] = {
    {"--for", offsetof(options, image)},      {"-o", offsetof(options, output)},
    {"--output", offsetof(options, output)},  {"--map", offsetof(options, map)},
    {"--code", offsetof(options, code)},      {"--source-root", offsetof(options, root)},
    {"--target", offsetof(options, target)},  {"--functions-out", offsetof(options, functions_out)},
    {"--cc", offsetof(options, cc)},          {"--plugin", offsetof(options, plugin)},
    {"--unit", -1},                           {"--calls", -1},
};

/* The switches: the int option they set. */
static const struct {
    const char *name;
    size_t field;
} k_switches[] = {
    {"--dry-run", offsetof(options, dry_run)}, {"--objects", offsetof(options, objects)},
    {"--keep-temps", offsetof(options, keep)}, {"-v", offsetof(options, verbose)},
    {"--verbose", offsetof(options, verbose)},
};

/* --unit SOURCE=PATH and --calls OBJECT: appended to their lists. Returns -1, or an exit status. */
static int add_listed(options *o, const char *name, const char *value)
{
    if (strcmp(name, "--calls") == 0)
        return HP_VEC_PUSH(o->calls, o->ncalls, o->calls_cap, value) ? -1 : error("out of memory");
    const char *eq = strchr(value, '=');
    if (!eq || eq == value || !eq[1])
        return usage_error("--unit takes SOURCE=PATH, got '%s'", value);
    unit_alias u = {strndup(value, (size_t)(eq - value)), eq + 1};
    if (!u.source || !HP_VEC_PUSH(o->units, o->nunits, o->units_cap, u)) {
        free(u.source);
        return error("out of memory");
    }
    return -1;
}

/* Parse; returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            o->flags = argv + i + 1;
            o->nflags = (size_t)(argc - i - 1);
            break;
        }
        if (strcmp(a, "--help") == 0) {
            help();
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            printf("%s %s\n", prog, HP_VERSION_STRING);
            return 0;
        }
        int sw = 0;
        for (size_t k = 0; k < sizeof k_switches / sizeof *k_switches && !sw; k++)
            if (strcmp(a, k_switches[k].name) == 0) {
                *(int *)((char *)o + k_switches[k].field) = 1;
                sw = 1;
            }
        if (sw)
            continue;
        size_t opt = sizeof k_valued / sizeof *k_valued;
        const char *value = NULL;
        for (size_t k = 0; k < sizeof k_valued / sizeof *k_valued && !value; k++) {
            const char *v = k_valued[k].name;
            size_t n = strlen(v);
            if (strcmp(a, v) == 0) {
                if (i + 1 >= argc || (argv[i + 1][0] == '-' && argv[i + 1][1] == '-'))
                    return usage_error("option '%s' needs a value", a);
                opt = k;
                value = argv[++i];
            } else if (n > 2 && strncmp(a, v, n) == 0 && a[n] == '=') {
                opt = k;
                value = a + n + 1;
            }
        }
        if (value && !*value)
            return usage_error("option '%s' needs a value", k_valued[opt].name);
        if (!value && a[0] == '-' && a[1])
            return usage_error("unknown option '%s' (compiler flags go after '--')", a);
        if (!value) {
            if (!HP_VEC_PUSH(o->inputs, o->ninputs, o->inputs_cap, a))
                return error("out of memory");
            continue;
        }
        if (k_valued[opt].field >= 0) {
            *(const char **)((char *)o + k_valued[opt].field) = value;
            continue;
        }
        int rc = add_listed(o, k_valued[opt].name, value);
        if (rc >= 0)
            return rc;
    }
    if (!o->image)
        return usage_error("%s", "--for IMAGE is required: the released image the fix is for");
    if (o->ninputs == 0)
        return usage_error("%s", o->objects ? "no objects given" : "no sources given");
    if (o->objects && o->nflags)
        return usage_error("%s", "--objects takes no compiler flags");
    if (o->ncalls && (!o->objects || o->ncalls != o->ninputs))
        return usage_error("%s", "--calls goes with --objects, one for each object, in the same order");
    return -1;
}

/* ---- running hotpatch-cc ---------------------------------------------------- */

static char self_dir[PATH_MAX]; /* this program's directory: its sibling hotpatch-cc is there */

typedef struct argv_b {
    char **v;
    size_t n, cap;
    int oom;
} argv_b;

static void arg(argv_b *b, const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if ((s && !d) || !HP_VEC_PUSH(b->v, b->n, b->cap, d)) {
        free(d);
        b->oom = 1;
    }
}

static void argf(argv_b *b, const char *fmt, const char *x)
{
    char buf[PATH_MAX + 128];
    snprintf(buf, sizeof buf, fmt, x);
    arg(b, buf);
}

static void argv_free(argv_b *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->v[i]);
    free(b->v);
    memset(b, 0, sizeof *b);
}

static char log_path[PATH_MAX + 16]; /* where the tools' output goes (in the temporary directory) */

/* Print the log of the last command, then empty it. */
static void show_log(void)
{
    size_t n = 0;
    unsigned char *data = NULL;
    char why[64];
    if (log_path[0] && hp_file_read(log_path, &data, &n, why, sizeof why) == HP_OK) {
        fwrite(data, 1, n, stderr);
        free(data);
    }
}

/* Run argv (NULL-terminated in b): its output goes to the log, shown when it fails or with -v.
   Returns 1 when it ran and exited 0. */
static int run(const options *o, argv_b *b, const char *what)
{
    arg(b, NULL);
    if (b->oom) {
        error("out of memory");
        return 0;
    }
    if (o->verbose) {
        fprintf(stderr, "%s: running:", prog);
        for (size_t i = 0; b->v[i]; i++)
            fprintf(stderr, " %s", b->v[i]);
        fputc('\n', stderr);
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: error: cannot start '%s': %s\n", prog, b->v[0], strerror(errno));
        return 0;
    }
    if (pid == 0) {
        int fd = log_path[0] ? open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(b->v[0], b->v);
        fprintf(stderr, "%s: error: cannot run '%s': %s\n", prog, b->v[0], strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok || o->verbose)
        show_log();
    if (!ok)
        fprintf(stderr, "%s: error: %s failed (exit status %d)\n", prog, what,
                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return ok;
}

/* The sibling hotpatch-cc for `triple`: what every compile and the module's link start with. */
static void cc_driver(argv_b *b, const char *triple)
{
    char cc[PATH_MAX + 16];
    snprintf(cc, sizeof cc, "%s/hotpatch-cc", self_dir);
    arg(b, cc);
    argf(b, "--target=%s", triple);
}

/* A compile as the release's: the driver, then the release's compile flags. */
static void cc_start(const options *o, argv_b *b, const char *triple)
{
    cc_driver(b, triple);
    for (size_t i = 0; i < o->nflags; i++)
        arg(b, o->flags[i]);
}

/* Finish a compile started with cc_start() and its own options: `-c SRC -o OBJ`, run (`what` names it
   in a failure), freed. Returns 1 when it compiled. */
static int compile(const options *o, argv_b *b, const char *src, const char *obj, const char *what)
{
    arg(b, "-c");
    arg(b, src);
    arg(b, "-o");
    arg(b, obj);
    int ok = run(o, b, what);
    argv_free(b);
    return ok;
}

/* ---- the comparison ---------------------------------------------------------- */

static int digest_file(const char *path, hp_link_digest_unit **out, hp_link_call **calls, size_t *ncalls)
{
    unsigned char *data = NULL;
    size_t size = 0;
    char msg[512];
    if (hp_file_read(path, &data, &size, msg, sizeof msg) != HP_OK)
        return error(msg), 0;
    hp_status st = calls ? hp_link_object_calls(data, size, calls, ncalls, msg, sizeof msg)
                         : hp_link_digest_object(data, size, 0, out, msg, sizeof msg);
    free(data);
    if (st != HP_OK) {
        fprintf(stderr, "%s: error: %s: %s\n", prog, path, msg);
        return 0;
    }
    return 1;
}

static const char *kind_word(const hp_link_fix_item *it)
{
    return it->kind == HP_DIGEST_VARIABLE ? "variable " : "";
}

static void report(const hp_link_fix_plan *p)
{
    static const struct {
        int what;
        const char *label;
    } groups[] = {{HP_FIX_CHANGED, "changed:"}, {HP_FIX_NEW, "new:"}, {HP_FIX_REFUSED, "refused:"},
                  {HP_FIX_GONE, "gone:"}};
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        int first = 1;
        for (size_t i = 0; i < p->count; i++) {
            const hp_link_fix_item *it = &p->items[i];
            if (it->what != groups[g].what)
                continue;
            printf("%-10s %s%s (%s)%s%s\n", first ? groups[g].label : "", kind_word(it), it->name, it->unit,
                   it->note ? "  " : "", it->note ? it->note : "");
            first = 0;
        }
    }
    printf("%-10s %zu function%s in %zu translation unit%s\n", "unchanged:", p->unchanged,
           p->unchanged == 1 ? "" : "s", p->units, p->units == 1 ? "" : "s");
    fflush(stdout);
}

/* The functions to replace: "<name>\t<unit>" per line. */
static int write_functions(const char *path, const hp_link_fix_plan *p)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: error: cannot write '%s': %s\n", prog, path, strerror(errno));
        return 0;
    }
    for (size_t i = 0; i < p->count; i++)
        if (p->items[i].what == HP_FIX_CHANGED)
            fprintf(f, "%s\t%s\n", p->items[i].name, p->items[i].unit);
    int ok = !ferror(f);
    if (fclose(f) != 0 || !ok) {
        fprintf(stderr, "%s: error: cannot write '%s'\n", prog, path);
        unlink(path);
        return 0;
    }
    return 1;
}

static const char *flag_target(const options *o)
{
    for (size_t i = 0; i < o->nflags; i++) {
        if (strncmp(o->flags[i], "--target=", 9) == 0)
            return o->flags[i] + 9;
        if (strcmp(o->flags[i], "-target") == 0 && i + 1 < o->nflags)
            return o->flags[i + 1];
    }
    return NULL;
}

static int has_changes_in(const hp_link_fix_plan *p, const char *unit)
{
    for (size_t i = 0; i < p->count; i++)
        if ((p->items[i].what == HP_FIX_CHANGED ||
             (p->items[i].what == HP_FIX_NEW && p->items[i].kind == HP_DIGEST_FUNCTION)) &&
            strcmp(p->items[i].unit, unit) == 0)
            return 1;
    return 0;
}

static int remove_tree(const char *dir, input *in, size_t n, const char *functions)
{
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/%zu.o", dir, i);
        unlink(p);
        snprintf(p, sizeof p, "%s/%zu.calls.o", dir, i);
        unlink(p);
        snprintf(p, sizeof p, "%s/%zu.fix.o", dir, i);
        unlink(p);
        (void)in;
    }
    if (functions)
        unlink(functions);
    if (log_path[0])
        unlink(log_path);
    return rmdir(dir);
}

int main(int argc, char **argv)
{
    options o;
    memset(&o, 0, sizeof o);
    int rc = parse(argc, argv, &o);
    if (rc >= 0) {
        free(o.inputs);
        for (size_t k = 0; k < o.nunits; k++)
            free(o.units[k].source);
        free(o.units);
        free(o.calls);
        return rc;
    }
    char msg[1024] = "", path[PATH_MAX + 16], tmpdir[PATH_MAX] = "", functions[PATH_MAX + 32] = "";
    hp_map *map = NULL;
    hp_link_code *code = NULL;
    hp_link_fix_plan *plan = NULL;
    input *in = calloc(o.ninputs, sizeof *in);
    hp_link_fix_unit *fu = calloc(o.ninputs, sizeof *fu);
    rc = EXIT_ERROR;
    if (!in || !fu) {
        error("out of memory");
        goto out;
    }
    if (!hp_self_dir(self_dir, sizeof self_dir)) {
        error("cannot tell where this program is (/proc/self/exe)");
        goto out;
    }
    struct stat sb;
    if (stat(o.image, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fprintf(stderr, "%s: error: --for %s: %s\n", prog, o.image, errno ? strerror(errno) : "not a file");
        goto out;
    }

    /* the release: its map and its code digests, of one build */
    snprintf(path, sizeof path, "%s.hpmap", o.image);
    const char *map_path = o.map ? o.map : path;
    if (hp_map_load(map_path, &map, msg, sizeof msg) != HP_OK) {
        fprintf(stderr, "%s: error: %s (the release's map: hotpatch-link writes it beside the image)\n", prog, msg);
        goto out;
    }
    char code_path[PATH_MAX + 16];
    snprintf(code_path, sizeof code_path, "%s.hpcode", o.image);
    if (o.code)
        snprintf(code_path, sizeof code_path, "%s", o.code);
    if (hp_link_code_load(code_path, &code, msg, sizeof msg) != HP_OK) {
        fprintf(stderr,
                "%s: error: %s (the release's code digests: hotpatch-link writes them beside the image and its "
                "map)\n",
                prog, msg);
        goto out;
    }
    if (code->time_date_stamp != map->time_date_stamp || code->size_of_image != map->size_of_image ||
        code->checksum != map->checksum) {
        fprintf(stderr, "%s: error: '%s' and '%s' are of different builds (time stamp, size or checksum differ)\n",
                prog, code_path, map_path);
        goto out;
    }
    const char *root = o.root ? o.root : ".";
    char root_abs[PATH_MAX];
    if (!realpath(root, root_abs)) {
        fprintf(stderr, "%s: error: --source-root %s: %s\n", prog, root, strerror(errno));
        goto out;
    }
    const char *triple = o.target ? o.target : flag_target(&o);
    if (!triple)
        triple = strcmp(map->machine, "x86") == 0 ? "i686-w64-mingw32" : "x86_64-w64-mingw32";

    if (!o.objects) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/hotpatch-fix.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "%s: error: cannot make a temporary directory in %s: %s\n", prog, t && *t ? t : "/tmp",
                    strerror(errno));
            tmpdir[0] = 0;
            goto out;
        }
        snprintf(log_path, sizeof log_path, "%s/log", tmpdir);
        setenv("HOTPATCH_SOURCE_ROOT", root_abs, 1);
        if (o.cc)
            setenv("HOTPATCH_CC", o.cc, 1);
        if (o.plugin)
            setenv("HOTPATCH_PLUGIN", o.plugin, 1);
    }

    /* 1-2: each input's digests */
    for (size_t i = 0; i < o.ninputs; i++) {
        in[i].path = o.inputs[i];
        if (o.objects) {
            in[i].object = strdup(o.inputs[i]);
        } else {
            char obj[PATH_MAX + 32];
            snprintf(obj, sizeof obj, "%s/%zu.o", tmpdir, i);
            in[i].object = strdup(obj);
            argv_b b = {0};
            cc_start(&o, &b, triple);
            snprintf(msg, sizeof msg, "compiling %s", in[i].path);
            progress("[%zu/%zu] compiling %s as the release was", i + 1, o.ninputs, in[i].path);
            if (!compile(&o, &b, in[i].path, obj, msg))
                goto out;
        }
        if (!in[i].object) {
            error("out of memory");
            goto out;
        }
        if (!digest_file(in[i].object, &in[i].digests, NULL, NULL))
            goto out;
        if (!in[i].digests) {
            fprintf(stderr,
                    "%s: error: %s: the object names no translation unit: it was not compiled with the hotpatch "
                    "plugin for a Windows target\n",
                    prog, in[i].path);
            goto out;
        }
        for (size_t k = 0; k < o.nunits; k++) {
            char a[PATH_MAX], b2[PATH_MAX];
            if (hp_path_unit(o.units[k].source, root_abs, NULL, a, sizeof a) == HP_OK &&
                hp_path_unit(in[i].path, root_abs, NULL, b2, sizeof b2) == HP_OK &&
                (strcmp(a, b2) == 0 || strcmp(a, in[i].digests->unit) == 0))
                in[i].release_path = strdup(o.units[k].release);
        }
        fu[i].digests = in[i].digests;
        fu[i].release_path = in[i].release_path;
    }
    hp_status st = hp_link_fix_compare(map, code, fu, o.ninputs, &plan, msg, sizeof msg);
    if (st != HP_OK) {
        error(msg);
        goto out;
    }
    /* what the changed functions call in the source: a compile without inlining, for the report */
    for (size_t i = 0; i < o.ninputs; i++) {
        const char *unit = in[i].release_path ? in[i].release_path : in[i].digests->unit;
        if (!plan->changed || !has_changes_in(plan, unit) || (o.objects && !o.ncalls))
            continue;
        if (o.objects) {
            if (!digest_file(o.calls[i], NULL, &in[i].calls, &in[i].ncalls))
                goto out;
            fu[i].calls = in[i].calls;
            fu[i].call_count = in[i].ncalls;
            continue;
        }
        char obj[PATH_MAX + 32];
        snprintf(obj, sizeof obj, "%s/%zu.calls.o", tmpdir, i);
        argv_b b = {0};
        cc_start(&o, &b, triple);
        arg(&b, "-O0");
        snprintf(msg, sizeof msg, "compiling %s without optimisation (for the report)", in[i].path);
        progress("compiling %s without optimisation, to name what the changed functions inline", in[i].path);
        if (!compile(&o, &b, in[i].path, obj, msg) || !digest_file(obj, NULL, &in[i].calls, &in[i].ncalls))
            goto out;
        fu[i].calls = in[i].calls;
        fu[i].call_count = in[i].ncalls;
    }
    if (plan->changed && hp_link_fix_annotate(plan, fu, o.ninputs) != HP_OK) {
        error("out of memory");
        goto out;
    }

    /* 3: the report, and what it decides */
    report(plan);
    if (plan->refused) {
        fprintf(stderr, "%s: error: %zu change%s a swap of functions cannot make (refused above): no module\n", prog,
                plan->refused, plan->refused == 1 ? "" : "s");
        rc = EXIT_REFUSED;
        goto out;
    }
    if (!plan->changed) {
        printf("%s: no generated code changed%s: nothing to patch, no module\n", prog,
               plan->added ? " in a function the release has (only new code, which nothing would call)" : "");
        rc = EXIT_NOTHING;
        goto out;
    }
    if (o.functions_out && !write_functions(o.functions_out, plan))
        goto out;
    if (o.objects || o.dry_run) {
        rc = EXIT_MODULE;
        goto out;
    }

    /* 4: the module, from the units with changes, in fix mode */
    snprintf(functions, sizeof functions, "%s/functions", tmpdir);
    if (!write_functions(functions, plan))
        goto out;
    char output[PATH_MAX + 16];
    if (o.output) {
        snprintf(output, sizeof output, "%s", o.output);
    } else {
        const char *base = hp_path_basename(o.image), *dot = strrchr(base, '.');
        size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
        snprintf(output, sizeof output, "%.*s.fix%s", (int)stem, base, dot && dot != base ? dot : ".dll");
    }
    argv_b link = {0};
    cc_driver(&link, triple);
    arg(&link, "-shared");
    arg(&link, "-o");
    arg(&link, output);
    size_t nfix = 0;
    for (size_t i = 0; i < o.ninputs; i++) {
        const char *unit = in[i].release_path ? in[i].release_path : in[i].digests->unit;
        if (!has_changes_in(plan, unit))
            continue;
        char obj[PATH_MAX + 32];
        snprintf(obj, sizeof obj, "%s/%zu.fix.o", tmpdir, i);
        argv_b b = {0};
        cc_start(&o, &b, triple);
        argf(&b, "-fplugin-arg-hotpatch-fix-for=%s", map_path);
        argf(&b, "-fplugin-arg-hotpatch-fix-functions=@%s", functions);
        if (in[i].release_path)
            argf(&b, "-fplugin-arg-hotpatch-fix-unit=%s", in[i].release_path);
        snprintf(msg, sizeof msg, "compiling %s in fix mode", in[i].path);
        progress("compiling %s in fix mode", in[i].path);
        if (!compile(&o, &b, in[i].path, obj, msg)) {
            argv_free(&link);
            goto out;
        }
        arg(&link, obj);
        nfix++;
    }
    /* the release's exclusions hold in the module too: an excluded function the unit exports is kept there
       as the release has it, without padding */
    for (size_t i = 0; i < o.nflags; i++)
        if (strncmp(o.flags[i], "-fplugin-arg-hotpatch-exclude=", 30) == 0)
            argf(&link, "-Wl,--hotpatch-exclude=%s", o.flags[i] + 30);
    argf(&link, "-Wl,--hotpatch-fix-for=%s", o.image);
    arg(&link, "-Wl,--hotpatch-map=none");
    progress("linking %s", output);
    int linked = run(&o, &link, "linking the patch module");
    argv_free(&link);
    if (!linked)
        goto out;
    printf("%s: wrote %s: %zu function%s replaced, from %zu unit%s\n", prog, output, plan->changed,
           plan->changed == 1 ? "" : "s", nfix, nfix == 1 ? "" : "s");
    rc = EXIT_MODULE;

out:
    if (tmpdir[0] && o.keep)
        fprintf(stderr, "%s: temporary files kept in %s\n", prog, tmpdir);
    else if (tmpdir[0])
        remove_tree(tmpdir, in, o.ninputs, functions[0] ? functions : NULL);
    for (size_t i = 0; in && i < o.ninputs; i++) {
        free(in[i].object);
        free(in[i].release_path);
        hp_link_digest_destroy(in[i].digests);
        hp_link_calls_free(in[i].calls, in[i].ncalls);
    }
    free(in);
    free(fu);
    hp_link_fix_plan_destroy(plan);
    hp_link_code_destroy(code);
    hp_map_free(map);
    free(o.inputs);
    for (size_t k = 0; k < o.nunits; k++)
        free(o.units[k].source);
    free(o.units);
    free(o.calls);
    return rc;
}
