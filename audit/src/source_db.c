/*
 * source_db.c — layer 13 of the audit library (audit/README.md, "Source layout"),
 * the source audit's inputs: a compilation database read through libclang
 * (clang-c/CXCompilationDatabase.h) into units — the argument vector libclang
 * parses each with, and the hotpatch plugin's options read off its command in
 * the spelling the plugin takes them — and the exports of .def files.
 *
 * May call: arena (and libclang's compilation database, hp_tools).
 */
#define _XOPEN_SOURCE 700 /* realpath, mkdtemp */
#include <clang-c/CXCompilationDatabase.h>
#include <clang-c/CXString.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "hp_tools.h"
#include "source_db.h"

/* ------------------------------------------------------------------------- */
/* Names                                                                      */
/* ------------------------------------------------------------------------- */

int hpa_src_names_add(hpa_src_names *n, const char *name, size_t len)
{
    char *copy = hpa_strndup(&n->arena, name, len);
    return copy && HP_VEC_PUSH(n->names, n->count, n->cap, (const char *)copy);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void hpa_src_names_sort(hpa_src_names *n)
{
    if (n->count < 2)
        return;
    qsort(n->names, n->count, sizeof *n->names, cmp_str);
    size_t k = 1;
    for (size_t i = 1; i < n->count; i++)
        if (strcmp(n->names[i], n->names[k - 1]) != 0)
            n->names[k++] = n->names[i];
    n->count = k;
}

int hpa_src_names_has(const hpa_src_names *n, const char *name)
{
    return n->count && name && bsearch(&name, n->names, n->count, sizeof *n->names, cmp_str) != NULL;
}

void hpa_src_names_free(hpa_src_names *n)
{
    free(n->names);
    hpa_arena_free(&n->arena);
    memset(n, 0, sizeof *n);
}

/* ------------------------------------------------------------------------- */
/* Module-definition files                                                    */
/* ------------------------------------------------------------------------- */

static int word_is(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    if (len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (toupper((unsigned char)s[i]) != word[i])
            return 0;
    return 1;
}

/* The keywords that open a section of a .def file (EXPORTS is handled by the caller). */
static int is_section(const char *s, size_t len)
{
    static const char *const words[] = {"NAME", "LIBRARY", "DESCRIPTION", "STACKSIZE", "HEAPSIZE", "SECTIONS",
                                        "VERSION", "IMPORTS", "STUB", "CODE", "DATA"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (word_is(s, len, words[i]))
            return 1;
    return 0;
}

/* One EXPORTS entry, `p`..`end` without comment: `name[=internal] [@n] [NONAME] [DATA] [PRIVATE]`. */
static int def_entry(hpa_src_names *n, const char *p, const char *end)
{
    const char *a = p, *b;
    if (*a == '"' || *a == '\'') { /* a quoted name */
        char q = *a++;
        for (b = a; b < end && *b != q; b++)
            ;
        return b == a || hpa_src_names_add(n, a, (size_t)(b - a));
    }
    for (b = a; b < end && !isspace((unsigned char)*b) && *b != '='; b++)
        ;
    if (b > a && !hpa_src_names_add(n, a, (size_t)(b - a)))
        return 0;
    if (b < end && *b == '=' && b + 1 < end && b[1] != '=') { /* name=internal: the C function is `internal` */
        const char *c = ++b;
        while (b < end && !isspace((unsigned char)*b))
            b++;
        if (b > c && !memchr(c, '.', (size_t)(b - c)) && !hpa_src_names_add(n, c, (size_t)(b - c)))
            return 0; /* module.function is a forwarder: nothing of ours */
    }
    return 1;
}

hp_status hpa_src_def_load(hpa_src_names *n, const char *path, char *msg, size_t msg_size)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    hp_status st = hp_file_read(path, &buf, &len, msg, msg_size);
    if (st != HP_OK)
        return st;
    const char *s = (const char *)buf, *end = s + len;
    int exports = 0;
    while (s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        if (!eol)
            eol = end;
        const char *semi = memchr(s, ';', (size_t)(eol - s));
        const char *e = semi ? semi : eol;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        if (s < e) {
            const char *w = s;
            while (w < e && !isspace((unsigned char)*w))
                w++;
            if (word_is(s, (size_t)(w - s), "EXPORTS")) {
                exports = 1;
                while (w < e && isspace((unsigned char)*w))
                    w++;
                if (w < e && !def_entry(n, w, e)) /* "EXPORTS name" on one line */
                    st = HP_ERR_NO_MEMORY;
            } else if (is_section(s, (size_t)(w - s))) {
                exports = 0;
            } else if (exports && !def_entry(n, s, e)) {
                st = HP_ERR_NO_MEMORY;
            }
        }
        s = eol + 1;
    }
    free(buf);
    return st;
}

/* ------------------------------------------------------------------------- */
/* Compile commands                                                           */
/* ------------------------------------------------------------------------- */

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* C and C++ sources: what libclang can audit (assembly, resource scripts and the like are not). */
static int is_c_family(const char *file)
{
    static const char *const exts[] = {"c", "i", "cc", "cp", "cpp", "cxx", "c++", "C", "CC", "CPP", "ii", "m", "mm"};
    const char *base = hp_path_basename(file), *dot = strrchr(base, '.');
    if (!dot)
        return 0;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcmp(dot + 1, exts[i]) == 0)
            return 1;
    return 0;
}

/* C++ by the file's extension (the driver's rule; -x c++ is read with the arguments). */
static int is_cpp_file(const char *file)
{
    static const char *const exts[] = {"cc", "cp", "cpp", "cxx", "c++", "C", "CC", "CPP", "ii", "mm"};
    const char *dot = strrchr(hp_path_basename(file), '.');
    for (size_t i = 0; dot && i < sizeof exts / sizeof exts[0]; i++)
        if (strcmp(dot + 1, exts[i]) == 0)
            return 1;
    return 0;
}

/* Compiler launchers put in front of the compiler: the compiler is the next argument. */
static int is_launcher(const char *arg)
{
    const char *b = hp_path_basename(arg);
    return strcmp(b, "ccache") == 0 || strcmp(b, "sccache") == 0 || strcmp(b, "distcc") == 0 ||
           strcmp(b, "icecc") == 0;
}

/* clang-cl (or cl) takes its options in the MSVC spelling: GNU options go through /clang:. */
static int is_cl(const char *arg)
{
    const char *b = hp_path_basename(arg);
    char low[64];
    size_t n = 0;
    for (; b[n] && n < sizeof low - 1; n++)
        low[n] = (char)tolower((unsigned char)b[n]);
    low[n] = 0;
    return strstr(low, "clang-cl") != NULL || strcmp(low, "cl") == 0 || strcmp(low, "cl.exe") == 0;
}

/* A plugin file that is ours: hotpatch-plugin.so, wherever it is installed. */
static int is_hotpatch_plugin(const char *path)
{
    return strstr(hp_path_basename(path), "hotpatch") != NULL;
}

/* Does a comma-separated sanitizer list name the function sanitizer (itself, or the undefined group)? */
static int names_func_sanitizer(const char *list)
{
    const char *p = list;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if ((n == 8 && strncmp(p, "function", 8) == 0) || (n == 9 && strncmp(p, "undefined", 9) == 0))
            return 1;
        p += n + (c != NULL);
    }
    return 0;
}

