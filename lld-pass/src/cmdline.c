/*
 * cmdline.c — the command line: response files expanded (split by rsp.c),
 * flavour detection, the --hotpatch-* options (hp_link_cmdline.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_cmdline.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hp_link_rsp.h"

#define RSP_MAX_DEPTH 16 /* lld itself gives up on deeper nesting; so do we */

const char *hp_link_flavor_name(hp_link_flavor flavor)
{
    switch (flavor) {
    case HP_LINK_FLAVOR_MINGW:
        return "mingw";
    case HP_LINK_FLAVOR_MSVC:
        return "msvc";
    case HP_LINK_FLAVOR_UNKNOWN:
        break;
    }
    return "unknown";
}

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

hp_link_flavor hp_link_flavor_from_name(const char *argv0)
{
    if (!argv0)
        return HP_LINK_FLAVOR_UNKNOWN;
    const char *base = hp_path_basename(argv0);
    if (ends_with_ci(base, "ld.lld") || strcmp(base, "ld") == 0)
        return HP_LINK_FLAVOR_MINGW;
    if (ends_with_ci(base, "lld-link") || ends_with_ci(base, "link.exe"))
        return HP_LINK_FLAVOR_MSVC;
    return HP_LINK_FLAVOR_UNKNOWN;
}

/* ------------------------------------------------------------------------- */
/* A growable string vector                                                   */
/* ------------------------------------------------------------------------- */

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

