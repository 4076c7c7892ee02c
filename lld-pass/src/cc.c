/*
 * cc.c — hotpatch-cc's logic: classify a clang command line, find the
 * compiler, the plugin and hotpatch-link, write the command (hp_link_cc.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_cc.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hp_link_rsp.h"

extern char **environ;

#define RSP_MAX_DEPTH 16
#define OPT_PREFIX "--hotpatch-cc-"

/* ------------------------------------------------------------------------- */
/* Classification                                                             */
/* ------------------------------------------------------------------------- */

/* Options whose value is the next argument when they are given alone (clang's Separate and
   JoinedOrSeparate forms). The joined forms (-Ifoo, -o out, --target=x) need no entry. */
static const char *const separate_opts[] = {
    "-o", "-I", "-D", "-U", "-include", "-imacros", "-idirafter", "-iprefix", "-iwithprefix",
    "-iwithprefixbefore", "-isystem", "-isystem-after", "-isysroot", "-iquote", "-iframework",
    "-iframeworkwithsysroot", "-imultilib", "-include-pch", "-ivfsoverlay", "-cxx-isystem", "-MF", "-MT", "-MQ",
    "-MJ", "-L", "-B", "-Xclang", "-Xassembler", "-Xpreprocessor", "-Xanalyzer", "-Xopenmp-target",
    "-Xcuda-fatbinary", "-Xcuda-ptxas", "-mllvm", "-u", "-e", "-T", "-z", "-A", "-arch", "-F", "-framework",
    "-install_name", "-rpath", "-serialize-diagnostics", "--serialize-diagnostics", "-dependency-file",
    "-dependency-dot", "--sysroot", "--param", "--config", "-working-directory", "-aux-target", "--output",
    "--include-directory", "--define-macro", "--undefine-macro", "--include", "--assert", NULL};

/* Options that make clang print something and compile nothing, whatever else is given. */
static int is_query(const char *a)
{
    static const char *const exact[] = {"--version", "-dumpmachine", "-dumpversion", "--help", "-help",
                                        "--help-hidden", "-print-effective-triple", "-print-target-triple", NULL};
    for (const char *const *e = exact; *e; e++)
        if (strcmp(a, *e) == 0)
            return 1;
    return strncmp(a, "-print-", 7) == 0 || strncmp(a, "--print-", 8) == 0;
}

/* Options that stop clang before code generation. */
static int is_no_code(const char *a)
{
    static const char *const exact[] = {"-E", "-M", "-MM", "-fsyntax-only", "--analyze", "--precompile",
                                        "-emit-ast", "--preprocess", "--dependencies", "--user-dependencies", NULL};
    for (const char *const *e = exact; *e; e++)
        if (strcmp(a, *e) == 0)
            return 1;
    return 0;
}

/* A -x language: 1 C-family source, 0 something else (assembly, headers, IR), -1 "none". */
static int lang_kind(const char *lang)
{
    static const char *const sources[] = {"c", "c++", "objective-c", "objective-c++", "cpp-output",
                                          "c++-cpp-output", "objective-c-cpp-output", "objc-cpp-output",
                                          "objective-c++-cpp-output", "objc++-cpp-output", NULL};
    if (strcmp(lang, "none") == 0)
        return -1;
    for (const char *const *s = sources; *s; s++)
        if (strcmp(lang, *s) == 0)
            return 1;
    return 0;
}

/* An input's kind by its extension (case matters: .C is C++, .S is assembly to preprocess). */
static int ext_is_source(const char *path)
{
    static const char *const exts[] = {"c", "i", "cc", "cp", "cxx", "cpp", "CPP", "c++", "C", "ii",
                                       "m", "mi", "mm", "M", "mii", NULL};
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base + 1 : path, '.');
    if (!dot)
        return 0;
    for (const char *const *e = exts; *e; e++)
        if (strcmp(dot + 1, *e) == 0)
            return 1;
    return 0;
}

typedef enum pending {
    PEND_NONE,
    PEND_SKIP,     /* an option's value */
    PEND_LANG,     /* -x LANG */
    PEND_TARGET,   /* -target TRIPLE */
    PEND_LINK_IN,  /* -l NAME, -Xlinker ARG: reaches the linker as an input */
} pending;

