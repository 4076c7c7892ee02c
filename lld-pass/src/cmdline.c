/*
 * cmdline.c — response files, flavour detection and the --hotpatch-* options
 * (hp_link_cmdline.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_cmdline.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
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

static int vec_push_owned(strvec *s, char *str)
{
    if (!str)
        return -1;
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            free(str);
            return -1;
        }
        s->v = v;
        s->cap = cap;
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

/* A token being built. */
typedef struct tok {
    char *buf;
    size_t len, cap;
    int started;
} tok;

static int tok_add(tok *t, char c)
{
    if (t->len + 1 >= t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char *b = realloc(t->buf, cap);
        if (!b)
            return -1;
        t->buf = b;
        t->cap = cap;
    }
    t->buf[t->len++] = c;
    t->started = 1;
    return 0;
}

static int tok_flush(tok *t, strvec *out)
{
    if (!t->started)
        return 0;
    int r = vec_push(out, t->buf ? t->buf : "", t->len);
    t->len = 0;
    t->started = 0;
    return r;
}

/* End of a split: the last token (unless a step `failed` for lack of memory), then the buffer. 0 or -1. */
static int tok_end(tok *t, strvec *out, int failed)
{
    if (!failed && tok_flush(t, out))
        failed = 1;
    free(t->buf);
    return failed ? -1 : 0;
}

/* GNU rules (LLVM's TokenizeGNUCommandLine): whitespace separates; '...' is literal; "..." groups,
   and a backslash escapes the next character outside single quotes. */
static int split_gnu(const char *s, size_t n, strvec *out)
{
    tok t = {0};
    char quote = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (quote == '\'') {
            if (c == '\'')
                quote = 0;
            else if (tok_add(&t, c))
                goto oom;
            continue;
        }
        if (c == '\\' && i + 1 < n) {
            if (tok_add(&t, s[++i]))
                goto oom;
            continue;
        }
        if (quote == '"') {
            if (c == '"')
                quote = 0;
            else if (tok_add(&t, c))
                goto oom;
            continue;
        }
        if (c == '\'' || c == '"') {
            quote = c;
            t.started = 1;
            continue;
        }
        if (isspace((unsigned char)c)) {
            if (tok_flush(&t, out))
                goto oom;
            continue;
        }
        if (tok_add(&t, c))
            goto oom;
    }
    return tok_end(&t, out, 0);
oom:
    return tok_end(&t, out, 1);
}

/* Windows rules (CommandLineToArgvW, as LLVM's TokenizeWindowsCommandLine): 2n backslashes before a
   quote give n backslashes and the quote toggles quoting; 2n+1 give n and a literal quote; inside
   quotes "" is a literal quote; other backslashes are literal. */
static int split_windows(const char *s, size_t n, strvec *out)
{
    tok t = {0};
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            size_t k = i;
            while (k < n && s[k] == '\\')
                k++;
            size_t count = k - i;
            if (k < n && s[k] == '"') {
                for (size_t q = 0; q < count / 2; q++)
                    if (tok_add(&t, '\\'))
                        goto oom;
                if (count % 2) {
                    if (tok_add(&t, '"'))
                        goto oom;
                    i = k;
                } else {
                    i = k - 1; /* the quote is handled next round */
                }
            } else {
                for (size_t q = 0; q < count; q++)
                    if (tok_add(&t, '\\'))
                        goto oom;
                i = k - 1;
            }
            continue;
        }
        if (c == '"') {
            if (quoted && i + 1 < n && s[i + 1] == '"') {
                if (tok_add(&t, '"'))
                    goto oom;
                i++;
                continue;
            }
            quoted = !quoted;
            t.started = 1;
            continue;
        }
        if (!quoted && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
            if (tok_flush(&t, out))
                goto oom;
            continue;
        }
        if (tok_add(&t, c))
            goto oom;
    }
    return tok_end(&t, out, 0);
oom:
    return tok_end(&t, out, 1);
}

hp_link_status hp_link_rsp_split(const char *text, size_t len, hp_link_flavor flavor, char ***out_args,
                                 size_t *out_count)
{
    if ((!text && len) || !out_args || !out_count)
        return HP_LINK_ERR_ARGUMENT;
    strvec v = {0};
    int r = flavor == HP_LINK_FLAVOR_MSVC ? split_windows(text, len, &v) : split_gnu(text, len, &v);
    if (r) {
        vec_free(&v);
        return HP_LINK_ERR_NO_MEMORY;
    }
    if (!v.v) {
        v.v = calloc(1, sizeof *v.v);
        if (!v.v)
            return HP_LINK_ERR_NO_MEMORY;
    }
    *out_args = v.v;
    *out_count = v.n;
    return HP_LINK_OK;
}

