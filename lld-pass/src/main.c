/*
 * main.c — hotpatch-link: the linker driver around lld. Parses, runs the
 * modules, and maps their statuses to messages and exit codes:
 *   0  linked, and the image is hotpatchable (or --hotpatch-warn-only)
 *   1  the image is not hotpatchable: the functions are listed, the image removed
 *   2  bad command line, lld not found, an input or the output unreadable
 *   N  lld's own exit status when lld failed
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_link.h"
#include "hp_link_bitcode.h"
#include "hp_link_cmdline.h"
#include "hp_link_lld.h"
#include "hp_link_map.h"
#include "hp_link_objfind.h"
#include "hp_link_post.h"
#include "hp_link_fileio.h"

#ifndef HP_LINK_LLD_DIR
#define HP_LINK_LLD_DIR "/usr/lib/llvm-19/bin"
#endif

#define EXIT_VIOLATIONS 1
#define EXIT_USAGE 2

static const char *prog = "hotpatch-link";

static void help(void)
{
    printf("usage: hotpatch-link [hotpatch options] <ld.lld or lld-link arguments>\n"
           "\n"
           "A drop-in linker driver: links with lld, forcing the link-side half of hotpatching\n"
           "(/functionpadmin, no identical-code folding, /release for a real checksum), brings LLVM\n"
           "bitcode compiled without the hotpatch plugin under its policy, then verifies the image:\n"
           "every function of the plugin's table and every export must be hotpatchable.\n"
           "\n"
           "  clang --target=x86_64-w64-mingw32 -fuse-ld=/path/to/hotpatch-link ...\n"
           "  clang --target=x86_64-pc-windows-msvc -B/path/to/bin -fuse-ld=hotpatch-link ...\n"
           "  hotpatch-lld-link /out:app.dll /dll a.obj b.obj   (in place of lld-link)\n"
           "\n"
           "Options (also through clang's -Wl,):\n"
           "  --hotpatch-pad=N           padding required before each entry, 1..64 (default 5 x86, 6 x64)\n"
           "  --hotpatch-warn-only       report violations as warnings and keep the image\n"
           "  --hotpatch-map=PATH|none   where to write the map (default <image>.hpmap), or no map\n"
           "  --hotpatch-verbose         print the lld command, rewritten inputs and a summary\n"
           "  --hotpatch-flavor=mingw|msvc  the command-line style when the name and arguments do not tell\n"
           "  --lld=PATH                 the lld driver to run (default: ld.lld-19 / lld-link-19)\n"
           "  --help                     this text\n"
           "\n"
           "Exit status: 0 ok; 1 the image is not hotpatchable (removed unless --hotpatch-warn-only);\n"
           "2 bad command line, lld missing, unreadable input; otherwise lld's own exit status.\n");
}

/* `name` in the directory of this executable, when it exists there. */
static int self_sibling(const char *name, char *buf, size_t size)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 0;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (!slash)
        return 0;
    *slash = 0;
    if ((size_t)snprintf(buf, size, "%s/%s", self, name) >= size)
        return 0;
    return access(buf, X_OK) == 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Inputs that must exist as given: every GNU input, and lld-link inputs with a directory part
   (lld-link searches /libpath for bare names). */
static int check_inputs(const hp_link_cmdline *cl)
{
    for (size_t i = 0; i < cl->input_count; i++) {
        const char *in = cl->args[cl->inputs[i]];
        if (cl->flavor == HP_LINK_FLAVOR_MSVC && !strchr(in, '/'))
            continue;
        if (access(in, R_OK) != 0) {
            fprintf(stderr, "%s: error: cannot read input '%s'\n", prog, in);
            return -1;
        }
    }
    return 0;
}

static int report_violations(hp_link_cmdline *cl, hp_link_post *post, const char *level)
{
    for (size_t i = 0; i < post->violation_count; i++) {
        const hp_link_violation *v = &post->violations[i];
        char *obj = NULL;
        if (strncmp(v->function, "sub_", 4) != 0 && hp_link_objfind(cl, v->function, &obj) == HP_LINK_OK && obj) {
            hp_link_post_set_object(post, i, obj);
            free(obj);
        }
        if (v->object)
            fprintf(stderr, "%s: %s: %s: '%s' at 0x%x (from %s) is not hotpatchable: %s: %s\n", prog, level,
                    cl->output, v->function, v->rva, v->object, v->reason, v->message);
        else
            fprintf(stderr, "%s: %s: %s: '%s' at 0x%x is not hotpatchable: %s: %s\n", prog, level, cl->output,
                    v->function, v->rva, v->reason, v->message);
    }
    return 0;
}