typedef struct walk {
    hp_cc_args *a;
    pending pend;
    int lang;      /* -x in force: 1 source, 0 other, -1 none (by extension) */
    int after_dd;  /* after "--": every argument is an input */
    int query, no_code, compile;
    char *msg;
    size_t msg_size;
} walk;

static hp_status set_target(walk *w, const char *triple)
{
    if (strlen(triple) >= sizeof w->a->target) {
        hp_msg_set(w->msg, w->msg_size, "target '%.40s...' is too long", triple);
        return HP_ERR_BAD_VALUE;
    }
    strcpy(w->a->target, triple);
    return HP_OK;
}

static void input(walk *w, const char *path)
{
    int src = w->lang >= 0 ? w->lang : ext_is_source(path);
    if (src)
        w->a->sources++;
    else
        w->a->others++;
}

static hp_status one(walk *w, const char *arg, int depth);

/* `@file`: its arguments in its place; a file that cannot be read is an input to clang, as clang sees it. */
static hp_status expand(walk *w, const char *arg, int depth)
{
    char **parts = NULL;
    size_t count = 0;
    if (depth >= RSP_MAX_DEPTH ||
        hp_link_rsp_read(arg + 1, HP_LINK_QUOTING_GNU, &parts, &count, NULL, 0) != HP_OK) {
        w->a->others++;
        return HP_OK;
    }
    hp_status st = HP_OK;
    for (size_t i = 0; i < count && st == HP_OK; i++)
        st = one(w, parts[i], depth + 1);
    hp_link_rsp_free(parts, count);
    return st;
}

static hp_status one(walk *w, const char *arg, int depth)
{
    if (arg[0] == '@' && arg[1])
        return expand(w, arg, depth);
    pending p = w->pend;
    w->pend = PEND_NONE;
    switch (p) {
    case PEND_SKIP:
        return HP_OK;
    case PEND_LANG:
        w->lang = lang_kind(arg);
        return HP_OK;
    case PEND_TARGET:
        return set_target(w, arg);
    case PEND_LINK_IN:
        w->a->others++;
        return HP_OK;
    case PEND_NONE:
        break;
    }
    if (w->after_dd || arg[0] != '-' || arg[1] == 0) {
        input(w, arg);
        return HP_OK;
    }
    if (strcmp(arg, "--") == 0) {
        w->after_dd = 1;
        return HP_OK;
    }
    if (depth == 0 && strncmp(arg, OPT_PREFIX, strlen(OPT_PREFIX)) == 0) {
        if (strcmp(arg, OPT_PREFIX "help") == 0)
            w->a->help = 1;
        else if (strcmp(arg, OPT_PREFIX "verbose") == 0)
            w->a->verbose = 1;
        else {
            hp_msg_set(w->msg, w->msg_size, "unknown option '%s' (see --hotpatch-cc-help)", arg);
            return HP_ERR_USAGE;
        }
        return HP_OK;
    }
    if (strncmp(arg, "--target=", 9) == 0)
        return set_target(w, arg + 9);
    if (strcmp(arg, "-target") == 0) {
        w->pend = PEND_TARGET;
        return HP_OK;
    }
    if (strcmp(arg, "-x") == 0 || strcmp(arg, "--language") == 0) {
        w->pend = PEND_LANG;
        return HP_OK;
    }
    if (strncmp(arg, "-x", 2) == 0) {
        w->lang = lang_kind(arg + 2);
        return HP_OK;
    }
    if (strncmp(arg, "--language=", 11) == 0) {
        w->lang = lang_kind(arg + 11);
        return HP_OK;
    }
    if (strcmp(arg, "-l") == 0 || strcmp(arg, "-Xlinker") == 0) {
        w->pend = PEND_LINK_IN;
        return HP_OK;
    }
    if (strncmp(arg, "-l", 2) == 0 || strncmp(arg, "-Wl,", 4) == 0) {
        w->a->others++; /* what clang hands the linker as an input: `clang -Wl,--version` links */
        return HP_OK;
    }
    if (strcmp(arg, "-###") == 0) {
        w->a->dry_run = 1;
        return HP_OK;
    }
    if (strcmp(arg, "-c") == 0 || strcmp(arg, "-S") == 0 || strcmp(arg, "--compile") == 0 ||
        strcmp(arg, "--assemble") == 0) {
        w->compile = 1;
        return HP_OK;
    }
    if (is_query(arg)) {
        w->query = 1;
        return HP_OK;
    }
    if (is_no_code(arg)) {
        w->no_code = 1;
        return HP_OK;
    }
    for (const char *const *s = separate_opts; *s; s++)
        if (strcmp(arg, *s) == 0) {
            w->pend = PEND_SKIP;
            return HP_OK;
        }
    return HP_OK; /* any other option: no value of its own, or a joined one */
}

