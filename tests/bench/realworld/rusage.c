/*
 * rusage.c — run a command and append its cost to a file (the benchmark's
 * stand-in for GNU time, which a fresh Debian 12 need not have):
 *
 *   rusage OUT CMD [ARG...]
 *
 * runs CMD (PATH searched), waits for it and appends one line to OUT:
 *
 *   <user seconds> <sys seconds> <peak RSS in KiB> <exit status>
 *
 * The figures are wait4()'s for CMD: CPU time of CMD and of every descendant
 * it waited for (clang's driver and its cc1, lld under hotpatch-link), and the
 * largest resident set among them. Exits with CMD's status (128+signal when
 * killed), 127 when CMD cannot be run, 2 on a bad command line or when OUT
 * cannot be written.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rusage OUT CMD [ARG...]\n");
        return 2;
    }
    FILE *out = fopen(argv[1], "a");
    if (!out) {
        fprintf(stderr, "rusage: cannot open '%s' for appending: %s\n", argv[1], strerror(errno));
        return 2;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "rusage: fork: %s\n", strerror(errno));
        fclose(out);
        return 2;
    }
    if (pid == 0) {
        fclose(out);
        execvp(argv[2], argv + 2);
        fprintf(stderr, "rusage: cannot run '%s': %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "rusage: wait4: %s\n", strerror(errno));
            fclose(out);
            return 2;
        }
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 2;
    fprintf(out, "%.6f %.6f %ld %d\n", seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_maxrss, code);
    if (fclose(out) != 0) {
        fprintf(stderr, "rusage: cannot write '%s': %s\n", argv[1], strerror(errno));
        return 2;
    }
    return code;
}
