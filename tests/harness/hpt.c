/*
 * hpt.c — see hpt.h.
 */
#define _GNU_SOURCE
#include "hpt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct sink {
    char *buf;
    size_t len, cap;
} sink;

static void sink_add(sink *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *nb = realloc(s->buf, cap);
        if (!nb)
            abort();
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int hpt_run(const char *const argv[], const char *const env[], unsigned timeout_s, hpt_proc *out)
{
    int po[2], pe[2];
    memset(out, 0, sizeof *out);
    out->status = -1;
    sink so = {0}, se = {0};
    sink_add(&so, "", 0);
    sink_add(&se, "", 0);
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0)
        goto done;
    pid_t pid = fork();
    if (pid < 0)
        goto done;
    if (pid == 0) {
        setpgid(0, 0); /* own process group: a timeout kills the whole tree (wine starts helpers) */
        dup2(po[1], 1);
        dup2(pe[1], 2);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execvp(argv[0], (char *const *)argv);
        dprintf(2, "hpt_run: cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2;
    double deadline = now_s() + (timeout_s ? timeout_s : 60);
    while (open_fds > 0) {
        int ms = (int)((deadline - now_s()) * 1000);
        if (ms <= 0) {
            out->timed_out = true;
            kill(-pid, SIGKILL);
            break;
        }
        if (poll(fds, 2, ms) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[65536];
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sink_add(i == 0 ? &so : &se, buf, (size_t)n);
            } else {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    int st = 0;
    /* The output pipes can close before the program exits (or stay open in a
       daemon it started, e.g. wineserver): wait for the program itself, within the deadline. */
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (w < 0) {
            st = -1;
            break;
        }
        if (now_s() > deadline) {
            out->timed_out = true;
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        usleep(2000);
    }
    if (st != -1)
        out->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
done:
    out->out = so.buf;
    out->out_len = so.len;
    out->err = se.buf;
    out->err_len = se.len;
    return out->status == -1 ? -1 : 0;
}

int hpt_run_wine(const char *const argv[], unsigned timeout_s, hpt_proc *out)
{
    const char *args[64];
    size_t n = 0;
    args[n++] = HPT_WINE;
    for (size_t i = 0; argv[i] && n < 63; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    static const char *const env[] = {"WINEPREFIX=" HPT_WINEPREFIX, "WINEDEBUG=-all",
                                      "WINEDLLOVERRIDES=mscoree,mshtml=", "DISPLAY=", NULL};
    return hpt_run(args, env, timeout_s, out);
}

int hpt_run_i386(const char *const argv[], unsigned timeout_s, hpt_proc *out)
{
    const char *args[64];
    size_t n = 0;
    args[n++] = HPT_QEMU_I386;
    for (size_t i = 0; argv[i] && n < 63; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    return hpt_run(args, NULL, timeout_s, out);
}

int hpt_cc(const char *triple, const char *const args[], hpt_proc *out)
{
    const char *argv[256];
    size_t n = 0;
    static char target[128];
    argv[n++] = HPT_CLANG;
    if (strcmp(triple, "i386-linux-gnu") == 0) {
        argv[n++] = "-m32";
    } else {
        snprintf(target, sizeof target, "--target=%s", triple);
        argv[n++] = target;
    }
    if (strstr(triple, "windows") || strstr(triple, "mingw"))
        argv[n++] = "-fuse-ld=lld";
    if (strcmp(triple, "x86_64-pc-windows-msvc") == 0) {
        argv[n++] = "-ffreestanding";
        argv[n++] = "-fno-stack-protector";
        argv[n++] = "-mno-stack-arg-probe";
        argv[n++] = "-nostdlib";
    }
    for (size_t i = 0; args[i] && n < 255; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (hpt_run(argv, NULL, 300, out) != 0)
        return -1;
    return out->status;
}

void hpt_proc_free(hpt_proc *p)
{
    if (!p)
        return;
    free(p->out);
    free(p->err);
    p->out = p->err = NULL;
}

const char *hpt_scratch(const char *name)
{
    static char path[4096];
    char cmd[8400];
    snprintf(path, sizeof path, "%s/tests/scratch/%s", HPT_BINARY_DIR, name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", path, path);
    if (system(cmd) != 0)
        return NULL;
    return path;
}

unsigned char *hpt_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    *size = len;
    return buf;
}