hp_status hp_cc_parse(int argc, const char *const argv[], hp_cc_args *out, char *msg, size_t msg_size)
{
    if (!out || argc < 0 || (argc > 0 && !argv))
        return HP_ERR_ARGUMENT;
    memset(out, 0, sizeof *out);
    walk w;
    memset(&w, 0, sizeof w);
    w.a = out;
    w.lang = -1;
    w.msg = msg;
    w.msg_size = msg_size;
    for (int i = 0; i < argc; i++) {
        if (!argv[i])
            return HP_ERR_ARGUMENT;
        hp_status st = one(&w, argv[i], 0);
        if (st != HP_OK)
            return st;
    }
    /* clang stops at the earliest phase any option asks for */
    if (w.query || out->sources + out->others == 0)
        out->phase = HP_CC_PHASE_QUERY;
    else if (w.no_code)
        out->phase = HP_CC_PHASE_NO_CODE;
    else if (w.compile)
        out->phase = HP_CC_PHASE_COMPILE;
    else
        out->phase = HP_CC_PHASE_LINK;
    return HP_OK;
}

int hp_cc_wants_plugin(const hp_cc_args *a)
{
    return a && a->sources > 0 && (a->phase == HP_CC_PHASE_COMPILE || a->phase == HP_CC_PHASE_LINK);
}

int hp_cc_links(const hp_cc_args *a)
{
    return a && a->phase == HP_CC_PHASE_LINK && !a->dry_run;
}

/* `needle` in `hay`, ignoring case. */
static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

hp_cc_abi hp_cc_abi_of(const char *triple)
{
    if (!triple || !triple[0])
        return HP_CC_ABI_OTHER;
    /* LLVM spells MinGW "-w64-mingw32" or "-windows-gnu"; the MSVC environment is the default of a
       Windows OS ("-windows", "-win32", "-windows-msvc"). Cygwin and the Itanium ABI are neither. */
    if (contains_ci(triple, "cygwin") || contains_ci(triple, "cygnus") || contains_ci(triple, "itanium"))
        return HP_CC_ABI_OTHER;
    if (contains_ci(triple, "mingw") || contains_ci(triple, "windows-gnu"))
        return HP_CC_ABI_MINGW;
    if (contains_ci(triple, "windows") || contains_ci(triple, "win32"))
        return HP_CC_ABI_MSVC;
    return HP_CC_ABI_OTHER;
}

/* ------------------------------------------------------------------------- */
/* The command                                                                */
/* ------------------------------------------------------------------------- */

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

static int push_owned(strvec *s, char *str)
{
    if (!str)
        return 0;
    if (!HP_VEC_PUSH(s->v, s->n, s->cap, str)) {
        free(str);
        return 0;
    }
    return 1;
}

static int push(strvec *s, const char *str)
{
    return push_owned(s, strdup(str));
}

static int push_cat(strvec *s, const char *a, const char *b, size_t b_len)
{
    size_t la = strlen(a);
    char *c = malloc(la + b_len + 1);
    if (!c)
        return 0;
    memcpy(c, a, la);
    memcpy(c + la, b, b_len);
    c[la + b_len] = 0;
    return push_owned(s, c);
}