/* A unit being built: its argument vector and globs grow here. */
typedef struct unit_build {
    const char **argv;
    size_t argc, argv_cap;
    const char **exclude;
    size_t exclude_count, exclude_cap;
} unit_build;

static int push_arg(unit_build *b, const char *arg)
{
    return HP_VEC_PUSH(b->argv, b->argc, b->argv_cap, arg);
}

/* One option of the plugin, `NAME[=VALUE]` as -fplugin-arg-hotpatch-NAME[=VALUE] gives it (the plugin's
   own parser, plugin/src/options.c, is the definition; values it refuses fail the compile, so they are
   not judged here). */
static int plugin_option(hpa_src_db *db, hpa_src_unit *u, unit_build *b, const char *opt)
{
    const char *eq = strchr(opt, '=');
    size_t name_len = eq ? (size_t)(eq - opt) : strlen(opt);
    const char *value = eq ? eq + 1 : "";
    if (name_len == 7 && strncmp(opt, "exclude", 7) == 0 && *value) {
        const char *g = hpa_strdup(&db->arena, value);
        return g && HP_VEC_PUSH(b->exclude, b->exclude_count, b->exclude_cap, g);
    }
    if (name_len == 5 && strncmp(opt, "scope", 5) == 0)
        u->scope_exported = strcmp(value, "exported") == 0;
    else if (name_len == 5 && strncmp(opt, "entry", 5) == 0)
        u->entry_widen = strcmp(value, "widen") == 0;
    else if (name_len == 17 && strncmp(opt, "noinline-exported", 17) == 0)
        u->noinline_exported = 1;
    else if (name_len == 3 && strncmp(opt, "pad", 3) == 0) {
        char *end;
        unsigned long v = strtoul(value, &end, 10);
        u->pad = (*value && !*end && v >= 1 && v <= HP_MAX_PAD) ? (uint32_t)v : 0;
    }
    return 1;
}