/* Append `str` (owned: freed when the push fails); the vector stays NULL-terminated. */
static int vec_push_owned(strvec *s, char *str)
{
    if (!str)
        return -1;
    if (!hp_vec_reserve((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v)) { /* room for str and the NULL */
        free(str);
        return -1;
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
    return 0;
}

static int vec_push(strvec *s, const char *str, size_t len)
{
    char *c = malloc(len + 1);
    if (!c)
        return -1;
    memcpy(c, str, len);
    c[len] = 0;
    return vec_push_owned(s, c);
}

static void vec_free(strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* ------------------------------------------------------------------------- */
/* Response files                                                             */
/* ------------------------------------------------------------------------- */

/* lld-link reads response files by the Windows rules on every host; ld.lld by the GNU rules on Linux. */
static hp_link_quoting quoting_of(hp_link_flavor flavor)
{
    return flavor == HP_LINK_FLAVOR_MSVC ? HP_LINK_QUOTING_WINDOWS : HP_LINK_QUOTING_GNU;
}

/* Append `arg`, expanding @file recursively. */
static hp_status expand(strvec *out, const char *arg, hp_link_flavor flavor, int depth, char *msg,
                        size_t msg_size)
{
    if (arg[0] != '@' || arg[1] == 0)
        return vec_push(out, arg, strlen(arg)) ? HP_ERR_NO_MEMORY : HP_OK;
    if (depth >= RSP_MAX_DEPTH) {
        hp_msg_set(msg, msg_size, "response files nested too deeply at '%s'", arg);
        return HP_ERR_USAGE;
    }
    char **parts = NULL;
    size_t count = 0;
    hp_status st = hp_link_rsp_read(arg + 1, quoting_of(flavor), &parts, &count, msg, msg_size);
    for (size_t i = 0; i < count && st == HP_OK; i++)
        st = expand(out, parts[i], flavor, depth + 1, msg, msg_size);
    hp_link_rsp_free(parts, count);
    return st;
}

/* ------------------------------------------------------------------------- */
/* Flavour from the arguments                                                 */
/* ------------------------------------------------------------------------- */

static int has_prefix_ci(const char *s, const char *p)
{
    return strncasecmp(s, p, strlen(p)) == 0;
}

/* An lld-link option spelled "-name:value" / "/name:value" / "-name" for a handful of names clang and
   build systems always use. */
static int looks_msvc(const char *a)
{
    static const char *const names[] = {"out:", "nologo", "dll", "defaultlib:", "libpath:", "subsystem:",
                                        "entry:", "machine:", "nodefaultlib", "opt:", "debug", "implib:",
                                        "incremental:", "def:", "map:", "functionpadmin", "release"};
    if (a[0] != '-' && a[0] != '/')
        return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        if (strncasecmp(a + 1, names[i], n) == 0 && (names[i][n - 1] == ':' || a[1 + n] == 0 || a[1 + n] == ':'))
            return 1;
    }
    return 0;
}

static hp_link_flavor flavor_from_args(char **args, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *a = args[i];
        if (strcmp(a, "-m") == 0 && i + 1 < n && strncmp(args[i + 1], "i386pe", 6) == 0)
            return HP_LINK_FLAVOR_MINGW;
        if (strncmp(a, "-mi386pe", 8) == 0)
            return HP_LINK_FLAVOR_MINGW;
    }
    for (size_t i = 0; i < n; i++)
        if (looks_msvc(args[i]))
            return HP_LINK_FLAVOR_MSVC;
    for (size_t i = 0; i < n; i++)
        if (strcmp(args[i], "-o") == 0 || strcmp(args[i], "--shared") == 0 || strcmp(args[i], "-shared") == 0)
            return HP_LINK_FLAVOR_MINGW;
    return HP_LINK_FLAVOR_UNKNOWN;
}

/* ------------------------------------------------------------------------- */
/* Parsing                                                                    */
/* ------------------------------------------------------------------------- */

/* GNU-flavour options whose value may be the next argument. */
static int gnu_takes_value(const char *a)
{
    static const char *const opts[] = {
        "-o", "-m", "-L", "-l", "-e", "--entry", "--subsystem", "--major-os-version", "--minor-os-version",
        "--major-subsystem-version", "--minor-subsystem-version", "--major-image-version",
        "--minor-image-version", "--image-base", "--out-implib", "--output-def", "-Map", "--Map",
        "--exclude-symbols", "--require-defined", "-u", "--undefined", "--wrap", "--defsym",
        "--section-alignment", "--file-alignment", "--stack", "--heap", "-plugin", "--plugin", "-plugin-opt",
        "--plugin-opt", "--sysroot", "-y", "--trace-symbol", "-mllvm", "--mllvm", "-Xlink", "--Xlink", "--icf",
        "--error-limit", "--thinlto-cache-dir", "--lto-O", "-soname", "--soname", "--guard-cf", "-T", "--script",
        "--version-script", "--build-id", "--pdb", "--exclude-libs", "--thinlto-jobs", "--dependency-file",
        "--lto-sample-profile", "--lto-cs-profile-file", "--lto-obj-path", "--lto-emit-llvm"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (strcmp(a, opts[i]) == 0)
            return 1;
    return 0;
}

/* The value of a "--name=value" or "--name value" option; advances *i for the second form. */
static const char *opt_value(char **a, size_t n, size_t *i, const char *name)
{
    size_t len = strlen(name);
    if (strncmp(a[*i], name, len) != 0)
        return NULL;
    if (a[*i][len] == '=')
        return a[*i] + len + 1;
    if (a[*i][len] == 0 && *i + 1 < n) {
        (*i)++;
        return a[*i];
    }
    return NULL;
}

typedef struct cmdline_impl {
    hp_link_cmdline pub; /* first: the public pointer is the impl pointer */
    strvec own;          /* our options' strings: values such as map_path and excludes point into them */
    size_t exclude_cap;
} cmdline_impl;

/* Take one --hotpatch-* / --lld / --help / --version argument out of the list: *taken says whether
   a[*i] (and, for "--name value", a[*i + 1]) was ours. */
static hp_status take_ours(hp_link_cmdline *cl, char **a, size_t n, size_t *i, int *taken, char *msg,
                           size_t msg_size)
{
    const char *arg = a[*i];
    const char *v;
    *taken = 1;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "--hotpatch-help") == 0) {
        cl->want_help = 1;
        return HP_OK;
    }
    if (strcmp(arg, "--version") == 0) {
        cl->want_version = 1;
        return HP_OK;
    }
    if (strncmp(arg, "--lld", 5) == 0 && (arg[5] == '=' || arg[5] == 0)) {
        v = opt_value(a, n, i, "--lld");
        if (!v || !*v) {
            hp_msg_set(msg, msg_size, "--lld needs a path (--lld=PATH)");
            return HP_ERR_USAGE;
        }
        cl->lld_path = v;
        return HP_OK;
    }
    if (strncmp(arg, "--hotpatch-", 11) != 0) {
        *taken = 0;
        return HP_OK;
    }
    if (strcmp(arg, "--hotpatch-flavor=mingw") == 0 || strcmp(arg, "--hotpatch-flavor=msvc") == 0)
        return HP_OK; /* decided before expansion */
    if (strcmp(arg, "--hotpatch-warn-only") == 0) {
        cl->warn_only = 1;
        return HP_OK;
    }
    if (strcmp(arg, "--hotpatch-verbose") == 0) {
        cl->verbose = 1;
        return HP_OK;
    }
    if (strncmp(arg, "--hotpatch-pad", 14) == 0 && (arg[14] == '=' || arg[14] == 0)) {
        v = opt_value(a, n, i, "--hotpatch-pad");
        return hp_pad_parse("--hotpatch-pad", v, &cl->pad, msg, msg_size);
    }
    if (strncmp(arg, "--hotpatch-exclude", 18) == 0 && (arg[18] == '=' || arg[18] == 0)) {
        v = opt_value(a, n, i, "--hotpatch-exclude");
        if (!v || !*v) {
            hp_msg_set(msg, msg_size, "--hotpatch-exclude needs a function name or glob");
            return HP_ERR_USAGE;
        }
        cmdline_impl *impl = (cmdline_impl *)cl;
        return HP_VEC_PUSH(cl->excludes, cl->exclude_count, impl->exclude_cap, v) ? HP_OK : HP_ERR_NO_MEMORY;
    }
    if (strncmp(arg, "--hotpatch-fix-for", 18) == 0 && (arg[18] == '=' || arg[18] == 0)) {
        v = opt_value(a, n, i, "--hotpatch-fix-for");
        if (!v || !*v) {
            hp_msg_set(msg, msg_size, "--hotpatch-fix-for needs the path of the released image the fix is for");
            return HP_ERR_USAGE;
        }
        cl->fix_for = v;
        return HP_OK;
    }
    if (strncmp(arg, "--hotpatch-map", 14) == 0 && (arg[14] == '=' || arg[14] == 0)) {
        v = opt_value(a, n, i, "--hotpatch-map");
        if (!v || !*v) {
            hp_msg_set(msg, msg_size, "--hotpatch-map needs a path or 'none'");
            return HP_ERR_USAGE;
        }
        if (strcmp(v, "none") == 0) {
            cl->map_none = 1;
            cl->map_path = NULL;
        } else {
            cl->map_none = 0;
            cl->map_path = v;
        }
        return HP_OK;
    }
    if (strncmp(arg, "--hotpatch-cache", 16) == 0 && (arg[16] == '=' || arg[16] == 0)) {
        v = opt_value(a, n, i, "--hotpatch-cache");
        if (!v || !*v) {
            hp_msg_set(msg, msg_size, "--hotpatch-cache needs a directory or 'none'");
            return HP_ERR_USAGE;
        }
        cl->cache_none = strcmp(v, "none") == 0;
        cl->cache_dir = cl->cache_none ? NULL : v;
        return HP_OK;
    }
    hp_msg_set(msg, msg_size, "unknown option '%s' (see --help)", arg);
    return HP_ERR_USAGE;
}

