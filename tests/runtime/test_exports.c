/*
 * test_exports.c — Criterion suite "exports": libhotpatch exports exactly its
 * API. The expected names are the HP_API declarations of the installed public
 * headers (HP_RUNTIME_PUBLIC_HEADERS, runtime/CMakeLists.txt), parsed here;
 * the exported names are read from the built libraries: `nm -D --defined-only`
 * for the ELF shared libraries (host, the installed build of it, Linux i386),
 * the export table (`llvm-objdump -p`) for every hotpatch.dll of the cross
 * builds (MinGW x64 and x86, freestanding MSVC ABI).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpt.h"
#include "test_exports_config.h"

/* ------------------------------------------------------------------------- */
/* A sorted set of names                                                      */
/* ------------------------------------------------------------------------- */

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static void names_add(names *s, const char *p, size_t len)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        cr_assert(s->v != NULL);
    }
    s->v[s->n] = strndup(p, len);
    cr_assert(s->v[s->n] != NULL);
    s->n++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_sort_unique(names *s)
{
    if (s->n == 0)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_str);
    size_t out = 1;
    for (size_t i = 1; i < s->n; i++) {
        if (strcmp(s->v[i], s->v[out - 1]) == 0)
            free(s->v[i]);
        else
            s->v[out++] = s->v[i];
    }
    s->n = out;
}

static int names_has(const names *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], name) == 0)
            return 1;
    return 0;
}

static void names_free(names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------------- */
/* The HP_API declarations of C header text                                   */
/* ------------------------------------------------------------------------- */

static int is_ident(char c, int first)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9');
}

/*
 * The text with comments, string and character literals and preprocessor
 * lines (with their continuations) turned into spaces: what is left is
 * declarations. Newlines are kept.
 */
static char *declarations_only(const char *text)
{
    size_t len = strlen(text);
    char *out = malloc(len + 1);
    cr_assert(out != NULL);
    int line_start = 1;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (line_start && (c == ' ' || c == '\t')) {
            out[i++] = c;
            continue;
        }
        if (line_start && c == '#') { /* a preprocessor line, continued by a final backslash */
            while (i < len && text[i] != '\n') {
                if (text[i] == '\\' && i + 1 < len && text[i + 1] == '\n') {
                    out[i] = ' ';
                    out[i + 1] = '\n';
                    i += 2;
                    continue;
                }
                out[i++] = ' ';
            }
            continue;
        }
        line_start = 0;
        if (c == '/' && i + 1 < len && text[i + 1] == '*') {
            size_t end = i + 2;
            while (end + 1 < len && !(text[end] == '*' && text[end + 1] == '/'))
                end++;
            end = end + 2 <= len ? end + 2 : len;
            for (; i < end; i++)
                out[i] = text[i] == '\n' ? '\n' : ' ';
            continue;
        }
        if (c == '/' && i + 1 < len && text[i + 1] == '/') {
            while (i < len && text[i] != '\n')
                out[i++] = ' ';
            continue;
        }
        if (c == '"' || c == '\'') {
            out[i++] = ' ';
            while (i < len && text[i] != c && text[i] != '\n') {
                if (text[i] == '\\' && i + 1 < len)
                    out[i++] = ' ';
                out[i++] = ' ';
            }
            if (i < len && text[i] == c)
                out[i++] = ' ';
            continue;
        }
        if (c == '\n')
            line_start = 1;
        out[i++] = c;
    }
    out[len] = '\0';
    return out;
}

/* Add the name of every function declared with HP_API in `text`: the identifier right before the
   first '(' that follows HP_API. */
static void api_names(const char *text, names *out)
{
    char *d = declarations_only(text);
    for (const char *p = d; *p;) {
        if (!is_ident(*p, 1) || (p > d && is_ident(p[-1], 0))) {
            p++;
            continue;
        }
        const char *id = p;
        while (is_ident(*p, 0))
            p++;
        if ((size_t)(p - id) != 6 || memcmp(id, "HP_API", 6) != 0)
            continue;
        const char *last = NULL;
        size_t last_len = 0;
        while (*p && *p != '(' && *p != ';') {
            if (is_ident(*p, 1)) {
                last = p;
                while (is_ident(*p, 0))
                    p++;
                last_len = (size_t)(p - last);
                continue;
            }
            p++;
        }
        cr_assert(*p == '(' && last != NULL, "an HP_API declaration without a parameter list: %.40s", id);
        names_add(out, last, last_len);
    }
    free(d);
}

/* The names the installed headers declare with HP_API. */
static void expected_names(names *out)
{
    static const char *const headers[] = HPT_EXPORTS_HEADERS;
    for (size_t i = 0; headers[i] != NULL; i++) {
        size_t n = 0;
        char *text = (char *)hpt_read_file(headers[i], &n);
        cr_assert(text != NULL, "cannot read %s", headers[i]);
        char *z = realloc(text, n + 1);
        cr_assert(z != NULL);
        z[n] = '\0';
        api_names(z, out);
        free(z);
    }
    names_sort_unique(out);
}

/* ------------------------------------------------------------------------- */
/* Exported names of a built library                                          */
/* ------------------------------------------------------------------------- */

