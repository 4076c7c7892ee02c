/*
 * main.c — hotpatch-link: the linker driver around lld. Parses, runs the
 * modules, and maps their statuses to messages (report_error) and exit codes
 * (exit_code), each in one place:
 *   0  linked, and the image is hotpatchable (or --hotpatch-warn-only); --help, --version
 *   1  the image is not hotpatchable: the functions are listed, the image removed
 *   2  bad command line, lld not found, an input or the output unreadable, a bitcode
 *      rewrite failed: every other status
 *   N  lld's own exit status when lld failed
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* madvise */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "hp_link.h"
#include "hp_link_arcache.h"
#include "hp_link_bitcode.h"
#include "hp_link_carry.h"
#include "hp_link_cmdline.h"
#include "hp_link_codefile.h"
#include "hp_link_lld.h"
#include "hp_link_manifest.h"
#include "hp_link_map.h"
#include "hp_link_objfind.h"
#include "hp_link_units.h"
#include "hp_link_post.h"
#include "hp_tools.h"

#ifndef HP_LINK_LLD_DIR
#define HP_LINK_LLD_DIR "/usr/lib/llvm-19/bin"
#endif

#define EXIT_OK 0
#define EXIT_VIOLATIONS 1
#define EXIT_ERROR 2

static const char *prog = "hotpatch-link";

/* CPU time (user + system) of this process, or of its waited-for children, in milliseconds:
   --hotpatch-verbose prints what each step cost. */