/* The options hotpatch-cc adds. */
static hp_status additions(const hp_cc_tools *t, strvec *s, char *msg, size_t msg_size)
{
    if (t->plugin) {
        if (!push_cat(s, "-fplugin=", t->plugin, strlen(t->plugin)))
            return HP_ERR_NO_MEMORY;
        if (t->source_root && t->source_root[0] &&
            !push_cat(s, "-fplugin-arg-hotpatch-source-root=", t->source_root, strlen(t->source_root)))
            return HP_ERR_NO_MEMORY;
        for (const char *p = t->plugin_args; p && *p;) {
            p += strspn(p, " \t\n");
            size_t len = strcspn(p, " \t\n");
            if (!len)
                break;
            if (p[0] == '-' || p[0] == '=') {
                hp_msg_set(msg, msg_size,
                           "HOTPATCH_PLUGIN_ARGS: '%.*s' is not NAME or NAME=VALUE (a plugin option without "
                           "-fplugin-arg-hotpatch-)",
                           (int)len, p);
                return HP_ERR_BAD_VALUE;
            }
            if (!push_cat(s, "-fplugin-arg-hotpatch-", p, len))
                return HP_ERR_NO_MEMORY;
            p += len;
        }
    }
    if (t->abi == HP_CC_ABI_MINGW && t->link) {
        if (!push_cat(s, "-fuse-ld=", t->link, strlen(t->link)))
            return HP_ERR_NO_MEMORY;
    } else if (t->abi == HP_CC_ABI_MSVC && t->ld_dir && t->ld_name) {
        size_t n = strlen(t->ld_dir);
        int slash = n > 0 && t->ld_dir[n - 1] == '/';
        char *b = malloc(n + 4);
        if (!b)
            return HP_ERR_NO_MEMORY;
        snprintf(b, n + 4, "-B%s%s", t->ld_dir, slash ? "" : "/");
        if (!push_owned(s, b) || !push_cat(s, "-fuse-ld=", t->ld_name, strlen(t->ld_name)))
            return HP_ERR_NO_MEMORY;
    }
    return HP_OK;
}

