/*
 * test_cc.c — hotpatch-cc, the $CC wrapper: the command-line classification
 * (does it compile code, does it link, for which target) on hand-written
 * argument lists, the command it writes; then build systems that only know
 * $CC: a Makefile project (a MinGW DLL, audited), an autoconf-style configure
 * script, a native ELF build, and the errors a user meets.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_link_cc.h"
#include "lpt.h"

/* ---- classification ------------------------------------------------------ */

#define ARGS(...) ((const char *const[]){__VA_ARGS__})
#define NARGS(...) ((int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)))
#define PARSE(a, ...) cr_assert_eq(hp_cc_parse(NARGS(__VA_ARGS__), ARGS(__VA_ARGS__), (a), NULL, 0), HP_OK)

Test(cc_args, compile_only_gets_the_plugin_and_no_linker)
{
    hp_cc_args a;
    PARSE(&a, "-O2", "-c", "a.c", "-o", "a.o");
    cr_expect_eq(a.phase, HP_CC_PHASE_COMPILE);
    cr_expect_eq(a.sources, 1);
    cr_expect(hp_cc_wants_plugin(&a));
    cr_expect(!hp_cc_links(&a));
    PARSE(&a, "-S", "x.cpp");
    cr_expect_eq(a.phase, HP_CC_PHASE_COMPILE);
    cr_expect(hp_cc_wants_plugin(&a));
    PARSE(&a, "-MD", "-MF", "a.d", "-MT", "a.o", "-c", "a.c");  /* dependencies beside a compile */
    cr_expect_eq(a.phase, HP_CC_PHASE_COMPILE);
    cr_expect_eq(a.sources, 1);
    cr_expect_eq(a.others, 0, "the values of -MF and -MT are no inputs");
}

Test(cc_args, links_with_and_without_sources)
{
    hp_cc_args a;
    PARSE(&a, "a.c", "b.c", "-o", "app");
    cr_expect_eq(a.phase, HP_CC_PHASE_LINK);
    cr_expect_eq(a.sources, 2);
    cr_expect(hp_cc_wants_plugin(&a));
    cr_expect(hp_cc_links(&a));
    PARSE(&a, "-shared", "a.o", "b.o", "-o", "x.dll", "-lws2_32");
    cr_expect_eq(a.phase, HP_CC_PHASE_LINK);
    cr_expect_eq(a.sources, 0);
    cr_expect_eq(a.others, 3);
    cr_expect(!hp_cc_wants_plugin(&a), "objects only: nothing for the plugin");
    cr_expect(hp_cc_links(&a));
    PARSE(&a, "b.o", "-o", "weird.c"); /* -o's value is no input */
    cr_expect_eq(a.sources, 0);
    /* clang -Wl,--version runs the linker: build systems ask the linker's version that way */
    PARSE(&a, "--target=x86_64-w64-mingw32", "-Wl,--version");
    cr_expect_eq(a.phase, HP_CC_PHASE_LINK);
    cr_expect(hp_cc_links(&a));
    PARSE(&a, "-Xlinker", "--version");
    cr_expect(hp_cc_links(&a));
    PARSE(&a, "-v", "a.o", "-o", "app"); /* -v with inputs: a verbose link */
    cr_expect(hp_cc_links(&a));
}

Test(cc_args, front_end_only_gets_nothing)
{
    const char *const *lines[] = {
        ARGS("-E", "a.c", NULL),  ARGS("-M", "a.c", NULL),     ARGS("-MM", "a.c", NULL),
        ARGS("-E", "-c", "a.c", NULL), /* clang stops at the earliest phase asked for */
        ARGS("-fsyntax-only", "a.c", NULL), ARGS("-x", "c", "-E", "-", NULL)};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        int n = 0;
        while (lines[i][n])
            n++;
        hp_cc_args a;
        cr_assert_eq(hp_cc_parse(n, lines[i], &a, NULL, 0), HP_OK);
        cr_expect_eq(a.phase, HP_CC_PHASE_NO_CODE, "line %zu", i);
        cr_expect(!hp_cc_wants_plugin(&a), "line %zu", i);
        cr_expect(!hp_cc_links(&a), "line %zu", i);
    }
}

