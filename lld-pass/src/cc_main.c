/*
 * cc_main.c — hotpatch-cc: a compiler wrapper for build systems that only know $CC
 * (`CC=hotpatch-cc ./configure && make`, `CC=hotpatch-cc make`, Meson). It runs clang-19 with the
 * user's arguments plus the plugin, and for links of Windows images hotpatch-link as the linker
 * (hp_link_cc.h has the rules). The only code of hotpatch-cc that prints or exits:
 *   the compiler's own exit status  clang ran (execv: hotpatch-cc becomes clang)
 *   0  --hotpatch-cc-help
 *   2  bad wrapper option, clang / the plugin / hotpatch-link not found, clang not startable
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_link_cc.h"

#ifndef HP_CC_CLANG_DIR
#define HP_CC_CLANG_DIR "/usr/lib/llvm-19/bin"
#endif
#ifndef HP_CC_REL_PKGLIB /* the plugin's directory relative to the installed bin/ */
#define HP_CC_REL_PKGLIB "../lib/hotpatch"
#endif
#ifndef HP_CC_BUILD_PLUGIN /* the build tree's plugin: the fallback when not installed */
#define HP_CC_BUILD_PLUGIN ""
#endif

#define EXIT_ERROR 2

static const char *prog = "hotpatch-cc";

static void help(void)
{
    printf("usage: hotpatch-cc [clang arguments]\n"
           "\n"
           "hotpatch-cc %s: clang-19 with the hotpatch plugin, for build systems that only know $CC:\n"
           "  CC=hotpatch-cc ./configure && make        CC=hotpatch-cc make        CC=hotpatch-cc meson setup\n"
           "\n"
           "Adds to every compile of C-family source to code (-c, -S, or a link; not -E, -M, -MM,\n"
           "-fsyntax-only, assembly or objects alone):\n"
           "  -fplugin=<lib/hotpatch/hotpatch-plugin.so>  (and the plugin options below)\n"
           "and to every link for a Windows target (--target=, -target, or clang's default):\n"
           "  MinGW:    -fuse-ld=<bin/hotpatch-link>\n"
           "  MSVC ABI: -B<lib/hotpatch/ld>/ -fuse-ld=lld\n"
           "Every other argument reaches clang unchanged; --version is clang's.\n"
           "\n"
           "Options:\n"
           "  --hotpatch-cc-help      this text\n"
           "  --hotpatch-cc-verbose   print the compiler command on stderr before running it\n"
           "Environment:\n"
           "  HOTPATCH_CC             the compiler to run (default: clang-19 in %s, then on PATH)\n"
           "  HOTPATCH_PLUGIN         the plugin (default: next to this program's installed tree)\n"
           "  HOTPATCH_SOURCE_ROOT    -fplugin-arg-hotpatch-source-root=<dir>\n"
           "  HOTPATCH_PLUGIN_ARGS    space-separated NAME[=VALUE]: -fplugin-arg-hotpatch-NAME[=VALUE]\n"
           "\n"
           "Exit status: the compiler's; 2 when hotpatch-cc cannot run it (a message says why).\n",
           HP_VERSION_STRING, HP_CC_CLANG_DIR);
}

static int fail(const char *msg)
{
    fprintf(stderr, "%s: error: %s\n", prog, msg);
    return EXIT_ERROR;
}

int main(int argc, char **argv)
{
    char msg[1024] = "";
    const int n = argc > 0 ? argc - 1 : 0;
    const char *const *user = (const char *const *)argv + (argc > 0 ? 1 : 0);

    hp_cc_args a;
    hp_status st = hp_cc_parse(n, user, &a, msg, sizeof msg);
    if (st != HP_OK)
        return fail(msg[0] ? msg : hp_status_str(st));
    if (a.help) {
        help();
        return 0;
    }

    char *cc = NULL, *plugin = NULL, *link = NULL, *ld_dir = NULL;
    char **cmd = NULL;
    st = hp_cc_find_compiler(getenv("HOTPATCH_CC"), HP_CC_CLANG_DIR, getenv("PATH"), &cc, msg, sizeof msg);
    if (st != HP_OK)
        goto out;

    /* this program's directory: the installed tree (bin/) or the build tree (lld-pass/) */
    char self[PATH_MAX];
    if (!hp_self_exe(self, sizeof self)) {
        st = HP_ERR_IO;
        snprintf(msg, sizeof msg, "cannot read /proc/self/exe: where is hotpatch-cc installed?");
        goto out;
    }
    char real_cc[PATH_MAX];
    if (realpath(cc, real_cc) && strcmp(real_cc, self) == 0) {
        st = HP_ERR_TOOL;
        snprintf(msg, sizeof msg, "HOTPATCH_CC names hotpatch-cc itself: set it to clang-19");
        goto out;
    }
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    const char *self_dir = self;

    hp_cc_tools t;
    memset(&t, 0, sizeof t);
    t.compiler = cc;
    if (hp_cc_wants_plugin(&a)) {
        st = hp_cc_find_plugin(getenv("HOTPATCH_PLUGIN"), self_dir, HP_CC_REL_PKGLIB, HP_CC_BUILD_PLUGIN, &plugin,
                               msg, sizeof msg);
        if (st != HP_OK)
            goto out;
        t.plugin = plugin;
        t.source_root = getenv("HOTPATCH_SOURCE_ROOT");
        t.plugin_args = getenv("HOTPATCH_PLUGIN_ARGS");
    }
    if (hp_cc_links(&a)) {
        /* the target decides the linker: the command line's, else the compiler's default */
        char triple[256];
        if (a.target[0])
            snprintf(triple, sizeof triple, "%s", a.target);
        else if ((st = hp_cc_default_target(cc, n, user, triple, sizeof triple, msg, sizeof msg)) != HP_OK)
            goto out;
        t.abi = hp_cc_abi_of(triple);
        if (t.abi != HP_CC_ABI_OTHER) {
            st = hp_cc_find_linker(t.abi, self_dir, HP_CC_REL_PKGLIB, &link, &ld_dir, &t.ld_name, msg, sizeof msg);
            if (st != HP_OK)
                goto out;
            t.link = link;
            t.ld_dir = ld_dir;
        }
    }

    st = hp_cc_command(n, user, &t, &cmd, msg, sizeof msg);
    if (st != HP_OK)
        goto out;
    if (a.verbose) {
        fprintf(stderr, "%s: running:", prog);
        for (char **c = cmd; *c; c++)
            fprintf(stderr, " %s", *c);
        fputc('\n', stderr);
    }
    fflush(stdout);
    fflush(stderr);
    execv(cc, cmd);
    /* only when clang could not be started */
    st = HP_ERR_TOOL;
    snprintf(msg, sizeof msg, "cannot run '%s': %s", cc, strerror(errno));

out:
    hp_cc_command_free(cmd);
    free(plugin);
    free(link);
    free(ld_dir);
    free(cc);
    return fail(msg[0] ? msg : hp_status_str(st));
}