/* -fpatchable-function-entry=N[,M] */
static void pfe_option(hpa_src_unit *u, const char *value)
{
    char *end;
    unsigned long n = strtoul(value, &end, 10), m = 0;
    if (end == value)
        return;
    if (*end == ',')
        m = strtoul(end + 1, &end, 10);
    u->pfe_given = n > 0;
    u->pfe_count = (uint32_t)(n > 0xFFFF ? 0xFFFF : n);
    u->pfe_offset = (uint32_t)(m > u->pfe_count ? u->pfe_count : m);
}

/*
 * Read one command's arguments into `u`: what the plugin is told (and so skips), and what libclang
 * gets — the arguments without the plugin's (libclang never runs it, and a plugin path of another
 * machine must not matter) and without the dependency-file options (a parse must write nothing),
 * with the command's directory as clang's working directory and warnings off (-Werror in a command
 * must not make a warning a parse error). Returns 1; 0 for a command without arguments; -1 when out
 * of memory.
 */
static int read_args(hpa_src_db *db, hpa_src_unit *u, unit_build *b, CXCompileCommand cmd, const char *dir)
{
    unsigned n = clang_CompileCommand_getNumArgs(cmd), i = 0;
    const char **args = calloc(n ? n : 1, sizeof *args);
    int ok = args != NULL;
    for (unsigned k = 0; ok && k < n; k++) {
        CXString s = clang_CompileCommand_getArg(cmd, k);
        args[k] = hpa_strdup(&db->arena, clang_getCString(s));
        clang_disposeString(s);
        ok = args[k] != NULL;
    }
    if (!ok || n == 0) {
        free(args);
        return ok ? 0 : -1;
    }
    while (i + 1 < n && is_launcher(args[i]))
        i++;
    int cl = is_cl(args[i]);
    const char *wd = hpa_printf(&db->arena, "%s-working-directory=%s", cl ? "/clang:" : "", dir);
    ok = wd && push_arg(b, args[i]) && push_arg(b, wd) && push_arg(b, cl ? "/w" : "-w");
    for (i++; ok && i < n; i++) {
        const char *a = args[i];
        if (cl && has_prefix(a, "/clang:"))
            a += 7;
        if (has_prefix(a, "-fplugin=")) {
            u->plugin |= is_hotpatch_plugin(a + 9);
            continue;
        }
        if (has_prefix(a, "-fplugin-arg-hotpatch-")) {
            ok = plugin_option(db, u, b, a + 22);
            continue;
        }
        if (has_prefix(a, "-fplugin-arg-") || has_prefix(a, "-fpass-plugin="))
            continue;
        if (strcmp(a, "-Xclang") == 0 && i + 1 < n) {
            const char *c = args[i + 1];
            int takes_value = strcmp(c, "-load") == 0 || has_prefix(c, "-plugin-arg-") ||
                              strcmp(c, "-add-plugin") == 0 || strcmp(c, "-plugin") == 0;
            if (takes_value && i + 3 < n && strcmp(args[i + 2], "-Xclang") == 0) {
                const char *v = args[i + 3];
                if (strcmp(c, "-load") == 0)
                    u->plugin |= is_hotpatch_plugin(v);
                else if (strcmp(c, "-plugin-arg-hotpatch") == 0)
                    ok = plugin_option(db, u, b, v);
                i += 3;
                continue;
            }
        }
        if (strcmp(a, "-M") == 0 || strcmp(a, "-MM") == 0 || strcmp(a, "-MD") == 0 || strcmp(a, "-MMD") == 0 ||
            strcmp(a, "-MP") == 0 || strcmp(a, "-MG") == 0)
            continue;
        if (strcmp(a, "-MF") == 0 || strcmp(a, "-MT") == 0 || strcmp(a, "-MQ") == 0) {
            i++; /* and its value */
            continue;
        }
        if (has_prefix(a, "-MF") || has_prefix(a, "-MT") || has_prefix(a, "-MQ"))
            continue;
        if ((strcmp(a, "-x") == 0 && i + 1 < n && has_prefix(args[i + 1], "c++")) || has_prefix(a, "-xc++") ||
            strcmp(a, "/TP") == 0 || strcmp(a, "-TP") == 0)
            u->cpp = 1;
        else if ((strcmp(a, "-x") == 0 && i + 1 < n && strcmp(args[i + 1], "c") == 0) || strcmp(a, "-xc") == 0 ||
                 strcmp(a, "/TC") == 0 || strcmp(a, "-TC") == 0)
            u->cpp = 0;
        if (has_prefix(a, "-fpatchable-function-entry="))
            pfe_option(u, a + 27);
        else if (has_prefix(a, "-fsanitize="))
            u->func_sanitize |= names_func_sanitizer(a + 11);
        else if (has_prefix(a, "-fno-sanitize=") && names_func_sanitizer(a + 14))
            u->func_sanitize = 0;
        ok = push_arg(b, args[i]);
    }
    free(args);
    return ok && push_arg(b, NULL) ? 1 : -1;
}