Test(cc_args, queries_get_nothing)
{
    const char *const *lines[] = {ARGS("--version", NULL), ARGS("-v", NULL), ARGS("-dumpmachine", NULL),
                                         ARGS("-print-prog-name=ld", NULL), ARGS("-print-search-dirs", NULL),
                                         ARGS("--version", "a.c", NULL), ARGS("-O2", NULL), ARGS(NULL)};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        int n = 0;
        while (lines[i][n])
            n++;
        hp_cc_args a;
        cr_assert_eq(hp_cc_parse(n, lines[i], &a, NULL, 0), HP_OK);
        cr_expect_eq(a.phase, HP_CC_PHASE_QUERY, "line %zu", i);
        cr_expect(!hp_cc_wants_plugin(&a), "line %zu", i);
        cr_expect(!hp_cc_links(&a), "line %zu", i);
    }
}

Test(cc_args, assembly_headers_and_languages)
{
    hp_cc_args a;
    PARSE(&a, "-c", "start.s");
    cr_expect_eq(a.phase, HP_CC_PHASE_COMPILE);
    cr_expect(!hp_cc_wants_plugin(&a), "assembly alone: the plugin would have nothing to do");
    PARSE(&a, "-c", "start.S", "-o", "start.o");
    cr_expect(!hp_cc_wants_plugin(&a));
    PARSE(&a, "-c", "start.S", "main.c"); /* one C source among them */
    cr_expect(hp_cc_wants_plugin(&a));
    PARSE(&a, "-x", "c", "-c", "gen.inc");
    cr_expect_eq(a.sources, 1, "-x c makes any file C");
    PARSE(&a, "-xassembler-with-cpp", "-c", "a.c");
    cr_expect_eq(a.sources, 0, "-x assembler-with-cpp: not C");
    PARSE(&a, "-x", "c", "-c", "a.txt", "-x", "none", "b.s");
    cr_expect_eq(a.sources, 1);
    cr_expect_eq(a.others, 1, "-x none: by extension again");
    PARSE(&a, "-x", "c-header", "a.h", "-o", "a.pch");
    cr_expect(!hp_cc_wants_plugin(&a), "a precompiled header has no code");
    PARSE(&a, "-c", "-", "-x", "c");
    cr_expect_eq(a.sources, 0, "-x applies to the inputs after it only");
    PARSE(&a, "-c", "--", "-weird.c");
    cr_expect_eq(a.sources, 1, "after -- every argument is an input");
    PARSE(&a, "-###", "a.c", "-o", "app");
    cr_expect(a.dry_run);
    cr_expect(hp_cc_wants_plugin(&a), "-### shows the compile as it would run");
    cr_expect(!hp_cc_links(&a), "-### links nothing");
}

