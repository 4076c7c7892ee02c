/*
 * bitcode.c — LTO bitcode under the plugin's policy (hp_link_bitcode.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_bitcode.h"

#include "hp_link_arcache.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdint.h>

#include "hp_link_objfind.h"

extern char **environ;

typedef struct replaced {
    size_t arg;     /* index in cl->args */
    char *original; /* the user's path */
    char *temp;     /* what lld links instead */
} replaced;

struct hp_link_bitcode {
    char *dir; /* the temporary directory, removed with everything in it */
    replaced *v;
    size_t n, cap;
    char **files; /* every file created under dir, removed in reverse order (dirs last) */
    size_t nfiles, capfiles;
    unsigned archives_scanned, archives_cached; /* archives read member by member; known clean from the cache */
};

int hp_link_is_bitcode(const unsigned char *data, size_t size)
{
    if (!data || size < 4)
        return 0;
    if (data[0] == 'B' && data[1] == 'C' && data[2] == 0xC0 && data[3] == 0xDE)
        return 1;
    return data[0] == 0xDE && data[1] == 0xC0 && data[2] == 0x17 && data[3] == 0x0B; /* wrapper magic */
}

/* ------------------------------------------------------------------------- */
/* Temporaries                                                                */
/* ------------------------------------------------------------------------- */

/* Remember a file or directory to remove. 0, or -1 out of memory. */
static int track(hp_link_bitcode *bc, const char *path)
{
    char *c = strdup(path);
    if (!c || !HP_VEC_PUSH(bc->files, bc->nfiles, bc->capfiles, c)) {
        free(c);
        return -1;
    }
    return 0;
}

