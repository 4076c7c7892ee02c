/*
 * audit_bench.c — benchmark of hotpatch-audit (target bench-audit).
 *
 * Generates a DLL with N functions (default 100,000; the first 65,535 exported,
 * the most a PE export table can hold; each behind
 * 8 bytes of CC with a 2-byte NOP entry), then times, in the same run and on
 * the same file:
 *   hotpatch-audit --quiet         (what CI runs)
 *   llvm-objdump -p                (only lists the exports)
 *   llvm-objdump -d                (what people script today)
 * and reports the ratios against the targets: audit <= 2x the export listing,
 * >= 20x faster than the disassembly. Exit 0 when both targets are met.
 *
 * usage: audit_bench WORKDIR CLANG LLD_LINK LLVM_OBJDUMP HOTPATCH_AUDIT [N]
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run argv with stdout/stderr to /dev/null; returns the exit status or -1. */
static int run(char *const argv[], int quiet)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Best of `reps` runs, in seconds. */
static double best(char *const argv[], int reps, int *status)
{
    double b = 1e30;
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        *status = run(argv, 1);
        double t = now() - t0;
        if (t < b)
            b = t;
    }
    return b;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: audit_bench WORKDIR CLANG LLD_LINK LLVM_OBJDUMP HOTPATCH_AUDIT [N]\n");
        return 2;
    }
    const char *dir = argv[1];
    long n = argc > 6 ? strtol(argv[6], NULL, 10) : 100000;
    /* a PE export table holds at most 65,535 entries (16-bit ordinal indices; lld-link refuses more):
       the image gets n functions, of which the first 65,535 are exported */
    long exported = n < 65535 ? n : 65535;
    char s_path[4096], def_path[4096], obj_path[4096], dll_path[4096], out_arg[4200], def_arg[4200];
    mkdir(dir, 0777);
    snprintf(s_path, sizeof s_path, "%s/bench.s", dir);
    snprintf(def_path, sizeof def_path, "%s/bench.def", dir);
    snprintf(obj_path, sizeof obj_path, "%s/bench.obj", dir);
    snprintf(dll_path, sizeof dll_path, "%s/bench.dll", dir);

    FILE *s = fopen(s_path, "w"), *d = fopen(def_path, "w");
    if (!s || !d) {
        perror("bench: create");
        return 2;
    }
    fprintf(d, "LIBRARY bench.dll\nEXPORTS\n");
    fprintf(s, ".text\n");
    for (long i = 0; i < n; i++) {
        /* 8 x CC padding, entry 66 90 (2-byte NOP), lea (%rcx,%rdx),%eax; add $i,%eax; ret */
        fprintf(s, ".p2align 4\n.fill 8,1,0xcc\n.globl f%ld\nf%ld:\n.byte 0x66,0x90\nlea (%%rcx,%%rdx),%%eax\n"
                   "add $%ld,%%eax\nret\n",
                i, i, i);
        if (i < exported)
            fprintf(d, "    f%ld\n", i);
    }
    fclose(s);
    fclose(d);

    double t0 = now();
    char *cc[] = {argv[2], "--target=x86_64-pc-windows-msvc", "-c", s_path, "-o", obj_path, NULL};
    if (run(cc, 0) != 0) {
        fprintf(stderr, "bench: assembling failed\n");
        return 2;
    }
    snprintf(out_arg, sizeof out_arg, "/out:%s", dll_path);
    snprintf(def_arg, sizeof def_arg, "/def:%s", def_path);
    char *ld[] = {argv[3], "/dll", "/noentry", "/nodefaultlib", def_arg, obj_path, out_arg, NULL};
    if (run(ld, 0) != 0) {
        fprintf(stderr, "bench: linking failed\n");
        return 2;
    }
    printf("generated %s: %ld functions, %ld exported, in %.1f s\n", dll_path, n, exported, now() - t0);

    char *audit[] = {argv[5], "--quiet", dll_path, NULL};
    char *list[] = {argv[4], "-p", dll_path, NULL};
    char *dis[] = {argv[4], "-d", dll_path, NULL};
    int st_audit, st_list, st_dis;
    double t_audit = best(audit, 5, &st_audit);
    double t_list = best(list, 5, &st_list);
    double t_dis = best(dis, 2, &st_dis);
    printf("hotpatch-audit --quiet : %8.3f s (exit %d)\n", t_audit, st_audit);
    printf("llvm-objdump -p        : %8.3f s (exit %d)\n", t_list, st_list);
    printf("llvm-objdump -d        : %8.3f s (exit %d)\n", t_dis, st_dis);
    double r_list = t_audit / t_list, r_dis = t_dis / t_audit;
    int ok_list = r_list <= 2.0, ok_dis = r_dis >= 20.0;
    printf("audit / export listing : %6.2fx  (target <= 2x)  %s\n", r_list, ok_list ? "met" : "MISSED");
    printf("disassembly / audit    : %6.1fx  (target >= 20x) %s\n", r_dis, ok_dis ? "met" : "MISSED");
    if (st_audit != 0)
        printf("note: the audit did not pass the generated image (exit %d)\n", st_audit);
    return ok_list && ok_dis && st_audit == 0 ? 0 : 1;
}