Test(cc_args, target_triples)
{
    hp_cc_args a;
    PARSE(&a, "-c", "a.c");
    cr_expect_str_eq(a.target, "");
    PARSE(&a, "--target=x86_64-w64-mingw32", "a.c");
    cr_expect_str_eq(a.target, "x86_64-w64-mingw32");
    PARSE(&a, "-target", "i686-w64-mingw32", "a.c");
    cr_expect_str_eq(a.target, "i686-w64-mingw32");
    cr_expect_eq(a.sources, 1, "-target's value is no input");
    PARSE(&a, "--target=x86_64-linux-gnu", "-target", "x86_64-pc-windows-msvc", "a.c");
    cr_expect_str_eq(a.target, "x86_64-pc-windows-msvc", "the last one counts");

    static const struct {
        const char *triple;
        hp_cc_abi abi;
    } abis[] = {{"x86_64-w64-mingw32", HP_CC_ABI_MINGW},      {"i686-w64-mingw32", HP_CC_ABI_MINGW},
                {"x86_64-w64-windows-gnu", HP_CC_ABI_MINGW},  {"X86_64-W64-MINGW32", HP_CC_ABI_MINGW},
                {"x86_64-pc-windows-msvc", HP_CC_ABI_MSVC},   {"i686-pc-windows-msvc", HP_CC_ABI_MSVC},
                {"x86_64-pc-windows-msvc19.40.0", HP_CC_ABI_MSVC}, {"x86_64-pc-win32", HP_CC_ABI_MSVC},
                {"x86_64-pc-linux-gnu", HP_CC_ABI_OTHER},     {"x86_64-pc-cygwin", HP_CC_ABI_OTHER},
                {"x86_64-pc-windows-itanium", HP_CC_ABI_OTHER}, {"aarch64-apple-darwin", HP_CC_ABI_OTHER},
                {"", HP_CC_ABI_OTHER}};
    for (size_t i = 0; i < sizeof abis / sizeof abis[0]; i++)
        cr_expect_eq(hp_cc_abi_of(abis[i].triple), abis[i].abi, "%s", abis[i].triple);
    cr_expect_eq(hp_cc_abi_of(NULL), HP_CC_ABI_OTHER);
}

Test(cc_args, response_files_are_read)
{
    const char *d = hpt_scratch("cc_rsp");
    char rsp[4200], inner[4200], at[4300], at_inner[4300];
    snprintf(rsp, sizeof rsp, "%s/args.rsp", d);
    snprintf(inner, sizeof inner, "%s/inner.rsp", d);
    snprintf(at_inner, sizeof at_inner, "@%s", inner);
    FILE *f = fopen(inner, "w");
    cr_assert_not_null(f);
    fprintf(f, "-target 'x86_64-w64-mingw32'\n\"my file.c\"\n");
    fclose(f);
    f = fopen(rsp, "w");
    cr_assert_not_null(f);
    fprintf(f, "-O2 %s b.o\n", at_inner);
    fclose(f);
    snprintf(at, sizeof at, "@%s", rsp);
    hp_cc_args a;
    PARSE(&a, at, "-o", "x.exe");
    cr_expect_str_eq(a.target, "x86_64-w64-mingw32");
    cr_expect_eq(a.sources, 1);
    cr_expect_eq(a.others, 1);
    cr_expect(hp_cc_links(&a));
    PARSE(&a, "@/nonexistent/hotpatch-cc.rsp"); /* clang takes it as an input and says it is missing */
    cr_expect_eq(a.others, 1);
}

Test(cc_args, wrapper_options)
{
    hp_cc_args a;
    PARSE(&a, "--hotpatch-cc-help");
    cr_expect(a.help);
    PARSE(&a, "--hotpatch-cc-verbose", "-c", "a.c");
    cr_expect(a.verbose);
    char msg[256] = "";
    cr_expect_eq(hp_cc_parse(1, ARGS("--hotpatch-cc-frob"), &a, msg, sizeof msg), HP_ERR_USAGE);
    cr_expect_str_eq(msg, "unknown option '--hotpatch-cc-frob' (see --hotpatch-cc-help)");
}

/* ---- the command ----------------------------------------------------------- */

static char *joined(char **argv)
{
    static char buf[4096];
    buf[0] = 0;
    for (char **a = argv; *a; a++) {
        if (a != argv)
            strcat(buf, " ");
        strcat(buf, *a);
    }
    return buf;
}