/* Does an /opt: value list ask for ICF ("icf", "icf=N", "safeicf"), cancel it ("noicf"), or neither? */
static int opt_icf(const char *list)
{
    int r = 0;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if ((len == 3 && strncasecmp(p, "icf", 3) == 0) || (len > 4 && strncasecmp(p, "icf=", 4) == 0) ||
            (len == 7 && strncasecmp(p, "safeicf", 7) == 0))
            r = 1;
        else if (len == 5 && strncasecmp(p, "noicf", 5) == 0)
            r = -1;
        p += len;
        if (*p == ',')
            p++;
    }
    return r;
}

static void scan_mingw(hp_link_cmdline *cl)
{
    char **a = cl->args;
    size_t n = cl->arg_count;
    for (size_t i = 0; i < n; i++) {
        const char *s = a[i];
        if (s[0] != '-' || s[1] == 0) {
            cl->inputs[cl->input_count++] = i;
            continue;
        }
        if (strcmp(s, "-o") == 0 && i + 1 < n)
            cl->output = a[i + 1];
        else if (strncmp(s, "--output=", 9) == 0)
            cl->output = s + 9;
        else if (strcmp(s, "--shared") == 0 || strcmp(s, "-shared") == 0 || strcmp(s, "--dll") == 0)
            cl->is_dll = 1;
        const char *icf = NULL;
        if (strncmp(s, "--icf=", 6) == 0)
            icf = s + 6;
        else if (strcmp(s, "--icf") == 0 && i + 1 < n)
            icf = a[i + 1];
        if (icf)
            cl->icf_arg = strcmp(icf, "none") == 0 ? NULL : s;
        const char *x = NULL;
        if (strncmp(s, "-Xlink=", 7) == 0)
            x = s + 7;
        else if (strncmp(s, "--Xlink=", 8) == 0)
            x = s + 8;
        else if ((strcmp(s, "-Xlink") == 0 || strcmp(s, "--Xlink") == 0) && i + 1 < n)
            x = a[i + 1];
        if (x && (x[0] == '/' || x[0] == '-') && has_prefix_ci(x + 1, "opt:")) {
            int r = opt_icf(x + 5);
            if (r > 0)
                cl->icf_arg = s;
            else if (r < 0)
                cl->icf_arg = NULL;
        }
        if (gnu_takes_value(s) && i + 1 < n)
            i++;
    }
}

