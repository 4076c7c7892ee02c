/*
 * carry_portable.c — hp_link_carry_object() built without SSE2 (tests/lld-pass/CMakeLists.txt: the
 * same sources with -U__SSE2__, so the portable loops of the binding hash and the lines' check run):
 * writes OBJECT with its digests added to OUT, for test_carry.c to compare with the SSE2 build's.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hp_link_carry.h"
#include "hp_tools.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: carry_portable OBJECT OUT\n");
        return 2;
    }
    unsigned char *data = NULL;
    size_t size = 0;
    char msg[512] = "";
    if (hp_file_read(argv[1], &data, &size, msg, sizeof msg) != HP_OK) {
        fprintf(stderr, "carry_portable: %s\n", msg);
        return 2;
    }
    uint8_t *out = NULL;
    size_t n = 0;
    if (hp_link_carry_object(data, size, &out, &n, msg, sizeof msg) != HP_OK || !out) {
        fprintf(stderr, "carry_portable: %s: nothing added %s\n", argv[1], msg);
        return 1;
    }
    hp_link_carried got;
    FILE *f = fopen(argv[2], "wb");
    int ok = f && fwrite(out, 1, n, f) == n && fclose(f) == 0 && hp_link_carried_find(out, n, &got) == HP_CARRIED_OK;
    free(out);
    free(data);
    return ok ? 0 : 1;
}