Test(cc_command, additions_follow_the_user_arguments)
{
    hp_cc_tools t = {0};
    t.compiler = "/cl/clang-19";
    t.plugin = "/p/hotpatch-plugin.so";
    t.source_root = "/src";
    t.plugin_args = "  pad=8 scope=exported\tverbose ";
    t.abi = HP_CC_ABI_MINGW;
    t.link = "/b/hotpatch-link";
    char **cmd = NULL;
    cr_assert_eq(hp_cc_command(5, ARGS("--hotpatch-cc-verbose", "a.c", "-fuse-ld=lld", "-o", "a.exe"), &t, &cmd,
                               NULL, 0),
                 HP_OK);
    cr_expect_str_eq(joined(cmd), "/cl/clang-19 a.c -fuse-ld=lld -o a.exe -fplugin=/p/hotpatch-plugin.so "
                                  "-fplugin-arg-hotpatch-source-root=/src -fplugin-arg-hotpatch-pad=8 "
                                  "-fplugin-arg-hotpatch-scope=exported -fplugin-arg-hotpatch-verbose "
                                  "-fuse-ld=/b/hotpatch-link");
    hp_cc_command_free(cmd);

    hp_cc_tools m = {0};
    m.compiler = "clang-19";
    m.abi = HP_CC_ABI_MSVC;
    m.ld_dir = "/pre/lib/hotpatch/ld";
    m.ld_name = "lld";
    cr_assert_eq(hp_cc_command(4, ARGS("-o", "x.dll", "--", "a.obj"), &m, &cmd, NULL, 0), HP_OK);
    cr_expect_str_eq(joined(cmd), "clang-19 -o x.dll -B/pre/lib/hotpatch/ld/ -fuse-ld=lld -- a.obj",
                     "before --, which ends the options");
    hp_cc_command_free(cmd);

    hp_cc_tools e = {0};
    e.compiler = "clang-19";
    e.plugin = "/p.so";
    e.plugin_args = "pad=8 -fplugin-arg-hotpatch-x=1";
    char msg[256] = "";
    cr_expect_eq(hp_cc_command(1, ARGS("a.c"), &e, &cmd, msg, sizeof msg), HP_ERR_BAD_VALUE);
    cr_expect_null(cmd);
    cr_expect(strstr(msg, "HOTPATCH_PLUGIN_ARGS: '-fplugin-arg-hotpatch-x=1' is not NAME or NAME=VALUE") == msg,
              "%s", msg);
}