static void scan_msvc(hp_link_cmdline *cl, int (*file_exists)(const char *))
{
    char **a = cl->args;
    size_t n = cl->arg_count;
    for (size_t i = 0; i < n; i++) {
        const char *s = a[i];
        int opt = s[0] == '-' || (s[0] == '/' && !(file_exists && file_exists(s)));
        if (!opt) {
            cl->inputs[cl->input_count++] = i;
            continue;
        }
        const char *o = s + 1;
        if (has_prefix_ci(o, "out:"))
            cl->output = o + 4;
        else if (strcasecmp(o, "dll") == 0)
            cl->is_dll = 1;
        else if (has_prefix_ci(o, "opt:")) {
            int r = opt_icf(o + 4);
            if (r > 0)
                cl->icf_arg = s;
            else if (r < 0)
                cl->icf_arg = NULL;
        }
    }
}

/* The command line and the strings that are not lld arguments (our options' values, the default output). */
void hp_link_cmdline_destroy(hp_link_cmdline *cl)
{
    if (!cl)
        return;
    cmdline_impl *impl = (cmdline_impl *)cl;
    for (size_t i = 0; i < cl->arg_count; i++)
        free(cl->args[i]);
    free(cl->args);
    free(cl->inputs);
    free(cl->excludes);
    vec_free(&impl->own);
    free(impl);
}

hp_status hp_link_cmdline_replace(hp_link_cmdline *cl, size_t index, const char *value)
{
    if (!cl || !value || index >= cl->arg_count)
        return HP_ERR_ARGUMENT;
    char *c = strdup(value);
    if (!c)
        return HP_ERR_NO_MEMORY;
    free(cl->args[index]);
    cl->args[index] = c;
    return HP_OK;
}

/* lld-link's default output: the first input's name with .exe or .dll, in the current directory. The
   name is cut at the last '/' only, as lld-link cuts it on a POSIX host (not hp_path_basename, which
   also cuts at '\\'). */
static int default_msvc_output(cmdline_impl *impl)
{
    hp_link_cmdline *cl = &impl->pub;
    if (cl->input_count == 0)
        return 0;
    const char *in = cl->args[cl->inputs[0]];
    const char *base = strrchr(in, '/');
    base = base ? base + 1 : in;
    const char *dot = strrchr(base, '.');
    size_t stem = dot ? (size_t)(dot - base) : strlen(base);
    char *out = malloc(stem + 5);
    if (!out)
        return -1;
    memcpy(out, base, stem);
    memcpy(out + stem, cl->is_dll ? ".dll" : ".exe", 5);
    if (vec_push_owned(&impl->own, out))
        return -1;
    cl->output = out;
    return 0;
}