void hp_cc_command_free(char **argv)
{
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

hp_status hp_cc_command(int argc, const char *const argv[], const hp_cc_tools *t, char ***out_argv, char *msg,
                        size_t msg_size)
{
    if (!t || !t->compiler || !out_argv || argc < 0 || (argc > 0 && !argv))
        return HP_ERR_ARGUMENT;
    *out_argv = NULL;
    strvec s = {0};
    hp_status st = push(&s, t->compiler) ? HP_OK : HP_ERR_NO_MEMORY;
    int added = 0;
    for (int i = 0; i < argc && st == HP_OK; i++) {
        if (!added && strcmp(argv[i], "--") == 0) {
            st = additions(t, &s, msg, msg_size);
            added = 1;
            if (st != HP_OK)
                break;
        }
        if (!added && strncmp(argv[i], OPT_PREFIX, strlen(OPT_PREFIX)) == 0)
            continue; /* the wrapper's own */
        if (!push(&s, argv[i]))
            st = HP_ERR_NO_MEMORY;
    }
    if (st == HP_OK && !added)
        st = additions(t, &s, msg, msg_size);
    if (st == HP_OK && !HP_VEC_PUSH(s.v, s.n, s.cap, NULL))
        st = HP_ERR_NO_MEMORY;
    if (st != HP_OK) {
        for (size_t i = 0; i < s.n; i++)
            free(s.v[i]);
        free(s.v);
        return st;
    }
    *out_argv = s.v;
    return HP_OK;
}

/* ------------------------------------------------------------------------- */
/* Finding the tools                                                          */
/* ------------------------------------------------------------------------- */

static int is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* "<dir>/<name>" (dir of dir_len bytes), malloc'd; NULL out of memory. */
static char *join(const char *dir, size_t dir_len, const char *name)
{
    size_t n = strlen(name);
    char *p = malloc(dir_len + n + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, dir_len);
    p[dir_len] = '/';
    memcpy(p + dir_len + 1, name, n + 1);
    return p;
}

/* `name` as an executable in `dir` (may be NULL), then in the directories of `path_env`. */
static hp_status find_in(const char *name, const char *dir, const char *path_env, char **out)
{
    if (dir) {
        char *p = join(dir, strlen(dir), name);
        if (!p)
            return HP_ERR_NO_MEMORY;
        if (is_executable(p)) {
            *out = p;
            return HP_OK;
        }
        free(p);
    }
    for (const char *d = path_env; d && *d;) {
        size_t len = strcspn(d, ":");
        if (len) {
            char *p = join(d, len, name);
            if (!p)
                return HP_ERR_NO_MEMORY;
            if (is_executable(p)) {
                *out = p;
                return HP_OK;
            }
            free(p);
        }
        d += len;
        if (*d == ':')
            d++;
    }
    return HP_ERR_TOOL;
}

hp_status hp_cc_find_compiler(const char *env_cc, const char *default_dir, const char *path_env, char **out_path,
                              char *msg, size_t msg_size)
{
    if (!out_path)
        return HP_ERR_ARGUMENT;
    *out_path = NULL;
    hp_status st;
    if (env_cc && env_cc[0]) {
        if (strchr(env_cc, '/')) {
            st = is_executable(env_cc) ? HP_OK : HP_ERR_TOOL;
            if (st == HP_OK && !(*out_path = strdup(env_cc)))
                st = HP_ERR_NO_MEMORY;
        } else {
            st = find_in(env_cc, NULL, path_env, out_path);
        }
        if (st == HP_ERR_TOOL)
            hp_msg_set(msg, msg_size, "HOTPATCH_CC='%s' is not an executable file%s", env_cc,
                       strchr(env_cc, '/') ? "" : " on PATH");
        return st;
    }
    st = find_in("clang-19", default_dir, path_env, out_path);
    if (st == HP_ERR_TOOL)
        hp_msg_set(msg, msg_size, "cannot find clang-19 (set HOTPATCH_CC)");
    return st;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

hp_status hp_cc_find_plugin(const char *env_plugin, const char *self_dir, const char *rel_pkglib,
                            const char *build_plugin, char **out_path, char *msg, size_t msg_size)
{
    if (!out_path)
        return HP_ERR_ARGUMENT;
    *out_path = NULL;
    if (env_plugin && env_plugin[0]) {
        if (!file_exists(env_plugin)) {
            hp_msg_set(msg, msg_size, "HOTPATCH_PLUGIN='%s' is not a file", env_plugin);
            return HP_ERR_TOOL;
        }
        return (*out_path = strdup(env_plugin)) ? HP_OK : HP_ERR_NO_MEMORY;
    }
    char installed[4096] = "";
    if (self_dir && rel_pkglib) {
        if ((size_t)snprintf(installed, sizeof installed, "%s/%s/hotpatch-plugin.so", self_dir, rel_pkglib) >=
            sizeof installed)
            installed[0] = 0;
        else if (file_exists(installed))
            return (*out_path = strdup(installed)) ? HP_OK : HP_ERR_NO_MEMORY;
    }
    char built[4096] = "";
    if (build_plugin && build_plugin[0]) {
        /* relative to this program's directory (the build tree's layout), or as given */
        if (build_plugin[0] != '/' && self_dir)
            snprintf(built, sizeof built, "%s/%s", self_dir, build_plugin);
        else
            snprintf(built, sizeof built, "%s", build_plugin);
        if (file_exists(built))
            return (*out_path = strdup(built)) ? HP_OK : HP_ERR_NO_MEMORY;
        build_plugin = built;
    }
    hp_msg_set(msg, msg_size, "cannot find the hotpatch plugin: not in %s%s%s (set HOTPATCH_PLUGIN)",
               installed[0] ? installed : "the installed tree", build_plugin && build_plugin[0] ? " nor " : "",
               build_plugin && build_plugin[0] ? build_plugin : "");
    return HP_ERR_TOOL;
}

hp_status hp_cc_find_linker(hp_cc_abi abi, const char *self_dir, const char *rel_pkglib, char **out_link,
                            char **out_ld_dir, const char **out_ld_name, char *msg, size_t msg_size)
{
    if (!self_dir || !out_link || !out_ld_dir || !out_ld_name || abi == HP_CC_ABI_OTHER)
        return HP_ERR_ARGUMENT;
    *out_link = NULL;
    *out_ld_dir = NULL;
    *out_ld_name = NULL;
    size_t sl = strlen(self_dir);
    if (abi == HP_CC_ABI_MINGW) {
        char *p = join(self_dir, sl, "hotpatch-link");
        if (!p)
            return HP_ERR_NO_MEMORY;
        if (is_executable(p)) {
            *out_link = p;
            return HP_OK;
        }
        hp_msg_set(msg, msg_size, "cannot find hotpatch-link: '%s' is not an executable file", p);
        free(p);
        return HP_ERR_TOOL;
    }
    /* installed: lib/hotpatch/ld/lld-link -> bin/hotpatch-link, which clang finds as -fuse-ld=lld */
    if (rel_pkglib) {
        char *rel = join(rel_pkglib, strlen(rel_pkglib), "ld");
        char *dir = rel ? join(self_dir, sl, rel) : NULL;
        char *p = dir ? join(dir, strlen(dir), "lld-link") : NULL;
        free(rel);
        if (!p) {
            free(dir);
            return HP_ERR_NO_MEMORY;
        }
        int ok = is_executable(p);
        free(p);
        if (ok) {
            *out_ld_dir = dir;
            *out_ld_name = "lld";
            return HP_OK;
        }
        free(dir);
    }
    /* the build tree: the hotpatch-lld-link symlink next to hotpatch-link */
    char *p = join(self_dir, sl, "hotpatch-lld-link");
    if (!p)
        return HP_ERR_NO_MEMORY;
    int ok = is_executable(p);
    if (ok) {
        free(p);
        if (!(*out_ld_dir = strdup(self_dir)))
            return HP_ERR_NO_MEMORY;
        *out_ld_name = "hotpatch-lld-link";
        return HP_OK;
    }
    hp_msg_set(msg, msg_size, "cannot find hotpatch-link for the MSVC ABI: neither %s/%s/ld/lld-link nor %s exists",
               self_dir, rel_pkglib ? rel_pkglib : "?", p);
    free(p);
    return HP_ERR_TOOL;
}

/* ------------------------------------------------------------------------- */
/* The compiler's default target                                              */
/* ------------------------------------------------------------------------- */

hp_status hp_cc_default_target(const char *compiler, int argc, const char *const argv[], char *out,
                               size_t out_size, char *msg, size_t msg_size)
{
    if (!compiler || !out || out_size < 2 || argc < 0 || (argc > 0 && !argv))
        return HP_ERR_ARGUMENT;
    out[0] = 0;
    /* compiler, the --config options (one value each), -dumpmachine */
    const char **av = calloc((size_t)argc + 3, sizeof *av);
    if (!av)
        return HP_ERR_NO_MEMORY;
    size_t n = 0;
    av[n++] = compiler;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            av[n++] = argv[i];
            av[n++] = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0 || strcmp(argv[i], "--no-default-config") == 0) {
            av[n++] = argv[i];
        }
    }
    av[n++] = "-dumpmachine";
    av[n] = NULL;

    int fds[2];
    if (pipe(fds) != 0) {
        free(av);
        hp_msg_set(msg, msg_size, "cannot ask '%s' for its default target: %s", compiler, strerror(errno));
        return HP_ERR_TOOL;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    pid_t pid;
    int rc = posix_spawn(&pid, compiler, &fa, NULL, (char *const *)av, environ);
    posix_spawn_file_actions_destroy(&fa);
    free(av);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        hp_msg_set(msg, msg_size, "cannot run '%s -dumpmachine': %s", compiler, strerror(rc));
        return HP_ERR_TOOL;
    }
    size_t len = 0;
    for (;;) {
        char buf[256];
        ssize_t r = read(fds[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            if (len + 1 < out_size)
                out[len++] = buf[i];
    }
    close(fds[0]);
    out[len] = 0;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            status = -1;
            break;
        }
    out[strcspn(out, "\r\n")] = 0;
    if (status != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !out[0]) {
        hp_msg_set(msg, msg_size, "'%s -dumpmachine' failed: cannot tell the default target (pass --target=)",
                   compiler);
        out[0] = 0;
        return HP_ERR_TOOL;
    }
    return HP_OK;
}