Test(cc_command, finding_the_tools)
{
    char *p = NULL;
    char msg[512] = "";
    cr_expect_eq(hp_cc_find_compiler(NULL, NULL, "", &p, msg, sizeof msg), HP_ERR_TOOL);
    cr_expect_str_eq(msg, "cannot find clang-19 (set HOTPATCH_CC)");
    cr_expect_eq(hp_cc_find_compiler("/nowhere/clang", NULL, "/usr/bin", &p, msg, sizeof msg), HP_ERR_TOOL);
    cr_expect_str_eq(msg, "HOTPATCH_CC='/nowhere/clang' is not an executable file");
    cr_assert_eq(hp_cc_find_compiler("sh", NULL, "/nonexistent:/bin:/usr/bin", &p, msg, sizeof msg), HP_OK);
    cr_expect(strstr(p, "/sh") != NULL, "%s", p);
    free(p);

    cr_expect_eq(hp_cc_find_plugin(NULL, "/nowhere/bin", "../lib/hotpatch", NULL, &p, msg, sizeof msg), HP_ERR_TOOL);
    cr_expect(strstr(msg, "cannot find the hotpatch plugin") == msg, "%s", msg);
    cr_assert_eq(hp_cc_find_plugin(NULL, "/nowhere/bin", "../lib/hotpatch", LPT_PLUGIN, &p, msg, sizeof msg), HP_OK);
    cr_expect_str_eq(p, LPT_PLUGIN, "the build tree's plugin as the fallback");
    free(p);

    /* an installed layout: bin/hotpatch-link, lib/hotpatch/{hotpatch-plugin.so, ld/lld-link} */
    const char *d = hpt_scratch("cc_layout");
    char bin[4200], ld[4200], cmd[24000];
    snprintf(bin, sizeof bin, "%s/bin", d);
    snprintf(ld, sizeof ld, "%s/lib/hotpatch/ld", d);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' '%s' && cp /bin/true '%s/hotpatch-link' && touch '%s/../hotpatch-plugin.so' && "
             "ln -s ../../../bin/hotpatch-link '%s/lld-link'",
             bin, ld, bin, ld, ld);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(hp_cc_find_plugin(NULL, bin, "../lib/hotpatch", LPT_PLUGIN, &p, msg, sizeof msg), HP_OK);
    cr_expect(strstr(p, "/bin/../lib/hotpatch/hotpatch-plugin.so") != NULL, "installed first: %s", p);
    free(p);
    char *link = NULL, *dir = NULL;
    const char *name = NULL;
    cr_assert_eq(hp_cc_find_linker(HP_CC_ABI_MINGW, bin, "../lib/hotpatch", &link, &dir, &name, msg, sizeof msg),
                 HP_OK);
    cr_expect(strstr(link, "/bin/hotpatch-link") != NULL, "%s", link);
    free(link);
    cr_assert_eq(hp_cc_find_linker(HP_CC_ABI_MSVC, bin, "../lib/hotpatch", &link, &dir, &name, msg, sizeof msg),
                 HP_OK);
    cr_expect(strstr(dir, "/bin/../lib/hotpatch/ld") != NULL, "%s", dir);
    cr_expect_str_eq(name, "lld");
    free(dir);
    /* the build tree: hotpatch-lld-link next to hotpatch-link */
    cr_assert_eq(hp_cc_find_linker(HP_CC_ABI_MSVC, LPT_LINK_DIR, "../lib/hotpatch", &link, &dir, &name, msg,
                                   sizeof msg),
                 HP_OK);
    cr_expect_str_eq(dir, LPT_LINK_DIR);
    cr_expect_str_eq(name, "hotpatch-lld-link");
    free(dir);
    cr_expect_eq(hp_cc_find_linker(HP_CC_ABI_MINGW, "/nowhere", NULL, &link, &dir, &name, msg, sizeof msg),
                 HP_ERR_TOOL);
    cr_expect_str_eq(msg, "cannot find hotpatch-link: '/nowhere/hotpatch-link' is not an executable file");

    char triple[128];
    cr_assert_eq(hp_cc_default_target(HPT_CLANG, 0, NULL, triple, sizeof triple, msg, sizeof msg), HP_OK, "%s", msg);
    cr_expect(strstr(triple, "linux") != NULL, "the host clang's default: %s", triple);
    cr_expect_eq(hp_cc_default_target("/bin/false", 0, NULL, triple, sizeof triple, msg, sizeof msg), HP_ERR_TOOL);
}

/* ---- the program ------------------------------------------------------------ */