hp_status hp_link_cmdline_parse(int argc, const char *const argv[], int (*file_exists)(const char *path),
                                hp_link_cmdline **out, char *msg, size_t msg_size)
{
    if (argc < 1 || !argv || !out)
        return HP_ERR_ARGUMENT;
    *out = NULL;
    if (msg && msg_size)
        msg[0] = 0;
    cmdline_impl *impl = calloc(1, sizeof *impl);
    if (!impl)
        return HP_ERR_NO_MEMORY;
    hp_link_cmdline *cl = &impl->pub;
    hp_status st = HP_OK;
    strvec raw = {0}, keep = {0};

    /* The flavour decides how response files are split: take it from the name, an explicit
       --hotpatch-flavor, or (before expansion) the plain arguments. */
    cl->flavor = hp_link_flavor_from_name(argv[0]);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--hotpatch-flavor=mingw") == 0)
            cl->flavor = HP_LINK_FLAVOR_MINGW;
        else if (strcmp(argv[i], "--hotpatch-flavor=msvc") == 0)
            cl->flavor = HP_LINK_FLAVOR_MSVC;
    }
    if (cl->flavor == HP_LINK_FLAVOR_UNKNOWN)
        cl->flavor = flavor_from_args((char **)argv + 1, (size_t)argc - 1);
    for (int i = 1; i < argc && st == HP_OK; i++) {
        if (strncmp(argv[i], "--hotpatch-flavor=", 18) == 0) {
            if (strcmp(argv[i] + 18, "mingw") && strcmp(argv[i] + 18, "msvc")) {
                hp_msg_set(msg, msg_size, "--hotpatch-flavor must be 'mingw' or 'msvc', got '%s'", argv[i] + 18);
                st = HP_ERR_BAD_VALUE;
            }
            continue;
        }
        st = expand(&raw, argv[i], cl->flavor == HP_LINK_FLAVOR_UNKNOWN ? HP_LINK_FLAVOR_MINGW : cl->flavor, 0,
                    msg, msg_size);
    }
    if (st != HP_OK)
        goto fail;
    if (cl->flavor == HP_LINK_FLAVOR_UNKNOWN)
        cl->flavor = flavor_from_args(raw.v, raw.n);

    /* take our options out; everything else goes to lld in order */
    for (size_t i = 0; i < raw.n; i++) {
        size_t at = i;
        int taken = 0;
        st = take_ours(cl, raw.v, raw.n, &i, &taken, msg, msg_size);
        if (st != HP_OK)
            goto fail;
        for (size_t k = at; k <= i; k++) {
            strvec *dst = taken ? &impl->own : &keep;
            if (vec_push_owned(dst, raw.v[k])) {
                raw.v[k] = NULL;
                st = HP_ERR_NO_MEMORY;
                goto fail;
            }
            raw.v[k] = NULL;
        }
    }
    free(raw.v);
    raw.v = NULL;
    raw.n = 0;
    if (!keep.v) { /* nothing kept: still a NULL-terminated array, as hp_link_cmdline promises */
        keep.v = calloc(1, sizeof *keep.v);
        if (!keep.v) {
            st = HP_ERR_NO_MEMORY;
            goto fail;
        }
    }
    if (cl->want_help || cl->want_version) {
        cl->args = keep.v;
        cl->arg_count = keep.n;
        keep.v = NULL;
        *out = cl;
        return HP_OK;
    }
    if (cl->flavor == HP_LINK_FLAVOR_UNKNOWN) {
        hp_msg_set(msg, msg_size,
                   "cannot tell the linker flavour from the command line: call hotpatch-link as "
                   "hotpatch-ld.lld / hotpatch-lld-link, or pass --hotpatch-flavor=mingw|msvc");
        st = HP_ERR_USAGE;
        goto fail;
    }
    cl->args = keep.v;
    cl->arg_count = keep.n;
    keep.v = NULL;
    keep.n = 0;
    cl->inputs = calloc(cl->arg_count + 1, sizeof *cl->inputs);
    if (!cl->inputs) {
        st = HP_ERR_NO_MEMORY;
        goto fail;
    }
    if (cl->flavor == HP_LINK_FLAVOR_MINGW)
        scan_mingw(cl);
    else
        scan_msvc(cl, file_exists);
    if (!cl->output) {
        if (cl->flavor == HP_LINK_FLAVOR_MINGW) {
            cl->output = "a.exe"; /* ld.lld's MinGW default */
        } else if (default_msvc_output(impl)) {
            st = HP_ERR_NO_MEMORY;
            goto fail;
        }
    }
    if (!cl->output) {
        hp_msg_set(msg, msg_size, "no input files");
        st = HP_ERR_USAGE;
        goto fail;
    }
    *out = cl;
    return HP_OK;

fail:
    for (size_t i = 0; i < raw.n; i++)
        free(raw.v[i]);
    free(raw.v);
    vec_free(&keep);
    hp_link_cmdline_destroy(cl);
    return st;
}
