/*
 * digests.c — the code digests added to each object the plugin compiles (digests.h).
 *
 * clang gives a plugin no hook after code generation, and the object is written (to a temporary
 * file renamed into place) only after the plugin's passes ran. So the outputs are noted as the
 * compile starts and digested when the process exits (the compiler driver runs its compiles in this
 * process, or in a child that exits after its one compile): then every object is complete.
 */
#define _POSIX_C_SOURCE 200809L
#include "digests.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hp_link_carry.h"
#include "hp_tools.h"

/* An output as it was when its compile started. */
typedef struct output {
    char *path;
    int existed;
    struct stat before;
} output;

/* The outputs of this process's compiles, behind `lock` (clang compiles one unit at a time, but
   nothing here relies on it). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static output *outputs;
static size_t noutputs, outputs_cap;
static int hooked;

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void carry_all(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < noutputs; i++) {
        output *o = &outputs[i];
        struct stat now;
        /* written by this compile: there now, a regular file, and not the one that was there */
        if (stat(o->path, &now) == 0 && S_ISREG(now.st_mode) && !(o->existed && same_file(&o->before, &now))) {
            char msg[512] = "";
            int added = 0;
            if (hp_link_carry_file(o->path, &added, msg, sizeof msg) != HP_OK)
                fprintf(stderr, "hotpatch: warning: code digests not added to the object (the link computes them): %s\n",
                        msg);
        }
        free(o->path);
    }
    free(outputs);
    outputs = NULL;
    noutputs = outputs_cap = 0;
    pthread_mutex_unlock(&lock);
}

void hp_plugin_carry_digests(const char *path)
{
    if (!path || !*path)
        return;
    output o;
    memset(&o, 0, sizeof o);
    o.existed = stat(path, &o.before) == 0;
    o.path = malloc(strlen(path) + 1);
    if (!o.path)
        return; /* out of memory: the link computes the digests */
    strcpy(o.path, path);
    pthread_mutex_lock(&lock);
    if (!hooked)
        hooked = atexit(carry_all) == 0;
    if (!hooked || !HP_VEC_PUSH(outputs, noutputs, outputs_cap, o))
        free(o.path);
    pthread_mutex_unlock(&lock);
}