static void write_file(const char *dir, const char *name, const char *text)
{
    FILE *f = fopen(lpt_path(dir, name), "w");
    cr_assert_not_null(f, "%s/%s", dir, name);
    fputs(text, f);
    fclose(f);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

Test(cc_program, version_is_clangs_and_help_is_ours)
{
    hpt_proc p;
    cr_assert_eq(hpt_run(ARGS(LPT_CC, "--version", NULL), NULL, 60, &p), 0);
    cr_expect_eq(p.status, 0);
    cr_expect(strstr(p.out, "clang version") != NULL, "%s", p.out);
    hpt_proc_free(&p);
    cr_assert_eq(hpt_run(ARGS(LPT_CC, "--hotpatch-cc-help", NULL), NULL, 60, &p), 0);
    cr_expect_eq(p.status, 0);
    const char *words[] = {"--hotpatch-cc-help", "--hotpatch-cc-verbose", "HOTPATCH_CC", "HOTPATCH_PLUGIN_ARGS",
                           "HOTPATCH_SOURCE_ROOT", "-fuse-ld="};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        cr_expect(strstr(p.out, words[i]) != NULL, "%s missing from --hotpatch-cc-help", words[i]);
    hpt_proc_free(&p);
}

Test(cc_program, errors)
{
    const char *d = hpt_scratch("cc_errors");
    write_file(d, "a.c", "int a(void) { return 1; }\n");
    hpt_proc p;
    cr_assert_eq(hpt_run(ARGS(LPT_CC, "-c", lpt_path(d, "a.c"), "-o", lpt_path(d, "a.o"), NULL),
                         ARGS("HOTPATCH_CC=/nowhere/clang-19", NULL), 60, &p),
                 0);
    cr_expect_eq(p.status, 2);
    cr_expect_str_eq(p.err, "hotpatch-cc: error: HOTPATCH_CC='/nowhere/clang-19' is not an executable file\n");
    cr_expect(!exists(lpt_path(d, "a.o")));
    hpt_proc_free(&p);

    cr_assert_eq(hpt_run(ARGS(LPT_CC, "-c", lpt_path(d, "a.c"), "-o", lpt_path(d, "a.o"), NULL),
                         ARGS("HOTPATCH_PLUGIN=/nowhere/hotpatch-plugin.so", NULL), 60, &p),
                 0);
    cr_expect_eq(p.status, 2);
    cr_expect_str_eq(p.err, "hotpatch-cc: error: HOTPATCH_PLUGIN='/nowhere/hotpatch-plugin.so' is not a file\n");
    hpt_proc_free(&p);

    cr_assert_eq(hpt_run(ARGS(LPT_CC, "-c", lpt_path(d, "a.c"), NULL), ARGS("HOTPATCH_CC=" LPT_CC, NULL), 60, &p), 0);
    cr_expect_eq(p.status, 2, "no loop through itself");
    cr_expect_str_eq(p.err, "hotpatch-cc: error: HOTPATCH_CC names hotpatch-cc itself: set it to clang-19\n");
    hpt_proc_free(&p);

    cr_assert_eq(hpt_run(ARGS(LPT_CC, "--hotpatch-cc-frob", NULL), NULL, 60, &p), 0);
    cr_expect_eq(p.status, 2);
    cr_expect_str_eq(p.err, "hotpatch-cc: error: unknown option '--hotpatch-cc-frob' (see --hotpatch-cc-help)\n");
    hpt_proc_free(&p);

    /* the compiler's own failure: its status and its message */
    write_file(d, "bad.c", "int b(void) { return }\n");
    cr_assert_eq(hpt_run(ARGS(LPT_CC, "-c", lpt_path(d, "bad.c"), "-o", lpt_path(d, "bad.o"), NULL), NULL, 60, &p), 0);
    cr_expect_eq(p.status, 1);
    cr_expect(strstr(p.err, "error: expected expression") != NULL, "%s", p.err);
    hpt_proc_free(&p);
}

/* Two units of a DLL, one calling the other across units, both exporting. */
static void write_project(const char *d, const char *makefile)
{
    write_file(d, "a.c",
               "__declspec(dllexport) int svc_b(int x);\n"
               "__declspec(dllexport) int svc_a(int x) { return svc_b(x) + 1; }\n");
    write_file(d, "b.c",
               "static int count;\n"
               "__declspec(dllexport) int svc_b(int x) { count++; return x * 2 + count; }\n");
    write_file(d, "Makefile", makefile);
}

static void audit_passes(const char *image)
{
    hpt_proc p;
    cr_assert_eq(hpt_run(ARGS(LPT_AUDIT, image, NULL), NULL, 120, &p), 0);
    cr_expect_eq(p.status, 0, "audit of %s failed:\n%s%s", image, p.out, p.err);
    cr_expect(strstr(p.out, "exports 2/2 patchable (100.0%)") != NULL, "audit of %s:\n%s", image, p.out);
    hpt_proc_free(&p);
}

/* An ordinary Makefile with its own rules; CC names the target, as for any cross compiler. */
Test(cc_build, makefile_mingw_dll_cc_with_target)
{
    const char *d = hpt_scratch("cc_make_cc");
    write_project(d, "CC ?= cc\n"
                     "CFLAGS ?= -O2\n"
                     "all: libsvc.dll\n"
                     "%.o: %.c\n"
                     "\t$(CC) $(CFLAGS) -c $< -o $@\n"
                     "libsvc.dll: a.o b.o\n"
                     "\t$(CC) $(CFLAGS) -shared -o $@ a.o b.o $(LDFLAGS)\n"
                     "clean:\n"
                     "\trm -f *.o libsvc.dll libsvc.dll.hpmap\n");
    hpt_proc p;
    cr_assert_eq(hpt_run(ARGS("make", "-C", d, "CC=" LPT_CC " --target=x86_64-w64-mingw32", NULL), NULL, 300, &p), 0);
    cr_assert_eq(p.status, 0, "make failed:\n%s%s", p.out, p.err);
    hpt_proc_free(&p);
    const char *dll = lpt_path(d, "libsvc.dll");
    cr_expect(exists(lpt_path(d, "libsvc.dll.hpmap")), "no map: hotpatch-link did not link");
    audit_passes(dll);
}

/* make's built-in rules, the target in CFLAGS (it reaches the link through $(CC) $(CFLAGS) too). */
Test(cc_build, makefile_mingw_dll_builtin_rules_cflags_target)
{
    const char *d = hpt_scratch("cc_make_cflags");
    write_project(d, "libsvc.dll: a.o b.o\n"
                     "\t$(CC) $(CFLAGS) $(LDFLAGS) -shared -o $@ $^\n");
    hpt_proc p;
    cr_assert_eq(hpt_run(ARGS("make", "-C", d, "CC=" LPT_CC, "CFLAGS=--target=x86_64-w64-mingw32 -O1 -g", NULL),
                         NULL, 300, &p),
                 0);
    cr_assert_eq(p.status, 0, "make failed:\n%s%s", p.out, p.err);
    hpt_proc_free(&p);
    cr_expect(exists(lpt_path(d, "libsvc.dll.hpmap")), "no map: hotpatch-link did not link");
    audit_passes(lpt_path(d, "libsvc.dll"));
}

/* What an autoconf configure does with $CC: its version, a test program compiled and linked, an object,
   the preprocessor ($CC -E) with a header that exists and one that does not, -g accepted. */
static const char configure_script[] =
    "#!/bin/sh\n"
    "set -e\n"
    ": \"${CC:=cc}\"\n"
    "echo \"checking whether the C compiler works... $CC\"\n"
    "$CC --version > conftest.ver 2>&1\n"
    "grep -q 'clang version' conftest.ver\n"
    "printf 'int main(void) { return 0; }\\n' > conftest.c\n"
    "rm -f conftest conftest.exe\n"
    "$CC $CFLAGS $CPPFLAGS $LDFLAGS -o conftest conftest.c $LIBS\n"
    "if test -f conftest.exe; then EXEEXT=.exe; elif test -f conftest; then EXEEXT=; else exit 11; fi\n"
    "echo \"checking for suffix of executables... $EXEEXT\"\n"
    "$CC -c $CFLAGS $CPPFLAGS conftest.c\n"
    "test -f conftest.o || exit 12\n"
    "$CC $CFLAGS -g -c conftest.c -o conftest_g.o\n"
    "printf '#include <limits.h>\\nint lim = INT_MAX;\\n' > conftest2.c\n"
    "$CC -E $CPPFLAGS conftest2.c > conftest2.i\n"
    "grep -q 'lim = 2147483647' conftest2.i || exit 13\n"
    "printf '#include <ac_nonexistent.h>\\n' > conftest3.c\n"
    "if $CC -E $CPPFLAGS conftest3.c > /dev/null 2>&1; then exit 14; fi\n"
    "$CC -print-prog-name=ld > /dev/null\n"
    "echo \"CC = $CC\" > config.mk\n"
    "echo \"EXEEXT = $EXEEXT\" >> config.mk\n"
    "echo configured\n";

/* Runs ./configure in a fresh scratch directory; returns that directory (static). */
static const char *run_configure(const char *scratch, const char *const env[], const char *exe)
{
    const char *d = hpt_scratch(scratch);
    write_file(d, "configure", configure_script);
    cr_assert_eq(chmod(lpt_path(d, "configure"), 0755), 0);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "cd '%s' && ./configure", d);
    hpt_proc p;
    cr_assert_eq(hpt_run(ARGS("sh", "-c", cmd, NULL), env, 300, &p), 0);
    cr_expect_eq(p.status, 0, "configure failed (%d):\n%s%s", p.status, p.out, p.err);
    cr_expect(strstr(p.out, "configured") != NULL, "%s", p.out);
    cr_expect(exists(lpt_path(d, exe)) || exists(lpt_path(d, "conftest.exe")), "%s was not linked", exe);
    hpt_proc_free(&p);
    return d;
}