int main(int argc, char **argv)
{
    hp_link_cmdline *cl = NULL;
    hp_link_bitcode *bc = NULL;
    hp_link_post *post = NULL;
    char **lld_argv = NULL;
    char *lld = NULL;
    char msg[1024];
    int rc = EXIT_USAGE;

    hp_link_status st = hp_link_cmdline_parse(argc, (const char *const *)argv, file_exists, &cl, msg, sizeof msg);
    if (st != HP_LINK_OK) {
        fprintf(stderr, "%s: error: %s\n", prog, msg[0] ? msg : hp_link_status_str(st));
        return EXIT_USAGE;
    }
    if (cl->want_help) {
        help();
        rc = 0;
        goto out;
    }
    st = hp_link_lld_find(cl->flavor, cl->lld_path, HP_LINK_LLD_DIR, getenv("PATH"), &lld);
    if (st != HP_LINK_OK) {
        if (cl->lld_path)
            fprintf(stderr, "%s: error: --lld=%s is not an executable file\n", prog, cl->lld_path);
        else
            fprintf(stderr, "%s: error: cannot find lld (%s) in %s or on PATH: install lld-19 or pass --lld=PATH\n",
                    prog, cl->flavor == HP_LINK_FLAVOR_MSVC ? "lld-link-19, lld-link" : "ld.lld-19, ld.lld",
                    HP_LINK_LLD_DIR);
        goto out;
    }
    if (check_inputs(cl))
        goto out;
    if (cl->icf_arg)
        fprintf(stderr,
                "%s: warning: ignoring '%s': identical-code folding would merge patchable functions, so that one "
                "patch would redirect all of them; linking without it\n",
                prog, cl->icf_arg);

    /* bitcode compiled without the plugin: rewritten copies take the inputs' places */
    char *llvm_ar = NULL;
    hp_link_lld_find_tool(HP_LINK_LLD_DIR, getenv("PATH"), &llvm_ar);
    hp_link_bitcode_options bopt;
    memset(&bopt, 0, sizeof bopt);
    bopt.pad = cl->pad;
    bopt.tmpdir = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    bopt.llvm_ar = llvm_ar;
    char helper[4096];
    bopt.helper = self_sibling("hotpatch-link-bitcode", helper, sizeof helper) ? helper : NULL;
    st = hp_link_bitcode_prepare(cl, &bopt, &bc, msg, sizeof msg);
    free(llvm_ar);
    if (st != HP_LINK_OK) {
        fprintf(stderr, "%s: error: %s\n", prog, msg[0] ? msg : hp_link_status_str(st));
        goto out;
    }
    if (cl->verbose) {
        size_t n = hp_link_bitcode_count(bc);
        for (size_t i = 0; i < n; i++) {
            const char *orig, *tmp;
            hp_link_bitcode_at(bc, i, &orig, &tmp);
            fprintf(stderr, "%s: bitcode '%s' was compiled without the hotpatch plugin: linking '%s'\n", prog, orig,
                    tmp);
        }
    }

    st = hp_link_lld_argv(cl, lld, &lld_argv);
    if (st != HP_LINK_OK) {
        fprintf(stderr, "%s: error: %s\n", prog, hp_link_status_str(st));
        goto out;
    }
    if (cl->verbose) {
        fprintf(stderr, "%s: running:", prog);
        for (char **a = lld_argv; *a; a++)
            fprintf(stderr, " %s", *a);
        fputc('\n', stderr);
    }
    int lld_exit = 0;
    st = hp_link_lld_run(lld_argv, &lld_exit);
    hp_link_bitcode_restore(bc, cl); /* the user's paths again, for messages */
    if (st == HP_LINK_ERR_NO_LLD) {
        fprintf(stderr, "%s: error: cannot run '%s'\n", prog, lld);
        goto out;
    }
    if (st == HP_LINK_ERR_LLD_FAILED) {
        rc = lld_exit;
        goto out;
    }
    if (cl->input_count == 0) {
        rc = 0; /* --version and the like: nothing was linked */
        goto out;
    }

    hp_link_post_options popt;
    memset(&popt, 0, sizeof popt);
    popt.pad = cl->pad;
    st = hp_link_post_run(cl->output, &popt, &post, msg, sizeof msg);
    if (st != HP_LINK_OK) {
        fprintf(stderr, "%s: error: %s\n", prog, msg[0] ? msg : hp_link_status_str(st));
        goto out;
    }
    if (post->violation_count) {
        int warn = cl->warn_only;
        report_violations(cl, post, warn ? "warning" : "error");
        if (!warn) {
            if (unlink(cl->output) != 0)
                fprintf(stderr, "%s: error: cannot remove '%s'\n", prog, cl->output);
            fprintf(stderr,
                    "%s: error: %zu finding(s): '%s' is not hotpatchable and was removed (--hotpatch-warn-only keeps "
                    "it)\n",
                    prog, post->violation_count, cl->output);
            rc = EXIT_VIOLATIONS;
            goto out;
        }
    }
    if (!cl->map_none) {
        char *path = NULL;
        if (cl->map_path)
            path = strdup(cl->map_path);
        else if ((path = malloc(strlen(cl->output) + 7)) != NULL)
            sprintf(path, "%s.hpmap", cl->output);
        if (!path || hp_link_map_write(post, hp_link_basename(cl->output), path) != HP_LINK_OK) {
            fprintf(stderr, "%s: error: cannot write the map '%s'\n", prog, path ? path : "?");
            free(path);
            goto out;
        }
        free(path);
    }
    if (cl->verbose) {
        size_t table = 0, exported = 0;
        for (size_t i = 0; i < post->fn_count; i++) {
            table += (post->fns[i].from & HP_LINK_FROM_TABLE) != 0;
            exported += (post->fns[i].from & HP_LINK_FROM_EXPORT) != 0;
        }
        fprintf(stderr,
                "%s: %s: %zu functions checked (%zu in the table, %zu exported), %zu findings, %u padding bytes "
                "0x90 -> 0xCC, checksum 0x%08x\n",
                prog, cl->output, post->fn_count, table, exported, post->violation_count, post->filled,
                post->checksum);
    }
    rc = 0;

out:
    hp_link_post_destroy(post);
    hp_link_lld_argv_free(lld_argv);
    hp_link_bitcode_destroy(bc);
    free(lld);
    hp_link_cmdline_destroy(cl);
    return rc;
}
