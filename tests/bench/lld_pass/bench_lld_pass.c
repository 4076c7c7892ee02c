/*
 * bench_lld_pass.c — link cost of generated 10,000- and 60,000-function DLLs
 * through hotpatch-link vs plain lld, the same objects, measured in the same
 * run, interleaved. The cost is the CPU time (user + system) of the link and
 * everything it starts (clang's driver, lld, hotpatch-link), which a shared
 * machine's load disturbs far less than wall time; wall time is printed too.
 *
 * usage: bench_lld_pass CLANG PLUGIN HOTPATCH_LINK WORKDIR [ROUNDS [SIZES]]
 *   SIZES: comma-separated function counts (default 10000,60000)
 * Prints the medians and their ratio per size (the target: exits 1 when a ratio is not at most 1.15),
 * and the spread of the rounds' own ratios (each round's two links ran back to back); between two
 * sizes, the CPU each further function costs both ways and the ratio larger links tend to.
 */
#define _POSIX_C_SOURCE 200809L
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "../bench_clock.h"

#define TARGET_RATIO 1.15

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

/* One size's medians (seconds of CPU). */
typedef struct size_result {
    int functions;
    double plain, hot;
} size_result;

/* One size: generate, compile once, then interleaved links. Returns the CPU ratio, or -1 on failure. */
static double bench_size(const char *clang, const char *plugin, const char *link, const char *dir, int functions,
                         int rounds, size_result *out)
{
    char src[4096], obj[4096], plain[4096], hot[4096], fplugin[4200], fuse[4200];
    snprintf(src, sizeof src, "%s/gen%d.c", dir, functions);
    snprintf(obj, sizeof obj, "%s/gen%d.o", dir, functions);
    snprintf(plain, sizeof plain, "%s/plain%d.dll", dir, functions);
    snprintf(hot, sizeof hot, "%s/hot%d.dll", dir, functions);
    snprintf(fplugin, sizeof fplugin, "-fplugin=%s", plugin);
    snprintf(fuse, sizeof fuse, "-fuse-ld=%s", link);

    /* every function distinct (nothing to fold), half of them exported, each calling the previous one */
    FILE *f = fopen(src, "w");
    if (!f) {
        perror(src);
        return -1;
    }
    fprintf(f, "int f0(int x) { return x; }\n");
    for (int i = 1; i < functions; i++)
        fprintf(f, "%s__attribute__((noinline)) int f%d(int x) { return f%d(x * %d + %d) ^ (x >> %d); }\n",
                i % 2 ? "__declspec(dllexport) " : "", i, i - 1, i % 97 + 1, i, i % 13);
    if (fclose(f) != 0) {
        perror(src);
        return -1;
    }
    char *cc[] = {(char *)clang, "--target=x86_64-w64-mingw32", "-O2", fplugin, "-c", src, "-o", obj, NULL};
    if (run(cc) != 0) {
        fprintf(stderr, "bench_lld_pass: compiling %s failed\n", src);
        return -1;
    }
    char *lp[] = {(char *)clang, "--target=x86_64-w64-mingw32", "-fuse-ld=lld", "-shared", obj, "-o", plain, NULL};
    char *lh[] = {(char *)clang, "--target=x86_64-w64-mingw32", fuse, "-shared", obj, "-o", hot, NULL};
    /* one warm-up of each, then interleaved rounds so that both see the same machine load */
    if (run(lp) != 0 || run(lh) != 0) {
        fprintf(stderr, "bench_lld_pass: a link failed\n");
        return -1;
    }
    double *cp = calloc((size_t)rounds, sizeof *cp), *ch = calloc((size_t)rounds, sizeof *ch);
    double *wp = calloc((size_t)rounds, sizeof *wp), *wh = calloc((size_t)rounds, sizeof *wh);
    if (!cp || !ch || !wp || !wh)
        return -1;
    for (int r = 0; r < rounds; r++) {
        /* alternate the order: the second of two runs in a row tends to be the faster */
        for (int k = 0; k < 2; k++) {
            int hotpatch = (k == 0) == (r % 2 == 1);
            double c0 = children_cpu(), t0 = now();
            if (run(hotpatch ? lh : lp) != 0)
                return -1;
            double c1 = children_cpu(), t1 = now();
            (hotpatch ? ch : cp)[r] = c1 - c0;
            (hotpatch ? wh : wp)[r] = t1 - t0;
        }
    }
    /* each round's two links ran back to back under the same load: the ratio of the pair is the
       comparison that slow changes of the machine's load disturb least (printed beside the ratio of
       the medians, which the target is checked on) */
    double *pr = calloc((size_t)rounds, sizeof *pr);
    if (!pr)
        return -1;
    for (int r = 0; r < rounds; r++)
        pr[r] = ch[r] / cp[r];
    qsort(pr, (size_t)rounds, sizeof *pr, cmp_double);
    qsort(cp, (size_t)rounds, sizeof *cp, cmp_double);
    qsort(ch, (size_t)rounds, sizeof *ch, cmp_double);
    qsort(wp, (size_t)rounds, sizeof *wp, cmp_double);
    qsort(wh, (size_t)rounds, sizeof *wh, cmp_double);
    double ratio = ch[rounds / 2] / cp[rounds / 2];
    out->functions = functions;
    out->plain = cp[rounds / 2];
    out->hot = ch[rounds / 2];
    printf("lld-pass bench: %d functions (%d exported), %d rounds\n", functions, functions / 2, rounds);
    printf("  plain lld      median CPU %.1f ms, wall %.1f ms\n", cp[rounds / 2] * 1e3, wp[rounds / 2] * 1e3);
    printf("  hotpatch-link  median CPU %.1f ms, wall %.1f ms (lld + settings + post-link pass + map)\n",
           ch[rounds / 2] * 1e3, wh[rounds / 2] * 1e3);
    printf("  ratio %.3fx CPU, %.3fx wall (target <= %.2fx CPU)\n", ratio, wh[rounds / 2] / wp[rounds / 2],
           TARGET_RATIO);
    printf("  rounds' own ratios (CPU): median %.3fx, quartiles %.3fx-%.3fx, least %.3fx\n", pr[rounds / 2],
           pr[rounds / 4], pr[(3 * rounds) / 4 < rounds ? (3 * rounds) / 4 : rounds - 1], pr[0]);
    fflush(stdout);
    free(pr);
    free(cp);
    free(ch);
    free(wp);
    free(wh);
    return ratio;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s CLANG PLUGIN HOTPATCH_LINK WORKDIR [ROUNDS [SIZES]]\n", argv[0]);
        return 2;
    }
    int rounds = argc > 5 ? atoi(argv[5]) : 7;
    if (rounds < 1 || rounds > 50)
        rounds = 7;
    char sizes[256];
    snprintf(sizes, sizeof sizes, "%s", argc > 6 ? argv[6] : "10000,60000");
    int ok = 1;
    size_result prev = {0, 0, 0};
    for (char *tok = strtok(sizes, ","); tok; tok = strtok(NULL, ",")) {
        int n = atoi(tok);
        if (n < 2) {
            fprintf(stderr, "bench_lld_pass: bad size '%s'\n", tok);
            return 2;
        }
        size_result cur;
        double ratio = bench_size(argv[1], argv[2], argv[3], argv[4], n, rounds, &cur);
        if (ratio < 0)
            return 2;
        ok &= ratio <= TARGET_RATIO;
        /* between two sizes: the CPU each further function costs (the medians' differences), which
           decides the ratio that larger links tend to: fixed costs (process starts, the CRT's
           objects, the archives) matter less and less */
        if (prev.functions && cur.functions != prev.functions) {
            double dn = (double)cur.functions - prev.functions, dp = (cur.plain - prev.plain) / dn,
                   dh = (cur.hot - prev.hot) / dn;
            printf("lld-pass bench: each function more, from %d to %d: plain lld %.2f us of CPU, hotpatch-link "
                   "%.2f us (%.2f us its own); larger links tend to %.2fx\n",
                   prev.functions, cur.functions, dp * 1e6, dh * 1e6, (dh - dp) * 1e6, dp > 0 ? dh / dp : 0.0);
            fflush(stdout);
        }
        prev = cur;
    }
    return ok ? 0 : 1;
}