Test(cc_build, configure_native)
{
    run_configure("cc_configure_native", ARGS("CC=" LPT_CC, "CFLAGS=-O2", NULL), "conftest");
}

Test(cc_build, configure_mingw)
{
    const char *d =
        run_configure("cc_configure_mingw", ARGS("CC=" LPT_CC " --target=x86_64-w64-mingw32", NULL), "conftest");
    /* the test program went through hotpatch-link */
    cr_expect(exists(lpt_path(d, "conftest.hpmap")) || exists(lpt_path(d, "conftest.exe.hpmap")),
              "no map of the test program");
}

/* Linux: the plugin without hotpatch-link; every function starts with the plugin's 66 90. */
Test(cc_build, native_elf_library)
{
    const char *d = hpt_scratch("cc_elf");
    write_file(d, "a.c", "int elf_b(int x);\nint elf_a(int x) { return elf_b(x) + 1; }\n");
    write_file(d, "b.c", "int elf_b(int x) { return x * 3; }\n");
    write_file(d, "Makefile", "CFLAGS = -O2 -fPIC\n"
                              "libelf_ab.so: a.o b.o\n"
                              "\t$(CC) $(CFLAGS) -shared -o $@ $^\n");
    hpt_proc p;
    cr_assert_eq(hpt_run(ARGS("make", "-C", d, "CC=" LPT_CC, NULL), NULL, 300, &p), 0);
    cr_assert_eq(p.status, 0, "make failed:\n%s%s", p.out, p.err);
    hpt_proc_free(&p);
    const char *so = lpt_path(d, "libelf_ab.so");
    cr_expect(!exists(lpt_path(d, "libelf_ab.so.hpmap")), "ELF: clang's own linker, no hotpatch-link map");
    cr_assert_eq(hpt_run(ARGS(HPT_LLVM_OBJDUMP, "-d", so, NULL), NULL, 60, &p), 0);
    cr_assert_eq(p.status, 0, "%s", p.err);
    const char *fns[] = {"<elf_a>:\n", "<elf_b>:\n"};
    for (size_t i = 0; i < 2; i++) {
        const char *at = strstr(p.out, fns[i]);
        cr_assert_not_null(at, "%s not in the disassembly", fns[i]);
        const char *line = at + strlen(fns[i]);
        const char *end = strchr(line, '\n');
        cr_expect(end && strstr(line, ": 66 90") && strstr(line, ": 66 90") < end, "%s starts with: %.*s", fns[i],
                  end ? (int)(end - line) : 40, line);
    }
    hpt_proc_free(&p);
}
