/*
 * lld.c — find lld, add the link-side settings, run it (hp_link_lld.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_lld.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* dir + "/" + name when that is an executable; malloc'd, or NULL. */
static char *try_in(const char *dir, size_t dir_len, const char *name, int *oom)
{
    size_t n = strlen(name);
    char *p = malloc(dir_len + n + 2);
    if (!p) {
        *oom = 1;
        return NULL;
    }
    memcpy(p, dir, dir_len);
    p[dir_len] = '/';
    memcpy(p + dir_len + 1, name, n + 1);
    if (is_executable(p))
        return p;
    free(p);
    return NULL;
}

static hp_status find_named(const char *const *names, const char *default_dir, const char *path_env,
                            char **out_path)
{
    int oom = 0;
    for (const char *const *nm = names; *nm; nm++) {
        char *p = default_dir ? try_in(default_dir, strlen(default_dir), *nm, &oom) : NULL;
        if (p) {
            *out_path = p;
            return HP_OK;
        }
        for (const char *d = path_env; d && *d && !oom;) {
            const char *e = strchr(d, ':');
            size_t len = e ? (size_t)(e - d) : strlen(d);
            if (len) {
                p = try_in(d, len, *nm, &oom);
                if (p) {
                    *out_path = p;
                    return HP_OK;
                }
            }
            d += len;
            if (*d == ':')
                d++;
        }
        if (oom)
            return HP_ERR_NO_MEMORY;
    }
    return HP_ERR_NO_LINKER;
}

hp_status hp_link_lld_find(hp_link_flavor flavor, const char *override, const char *default_dir,
                           const char *path_env, char **out_path)
{
    if (!out_path || flavor == HP_LINK_FLAVOR_UNKNOWN)
        return HP_ERR_ARGUMENT;
    *out_path = NULL;
    if (override) {
        if (!is_executable(override))
            return HP_ERR_NO_LINKER;
        *out_path = strdup(override);
        return *out_path ? HP_OK : HP_ERR_NO_MEMORY;
    }
    static const char *const gnu[] = {"ld.lld-19", "ld.lld", NULL};
    static const char *const msvc[] = {"lld-link-19", "lld-link", NULL};
    return find_named(flavor == HP_LINK_FLAVOR_MSVC ? msvc : gnu, default_dir, path_env, out_path);
}

hp_status hp_link_lld_find_tool(const char *default_dir, const char *path_env, char **out_path)
{
    static const char *const names[] = {"llvm-ar-19", "llvm-ar", NULL};
    if (!out_path)
        return HP_ERR_ARGUMENT;
    *out_path = NULL;
    return find_named(names, default_dir, path_env, out_path);
}

void hp_link_lld_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

hp_status hp_link_lld_argv_append(char ***argv, const char *arg)
{
    if (!argv || !*argv || !arg)
        return HP_ERR_ARGUMENT;
    size_t n = 0;
    while ((*argv)[n])
        n++;
    char *copy = strdup(arg);
    char **grown = copy ? realloc(*argv, (n + 2) * sizeof *grown) : NULL;
    if (!grown) {
        free(copy);
        return HP_ERR_NO_MEMORY;
    }
    grown[n] = copy;
    grown[n + 1] = NULL;
    *argv = grown;
    return HP_OK;
}

hp_status hp_link_lld_argv(const hp_link_cmdline *cl, const char *lld, char ***out_argv)
{
    if (!cl || !lld || !out_argv)
        return HP_ERR_ARGUMENT;
    char pad[48];
    const int gnu = cl->flavor == HP_LINK_FLAVOR_MINGW;
    const char *pfx = gnu ? "-Xlink=" : "";
    if (cl->pad)
        snprintf(pad, sizeof pad, "%s/functionpadmin:%u", pfx, cl->pad);
    else
        snprintf(pad, sizeof pad, "%s/functionpadmin", pfx);
    const char *extra_gnu[] = {pad, "--icf=none", "-Xlink=/opt:noicf", NULL};
    const char *extra_msvc[] = {pad, "/opt:noicf", NULL};
    const char *const *extra = gnu ? extra_gnu : extra_msvc;
    size_t n_extra = 0;
    while (extra[n_extra])
        n_extra++;
    char **argv = calloc(cl->arg_count + n_extra + 2, sizeof *argv);
    if (!argv)
        return HP_ERR_NO_MEMORY;
    size_t k = 0;
    argv[k++] = strdup(lld);
    for (size_t i = 0; i < cl->arg_count; i++)
        argv[k++] = strdup(cl->args[i]);
    for (size_t i = 0; i < n_extra; i++)
        argv[k++] = strdup(extra[i]);
    for (size_t i = 0; i < k; i++)
        if (!argv[i]) {
            for (size_t j = 0; j < k; j++)
                free(argv[j]);
            free(argv);
            return HP_ERR_NO_MEMORY;
        }
    *out_argv = argv;
    return HP_OK;
}

hp_status hp_link_lld_run(char *const argv[], int *out_exit)
{
    if (!argv || !argv[0] || !out_exit)
        return HP_ERR_ARGUMENT;
    pid_t pid;
    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
        return HP_ERR_NO_LINKER;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return HP_ERR_NO_LINKER;
    }
    if (WIFEXITED(status))
        *out_exit = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        *out_exit = 128 + WTERMSIG(status);
    else
        *out_exit = 1;
    return *out_exit == 0 ? HP_OK : HP_ERR_LINKER_FAILED;
}