/* Paths of the command: `file` against `dir`. */
static const char *absolute(hpa_arena *a, const char *dir, const char *file)
{
    if (file[0] == '/' || !dir || !*dir)
        return hpa_strdup(a, file);
    size_t n = strlen(dir);
    return hpa_printf(a, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", file);
}

/*
 * libclang prints why it could not load a database on standard error ("LIBCLANG TOOLING ERROR: ...
 * json-compilation-database: <reason>"), and this library never prints: the load runs with standard
 * error sent to a temporary file, and the JSON reader's reason goes into `why` (empty when none).
 */
static CXCompilationDatabase load_directory(const char *dir, char *why, size_t why_size)
{
    CXCompilationDatabase_Error err = CXCompilationDatabase_CanNotLoadDatabase;
    FILE *tmp = tmpfile();
    int saved = tmp ? dup(STDERR_FILENO) : -1;
    fflush(stderr);
    if (saved >= 0 && dup2(fileno(tmp), STDERR_FILENO) < 0) {
        close(saved);
        saved = -1;
    }
    CXCompilationDatabase db = clang_CompilationDatabase_fromDirectory(dir, &err);
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
    why[0] = 0;
    if (tmp) {
        char line[512];
        const char *key = "json-compilation-database: ";
        rewind(tmp);
        while (fgets(line, sizeof line, tmp)) {
            char *at = strstr(line, key);
            if (at) {
                at += strlen(key);
                at[strcspn(at, "\r\n")] = 0;
                size_t n = strlen(at);
                while (n && (at[n - 1] == '.' || at[n - 1] == ' '))
                    at[--n] = 0; /* the message goes inside ours */
                hp_msg_set(why, why_size, "%s", at);
                break;
            }
        }
        fclose(tmp);
    }
    if (err != CXCompilationDatabase_NoError) {
        if (db)
            clang_CompilationDatabase_dispose(db);
        return NULL;
    }
    return db;
}

/*
 * libclang reads a database from a directory, by the name compile_commands.json. A file of another
 * name, and any file (so that no compile_flags.txt beside it stands in for a JSON file libclang
 * refuses), is read through a private directory holding only a link to it.
 */
static CXCompilationDatabase open_database(const char *json, char *why, size_t why_size)
{
    char real[PATH_MAX];
    CXCompilationDatabase db = NULL;
    why[0] = 0;
    if (!realpath(json, real))
        return NULL;
    char tmp[] = "/tmp/hotpatch-audit-XXXXXX";
    if (mkdtemp(tmp)) {
        char link[sizeof tmp + 32];
        snprintf(link, sizeof link, "%s/compile_commands.json", tmp);
        if (symlink(real, link) == 0) {
            db = load_directory(tmp, why, why_size);
            unlink(link);
        }
        rmdir(tmp);
        return db;
    }
    if (strcmp(hp_path_basename(real), "compile_commands.json") != 0)
        return NULL;
    *(char *)hp_path_basename(real) = 0; /* its directory */
    return load_directory(real, why, why_size);
}

hp_status hpa_src_db_load(hpa_src_db *db, const char *path, char *msg, size_t msg_size)
{
    memset(db, 0, sizeof *db);
    struct stat st;
    const char *json = path;
    char *joined = NULL;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        joined = malloc(strlen(path) + sizeof "/compile_commands.json");
        if (!joined)
            return HP_ERR_NO_MEMORY;
        sprintf(joined, "%s/compile_commands.json", path);
        json = joined;
    }
    unsigned char *text = NULL;
    size_t len = 0;
    char why[1024];
    hp_status s = hp_file_read(json, &text, &len, why, sizeof why);
    if (s != HP_OK) {
        /* hp_file_read names the file; name it once, and say which file a directory stood for */
        size_t pl = strlen(path);
        const char *w = json == path && strncmp(why, path, pl) == 0 && why[pl] == ':' ? why + pl + 2 : why;
        hp_msg_set(msg, msg_size, "cannot read the compilation database: %s", w);
        free(joined);
        return s;
    }
    size_t k = 0;
    while (k < len && isspace(text[k]))
        k++;
    if (k == len || text[k] != '[') {
        hp_msg_set(msg, msg_size, "%s%snot a JSON compilation database: %s", joined ? json : "", joined ? ": " : "",
                   k == len ? "the file is empty"
                            : "it does not start with '[' (a JSON array of {\"directory\", \"file\", \"command\" or "
                              "\"arguments\"} objects)");
        free(text);
        free(joined);
        return HP_ERR_FORMAT;
    }
    free(text);
    char reason[256];
    CXCompilationDatabase cdb = open_database(json, reason, sizeof reason);
    if (!cdb) {
        if (reason[0])
            hp_msg_set(msg, msg_size, "%s%snot a valid JSON compilation database (libclang: %s)", joined ? json : "",
                       joined ? ": " : "", reason);
        else
            hp_msg_set(msg, msg_size,
                       "%s%snot a valid JSON compilation database: libclang could not read it (malformed JSON, or an "
                       "entry without \"directory\", \"file\", and \"command\" or \"arguments\")",
                       joined ? json : "", joined ? ": " : "");
        free(joined);
        return HP_ERR_FORMAT;
    }
    free(joined);

    hp_status result = HP_OK;
    CXCompileCommands cmds = clang_CompilationDatabase_getAllCompileCommands(cdb);
    unsigned n = cmds ? clang_CompileCommands_getSize(cmds) : 0;
    for (unsigned c = 0; c < n && result == HP_OK; c++) {
        CXCompileCommand cmd = clang_CompileCommands_getCommand(cmds, c);
        CXString d = clang_CompileCommand_getDirectory(cmd), f = clang_CompileCommand_getFilename(cmd);
        const char *dir = hpa_strdup(&db->arena, clang_getCString(d));
        const char *file = dir ? absolute(&db->arena, dir, clang_getCString(f)) : NULL;
        clang_disposeString(d);
        clang_disposeString(f);
        if (!file) {
            result = HP_ERR_NO_MEMORY;
            break;
        }
        if (!is_c_family(file)) {
            db->skipped++;
            continue;
        }
        hpa_src_unit u;
        unit_build b;
        memset(&u, 0, sizeof u);
        memset(&b, 0, sizeof b);
        u.file = file;
        u.cpp = is_cpp_file(file);
        int got = read_args(db, &u, &b, cmd, dir);
        if (got == 0) {
            db->skipped++;
            continue;
        }
        if (got < 0 || !hp_vec_reserve((void **)&db->units, &db->cap, db->count, sizeof *db->units)) {
            free(b.argv);
            free(b.exclude);
            result = HP_ERR_NO_MEMORY;
            break;
        }
        u.argv = b.argv;
        u.argc = (int)b.argc - 1; /* without the NULL */
        u.exclude = b.exclude;
        u.exclude_count = b.exclude_count;
        db->units[db->count++] = u;
    }
    if (cmds)
        clang_CompileCommands_dispose(cmds);
    clang_CompilationDatabase_dispose(cdb);
    if (result != HP_OK) {
        hpa_src_db_free(db);
        hp_msg_set(msg, msg_size, "out of memory");
    }
    return result;
}

void hpa_src_db_free(hpa_src_db *db)
{
    for (size_t i = 0; i < db->count; i++) {
        free((void *)db->units[i].argv);
        free((void *)db->units[i].exclude);
    }
    free(db->units);
    hpa_arena_free(&db->arena);
    memset(db, 0, sizeof *db);
}