static char *read_text(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len < cap)
            break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return NULL;
    }
    /* a UTF-8 byte order mark is not part of the first argument */
    if (buf && len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB &&
        (unsigned char)buf[2] == 0xBF) {
        memmove(buf, buf + 3, len - 3);
        len -= 3;
    }
    *out_len = len;
    return buf;
}

static void set_msg(char *msg, size_t size, const char *fmt, const char *a, const char *b)
{
    if (msg && size)
        snprintf(msg, size, fmt, a ? a : "", b ? b : "");
}

/* Append `arg`, expanding @file recursively. */
static hp_link_status expand(strvec *out, const char *arg, hp_link_flavor flavor, int depth, char *msg,
                             size_t msg_size)
{
    if (arg[0] != '@' || arg[1] == 0)
        return vec_push(out, arg, strlen(arg)) ? HP_LINK_ERR_NO_MEMORY : HP_LINK_OK;
    if (depth >= RSP_MAX_DEPTH) {
        set_msg(msg, msg_size, "response files nested too deeply at '%s'%s", arg, NULL);
        return HP_LINK_ERR_USAGE;
    }
    size_t len = 0;
    char *text = read_text(arg + 1, &len);
    if (!text) {
        set_msg(msg, msg_size, "cannot read response file '%s'%s", arg + 1, NULL);
        return HP_LINK_ERR_IO;
    }
    char **parts = NULL;
    size_t count = 0;
    hp_link_status st = hp_link_rsp_split(text, len, flavor, &parts, &count);
    free(text);
    for (size_t i = 0; i < count; i++) {
        if (st == HP_LINK_OK)
            st = expand(out, parts[i], flavor, depth + 1, msg, msg_size);
        free(parts[i]);
    }
    free(parts);
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

static int parse_pad(const char *v, unsigned *out)
{
    if (!v || !*v)
        return -1;
    unsigned long x = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        x = x * 10 + (unsigned long)(*p - '0');
        if (x > 1000)
            return -1;
    }
    if (x < 1 || x > 64)
        return -1;
    *out = (unsigned)x;
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

/* Take one --hotpatch-* / --lld / --help argument out of the list. 1 = taken, 0 = not ours, <0 = error. */
static int take_ours(hp_link_cmdline *cl, char **a, size_t n, size_t *i, char *msg, size_t msg_size)
{
    const char *arg = a[*i];
    const char *v;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "--hotpatch-help") == 0) {
        cl->want_help = 1;
        return 1;
    }
    if (strncmp(arg, "--lld", 5) == 0 && (arg[5] == '=' || arg[5] == 0)) {
        v = opt_value(a, n, i, "--lld");
        if (!v || !*v) {
            set_msg(msg, msg_size, "--lld needs a path (--lld=PATH)%s%s", NULL, NULL);
            return -1;
        }
        cl->lld_path = v;
        return 1;
    }
    if (strncmp(arg, "--hotpatch-", 11) != 0)
        return 0;
    if (strcmp(arg, "--hotpatch-flavor=mingw") == 0 || strcmp(arg, "--hotpatch-flavor=msvc") == 0)
        return 1; /* decided before expansion */
    if (strcmp(arg, "--hotpatch-warn-only") == 0) {
        cl->warn_only = 1;
        return 1;
    }
    if (strcmp(arg, "--hotpatch-verbose") == 0) {
        cl->verbose = 1;
        return 1;
    }
    if (strncmp(arg, "--hotpatch-pad", 14) == 0 && (arg[14] == '=' || arg[14] == 0)) {
        v = opt_value(a, n, i, "--hotpatch-pad");
        if (parse_pad(v, &cl->pad)) {
            set_msg(msg, msg_size, "--hotpatch-pad needs a number of bytes from 1 to 64, got '%s'%s", v, NULL);
            return -1;
        }
        return 1;
    }
    if (strncmp(arg, "--hotpatch-map", 14) == 0 && (arg[14] == '=' || arg[14] == 0)) {
        v = opt_value(a, n, i, "--hotpatch-map");
        if (!v || !*v) {
            set_msg(msg, msg_size, "--hotpatch-map needs a path or 'none'%s%s", NULL, NULL);
            return -1;
        }
        if (strcmp(v, "none") == 0) {
            cl->map_none = 1;
            cl->map_path = NULL;
        } else {
            cl->map_none = 0;
            cl->map_path = v;
        }
        return 1;
    }
    set_msg(msg, msg_size, "unknown option '%s' (see --help)%s", arg, NULL);
    return -1;
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
typedef struct cmdline_impl {
    hp_link_cmdline pub; /* first: the public pointer is the impl pointer */
    strvec own;
} cmdline_impl;