/* Create `path` (tracked) with `size` bytes. */
static hp_status write_new(hp_link_bitcode *bc, const char *path, const unsigned char *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return HP_ERR_IO;
    if (track(bc, path)) {
        fclose(f);
        remove(path);
        return HP_ERR_NO_MEMORY;
    }
    int ok = fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? HP_OK : HP_ERR_IO;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* Input `arg` (the user's `orig`) is linked as `temp` from now on. 0, or -1 out of memory. */
static int add_replaced(hp_link_bitcode *bc, size_t arg, const char *orig, const char *temp)
{
    replaced r = {arg, strdup(orig), strdup(temp)};
    if (!r.original || !r.temp || !HP_VEC_PUSH(bc->v, bc->n, bc->cap, r)) {
        free(r.original);
        free(r.temp);
        return -1;
    }
    return 0;
}

/* The link's private temporary directory, made on first use. */
static hp_status ensure_dir(hp_link_bitcode *bc, const hp_link_bitcode_options *o, char *msg, size_t msg_size)
{
    if (bc->dir)
        return HP_OK;
    const char *parent = o && o->tmpdir ? o->tmpdir : "/tmp";
    char *tmpl = join(parent, "hotpatch-link.XXXXXX");
    if (!tmpl)
        return HP_ERR_NO_MEMORY;
    if (!mkdtemp(tmpl)) {
        hp_msg_set(msg, msg_size, "cannot create a temporary directory in '%s': %s", parent, strerror(errno));
        free(tmpl);
        return HP_ERR_IO;
    }
    bc->dir = tmpl;
    return HP_OK;
}

/* One module for the helper: IN (the user's object, or a member extracted from an archive) -> OUT. */
typedef struct job {
    char *in, *out;
    size_t group; /* index into groups, or SIZE_MAX for a plain object */
    size_t arg;   /* plain object: index in cl->args */
} job;

/* An archive with bitcode members: every member extracted, in order. */
typedef struct group {
    size_t arg;
    const char *path; /* the user's archive (points into cl->args until restored) */
    int rewritten;    /* at least one member was rewritten: the archive is rebuilt */
    size_t index;
    char **members;
    size_t n, cap;
} group;

typedef struct plan {
    hp_link_bitcode *bc;
    job *jobs;
    size_t njobs, capjobs;
    group *groups;
    size_t ngroups, capgroups;
    hp_link_arcache *cache; /* archives known to hold no bitcode */
} plan;

/* 0, or -1 out of memory. */
static int add_job(plan *pl, const char *in, const char *out, size_t grp, size_t arg)
{
    job j = {strdup(in), strdup(out), grp, arg};
    if (!j.in || !j.out || !HP_VEC_PUSH(pl->jobs, pl->njobs, pl->capjobs, j)) {
        free(j.in);
        free(j.out);
        return -1;
    }
    return track(pl->bc, out); /* on failure the job stays listed: plan_free() frees it */
}

static void plan_free(plan *pl)
{
    for (size_t i = 0; i < pl->njobs; i++) {
        free(pl->jobs[i].in);
        free(pl->jobs[i].out);
    }
    free(pl->jobs);
    for (size_t g = 0; g < pl->ngroups; g++) {
        for (size_t k = 0; k < pl->groups[g].n; k++)
            free(pl->groups[g].members[k]);
        free(pl->groups[g].members);
    }
    free(pl->groups);
}

typedef struct member_ctx {
    plan *pl;
    size_t grp;
    const char *dir;
    hp_status st;
    int has_bitcode;
    char *msg; /* the caller's message buffer */
    size_t msg_size;
} member_ctx;

static int has_bitcode_member(void *ctx, const char *name, const unsigned char *m, size_t len)
{
    (void)name;
    member_ctx *c = ctx;
    c->has_bitcode |= hp_link_is_bitcode(m, len);
    return c->has_bitcode;
}

static int extract_member(void *ctx, const char *name, const unsigned char *m, size_t len)
{
    member_ctx *c = ctx;
    group *g = &c->pl->groups[c->grp];
    char sub[32];
    snprintf(sub, sizeof sub, "%06zu", g->n);
    char *d = join(c->dir, sub);
    const char *safe = hp_path_basename(name);
    char *p = d ? join(d, safe[0] ? safe : "member.o") : NULL;
    hp_status st = HP_OK;
    if (!d || !p)
        st = HP_ERR_NO_MEMORY;
    else if (mkdir(d, 0700) != 0) {
        hp_msg_set(c->msg, c->msg_size, "cannot create '%s': %s", d, strerror(errno));
        st = HP_ERR_IO;
    } else if (track(c->pl->bc, d))
        st = HP_ERR_NO_MEMORY;
    else if ((st = write_new(c->pl->bc, p, m, len)) == HP_ERR_IO)
        hp_msg_set(c->msg, c->msg_size, "cannot write '%s'", p);
    free(d);
    if (st == HP_OK && !HP_VEC_PUSH(g->members, g->n, g->cap, p))
        st = HP_ERR_NO_MEMORY;
    if (st != HP_OK) {
        free(p);
        c->st = st;
        return 1;
    }
    if (hp_link_is_bitcode(m, len)) {
        size_t plen = strlen(p);
        char *out = malloc(plen + 4);
        if (!out) {
            c->st = HP_ERR_NO_MEMORY;
            return 1;
        }
        memcpy(out, p, plen);
        memcpy(out + plen, ".hp", 4);
        int r = add_job(c->pl, p, out, c->grp, 0);
        free(out);
        if (r) {
            c->st = HP_ERR_NO_MEMORY;
            return 1;
        }
    }
    return 0;
}

/* Run argv[0] with argv and wait: HP_OK when it ran, with *out_ok saying whether it exited 0;
   HP_ERR_TOOL with a message when it could not be started or waited for. */
static hp_status run_tool(char **argv, int *out_ok, char *msg, size_t msg_size)
{
    pid_t pid;
    int err = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
    if (err != 0) {
        hp_msg_set(msg, msg_size, "cannot run '%s': %s", argv[0], strerror(err));
        return HP_ERR_TOOL;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            hp_msg_set(msg, msg_size, "cannot wait for '%s': %s", argv[0], strerror(errno));
            return HP_ERR_TOOL;
        }
    *out_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return HP_OK;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Archives with rewritten members are rebuilt with llvm-ar (q: append in order, c: create quietly,
   s: symbol index, bitcode members included). */
static hp_status rebuild(hp_link_bitcode *bc, const hp_link_bitcode_options *o, group *g, char **out_archive,
                         char *msg, size_t msg_size)
{
    char sub[32];
    snprintf(sub, sizeof sub, "ar%zu.a", g->index);
    char *archive = join(bc->dir, sub);
    if (!archive || track(bc, archive)) {
        free(archive);
        return HP_ERR_NO_MEMORY;
    }
    char **argv = calloc(g->n + 5, sizeof *argv);
    if (!argv) {
        free(archive);
        return HP_ERR_NO_MEMORY;
    }
    size_t k = 0;
    argv[k++] = (char *)o->llvm_ar;
    argv[k++] = (char *)"qcs";
    argv[k++] = archive;
    for (size_t i = 0; i < g->n; i++)
        argv[k++] = g->members[i];
    argv[k] = NULL;
    int ok = 0;
    hp_status st = run_tool(argv, &ok, msg, msg_size);
    free(argv);
    if (st == HP_OK && !ok) {
        hp_msg_set(msg, msg_size, "'%s' failed to rebuild '%s' with its bitcode rewritten", o->llvm_ar,
                   g->path ? g->path : "an archive");
        st = HP_ERR_TOOL;
    }
    if (st != HP_OK) {
        free(archive);
        return st;
    }
    *out_archive = archive;
    return HP_OK;
}

/* Map the file open on `fd` (of size `size`) read-only: archives can be large, only the pages the walk
   touches are read. */
static const unsigned char *map_fd(int fd, size_t size)
{
    void *p = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    return p == MAP_FAILED ? NULL : p;
}

/* Plan the work for one input: `arg` is its index in cl->args (also used to name its temporaries). */
static hp_status plan_input(plan *pl, const hp_link_bitcode_options *options, size_t arg, const char *path,
                            char *msg, size_t msg_size)
{
    hp_link_bitcode *bc = pl->bc;
    hp_status st = HP_OK;
    /* one open for the first bytes and, for an archive, its members */
    int fd = open(path, O_RDONLY);
    unsigned char head[8];
    if (fd >= 0 && pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head) {
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        return HP_OK; /* lld-link finds bare names in /libpath; lld reports what it cannot open */
    if (!hp_link_is_archive(head, sizeof head))
        close(fd); /* bitcode is read by the helper; anything else is lld's */
    if (hp_link_is_bitcode(head, sizeof head)) {
        char name[32];
        snprintf(name, sizeof name, "%zu-", arg);
        st = ensure_dir(bc, options, msg, msg_size);
        char *base = NULL, *temp = NULL;
        if (st == HP_OK && (base = malloc(strlen(name) + strlen(hp_path_basename(path)) + 1)) != NULL) {
            strcpy(base, name);
            strcat(base, hp_path_basename(path));
            temp = join(bc->dir, base);
        }
        if (st == HP_OK && (!temp || add_job(pl, path, temp, SIZE_MAX, arg)))
            st = HP_ERR_NO_MEMORY;
        free(base);
        free(temp);
        return st;
    }
    if (!hp_link_is_archive(head, sizeof head))
        return HP_OK;
    struct stat fst;
    if (fstat(fd, &fst) != 0) {
        hp_msg_set(msg, msg_size, "cannot read input '%s': %s", path, strerror(errno));
        close(fd);
        return HP_ERR_IO;
    }
    if (hp_link_arcache_clean(pl->cache, &fst)) {
        close(fd);
        bc->archives_cached++;
        return HP_OK; /* read before, unchanged since: no bitcode */
    }
    size_t size = (size_t)fst.st_size;
    const unsigned char *d = map_fd(fd, size);
    int err = errno;
    close(fd);
    if (!d) {
        hp_msg_set(msg, msg_size, "cannot read input '%s': %s", path, strerror(err));
        return HP_ERR_IO;
    }
    member_ctx mc;
    memset(&mc, 0, sizeof mc);
    mc.pl = pl;
    mc.msg = msg;
    mc.msg_size = msg_size;
    hp_link_ar_foreach_bytes(d, size, has_bitcode_member, &mc);
    bc->archives_scanned++;
    if (!mc.has_bitcode)
        hp_link_arcache_note_clean(pl->cache, &fst);
    if (mc.has_bitcode) {
        char sub[32];
        snprintf(sub, sizeof sub, "ar%zu", arg);
        char *dir = NULL;
        st = ensure_dir(bc, options, msg, msg_size);
        group g0;
        memset(&g0, 0, sizeof g0);
        g0.arg = arg;
        g0.path = path;
        g0.index = arg;
        if (st == HP_OK && !HP_VEC_PUSH(pl->groups, pl->ngroups, pl->capgroups, g0))
            st = HP_ERR_NO_MEMORY;
        if (st == HP_OK && !(dir = join(bc->dir, sub)))
            st = HP_ERR_NO_MEMORY;
        if (st == HP_OK && mkdir(dir, 0700) != 0) {
            hp_msg_set(msg, msg_size, "cannot create '%s': %s", dir, strerror(errno));
            st = HP_ERR_IO;
        }
        if (st == HP_OK && track(bc, dir))
            st = HP_ERR_NO_MEMORY;
        if (st == HP_OK) {
            mc.grp = pl->ngroups - 1;
            mc.dir = dir;
            st = hp_link_ar_foreach(d, size, extract_member, &mc);
            if (st == HP_ERR_FORMAT)
                hp_msg_set(msg, msg_size, "'%s' is not a well-formed archive", path);
            else if (st == HP_OK)
                st = mc.st;
        }
        free(dir);
    }
    munmap((void *)d, size);
    return st;
}

/* ld.lld's MinGW search for -lNAME (-l:FILE): in the -L directories, in order, lib<name>.dll.a,
   <name>.dll.a (unless -Bstatic), lib<name>.a, <name>.lib. The caller frees the path. */
static char *mingw_find_lib(const hp_link_cmdline *cl, const char *name, int bstatic)
{
    static const char *const dyn[][2] = {{"lib", ".dll.a"}, {"", ".dll.a"}, {"lib", ".a"}, {"", ".lib"}};
    static const char *const stat_[][2] = {{"lib", ".a"}, {"", ".lib"}};
    int exact = name[0] == ':';
    for (size_t i = 0; i < cl->arg_count; i++) {
        const char *a = cl->args[i], *dir = NULL;
        if (strncmp(a, "-L", 2) == 0)
            dir = a[2] ? a + 2 : (i + 1 < cl->arg_count ? cl->args[i + 1] : NULL);
        else if (strncmp(a, "--library-path=", 15) == 0)
            dir = a + 15;
        if (!dir)
            continue;
        size_t nf = exact ? 1 : bstatic ? 2 : 4;
        for (size_t k = 0; k < nf; k++) {
            size_t len = strlen(dir) + strlen(name) + 16;
            char *p = malloc(len);
            if (!p)
                return NULL;
            if (exact)
                snprintf(p, len, "%s/%s", dir, name + 1);
            else
                snprintf(p, len, "%s/%s%s%s", dir, (bstatic ? stat_ : dyn)[k][0], name, (bstatic ? stat_ : dyn)[k][1]);
            struct stat sb;
            if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
                return p;
            free(p);
        }
    }
    return NULL;
}

hp_status hp_link_bitcode_prepare(hp_link_cmdline *cl, const hp_link_bitcode_options *options,
                                  hp_link_bitcode **out, char *msg, size_t msg_size)
{
    if (!cl || !out)
        return HP_ERR_ARGUMENT;
    *out = NULL;
    if (msg && msg_size)
        msg[0] = 0;
    hp_link_bitcode *bc = calloc(1, sizeof *bc);
    if (!bc)
        return HP_ERR_NO_MEMORY;
    plan pl;
    memset(&pl, 0, sizeof pl);
    pl.bc = bc;
    pl.cache = hp_link_arcache_load(options ? options->cache_dir : NULL);
    hp_status st = pl.cache ? HP_OK : HP_ERR_NO_MEMORY;

    /* 1. find the bitcode: objects by their first bytes; archives member by member; for MinGW also the
          archives that -lNAME finds (clang writes the joined form) */
    for (size_t i = 0; i < cl->input_count && st == HP_OK; i++)
        st = plan_input(&pl, options, cl->inputs[i], cl->args[cl->inputs[i]], msg, msg_size);
    if (cl->flavor == HP_LINK_FLAVOR_MINGW) {
        int bstatic = 0;
        char **seen = calloc(cl->arg_count + 1, sizeof *seen);
        size_t nseen = 0;
        if (!seen)
            st = HP_ERR_NO_MEMORY;
        for (size_t i = 0; i < cl->arg_count && st == HP_OK; i++) {
            const char *a = cl->args[i];
            if (!strcmp(a, "-Bstatic") || !strcmp(a, "-static") || !strcmp(a, "--static") || !strcmp(a, "-dn"))
                bstatic = 1;
            else if (!strcmp(a, "-Bdynamic") || !strcmp(a, "-dy"))
                bstatic = 0;
            if (strncmp(a, "-l", 2) != 0 || !a[2])
                continue;
            char *lib = mingw_find_lib(cl, a + 2, bstatic);
            if (!lib)
                continue; /* lld reports what it cannot find */
            size_t k;
            for (k = 0; k < nseen && strcmp(seen[k], lib) != 0; k++)
                ;
            if (k < nseen) {
                free(lib); /* scanned already (clang lists the CRT libraries twice) */
                continue;
            }
            seen[nseen++] = lib;
            st = plan_input(&pl, options, i, lib, msg, msg_size);
        }
        for (size_t k = 0; k < nseen; k++) {
            for (size_t g = 0; g < pl.ngroups; g++)
                if (pl.groups[g].path == seen[k])
                    pl.groups[g].path = NULL; /* freed below: messages then name the -l argument */
            free(seen[k]);
        }
        free(seen);
    }
    (void)hp_link_arcache_save(pl.cache); /* not written: the next link reads the archives again */
    hp_link_arcache_free(pl.cache);
    pl.cache = NULL;

    /* 2. one helper run for every module: it writes OUT only for modules it rewrote */
    if (st == HP_OK && pl.njobs) {
        if (!options || !options->helper) {
            hp_msg_set(msg, msg_size, "bitcode inputs need hotpatch-link-bitcode, which was not found");
            st = HP_ERR_TOOL;
        } else {
            char **argv = calloc(pl.njobs * 2 + 3, sizeof *argv);
            char pad[32];
            snprintf(pad, sizeof pad, "--pad=%u", options->pad);
            if (!argv) {
                st = HP_ERR_NO_MEMORY;
            } else {
                size_t k = 0;
                argv[k++] = (char *)options->helper;
                argv[k++] = pad;
                for (size_t j = 0; j < pl.njobs; j++) {
                    argv[k++] = pl.jobs[j].in;
                    argv[k++] = pl.jobs[j].out;
                }
                int ok = 0;
                st = run_tool(argv, &ok, msg, msg_size);
                if (st == HP_OK && !ok) {
                    /* the helper has said why on stderr */
                    hp_msg_set(msg, msg_size, "bitcode inputs could not be brought under the hotpatch policy");
                    st = HP_ERR_BITCODE;
                }
                free(argv);
            }
        }
    }

    /* 3. rewritten objects replace the user's; archives with a rewritten member are rebuilt */
    for (size_t j = 0; j < pl.njobs && st == HP_OK; j++) {
        job *jb = &pl.jobs[j];
        if (!exists(jb->out))
            continue;
        if (jb->group == SIZE_MAX) {
            if (add_replaced(bc, jb->arg, cl->args[jb->arg], jb->out))
                st = HP_ERR_NO_MEMORY;
            else
                st = hp_link_cmdline_replace(cl, jb->arg, jb->out);
        } else if (rename(jb->out, jb->in) != 0) {
            hp_msg_set(msg, msg_size, "cannot rename '%s' to '%s': %s", jb->out, jb->in, strerror(errno));
            st = HP_ERR_IO;
        } else {
            pl.groups[jb->group].rewritten = 1; /* the member was replaced in place */
        }
    }
    for (size_t g = 0; g < pl.ngroups && st == HP_OK; g++) {
        group *gr = &pl.groups[g];
        if (!gr->rewritten)
            continue; /* every bitcode member already under the policy */
        char *archive = NULL;
        if (!options || !options->llvm_ar) {
            hp_msg_set(msg, msg_size, "'%s' holds bitcode to rewrite but llvm-ar was not found",
                       gr->path ? gr->path : cl->args[gr->arg]);
            st = HP_ERR_TOOL;
            break;
        }
        st = rebuild(bc, options, gr, &archive, msg, msg_size);
        if (st == HP_OK && add_replaced(bc, gr->arg, cl->args[gr->arg], archive))
            st = HP_ERR_NO_MEMORY;
        else if (st == HP_OK)
            st = hp_link_cmdline_replace(cl, gr->arg, archive);
        free(archive);
    }
    plan_free(&pl);
    if (st != HP_OK) {
        hp_link_bitcode_restore(bc, cl);
        hp_link_bitcode_destroy(bc);
        return st;
    }
    *out = bc;
    return HP_OK;
}

size_t hp_link_bitcode_count(const hp_link_bitcode *bc)
{
    return bc ? bc->n : 0;
}

void hp_link_bitcode_at(const hp_link_bitcode *bc, size_t index, const char **out_original, const char **out_temp)
{
    if (!bc || index >= bc->n)
        return;
    if (out_original)
        *out_original = bc->v[index].original;
    if (out_temp)
        *out_temp = bc->v[index].temp;
}

void hp_link_bitcode_restore(const hp_link_bitcode *bc, hp_link_cmdline *cl)
{
    if (!bc || !cl)
        return;
    for (size_t i = 0; i < bc->n; i++)
        hp_link_cmdline_replace(cl, bc->v[i].arg, bc->v[i].original);
}

void hp_link_bitcode_destroy(hp_link_bitcode *bc)
{
    if (!bc)
        return;
    for (size_t i = bc->nfiles; i-- > 0;) {
        remove(bc->files[i]); /* files first (tracked after their directory), then directories */
        free(bc->files[i]);
    }
    free(bc->files);
    if (bc->dir)
        rmdir(bc->dir);
    free(bc->dir);
    for (size_t i = 0; i < bc->n; i++) {
        free(bc->v[i].original);
        free(bc->v[i].temp);
    }
    free(bc->v);
    free(bc);
}

void hp_link_bitcode_archives(const hp_link_bitcode *bc, unsigned *scanned, unsigned *from_cache)
{
    if (scanned)
        *scanned = bc ? bc->archives_scanned : 0;
    if (from_cache)
        *from_cache = bc ? bc->archives_cached : 0;
}
