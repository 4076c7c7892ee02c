/*
 * fuzz_link_cmdline.c — libFuzzer target: hotpatch-link's command line
 * (hp_link_cmdline_parse, lld-pass/src/cmdline.c, with response files read
 * and split by lld-pass/src/rsp.c): flavour by name and by arguments, the
 * --hotpatch-* options, @file expansion and its nesting limit.
 *
 * Input layout: the arguments, argv[0] first, each ended by a NUL byte; an
 * empty argument (two NULs in a row) ends them, and every byte after it is
 * the text of the response file `r` (removed when there is none). The
 * parser runs in a private temporary directory (the harness changes into it
 * for the call and back after it), so `@r` names that file — and `@r` inside
 * it nests it, up to the parser's depth limit. A path
 * "exists" for lld-link's `/path` rule when its length is a multiple of 3:
 * a fixed function of the input, so both answers are explored.
 */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "hp_link_cmdline.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

static volatile size_t g_keep;
static char g_dir[4096]; /* the private directory */
static int g_home = -1;   /* the directory the fuzzer was started in */

static void cleanup(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/r", g_dir);
    unlink(path);
    rmdir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/hp-fuzz-cmdline-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    g_home = open(".", O_RDONLY | O_DIRECTORY);
    if (g_home < 0 || !mkdtemp(g_dir)) {
        perror("fuzz_link_cmdline: private directory");
        abort();
    }
    atexit(cleanup);
    return 0;
}

static int exists(const char *path)
{
    return strlen(path) % 3 == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *argv[MAX_ARGS];
    int argc = 0;
    size_t pos = 0;
    int ended = 0;

    /* a NUL-terminated copy: arguments point into it */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    while (pos < size && argc < MAX_ARGS) {
        size_t len = strlen(buf + pos);
        if (len == 0) {
            ended = 1;
            pos++;
            break;
        }
        argv[argc++] = buf + pos;
        pos += len + 1;
    }
    if (argc == 0) {
        free(buf);
        return 0;
    }

    if (chdir(g_dir) != 0)
        abort();
    if (ended) {
        FILE *f = fopen("r", "wb");
        if (!f || fwrite(buf + pos, 1, size - pos, f) != size - pos || fclose(f) != 0)
            abort();
    } else {
        unlink("r");
    }

    hp_link_cmdline *cl = NULL;
    char msg[200] = "";
    size_t keep = strlen(hp_link_flavor_name(hp_link_flavor_from_name(argv[0])));
    if (hp_link_cmdline_parse(argc, argv, exists, &cl, msg, sizeof msg) == HP_OK) {
        if (!cl || (cl->args ? cl->args[cl->arg_count] != NULL : cl->arg_count != 0))
            abort(); /* the arguments for lld are NULL-terminated (none at all with --help, --version) */
        if (!cl->want_help && !cl->want_version && !cl->args)
            abort(); /* documented: after a parse that links, an array, empty or not */
        for (size_t i = 0; i < cl->arg_count; i++)
            keep += strlen(cl->args[i]);
        for (size_t i = 0; i < cl->input_count; i++)
            if (cl->inputs[i] >= cl->arg_count)
                abort(); /* an input is one of the arguments */
        for (size_t i = 0; i < cl->exclude_count; i++)
            keep += strlen(cl->excludes[i]);
        if (!cl->want_help && !cl->want_version) {
            if (!cl->output || cl->flavor == HP_LINK_FLAVOR_UNKNOWN)
                abort(); /* documented: an output, and a flavour, after a successful parse */
            keep += strlen(cl->output) + strlen(hp_link_flavor_name(cl->flavor));
            if (cl->icf_arg)
                keep += strlen(cl->icf_arg);
            if (cl->map_path)
                keep += strlen(cl->map_path);
            if (cl->input_count && hp_link_cmdline_replace(cl, cl->inputs[0], "replaced.obj") != HP_OK)
                abort();
        }
        hp_link_cmdline_destroy(cl);
    } else {
        keep += strlen(msg);
    }
    if (fchdir(g_home) != 0)
        abort();
    g_keep += keep;
    free(buf);
    return 0;
}