void hp_link_cmdline_destroy(hp_link_cmdline *cl)
{
    if (!cl)
        return;
    cmdline_impl *impl = (cmdline_impl *)cl;
    for (size_t i = 0; i < cl->arg_count; i++)
        free(cl->args[i]);
    free(cl->args);
    free(cl->inputs);
    vec_free(&impl->own);
    free(impl);
}

hp_link_status hp_link_cmdline_replace(hp_link_cmdline *cl, size_t index, const char *value)
{
    if (!cl || !value || index >= cl->arg_count)
        return HP_LINK_ERR_ARGUMENT;
    char *c = strdup(value);
    if (!c)
        return HP_LINK_ERR_NO_MEMORY;
    free(cl->args[index]);
    cl->args[index] = c;
    return HP_LINK_OK;
}

/* lld-link's default output: the first input's name with .exe or .dll, in the current directory. */
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

hp_link_status hp_link_cmdline_parse(int argc, const char *const argv[], int (*file_exists)(const char *path),
                                     hp_link_cmdline **out, char *msg, size_t msg_size)
{
    if (argc < 1 || !argv || !out)
        return HP_LINK_ERR_ARGUMENT;
    *out = NULL;
    if (msg && msg_size)
        msg[0] = 0;
    cmdline_impl *impl = calloc(1, sizeof *impl);
    if (!impl)
        return HP_LINK_ERR_NO_MEMORY;
    hp_link_cmdline *cl = &impl->pub;
    hp_link_status st = HP_LINK_OK;
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
    for (int i = 1; i < argc && st == HP_LINK_OK; i++) {
        if (strncmp(argv[i], "--hotpatch-flavor=", 18) == 0) {
            if (strcmp(argv[i] + 18, "mingw") && strcmp(argv[i] + 18, "msvc")) {
                set_msg(msg, msg_size, "--hotpatch-flavor must be 'mingw' or 'msvc', got '%s'%s", argv[i] + 18,
                        NULL);
                st = HP_LINK_ERR_USAGE;
            }
            continue;
        }
        st = expand(&raw, argv[i], cl->flavor == HP_LINK_FLAVOR_UNKNOWN ? HP_LINK_FLAVOR_MINGW : cl->flavor, 0,
                    msg, msg_size);
    }
    if (st != HP_LINK_OK)
        goto fail;
    if (cl->flavor == HP_LINK_FLAVOR_UNKNOWN)
        cl->flavor = flavor_from_args(raw.v, raw.n);

    /* take our options out; everything else goes to lld in order */
    for (size_t i = 0; i < raw.n; i++) {
        size_t at = i;
        int r = take_ours(cl, raw.v, raw.n, &i, msg, msg_size);
        if (r < 0) {
            st = HP_LINK_ERR_USAGE;
            goto fail;
        }
        for (size_t k = at; k <= i; k++) {
            strvec *dst = r ? &impl->own : &keep;
            if (vec_push_owned(dst, raw.v[k])) {
                raw.v[k] = NULL;
                st = HP_LINK_ERR_NO_MEMORY;
                goto fail;
            }
            raw.v[k] = NULL;
        }
    }
    free(raw.v);
    raw.v = NULL;
    raw.n = 0;
    if (cl->want_help) {
        cl->args = keep.v;
        cl->arg_count = keep.n;
        keep.v = NULL;
        *out = cl;
        return HP_LINK_OK;
    }
    if (cl->flavor == HP_LINK_FLAVOR_UNKNOWN) {
        set_msg(msg, msg_size,
                "cannot tell the linker flavour from the command line: call hotpatch-link as "
                "hotpatch-ld.lld / hotpatch-lld-link, or pass --hotpatch-flavor=mingw|msvc%s%s",
                NULL, NULL);
        st = HP_LINK_ERR_USAGE;
        goto fail;
    }
    if (!keep.v) {
        keep.v = calloc(1, sizeof *keep.v);
        if (!keep.v) {
            st = HP_LINK_ERR_NO_MEMORY;
            goto fail;
        }
    }
    cl->args = keep.v;
    cl->arg_count = keep.n;
    keep.v = NULL;
    keep.n = 0;
    cl->inputs = calloc(cl->arg_count + 1, sizeof *cl->inputs);
    if (!cl->inputs) {
        st = HP_LINK_ERR_NO_MEMORY;
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
            st = HP_LINK_ERR_NO_MEMORY;
            goto fail;
        }
    }
    if (!cl->output) {
        set_msg(msg, msg_size, "no input files%s%s", NULL, NULL);
        st = HP_LINK_ERR_USAGE;
        goto fail;
    }
    *out = cl;
    return HP_LINK_OK;

fail:
    for (size_t i = 0; i < raw.n; i++)
        free(raw.v[i]);
    free(raw.v);
    vec_free(&keep);
    hp_link_cmdline_destroy(cl);
    return st;
}