static double cpu_ms(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* The heap the pass will need, mapped in one call before it runs. A block the size of five eighths of
   the image (what the pass, the map and the code digests held at once at 10,000 and 60,000 functions:
   0.66 and 0.59 of it) is taken from the heap, asked for as transparent huge pages, all its pages made
   present and written by the kernel in one madvise, and given back to the heap, which keeps it (main's
   mallopt): the blocks the steps take next come from pages already mapped. Without it each 4 KiB page
   faults at its first write — some 800 at 60,000 functions, a fifth of hotpatch-link's own CPU on a
   virtual machine; huge pages also spare a virtual machine's shadow page tables a fill for each page
   (lld-pass/README.md, "Tests and benchmark", the tenth round). So that the blocks come from the huge pages and not from the 4 KiB
   ones before the first 2 MiB boundary, a spacer up to that boundary is held until the end; the
   caller frees what this returns. Best effort: nothing but speed depends on it, and it does nothing
   where the calls do not exist (EINVAL before Linux 5.14). */
static void *heap_prefault(const char *image)
{
    void *spacer = NULL;
#if defined(__GLIBC__) && defined(MADV_POPULATE_WRITE) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20; /* x86-64's PMD page; a hint, whatever the machine's is */
    struct stat sb;
    long page = sysconf(_SC_PAGESIZE);
    if (stat(image, &sb) != 0 || sb.st_size <= 0 || page <= 0)
        return NULL;
    uint64_t want = (uint64_t)sb.st_size / 8 * 5;
    if (want < 64u * (uint64_t)page)
        return NULL; /* a small link: a few faults cost less than the calls */
    if (want > (uint64_t)64 << 20)
        want = (uint64_t)64 << 20; /* an image of mostly data needs little: at most ~5 ms of zeroing spent */
    /* whole huge pages, and a page more: the block's first bytes lie just below the boundary */
    size_t size = (size_t)((want + huge - 1) & ~(uint64_t)(huge - 1)) + (size_t)page;
    /* where the heap's top begins: a probe larger than the block by two huge pages, so that the header
       glibc writes after it (a page touched, which would keep its huge page from forming) lies past
       every huge page the block will have */
    unsigned char *probe = malloc(size + 2 * huge);
    if (!probe)
        return NULL;
    size_t head = (size_t)((((uintptr_t)probe + huge - 1) & ~(huge - 1)) - (uintptr_t)probe);
    free(probe);
    if (head > (size_t)page)
        spacer = malloc(head - 4 * sizeof(size_t)); /* less glibc's chunk headers: blk begins near the boundary */
    unsigned char *blk = malloc(size);
    if (!blk)
        return spacer;
    uintptr_t mask = (uintptr_t)page - 1, lo = ((uintptr_t)blk + mask) & ~mask, hi = ((uintptr_t)blk + size) & ~mask;
    if (hi > lo) {
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
    }
    free(blk);
#else
    (void)image;
#endif
    return spacer;
}

/* The one mapping from the run's status to the exit status (README.md, "Exit status"): lld's own
   failure passes lld's status on, and every status but HP_OK and HP_ERR_VIOLATIONS is 2. */
static int exit_code(hp_status st, int lld_exit)
{
    switch (st) {
    case HP_OK:
        return EXIT_OK;
    case HP_ERR_VIOLATIONS:
    case HP_ERR_IDENTITY: /* a fix that does not match the image it is for */
    case HP_ERR_HASH:
        return EXIT_VIOLATIONS;
    case HP_ERR_LINKER_FAILED:
        return lld_exit;
    default:
        return EXIT_ERROR; /* usage, bad value, no lld, I/O, format, bitcode, tool, out of memory */
    }
}

/* The one way a failure reaches the user: the module's message, or the status's name when it left none. */
static void report_error(hp_status st, const char *msg)
{
    fprintf(stderr, "%s: error: %s\n", prog, msg && msg[0] ? msg : hp_status_str(st));
}

static void help(void)
{
    printf("usage: hotpatch-link [hotpatch options] <ld.lld or lld-link arguments>\n"
           "\n"
           "A drop-in linker driver: links with lld, forcing the link-side half of hotpatching\n"
           "(/functionpadmin, no identical-code folding), brings LLVM bitcode compiled without\n"
           "the hotpatch plugin under its policy, then verifies the image (every function of the\n"
           "plugin's table and every export must be hotpatchable) and writes its PE checksum.\n"
           "\n"
           "  clang --target=x86_64-w64-mingw32 -fuse-ld=/path/to/hotpatch-link ...\n"
           "  clang --target=x86_64-pc-windows-msvc -B/path/to/bin -fuse-ld=hotpatch-lld-link ...\n"
           "  hotpatch-lld-link /out:app.dll /dll a.obj b.obj   (in place of lld-link)\n"
           "\n"
           "Options (also through clang's -Wl,):\n"
           "  --hotpatch-pad=N           padding required before each entry, 5..64 (default 5 x86, 6 x64)\n"
           "  --hotpatch-warn-only       report violations as warnings and keep the image\n"
           "  --hotpatch-map=PATH|none   where to write the map (default <image>.hpmap), or no map\n"
           "  --hotpatch-exclude=GLOB    functions matching GLOB are neither checked nor reported (repeatable)\n"
           "  --hotpatch-cache=DIR|none  where archives found to hold no bitcode are remembered, so that the\n"
           "                             next link does not read them again (default $XDG_CACHE_HOME/hotpatch,\n"
           "                             else ~/.cache/hotpatch), or nowhere\n"
           "  --hotpatch-fix-for=IMAGE   the output is a patch module for IMAGE: check its manifest against it\n"
           "  --hotpatch-verbose         print the lld command, rewritten inputs and a summary\n"
           "  --hotpatch-flavor=mingw|msvc  the command-line style when the name and arguments do not tell\n"
           "  --lld=PATH                 the lld driver to run (default: ld.lld-19 / lld-link-19)\n"
           "  --help                     this text\n"
           "  --version                  the version of hotpatch-link\n"
           "\n"
           "Exit status: 0 ok; 1 the image is not hotpatchable (removed unless --hotpatch-warn-only), or a\n"
           "patch module does not fit its IMAGE (removed);\n"
           "2 bad command line, lld missing, unreadable input; otherwise lld's own exit status.\n");
}

/* `name` in the directory of this executable, when it exists there. */
static int self_sibling(const char *name, char *buf, size_t size)
{
    char self[4096];
    if (!hp_self_dir(self, sizeof self))
        return 0;
    if ((size_t)snprintf(buf, size, "%s/%s", self, name) >= size)
        return 0;
    return access(buf, X_OK) == 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Inputs that must exist as given: every GNU input, and lld-link inputs with a directory part
   (lld-link searches /libpath for bare names). */
static hp_status check_inputs(const hp_link_cmdline *cl, char *msg, size_t msg_size)
{
    for (size_t i = 0; i < cl->input_count; i++) {
        const char *in = cl->args[cl->inputs[i]];
        if (cl->flavor == HP_LINK_FLAVOR_MSVC && !strchr(in, '/'))
            continue;
        if (access(in, R_OK) != 0) {
            hp_msg_set(msg, msg_size, "cannot read input '%s'", in);
            return HP_ERR_IO;
        }
    }
    return HP_OK;
}

static int report_violations(hp_link_cmdline *cl, hp_link_post *post, const char *level)
{
    for (size_t i = 0; i < post->violation_count; i++) {
        const hp_link_violation *v = &post->violations[i];
        char *obj = NULL;
        if (strncmp(v->function, "sub_", 4) != 0 && hp_link_objfind(cl, v->function, &obj) == HP_OK && obj) {
            hp_link_post_set_object(post, i, obj);
            free(obj);
        }
        /* the audit's messages of site rules start with the reason id already */
        size_t rl = strlen(v->reason);
        int prefixed = strncmp(v->message, v->reason, rl) == 0 && v->message[rl] == ':';
        fprintf(stderr, "%s: %s: %s: '%s' at 0x%x%s%s%s is not hotpatchable: %s%s%s\n", prog, level, cl->output,
                v->function, v->rva, v->object ? " (from " : "", v->object ? v->object : "", v->object ? ")" : "",
                prefixed ? "" : v->reason, prefixed ? "" : ": ", v->message);
    }
    return 0;
}

/* Does the command line ask lld-link for debug information itself (/debug, /debug:full, -debug...)? */
static int has_debug_option(const hp_link_cmdline *cl)
{
    for (size_t i = 0; i < cl->arg_count; i++) {
        const char *a = cl->args[i];
        if ((a[0] == '/' || a[0] == '-') && strncasecmp(a + 1, "debug", 5) == 0 && (a[6] == 0 || a[6] == ':'))
            return 1;
    }
    return 0;
}

typedef struct rva_name {
    uint32_t rva;
    const char *name;
} rva_name;

typedef struct code_ctx {
    const hp_link_units *units; /* the image's units: only their objects count */
    hp_link_code *code;
    size_t cap;
    hp_status st;
    char *msg;
    size_t msg_size;
    size_t carried; /* units whose digests their objects carried (hp_link_carry.h) */
    size_t refused; /* objects whose .hpcode was stale, malformed or of another algorithm */
    const char *input; /* the input being read (an archive: its members are `name`) */
    int verbose;
} code_ctx;

/* One input object: its digests, when the plugin compiled it and the image holds its unit. */
static int code_object(void *ctx, const char *name, const unsigned char *data, size_t size)
{
    code_ctx *c = ctx;
    hp_link_digest_unit *u = NULL;
    char why[256];
    hp_link_carried_state carried = HP_CARRIED_NONE;
    if (hp_link_digest_for_code(data, size, &u, &carried, why, sizeof why) == HP_ERR_NO_MEMORY) {
        c->st = HP_ERR_NO_MEMORY;
        return 1;
    }
    if (!u)
        return 0; /* not COFF, or not compiled by the plugin: nothing a fix compares */
    int linked = 0, seen = 0;
    for (size_t i = 0; i < c->units->unit_count && !linked; i++)
        linked = strcmp(c->units->units[i], u->unit) == 0;
    for (size_t i = 0; i < c->code->unit_count && !seen; i++)
        seen = strcmp(c->code->units[i]->unit, u->unit) == 0;
    if (!linked || seen || !HP_VEC_PUSH(c->code->units, c->code->unit_count, c->cap, u)) {
        hp_link_digest_destroy(u);
        return 0;
    }
    c->carried += carried == HP_CARRIED_OK;
    if (carried != HP_CARRIED_OK && carried != HP_CARRIED_NONE) {
        c->refused++;
        if (c->verbose)
            fprintf(stderr, "%s: %s%s%s%s: its digests not used (%s): computed\n", prog, c->input, name ? "(" : "",
                    name ? name : "", name ? ")" : "", hp_link_carried_state_str(carried));
    }
    return 0;
}

/* `<image>.hpcode` (hp_link_codefile.h): the code digests of every unit of the image the plugin
   compiled, from the link's input objects, for hotpatch-fix to compare a corrected build with. */
static hp_status write_code(const hp_link_cmdline *cl, const hp_link_post *post, const hp_link_units *units,
                            const char *map_path, char *msg, size_t msg_size)
{
    hp_link_code code;
    memset(&code, 0, sizeof code);
    snprintf(code.machine, sizeof code.machine, "%s", post->machine ? post->machine : "unknown");
    code.time_date_stamp = post->time_date_stamp;
    code.size_of_image = post->size_of_image;
    code.checksum = post->checksum;
    code.image_name = (char *)hp_path_basename(cl->output);
    code_ctx c = {units, &code, 0, HP_OK, msg, msg_size, 0, 0, NULL, cl->verbose};
    for (size_t i = 0; i < cl->input_count && c.st == HP_OK; i++) {
        const unsigned char *data = NULL;
        size_t size = 0;
        char why[256];
        if (hp_file_map_whole(cl->args[cl->inputs[i]], &data, &size, why, sizeof why) != HP_OK)
            continue; /* lld-link found it on its /libpath: a library of the toolchain */
        c.input = cl->args[cl->inputs[i]];
        if (hp_link_is_archive(data, size))
            hp_link_ar_foreach_bytes(data, size, code_object, &c);
        else
            code_object(&c, NULL, data, size);
        hp_file_unmap(data, size);
    }
    /* beside the map: <x>.hpmap -> <x>.hpcode */
    size_t n = strlen(map_path);
    char *path = malloc(n + 8);
    hp_status st = c.st;
    if (!path)
        st = HP_ERR_NO_MEMORY;
    if (st == HP_OK) {
        memcpy(path, map_path, n + 1);
        if (n > 6 && strcmp(path + n - 6, ".hpmap") == 0)
            path[n - 6] = 0;
        strcat(path, ".hpcode");
        st = hp_link_code_write(path, &code, msg, msg_size);
        if (cl->verbose && st == HP_OK)
            fprintf(stderr, "%s: %s: code digests of %zu units (%zu carried by their objects, %zu computed%s)\n",
                    prog, path, code.unit_count, c.carried, code.unit_count - c.carried,
                    c.refused ? "; the digests of some objects were not used, as said above" : "");
    }
    free(path);
    for (size_t i = 0; i < code.unit_count; i++)
        hp_link_digest_destroy(code.units[i]);
    free(code.units);
    return st;
}

/* The map: the post-link verdicts, and the units and symbols from lld's map and the objects' records. */
static hp_status write_map(const hp_link_cmdline *cl, hp_link_post *post, const char *path, double *code_ms,
                           char *msg, size_t msg_size)
{
    /* the units and symbols the post-link pass read with the audit's walk of the symbol table; read
       again only to take external function symbols too, which name only what nothing else names
       (MSVC-ABI images) */
    const hp_link_units *units = post->units;
    hp_link_units *read = NULL;
    int unnamed = 0;
    for (size_t i = 0; i < post->fn_count && !unnamed; i++)
        unnamed = post->fns[i].name == NULL;
    hp_status st = HP_OK;
    if (!units || unnamed) {
        const unsigned char *image = NULL;
        size_t image_size = 0;
        st = hp_file_map_whole(cl->output, &image, &image_size, msg, msg_size);
        if (st == HP_OK)
            st = hp_link_units_read(image, image_size, unnamed, &read, msg, msg_size);
        hp_file_unmap(image, image_size);
        units = read;
    }
    if (st == HP_ERR_NO_MEMORY)
        return st;
    if (st != HP_OK) {
        /* the image is linked and verified: a map without symbols is still a map */
        fprintf(stderr, "%s: warning: the map '%s' names no symbols: %s\n", prog, path,
                msg[0] ? msg : hp_status_str(st));
        units = NULL;
    } else if (!units->has_symtab) {
        fprintf(stderr,
                "%s: warning: '%s' has no COFF symbol table (stripped, or linked with /debug): the map names no "
                "symbols, and no fix can be built for it\n",
                prog, cl->output);
    }
    hp_link_map_data d;
    memset(&d, 0, sizeof d);
    d.name = hp_path_basename(cl->output);
    d.format = "pe";
    d.machine = post->machine ? post->machine : "unknown";
    d.time_date_stamp = post->time_date_stamp;
    d.size_of_image = post->size_of_image;
    d.checksum = post->checksum;
    d.has_codeview = post->has_codeview;
    memcpy(d.codeview_guid, post->codeview_guid, sizeof d.codeview_guid);
    d.codeview_age = post->codeview_age;
    d.fns = post->fns;
    d.fn_count = post->fn_count;
    /* functions the image names nowhere (MSVC-ABI images keep no symbol table) get their symbol's name */
    hp_link_fn *named = NULL;
    rva_name *by_rva = NULL;
    size_t nby = 0;
    if (unnamed && units && units->symbol_count && post->fn_count &&
        (named = malloc(post->fn_count * sizeof *named)) != NULL &&
        (by_rva = malloc(units->symbol_count * sizeof *by_rva)) != NULL) {
        for (size_t k = 0; k < units->symbol_count; k++)
            if (units->symbols[k].is_function)
                by_rva[nby++] = (rva_name){units->symbols[k].rva, units->symbols[k].name};
        hp_sort_by_u32(by_rva, nby, sizeof *by_rva, offsetof(rva_name, rva));
        memcpy(named, post->fns, post->fn_count * sizeof *named);
        for (size_t i = 0; i < post->fn_count; i++) {
            size_t lo = 0, hi = nby;
            while (!named[i].name && lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (by_rva[mid].rva == named[i].rva)
                    named[i].name = by_rva[mid].name;
                else if (by_rva[mid].rva < named[i].rva)
                    lo = mid + 1;
                else
                    hi = mid;
            }
        }
        d.fns = named;
    }
    /* "symbols" has what only the units tell (file-statics, variables and their sizes); external
       functions are in "functions" under their names already */
    hp_link_map_symbol *own = NULL;
    if (units) {
        d.units = (const char *const *)units->units;
        d.unit_count = units->unit_count;
        if (units->symbol_count && (own = malloc(units->symbol_count * sizeof *own)) != NULL) {
            for (size_t k = 0; k < units->symbol_count; k++)
                if (units->symbols[k].unit >= 0)
                    own[d.symbol_count++] = units->symbols[k];
            d.symbols = own;
        }
    }
    st = hp_link_map_write_data(&d, path);
    /* the map is written: the function list and its copies are not needed again, and their memory
       serves the digests (fewer fresh pages, each a page fault) */
    free(named);
    free(by_rva);
    free(own);
    hp_link_post_release_functions(post);
    double c0 = cpu_ms(RUSAGE_SELF);
    if (st == HP_OK && units && units->unit_count)
        st = write_code(cl, post, units, path, msg, msg_size);
    *code_ms = cpu_ms(RUSAGE_SELF) - c0;
    if (cl->verbose && units)
        fprintf(stderr, "%s: %s: %zu units, %zu symbols\n", prog, path, units->unit_count, units->symbol_count);
    hp_link_units_destroy(read);
    return st;
}

int main(int argc, char **argv)
{
    hp_link_cmdline *cl = NULL;
    hp_link_bitcode *bc = NULL;
    hp_link_post *post = NULL;
    char **lld_argv = NULL;
    void *spacer = NULL; /* heap_prefault's */
    char *lld = NULL;
    char msg[1024] = "";
    int lld_exit = 0;
    double t_start = cpu_ms(RUSAGE_SELF), t_lld = 0, t_post = 0, t_map = 0, t_code = 0, t_heap = 0;
    size_t checked = 0, table = 0, exported = 0; /* --hotpatch-verbose's counts (the list is freed with the map) */

#if defined(__GLIBC__)
    /* A short-lived batch: large blocks from the heap and kept there, so that what one step frees the
       next reuses, instead of every block being fresh pages mapped, zeroed and unmapped again. */
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
    hp_status st = hp_link_cmdline_parse(argc, (const char *const *)argv, file_exists, &cl, msg, sizeof msg);
    if (st != HP_OK) {
        report_error(st, msg);
        goto out;
    }
    if (cl->want_help) {
        help();
        goto out;
    }
    if (cl->want_version) {
        /* Build systems ask the linker for its version through the compiler (Meson looks for "LLD" in
           `-Wl,--version`): when the flavour is known, lld's own line follows ours. */
        printf("%s %s\n", prog, HP_VERSION_STRING);
        fflush(stdout);
        if (cl->flavor != HP_LINK_FLAVOR_UNKNOWN &&
            hp_link_lld_find(cl->flavor, cl->lld_path, HP_LINK_LLD_DIR, getenv("PATH"), &lld) == HP_OK) {
            char *version_argv[] = {lld, "--version", NULL};
            st = hp_link_lld_run(version_argv, &lld_exit);
        }
        goto out;
    }
    st = hp_link_lld_find(cl->flavor, cl->lld_path, HP_LINK_LLD_DIR, getenv("PATH"), &lld);
    if (st == HP_ERR_NO_LINKER && cl->lld_path)
        fprintf(stderr, "%s: error: --lld=%s is not an executable file\n", prog, cl->lld_path);
    else if (st == HP_ERR_NO_LINKER)
        fprintf(stderr, "%s: error: cannot find lld (%s) in %s or on PATH: install lld-19 or pass --lld=PATH\n", prog,
                cl->flavor == HP_LINK_FLAVOR_MSVC ? "lld-link-19, lld-link" : "ld.lld-19, ld.lld", HP_LINK_LLD_DIR);
    else if (st != HP_OK)
        report_error(st, NULL);
    if (st != HP_OK)
        goto out;
    st = check_inputs(cl, msg, sizeof msg);
    if (st != HP_OK) {
        report_error(st, msg);
        goto out;
    }
    if (cl->icf_arg)
        fprintf(stderr,
                "%s: warning: ignoring '%s': identical-code folding would merge patchable functions, so that one "
                "patch would redirect all of them; linking without it\n",
                prog, cl->icf_arg);

    /* bitcode compiled without the plugin: rewritten copies take the inputs' places */
    char *llvm_ar = NULL;
    st = hp_link_lld_find_tool(HP_LINK_LLD_DIR, getenv("PATH"), &llvm_ar);
    if (st != HP_OK && st != HP_ERR_NO_LINKER) { /* no llvm-ar matters only for archives with bitcode */
        report_error(st, NULL);
        goto out;
    }
    hp_link_bitcode_options bopt;
    memset(&bopt, 0, sizeof bopt);
    bopt.pad = cl->pad;
    bopt.tmpdir = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    bopt.llvm_ar = llvm_ar;
    char helper[4096], cache[4096];
    bopt.helper = self_sibling("hotpatch-link-bitcode", helper, sizeof helper) ? helper : NULL;
    bopt.cache_dir = cl->cache_none ? NULL : cl->cache_dir ? cl->cache_dir : hp_link_arcache_default_dir(cache, sizeof cache);
    st = hp_link_bitcode_prepare(cl, &bopt, &bc, msg, sizeof msg);
    free(llvm_ar);
    if (st != HP_OK) {
        report_error(st, msg);
        goto out;
    }
    if (cl->verbose) {
        size_t n = hp_link_bitcode_count(bc);
        for (size_t i = 0; i < n; i++) {
            const char *orig, *tmp;
            hp_link_bitcode_at(bc, i, &orig, &tmp);
            fprintf(stderr, "%s: bitcode '%s' was compiled without the hotpatch plugin: linking '%s'\n", prog, orig,
                    tmp);
        }
        unsigned scanned = 0, cached = 0;
        hp_link_bitcode_archives(bc, &scanned, &cached);
        fprintf(stderr, "%s: archives read for bitcode: %u; known to hold none (cache %s): %u\n", prog, scanned,
                bopt.cache_dir ? bopt.cache_dir : "none", cached);
    }

    st = hp_link_lld_argv(cl, lld, &lld_argv);
    if (st != HP_OK) {
        report_error(st, NULL);
        goto out;
    }
    /* The map's symbols come from the image's COFF symbol table (hp_link_units.h): MinGW images keep one;
       lld-link writes one with /debug:symtab, unless the command line asks for debug information of its
       own (a PDB), which the user's /debug decides. */
    if (!cl->map_none && cl->flavor == HP_LINK_FLAVOR_MSVC && !has_debug_option(cl)) {
        st = hp_link_lld_argv_append(&lld_argv, "/debug:symtab");
        if (st != HP_OK) {
            report_error(st, NULL);
            goto out;
        }
    }
    if (cl->verbose) {
        fprintf(stderr, "%s: running:", prog);
        for (char **a = lld_argv; *a; a++)
            fprintf(stderr, " %s", *a);
        fputc('\n', stderr);
    }
    double t_prepared = cpu_ms(RUSAGE_SELF);
    t_lld = cpu_ms(RUSAGE_CHILDREN);
    st = hp_link_lld_run(lld_argv, &lld_exit);
    t_lld = cpu_ms(RUSAGE_CHILDREN) - t_lld;
    hp_link_bitcode_restore(bc, cl); /* the user's paths again, for messages */
    if (st == HP_ERR_NO_LINKER)
        fprintf(stderr, "%s: error: cannot run '%s'\n", prog, lld);
    else if (st != HP_OK && st != HP_ERR_LINKER_FAILED)
        report_error(st, NULL);
    if (st != HP_OK)
        goto out; /* HP_ERR_LINKER_FAILED: lld has said why, and its exit status becomes ours */
    if (cl->input_count == 0)
        goto out; /* lld -v and the like: nothing was linked */

    hp_link_post_options popt;
    memset(&popt, 0, sizeof popt);
    popt.pad = cl->pad;
    popt.exclude = cl->excludes;
    popt.exclude_count = cl->exclude_count;
    popt.units = !cl->map_none; /* the map names them */
    /* the test suites' guard: the pass's table walk checked against the audit's on every link */
    const char *check = getenv("HOTPATCH_LINK_CHECK_WALK");
    popt.check_walk = check && strcmp(check, "1") == 0;
    msg[0] = 0;
    t_heap = cpu_ms(RUSAGE_SELF);
    spacer = heap_prefault(cl->output);
    t_heap = cpu_ms(RUSAGE_SELF) - t_heap;
    t_post = cpu_ms(RUSAGE_SELF);
    st = hp_link_post_run(cl->output, &popt, &post, msg, sizeof msg);
    t_post = cpu_ms(RUSAGE_SELF) - t_post;
    if (st != HP_OK) {
        report_error(st, msg);
        goto out;
    }
    checked = post->fn_count;
    for (size_t i = 0; i < post->fn_count; i++) {
        table += (post->fns[i].from & HP_LINK_FROM_TABLE) != 0;
        exported += (post->fns[i].from & HP_LINK_FROM_EXPORT) != 0;
    }
    if (post->violation_count) {
        int warn = cl->warn_only;
        report_violations(cl, post, warn ? "warning" : "error");
        if (!warn) {
            if (unlink(cl->output) != 0)
                fprintf(stderr, "%s: error: cannot remove '%s'\n", prog, cl->output);
            fprintf(stderr,
                    "%s: error: %zu finding(s): '%s' is not hotpatchable and was removed (--hotpatch-warn-only keeps "
                    "it)\n",
                    prog, post->violation_count, cl->output);
            st = HP_ERR_VIOLATIONS;
            goto out;
        }
    }
    if (!cl->map_none) {
        char *path = NULL;
        if (cl->map_path)
            path = strdup(cl->map_path);
        else if ((path = malloc(strlen(cl->output) + 7)) != NULL)
            sprintf(path, "%s.hpmap", cl->output);
        msg[0] = 0;
        t_map = cpu_ms(RUSAGE_SELF);
        st = path ? write_map(cl, post, path, &t_code, msg, sizeof msg) : HP_ERR_NO_MEMORY;
        t_map = cpu_ms(RUSAGE_SELF) - t_map - t_code;
        if (st != HP_OK && msg[0])
            report_error(st, msg);
        else if (st != HP_OK)
            fprintf(stderr, "%s: error: cannot write the map '%s'\n", prog, path ? path : "?");
        free(path);
        if (st != HP_OK)
            goto out;
    }
    if (cl->fix_for) {
        /* a patch module: its manifest checked against the real image it is for, or no module */
        hp_link_manifest_fill_result fr;
        memset(&fr, 0, sizeof fr);
        msg[0] = 0;
        st = hp_link_manifest_fill(cl->output, cl->fix_for, NULL, &fr, msg, sizeof msg);
        if (st != HP_OK) {
            report_error(st, msg);
            if (unlink(cl->output) != 0)
                fprintf(stderr, "%s: error: cannot remove '%s'\n", prog, cl->output);
            else
                fprintf(stderr, "%s: error: the patch module '%s' does not fit '%s' and was removed\n", prog,
                        cl->output, cl->fix_for);
            goto out;
        }
        if (cl->verbose)
            fprintf(stderr, "%s: %s: patch module for %s: %zu fragments, %zu functions replaced, %zu slots, checked\n",
                    prog, cl->output, cl->fix_for, fr.fragments, fr.entries, fr.slots);
    }
    if (cl->verbose) {
        fprintf(stderr,
                "%s: %s: %zu functions checked (%zu in the table, %zu exported), %zu findings, %u padding bytes "
                "0x90 -> 0xCC, checksum 0x%08x\n",
                prog, cl->output, checked, table, exported, post->violation_count, post->filled,
                post->checksum);
        if (post->walk_declined)
            fprintf(stderr, "%s: %s: checked by the audit's walk: the table walk declined (%s)\n", prog, cl->output,
                    post->walk_declined);
        else
            fprintf(stderr, "%s: %s: checked by the table walk%s\n", prog, cl->output,
                    popt.check_walk ? " and by the audit's walk: the same functions" : "");
        fprintf(stderr,
                "%s: CPU time: lld %.1f ms; hotpatch-link %.1f ms: inputs %.1f, heap %.1f, post-link checks %.1f, "
                "map %.1f, code digests %.1f\n",
                prog, t_lld, cpu_ms(RUSAGE_SELF) - t_start, t_prepared - t_start, t_heap, t_post, t_map, t_code);
    }

out:
    hp_link_post_destroy(post);
    free(spacer);
    hp_link_lld_argv_free(lld_argv);
    hp_link_bitcode_destroy(bc);
    free(lld);
    hp_link_cmdline_destroy(cl);
    return exit_code(st, lld_exit);
}
