/*
 * bitcode.c — LTO bitcode under the plugin's policy (hp_link_bitcode.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "hp_link_bitcode.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Core.h>

#include "hp_link_objfind.h"
#include "hp_policy.h"

extern char **environ;

#define TABLE_GUARD "hotpatch.table" /* the policy core's marker: the module's table is written */

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
};

int hp_link_is_bitcode(const unsigned char *data, size_t size)
{
    if (!data || size < 4)
        return 0;
    if (data[0] == 'B' && data[1] == 'C' && data[2] == 0xC0 && data[3] == 0xDE)
        return 1;
    return data[0] == 0xDE && data[1] == 0xC0 && data[2] == 0x17 && data[3] == 0x0B; /* wrapper magic */
}

static void set_msg(char *msg, size_t size, const char *fmt, const char *a, const char *b)
{
    if (msg && size)
        snprintf(msg, size, fmt, a ? a : "", b ? b : "");
}

/* LLVM's diagnostics go to the caller's message, never to stderr (the library does not print). */
typedef struct diag_ctx {
    char *msg;
    size_t size;
} diag_ctx;

static void on_diag(LLVMDiagnosticInfoRef info, void *ctx)
{
    diag_ctx *d = ctx;
    char *text = LLVMGetDiagInfoDescription(info);
    if (d->msg && d->size && LLVMGetDiagInfoSeverity(info) == LLVMDSError && text)
        snprintf(d->msg, d->size, "%s", text);
    LLVMDisposeMessage(text);
}

hp_link_status hp_link_bitcode_rewrite(const unsigned char *data, size_t size, const char *name, unsigned pad,
                                       unsigned char **out_data, size_t *out_size, char *msg, size_t msg_size)
{
    if (!data || !name || !out_data || !out_size)
        return HP_LINK_ERR_ARGUMENT;
    *out_data = NULL;
    *out_size = 0;
    hp_link_status ret = HP_LINK_OK;
    hp_policy *policy = NULL;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = NULL;
    LLVMMemoryBufferRef in = LLVMCreateMemoryBufferWithMemoryRange((const char *)data, size, name, 0);
    char detail[256] = "";
    diag_ctx dc = {detail, sizeof detail};
    if (!ctx || !in) {
        ret = HP_LINK_ERR_NO_MEMORY;
        goto out;
    }
    LLVMContextSetDiagnosticHandler(ctx, on_diag, &dc);
    if (LLVMParseBitcodeInContext2(ctx, in, &mod)) {
        set_msg(msg, msg_size, "llvm cannot read the bitcode of '%s': %s", name, detail[0] ? detail : "invalid");
        ret = HP_LINK_ERR_BITCODE;
        goto out;
    }
    if (LLVMGetNamedMetadataNumOperands(mod, TABLE_GUARD) > 0)
        goto out; /* compiled with the plugin */
    if (hp_policy_create(&policy) != HP_POLICY_OK) {
        ret = HP_LINK_ERR_NO_MEMORY;
        goto out;
    }
    if (pad) {
        char opt[32], err[128];
        snprintf(opt, sizeof opt, "pad=%u", pad);
        if (hp_policy_set_option(policy, opt, err, sizeof err) != HP_POLICY_OK) {
            set_msg(msg, msg_size, "the policy refuses %s: %s", opt, err);
            ret = HP_LINK_ERR_USAGE;
            goto out;
        }
    }
    if (hp_policy_instrument(policy, mod, NULL, NULL) != HP_POLICY_OK ||
        hp_policy_emit_table(policy, mod, NULL) != HP_POLICY_OK) {
        set_msg(msg, msg_size, "the hotpatch policy cannot rewrite '%s'%s", name, NULL);
        ret = HP_LINK_ERR_BITCODE;
        goto out;
    }
    LLVMMemoryBufferRef outbuf = LLVMWriteBitcodeToMemoryBuffer(mod);
    if (!outbuf) {
        ret = HP_LINK_ERR_NO_MEMORY;
        goto out;
    }
    size_t n = LLVMGetBufferSize(outbuf);
    unsigned char *copy = malloc(n ? n : 1);
    if (copy) {
        memcpy(copy, LLVMGetBufferStart(outbuf), n);
        *out_data = copy;
        *out_size = n;
    } else {
        ret = HP_LINK_ERR_NO_MEMORY;
    }
    LLVMDisposeMemoryBuffer(outbuf);

out:
    hp_policy_destroy(policy);
    if (mod)
        LLVMDisposeModule(mod);
    if (in)
        LLVMDisposeMemoryBuffer(in);
    if (ctx)
        LLVMContextDispose(ctx);
    return ret;
}