/* Run `tool` on `lib`; its stdout (the caller frees). */
static char *tool_output(const char *const argv[], const char *lib)
{
    hpt_proc p;
    cr_assert_eq(hpt_run(argv, NULL, 120, &p), 0, "cannot run %s", argv[0]);
    cr_assert(!p.timed_out && p.status == 0, "%s on %s exited %d:\n%s", argv[0], lib, p.status, p.err);
    char *out = p.out;
    p.out = NULL;
    hpt_proc_free(&p);
    return out;
}

/* The defined dynamic symbols of an ELF shared library ("<value> <type> <name>" lines of nm). */
static void elf_exports(const char *lib, names *out)
{
    const char *argv[] = {HPT_EXPORTS_NM, "-D", "--defined-only", lib, NULL};
    char *text = tool_output(argv, lib);
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *name = strrchr(line, ' ');
        cr_assert(name != NULL && name[1] != '\0', "unexpected nm line: %s", line);
        names_add(out, name + 1, strlen(name + 1));
    }
    free(text);
    names_sort_unique(out);
}

/* The export table of a PE image: the "<ordinal> 0x<rva> <name>" rows after its "Ordinal RVA Name" header. */
static void pe_exports(const char *dll, names *out)
{
    const char *argv[] = {HPT_LLVM_OBJDUMP, "-p", dll, NULL};
    char *text = tool_output(argv, dll);
    char *table = strstr(text, "Export Table:");
    if (table != NULL) {
        int rows = 0;
        for (char *line = strtok(table, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            if (!rows) {
                rows = strstr(line, "Ordinal") != NULL && strstr(line, "Name") != NULL;
                continue;
            }
            unsigned long ordinal, rva;
            char name[256];
            if (sscanf(line, " %lu 0x%lx %255s", &ordinal, &rva, name) != 3)
                break;
            names_add(out, name, strlen(name));
        }
    }
    free(text);
    names_sort_unique(out);
}

/* ------------------------------------------------------------------------- */
/* The comparison                                                             */
/* ------------------------------------------------------------------------- */

/* `lib` exports exactly the names the headers declare with HP_API: every difference is named. */
static void expect_exactly_the_api(const char *lib, int pe)
{
    size_t size = 0;
    unsigned char *bytes = hpt_read_file(lib, &size);
    cr_assert(bytes != NULL, "%s was not built", lib);
    free(bytes);

    names want = {0}, got = {0};
    expected_names(&want);
    if (pe)
        pe_exports(lib, &got);
    else
        elf_exports(lib, &got);
    cr_assert_gt(want.n, 0, "no HP_API declaration found in the public headers");
    for (size_t i = 0; i < want.n; i++)
        cr_expect(names_has(&got, want.v[i]), "%s does not export %s (HP_API in a public header)", lib, want.v[i]);
    for (size_t i = 0; i < got.n; i++)
        cr_expect(names_has(&want, got.v[i]), "%s exports %s, which no public header declares HP_API", lib,
                  got.v[i]);
    names_free(&want);
    names_free(&got);
}

/* ------------------------------------------------------------------------- */
/* Tests                                                                      */
/* ------------------------------------------------------------------------- */

/* The parser on hand-written declarations: each form it must find, and each it must not. */
Test(exports, header_parser_finds_hp_api_declarations)
{
    static const char text[] =
        "#define HP_API __attribute__((visibility(\"default\")))\n"
        "#  define HP_API \\\n"
        "    __declspec(dllexport) int not_a_decl(void);\n"
        "/** HP_API in a comment: HP_API int commented(void); */\n"
        "// HP_API int line_commented(void);\n"
        "typedef int (*hp_fn)(void *ctx);\n"
        "int hp_internal(void);\n"
        "HP_API const char *hp_one(hp_status status);\n"
        "HP_API hp_status hp_two(const void *target, hp_patch **out_patch,\n"
        "                        int more);\n"
        "  HP_API   void\n  *hp_three(void);\n"
        "static inline int hp_inline(void) { return sizeof(\"HP_API int in_string(void);\"); }\n"
        "HP_API uint32_t hp_four(void); /* trailing */\n";
    names got = {0};
    api_names(text, &got);
    names_sort_unique(&got);
    cr_expect_eq(got.n, 4, "found %zu names", got.n);
    cr_expect(names_has(&got, "hp_one") && names_has(&got, "hp_two") && names_has(&got, "hp_three") &&
              names_has(&got, "hp_four"));
    names_free(&got);
}

Test(exports, host_shared_library_exports_exactly_the_api)
{
    expect_exactly_the_api(HPT_EXPORTS_SO, 0);
}

#if HPT_EXPORTS_HAVE_DIST
/* With sanitizers the tests use an instrumented build; the installed library is a plain build. */
Test(exports, installed_shared_library_exports_exactly_the_api)
{
    expect_exactly_the_api(HPT_EXPORTS_SO_DIST, 0);
}
#endif

/* Every cross build of the runtime (HP_CROSS_TRIPLES): Windows targets have hotpatch.dll, Linux ones
   libhotpatch.so. */
Test(exports, cross_libraries_export_exactly_the_api)
{
    static const char *const triples[] = HPT_EXPORTS_CROSS_TRIPLES;
    for (size_t i = 0; triples[i] != NULL; i++) {
        char path[1024];
        int windows = strstr(triples[i], "windows") != NULL || strstr(triples[i], "mingw") != NULL;
        snprintf(path, sizeof path, "%s/%s/runtime/%s", HPT_CROSS_DIR, triples[i],
                 windows ? "hotpatch.dll" : "libhotpatch.so");
        expect_exactly_the_api(path, windows);
    }
}
