/*
 * bench_lld_pass.c — link time of a generated 10,000-function DLL through
 * hotpatch-link vs plain lld, measured in the same run, interleaved.
 *
 * usage: bench_lld_pass CLANG PLUGIN HOTPATCH_LINK WORKDIR [ROUNDS]
 * Prints the median of each and the ratio; exits 1 when the ratio is not under 1.3.
 */
#define _POSIX_C_SOURCE 200809L
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define FUNCTIONS 10000
#define TARGET_RATIO 1.3

extern char **environ;

static int run(char *const argv[])
{
    pid_t pid;
    if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
        return -1;
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s CLANG PLUGIN HOTPATCH_LINK WORKDIR [ROUNDS]\n", argv[0]);
        return 2;
    }
    const char *clang = argv[1], *plugin = argv[2], *link = argv[3], *dir = argv[4];
    int rounds = argc > 5 ? atoi(argv[5]) : 5;
    if (rounds < 1 || rounds > 50)
        rounds = 5;
    char src[4096], obj[4096], plain[4096], hot[4096], fplugin[4200], fuse[4200];
    snprintf(src, sizeof src, "%s/gen.c", dir);
    snprintf(obj, sizeof obj, "%s/gen.o", dir);
    snprintf(plain, sizeof plain, "%s/plain.dll", dir);
    snprintf(hot, sizeof hot, "%s/hot.dll", dir);
    snprintf(fplugin, sizeof fplugin, "-fplugin=%s", plugin);
    snprintf(fuse, sizeof fuse, "-fuse-ld=%s", link);

    /* every function distinct (nothing to fold), half of them exported, each calling the previous one */
    FILE *f = fopen(src, "w");
    if (!f) {
        perror(src);
        return 2;
    }
    fprintf(f, "int f0(int x) { return x; }\n");
    for (int i = 1; i < FUNCTIONS; i++)
        fprintf(f, "%s__attribute__((noinline)) int f%d(int x) { return f%d(x * %d + %d) ^ (x >> %d); }\n",
                i % 2 ? "__declspec(dllexport) " : "", i, i - 1, i % 97 + 1, i, i % 13);
    if (fclose(f) != 0) {
        perror(src);
        return 2;
    }
    char *cc[] = {(char *)clang, "--target=x86_64-w64-mingw32", "-O2", fplugin, "-c", src, "-o", obj, NULL};
    if (run(cc) != 0) {
        fprintf(stderr, "bench_lld_pass: compiling %s failed\n", src);
        return 2;
    }
    char *lp[] = {(char *)clang, "--target=x86_64-w64-mingw32", "-fuse-ld=lld", "-shared", obj, "-o", plain, NULL};
    char *lh[] = {(char *)clang, "--target=x86_64-w64-mingw32", fuse, "-shared", obj, "-o", hot, NULL};
    /* one warm-up of each, then interleaved rounds so that both see the same machine load */
    if (run(lp) != 0 || run(lh) != 0) {
        fprintf(stderr, "bench_lld_pass: a link failed\n");
        return 2;
    }
    double *tp = calloc((size_t)rounds, sizeof *tp), *th = calloc((size_t)rounds, sizeof *th);
    if (!tp || !th)
        return 2;
    for (int r = 0; r < rounds; r++) {
        double t0 = now();
        if (run(lp) != 0)
            return 2;
        double t1 = now();
        if (run(lh) != 0)
            return 2;
        double t2 = now();
        tp[r] = t1 - t0;
        th[r] = t2 - t1;
    }
    qsort(tp, (size_t)rounds, sizeof *tp, cmp_double);
    qsort(th, (size_t)rounds, sizeof *th, cmp_double);
    double mp = tp[rounds / 2], mh = th[rounds / 2], ratio = mh / mp;
    printf("lld-pass bench: %d functions (%d exported), %d rounds\n", FUNCTIONS, FUNCTIONS / 2, rounds);
    printf("  plain lld      median %.1f ms\n", mp * 1e3);
    printf("  hotpatch-link  median %.1f ms (lld + settings + post-link pass + map)\n", mh * 1e3);
    printf("  ratio %.2fx (target < %.1fx)\n", ratio, TARGET_RATIO);
    free(tp);
    free(th);
    return ratio < TARGET_RATIO ? 0 : 1;
}