/* ------------------------------------------------------------------------- */
/* Temporaries                                                                */
/* ------------------------------------------------------------------------- */

static int track(hp_link_bitcode *bc, const char *path)
{
    if (bc->nfiles == bc->capfiles) {
        size_t cap = bc->capfiles ? bc->capfiles * 2 : 16;
        char **v = realloc(bc->files, cap * sizeof *v);
        if (!v)
            return -1;
        bc->files = v;
        bc->capfiles = cap;
    }
    char *c = strdup(path);
    if (!c)
        return -1;
    bc->files[bc->nfiles++] = c;
    return 0;
}

static int write_new(hp_link_bitcode *bc, const char *path, const unsigned char *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    if (track(bc, path)) {
        fclose(f);
        remove(path);
        return -1;
    }
    int ok = fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

static unsigned char *slurp(const char *path, size_t *out_size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    long end;
    if (fseek(f, 0, SEEK_END) == 0 && (end = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)end + 1);
        if (buf && fread(buf, 1, (size_t)end, f) != (size_t)end) {
            free(buf);
            buf = NULL;
        }
        *out_size = (size_t)end;
    }
    fclose(f);
    return buf;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static const char *base_of(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

static int add_replaced(hp_link_bitcode *bc, size_t arg, const char *orig, const char *temp)
{
    if (bc->n == bc->cap) {
        size_t cap = bc->cap ? bc->cap * 2 : 8;
        replaced *v = realloc(bc->v, cap * sizeof *v);
        if (!v)
            return -1;
        bc->v = v;
        bc->cap = cap;
    }
    replaced *r = &bc->v[bc->n];
    r->arg = arg;
    r->original = strdup(orig);
    r->temp = strdup(temp);
    if (!r->original || !r->temp) {
        free(r->original);
        free(r->temp);
        return -1;
    }
    bc->n++;
    return 0;
}

static hp_link_status ensure_dir(hp_link_bitcode *bc, const hp_link_bitcode_options *o)
{
    if (bc->dir)
        return HP_LINK_OK;
    char *tmpl = join(o && o->tmpdir ? o->tmpdir : "/tmp", "hotpatch-link.XXXXXX");
    if (!tmpl)
        return HP_LINK_ERR_NO_MEMORY;
    if (!mkdtemp(tmpl)) {
        free(tmpl);
        return HP_LINK_ERR_IO;
    }
    bc->dir = tmpl;
    return HP_LINK_OK;
}

/* Archives: does any member need the policy? */
typedef struct scan_ctx {
    int needs;
    unsigned pad;
    hp_link_status st;
    char *msg;
    size_t msg_size;
} scan_ctx;

static int scan_member(void *ctx, const char *name, const unsigned char *m, size_t len)
{
    scan_ctx *c = ctx;
    if (!hp_link_is_bitcode(m, len))
        return 0;
    unsigned char *out = NULL;
    size_t n = 0;
    c->st = hp_link_bitcode_rewrite(m, len, name, c->pad, &out, &n, c->msg, c->msg_size);
    free(out);
    if (c->st != HP_LINK_OK)
        return 1;
    if (out)
        c->needs = 1;
    return c->needs;
}

/* Extract every member (bitcode rewritten) into its own numbered directory, in order. */
typedef struct extract_ctx {
    hp_link_bitcode *bc;
    const char *dir;
    unsigned pad;
    char **paths;
    size_t n, cap;
    hp_link_status st;
    char *msg;
    size_t msg_size;
} extract_ctx;

static int extract_member(void *ctx, const char *name, const unsigned char *m, size_t len)
{
    extract_ctx *c = ctx;
    char sub[32];
    snprintf(sub, sizeof sub, "%06zu", c->n);
    char *d = join(c->dir, sub);
    const char *safe = base_of(name);
    char *p = d ? join(d, safe[0] ? safe : "member.o") : NULL;
    if (!d || !p || mkdir(d, 0700) != 0 || track(c->bc, d)) {
        free(d);
        free(p);
        c->st = d && p ? HP_LINK_ERR_IO : HP_LINK_ERR_NO_MEMORY;
        return 1;
    }
    free(d);
    unsigned char *out = NULL;
    size_t n = 0;
    if (hp_link_is_bitcode(m, len)) {
        c->st = hp_link_bitcode_rewrite(m, len, name, c->pad, &out, &n, c->msg, c->msg_size);
        if (c->st != HP_LINK_OK) {
            free(p);
            return 1;
        }
    }
    int w = out ? write_new(c->bc, p, out, n) : write_new(c->bc, p, m, len);
    free(out);
    if (w) {
        free(p);
        c->st = HP_LINK_ERR_IO;
        return 1;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        char **v = realloc(c->paths, (cap + 1) * sizeof *v);
        if (!v) {
            free(p);
            c->st = HP_LINK_ERR_NO_MEMORY;
            return 1;
        }
        c->paths = v;
        c->cap = cap;
    }
    c->paths[c->n++] = p;
    return 0;
}

static hp_link_status run_tool(char **argv)
{
    pid_t pid;
    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
        return HP_LINK_ERR_TOOL;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return HP_LINK_ERR_TOOL;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? HP_LINK_OK : HP_LINK_ERR_TOOL;
}

static hp_link_status rebuild_archive(hp_link_bitcode *bc, const hp_link_bitcode_options *o, size_t index,
                                      const char *path, const unsigned char *d, size_t size, char **out_temp,
                                      char *msg, size_t msg_size)
{
    char sub[32];
    snprintf(sub, sizeof sub, "ar%zu", index);
    char *dir = join(bc->dir, sub);
    if (!dir)
        return HP_LINK_ERR_NO_MEMORY;
    if (mkdir(dir, 0700) != 0 || track(bc, dir)) {
        free(dir);
        return HP_LINK_ERR_IO;
    }
    extract_ctx c;
    memset(&c, 0, sizeof c);
    c.bc = bc;
    c.dir = dir;
    c.pad = o ? o->pad : 0;
    c.msg = msg;
    c.msg_size = msg_size;
    hp_link_status st = hp_link_ar_foreach(d, size, extract_member, &c);
    if (st == HP_LINK_OK)
        st = c.st;
    char *archive = NULL;
    if (st == HP_LINK_OK) {
        snprintf(sub, sizeof sub, "ar%zu.a", index);
        archive = join(bc->dir, sub);
        if (!archive || track(bc, archive))
            st = HP_LINK_ERR_NO_MEMORY;
    }
    if (st == HP_LINK_OK) {
        /* llvm-ar q (append in order, duplicates kept) c (quiet create) s (symbol index, bitcode too) */
        char **argv = calloc(c.n + 6, sizeof *argv);
        if (!argv) {
            st = HP_LINK_ERR_NO_MEMORY;
        } else {
            size_t k = 0;
            argv[k++] = (char *)o->llvm_ar;
            argv[k++] = (char *)"qcs";
            argv[k++] = (char *)"--format=gnu";
            argv[k++] = archive;
            for (size_t i = 0; i < c.n; i++)
                argv[k++] = c.paths[i];
            argv[k] = NULL;
            st = run_tool(argv);
            if (st != HP_LINK_OK)
                set_msg(msg, msg_size, "'%s' failed to rebuild '%s' with its bitcode rewritten", o->llvm_ar, path);
            free(argv);
        }
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.paths[i]);
    free(c.paths);
    free(dir);
    if (st == HP_LINK_OK)
        *out_temp = archive;
    return st;
}

hp_link_status hp_link_bitcode_prepare(hp_link_cmdline *cl, const hp_link_bitcode_options *options,
                                       hp_link_bitcode **out, char *msg, size_t msg_size)
{
    if (!cl || !out)
        return HP_LINK_ERR_ARGUMENT;
    *out = NULL;
    if (msg && msg_size)
        msg[0] = 0;
    hp_link_bitcode *bc = calloc(1, sizeof *bc);
    if (!bc)
        return HP_LINK_ERR_NO_MEMORY;
    hp_link_status st = HP_LINK_OK;
    unsigned pad = options ? options->pad : 0;
    for (size_t i = 0; i < cl->input_count && st == HP_LINK_OK; i++) {
        size_t arg = cl->inputs[i];
        const char *path = cl->args[arg];
        size_t size = 0;
        unsigned char *d = slurp(path, &size);
        if (!d)
            continue; /* lld-link finds bare names in /libpath; lld reports what it cannot open */
        if (hp_link_is_bitcode(d, size)) {
            unsigned char *nb = NULL;
            size_t n = 0;
            st = hp_link_bitcode_rewrite(d, size, path, pad, &nb, &n, msg, msg_size);
            if (st == HP_LINK_OK && nb) {
                char name[64];
                snprintf(name, sizeof name, "%zu-", i);
                st = ensure_dir(bc, options);
                char *base = NULL, *temp = NULL;
                if (st == HP_LINK_OK) {
                    base = malloc(strlen(name) + strlen(base_of(path)) + 1);
                    if (base) {
                        strcpy(base, name);
                        strcat(base, base_of(path));
                        temp = join(bc->dir, base);
                    }
                    if (!temp)
                        st = HP_LINK_ERR_NO_MEMORY;
                }
                if (st == HP_LINK_OK && write_new(bc, temp, nb, n)) {
                    set_msg(msg, msg_size, "cannot write the temporary '%s'%s", temp, NULL);
                    st = HP_LINK_ERR_IO;
                }
                if (st == HP_LINK_OK && (add_replaced(bc, arg, path, temp) ||
                                         hp_link_cmdline_replace(cl, arg, temp) != HP_LINK_OK))
                    st = HP_LINK_ERR_NO_MEMORY;
                free(base);
                free(temp);
            }
            free(nb);
        } else if (hp_link_is_archive(d, size)) {
            scan_ctx sc;
            memset(&sc, 0, sizeof sc);
            sc.pad = pad;
            sc.msg = msg;
            sc.msg_size = msg_size;
            if (hp_link_ar_foreach(d, size, scan_member, &sc) == HP_LINK_OK && sc.st != HP_LINK_OK)
                st = sc.st;
            if (st == HP_LINK_OK && sc.needs) {
                char *temp = NULL;
                if (!options || !options->llvm_ar) {
                    set_msg(msg, msg_size, "'%s' holds bitcode to rewrite but llvm-ar was not found%s", path, NULL);
                    st = HP_LINK_ERR_TOOL;
                }
                if (st == HP_LINK_OK)
                    st = ensure_dir(bc, options);
                if (st == HP_LINK_OK)
                    st = rebuild_archive(bc, options, i, path, d, size, &temp, msg, msg_size);
                if (st == HP_LINK_OK && (add_replaced(bc, arg, path, temp) ||
                                         hp_link_cmdline_replace(cl, arg, temp) != HP_LINK_OK))
                    st = HP_LINK_ERR_NO_MEMORY;
                free(temp);
            }
        }
        free(d);
    }
    if (st != HP_LINK_OK) {
        hp_link_bitcode_restore(bc, cl);
        hp_link_bitcode_destroy(bc);
        return st;
    }
    *out = bc;
    return HP_LINK_OK;
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
