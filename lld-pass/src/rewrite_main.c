/*
 * rewrite_main.c — hotpatch-link-bitcode, the helper hotpatch-link starts when
 * inputs are LLVM bitcode (it keeps libLLVM out of every other link):
 *
 *   hotpatch-link-bitcode [--pad=N] IN OUT [IN OUT ...]
 *
 * Each IN compiled without the hotpatch plugin is rewritten under the policy
 * into OUT; OUT is not created when IN already carries the plugin's table.
 * Exit 0 on success, 1 on the first failure (message on stderr), 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_link_rewrite.h"

int main(int argc, char **argv)
{
    const char *prog = "hotpatch-link";
    unsigned pad = 0;
    int i = 1;
    if (i < argc && strncmp(argv[i], "--pad=", 6) == 0) {
        pad = (unsigned)strtoul(argv[i] + 6, NULL, 10);
        i++;
    }
    if ((argc - i) % 2 != 0 || i >= argc) {
        fprintf(stderr, "usage: hotpatch-link-bitcode [--pad=N] IN OUT [IN OUT ...]\n");
        return 2;
    }
    for (; i + 1 < argc; i += 2) {
        size_t size = 0;
        unsigned char *data = NULL;
        char msg[512] = "";
        hp_status st = hp_file_read(argv[i], &data, &size, msg, sizeof msg);
        if (st != HP_OK) {
            fprintf(stderr, "%s: error: cannot read %s\n", prog, msg[0] ? msg : hp_status_str(st));
            return 1;
        }
        unsigned char *out = NULL;
        size_t n = 0;
        st = hp_link_bitcode_rewrite(data, size, argv[i], pad, &out, &n, msg, sizeof msg);
        free(data);
        if (st != HP_OK) {
            fprintf(stderr, "%s: error: %s\n", prog, msg[0] ? msg : hp_status_str(st));
            return 1;
        }
        if (out) {
            FILE *f = fopen(argv[i + 1], "wb");
            int ok = f && fwrite(out, 1, n, f) == n;
            if (f && fclose(f) != 0)
                ok = 0;
            free(out);
            if (!ok) {
                fprintf(stderr, "%s: error: cannot write '%s'\n", prog, argv[i + 1]);
                return 1;
            }
        }
    }
    return 0;
}
