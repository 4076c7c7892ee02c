/*
 * bench_fix.c — the cost of hotpatch-fix's comparison (issue 15, "Performance"):
 * for a generated translation unit of N functions (10,000 gated, 60,000 reported)
 * after a one-line edit of one function, measured in the same run against the
 * time to compile that unit once:
 *   (a) compile     clang -O2 -fplugin=hotpatch-plugin -c unit.c (as the release was compiled)
 *   (b) compare     hotpatch-fix --dry-run over the edited copy (target: <= 2.0 x (a))
 *   (c) full fix    hotpatch-fix building the patch module (reported, not gated)
 * The cost is the CPU time (user + system) of the child and everything it starts
 * (getrusage(RUSAGE_CHILDREN): hotpatch-cc, clang, hotpatch-link, lld), the median
 * of ROUNDS interleaved rounds; wall time is printed too.
 *
 * Every run of hotpatch-fix must report exactly the edited function as changed
 * (its "changed:" group; nothing new, refused or gone): anything else is printed
 * with the report and fails the benchmark, whatever the timings.
 *
 * usage: bench_fix CLANG PLUGIN HOTPATCH_FIX HOTPATCH_LINK WORKDIR [ROUNDS [SIZES [GATED]]]
 *   SIZES: comma-separated function counts, each N or N:ROUNDS (default 10000,60000:1); with one
 *          round there is no warm-up: that round's runs are checked and measured
 *   GATED: the largest size whose ratio (b)/(a) is gated (default 10000); larger sizes are reported only
 *        bench_fix --generate N OUT [--edit]   writes the unit alone (--edit: the corrected copy)
 * Exit status: 0 pass, 1 a gated ratio above 2.0 or a wrong comparison, 2 a setup failure.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "../bench_clock.h"
#include <unistd.h>

#define TARGET_RATIO 2.0
#define TRIPLE "--target=x86_64-w64-mingw32"

extern char **environ;

/* ---- the generator ------------------------------------------------------------ */

/* Kinds of function; every one is on its own lines, one statement a line. */
enum kind {
    K_ARITH,   /* int fN(int x): arithmetic */
    K_LOOP,    /* int fN(int x): a loop */
    K_SWITCH,  /* int fN(int x): a switch */
    K_CALLS,   /* int fN(int x): calls to earlier functions */
    K_STRING,  /* int fN(int x): hashes a string literal */
    K_STATIC,  /* int fN(int x): a static variable */
    K_FLOAT,   /* int fN(int x): floating point in a loop */
    K_NAME,    /* const char *nN(int x): returns one of its string literals */
    K_HELPER,  /* static int sN(int a, int b): a static helper, used by the next function */
    K_NKINDS
};

static unsigned long long rng_state;

static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33) % n;
}

static const char *const words[] = {"alpha",  "bravo", "charlie", "delta",  "echo",   "foxtrot",  "golf",
                                    "hotel",  "india", "juliet",  "kilo",   "lima",   "mike",     "november",
                                    "oscar",  "papa",  "quebec",  "romeo",  "sierra", "tango",    "uniform",
                                    "victor", "whiskey", "xray",  "yankee", "zulu",   "config",   "error: %d"};
#define NWORDS (sizeof words / sizeof words[0])

static enum kind kind_of(int i, int n)
{
    unsigned long long save = rng_state;
    rng_state = 0x9e3779b97f4a7c15ULL ^ (unsigned long long)i * 0xbf58476d1ce4e5b9ULL;
    unsigned r = rnd(100);
    rng_state = save;
    (void)n;
    if (i < 4)
        return K_ARITH;
    if (r < 10)
        return K_HELPER;
    if (r < 22)
        return K_ARITH;
    if (r < 36)
        return K_LOOP;
    if (r < 50)
        return K_SWITCH;
    if (r < 72)
        return K_CALLS;
    if (r < 82)
        return K_STRING;
    if (r < 85)
        return K_STATIC;
    if (r < 91)
        return K_FLOAT;
    return K_NAME;
}

/* The edited function: the first arithmetic one from the middle on; nothing calls it. */
static int edited_index(int n)
{
    for (int i = n / 2; i < n; i++)
        if (kind_of(i, n) == K_ARITH)
            return i;
    return -1;
}

/* An earlier int(int) function to call (never the edited one) */
static int callee(int i, int n, int edited)
{
    for (int tries = 0; tries < 64; tries++) {
        int span = i < 400 ? i : 400;
        int j = i - 1 - (int)rnd((unsigned)span);
        enum kind k = kind_of(j, n);
        if (j != edited && j >= 0 && k != K_HELPER && k != K_NAME)
            return j;
    }
    return 0;
}

static int callee_name(int i, int n)
{
    for (int j = i - 1; j >= 0 && j > i - 200; j--)
        if (kind_of(j, n) == K_NAME)
            return j;
    return -1;
}

/* Calls the static helpers defined since the previous int(int) function: each is used once. */
static void use_helpers(FILE *f, int i, int n, unsigned b)
{
    for (int j = i - 1; j >= 0 && (kind_of(j, n) == K_HELPER || kind_of(j, n) == K_NAME); j--)
        if (kind_of(j, n) == K_HELPER)
            fprintf(f, "    r += s%d(x, %u);\n", j, b + (unsigned)j % 7);
}

static void gen_function(FILE *f, int i, int n, int edited, int edit)
{
    enum kind k = kind_of(i, n);
    rng_state = 0x243f6a8885a308d3ULL ^ (unsigned long long)i * 0x94d049bb133111ebULL;
    unsigned a = rnd(1000) + 3, b = rnd(10000) + 1, c = rnd(29) + 1;
    const char *dll = rnd(4) == 0 ? "__declspec(dllexport) " : "";

    if (k == K_HELPER) {
        fprintf(f, "static int s%d(int a, int b)\n{\n", i);
        fprintf(f, "    int t = a * %u - b;\n", a);
        fprintf(f, "    if (t < 0)\n        t = -t + %u;\n", b);
        fprintf(f, "    return (t >> %u) ^ (b * %u);\n}\n\n", c % 8 + 1, c);
        return;
    }
    if (k == K_NAME) {
        fprintf(f, "%sconst char *n%d(int x)\n{\n", dll, i);
        fprintf(f, "    switch (x & 3) {\n");
        for (int w = 0; w < 3; w++)
            fprintf(f, "    case %d:\n        return \"%s_%d\";\n", w, words[rnd(NWORDS - 1)], i + w);
        fprintf(f, "    default:\n        return \"%s\";\n    }\n}\n\n", words[rnd(NWORDS - 1)]);
        return;
    }
    if (k == K_STATIC)
        fprintf(f, "static int counter%d;\n\n", i);
    fprintf(f, "%sint f%d(int x)\n{\n", dll, i);
    switch (k) {
    case K_ARITH:
        if (i == edited && edit)
            fprintf(f, "    int r = x * %u + %u; /* the fix */\n", a, b + 1);
        else
            fprintf(f, "    int r = x * %u + %u;\n", a, b);
        fprintf(f, "    r ^= r >> %u;\n", c % 16 + 1);
        fprintf(f, "    r = r * %u - (x & %u);\n", a | 1, b);
        break;
    case K_LOOP:
        fprintf(f, "    int r = %u;\n", b);
        fprintf(f, "    for (int i = 0; i < (x & %u); i++) {\n", 31 + c);
        fprintf(f, "        r += i * %u ^ (r >> %u);\n", a, c % 8 + 1);
        fprintf(f, "        if (r > %u)\n            r -= x;\n", b * 100);
        fprintf(f, "    }\n");
        break;
    case K_SWITCH: {
        fprintf(f, "    int r;\n    switch (x %% %u) {\n", c + 4);
        unsigned cases = c % 6 + 3;
        for (unsigned w = 0; w < cases; w++)
            fprintf(f, "    case %u:\n        r = x * %u + %u;\n        break;\n", w, rnd(100) + 1, rnd(1000));
        fprintf(f, "    default:\n        r = -x;\n        break;\n    }\n");
        break;
    }
    case K_CALLS: {
        int j1 = callee(i, n, edited), j2 = callee(i, n, edited);
        fprintf(f, "    int r = f%d(x + %u);\n", j1, c);
        fprintf(f, "    if (r & 1)\n        r += f%d(x ^ %u);\n", j2, a);
        int nm = rnd(3) == 0 ? callee_name(i, n) : -1;
        if (nm >= 0)
            fprintf(f, "    r += n%d(x)[0];\n", nm);
        break;
    }
    case K_STRING:
        fprintf(f, "    const char *s = \"%s %s %d\";\n", words[rnd(NWORDS)], words[rnd(NWORDS)], i);
        fprintf(f, "    int r = %u;\n", b);
        fprintf(f, "    while (*s)\n        r = r * 31 + *s++;\n");
        fprintf(f, "    r ^= x;\n");
        break;
    case K_STATIC:
        fprintf(f, "    counter%d += x;\n", i);
        fprintf(f, "    int r = counter%d * %u;\n", i, a);
        break;
    case K_FLOAT:
        fprintf(f, "    double d = x;\n");
        fprintf(f, "    for (int i = 0; i < %u; i++)\n        d = d * 0.5 + %u.25;\n", c % 7 + 2, b);
        fprintf(f, "    int r = (int)d;\n");
        break;
    default:
        fprintf(f, "    int r = x;\n");
        break;
    }
    use_helpers(f, i, n, b);
    fprintf(f, "    return r;\n}\n\n");
}

/* The unit: n functions; edit: the corrected copy (one line of the edited function differs). */
static int generate(const char *path, int n, int edit)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 0;
    }
    int edited = edited_index(n);
    fprintf(f, "/* generated by bench_fix.c: %d functions; f%d is the one the fix edits */\n\n", n, edited);
    fprintf(f, "static int global_state;\nstatic const int table[8] = {3, 1, 4, 1, 5, 9, 2, 6};\n\n");
    for (int i = 0; i < n; i++)
        gen_function(f, i, n, edited, edit);
    /* something that uses the static variables and the table, once */
    fprintf(f, "__declspec(dllexport) int bench_entry(int x)\n{\n");
    fprintf(f, "    global_state += table[x & 7];\n");
    int last = n - 1;
    while (kind_of(last, n) == K_HELPER || kind_of(last, n) == K_NAME)
        last--;
    fprintf(f, "    int r = global_state + f%d(x);\n", last);
    use_helpers(f, n, n, 5);
    fprintf(f, "    return r;\n}\n");
    if (fclose(f) != 0) {
        perror(path);
        return 0;
    }
    return 1;
}

/* ---- running and measuring ------------------------------------------------------ */

/* Runs argv in dir with stdout and stderr to out (or inherited); the exit status or -1. */
static int run(char *const argv[], const char *dir, const char *out)
{
    char here[PATH_MAX];
    if (!getcwd(here, sizeof here) || (dir && chdir(dir) != 0))
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out) {
        posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    }
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (chdir(here) != 0 || rc != 0)
        return -1;
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void print_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[4096];
    while (fgets(line, sizeof line, f))
        printf("    | %s", line);
    fclose(f);
    fflush(stdout);
}

/*
 * Checks hotpatch-fix's report in path: exactly one function in the "changed:" group, the
 * edited one, and nothing in "new:", "refused:" or "gone:". Returns 1 when so; else prints
 * the report and returns 0. *changed gets the number of changed items.
 */
static int check_report(const char *path, const char *want, int *changed)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 0;
    }
    static const char *const labels[] = {"changed:", "new:", "refused:", "gone:", "unchanged:"};
    int group = -1, counts[5] = {0}, found = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        const char *item = NULL;
        if (line[0] == ' ' && group >= 0 && group < 4 && strncmp(line, "          ", 10) == 0) {
            item = line + 10;
        } else {
            group = -1;
            for (int g = 0; g < 5; g++) {
                size_t len = strlen(labels[g]);
                if (strncmp(line, labels[g], len) == 0 && (line[len] == ' ' || line[len] == '\n')) {
                    group = g;
                    item = line + 10 < line + strlen(line) ? line + 10 : NULL;
                }
            }
            if (group == 4)
                item = NULL;
        }
        if (!item || group < 0)
            continue;
        while (*item == ' ')
            item++;
        counts[group]++;
        if (group == 0) {
            size_t len = strlen(want);
            if (strncmp(item, want, len) == 0 && item[len] == ' ')
                found = 1;
        }
    }
    fclose(f);
    *changed = counts[0];
    if (counts[0] == 1 && found && counts[1] + counts[2] + counts[3] == 0)
        return 1;
    printf("  WRONG COMPARISON: expected exactly '%s' changed; the report has %d changed, %d new, %d refused, "
           "%d gone%s:\n",
           want, counts[0], counts[1], counts[2], counts[3], found ? "" : " (and not the edited function)");
    print_file(path);
    fflush(stdout);
    return 0;
}

typedef struct series {
    const char *name;
    double *cpu, *wall;
} series;

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One size. Returns 1 pass, 0 fail (ratio or comparison), -1 setup failure. */
static int bench_size(char **tool, const char *work, int n, int rounds, int gated)
{
    const char *clang = tool[0], *plugin = tool[1], *fix = tool[2], *link = tool[3];
    char dir[PATH_MAX + 32], rel[PATH_MAX + 48], fixed[PATH_MAX + 48], src[PATH_MAX + 64], fsrc[PATH_MAX + 64];
    char image[PATH_MAX + 64], module[PATH_MAX + 64], obj[PATH_MAX + 64], cobj[PATH_MAX + 64];
    char report[PATH_MAX + 64], logfile[PATH_MAX + 64], fplugin[PATH_MAX + 16], froot[PATH_MAX + 96];
    char ffroot[PATH_MAX + 96], fuse[PATH_MAX + 16], want[32];
    snprintf(dir, sizeof dir, "%s/n%d", work, n);
    snprintf(rel, sizeof rel, "%s/release", dir);
    snprintf(fixed, sizeof fixed, "%s/fixed", dir);
    mkdir(work, 0755);
    mkdir(dir, 0755);
    mkdir(rel, 0755);
    mkdir(fixed, 0755);
    snprintf(src, sizeof src, "%s/unit.c", rel);
    snprintf(fsrc, sizeof fsrc, "%s/unit.c", fixed);
    snprintf(obj, sizeof obj, "%s/unit.o", rel);
    snprintf(image, sizeof image, "%s/rel.dll", dir);
    snprintf(module, sizeof module, "%s/rel.fix.dll", dir);
    snprintf(cobj, sizeof cobj, "%s/compile.o", dir);
    snprintf(report, sizeof report, "%s/report.txt", dir);
    snprintf(logfile, sizeof logfile, "%s/log.txt", dir);
    snprintf(fplugin, sizeof fplugin, "-fplugin=%s", plugin);
    snprintf(froot, sizeof froot, "-fplugin-arg-hotpatch-source-root=%s", rel);
    snprintf(ffroot, sizeof ffroot, "-fplugin-arg-hotpatch-source-root=%s", fixed);
    snprintf(fuse, sizeof fuse, "-fuse-ld=%s", link);
    snprintf(want, sizeof want, "f%d", edited_index(n));

    if (!generate(src, n, 0) || !generate(fsrc, n, 1))
        return -1;

    /* the release, as a release is built */
    char *cc_rel[] = {(char *)clang, TRIPLE, "-O2", fplugin, froot, "-c", "unit.c", "-o", obj, NULL};
    char *ld_rel[] = {(char *)clang, TRIPLE, "-shared", "-o", image, obj, fuse, NULL};
    if (run(cc_rel, rel, logfile) != 0 || run(ld_rel, dir, logfile) != 0) {
        printf("bench_fix: building the release of %d functions failed:\n", n);
        print_file(logfile);
        return -1;
    }

    /* (a) compiling the (edited) unit once, as the release was compiled */
    char *cc[] = {(char *)clang, TRIPLE, "-O2", fplugin, ffroot, "-c", "unit.c", "-o", cobj, NULL};
    /* (b) the comparison; (c) the whole fix, the module included */
    char *dry[] = {(char *)fix,   "--for",   image,  "--source-root", fixed,  "--cc", (char *)clang, "--plugin",
                   (char *)plugin, "--dry-run", "unit.c", "--", "-O2", NULL};
    char *full[] = {(char *)fix,    "--for", image, "--source-root", fixed, "--cc", (char *)clang, "--plugin",
                    (char *)plugin, "-o",    module, "unit.c",       "--",  "-O2", NULL};
    char *const *cmds[] = {cc, dry, full};
    const char *names[] = {"(a) compile once (clang -O2 -fplugin)", "(b) hotpatch-fix --dry-run (comparison)",
                           "(c) hotpatch-fix (module built)"};

    printf("fix bench: %d functions, edited f%s, %d rounds\n", n, want + 1, rounds);
    printf("  command (b): cd %s &&", fixed);
    for (int i = 0; dry[i]; i++)
        printf(" %s", dry[i]);
    printf("\n");
    fflush(stdout);

    /* a warm-up of each, checking the comparison (with one round, that round is checked alone) */
    int changed = 0, ok = 1, rc;
    if (rounds > 1) {
        if (run(cc, fixed, logfile) != 0) {
            printf("bench_fix: compiling the edited unit failed:\n");
            print_file(logfile);
            return -1;
        }
        rc = run(dry, fixed, report);
        if (rc != 0) {
            printf("  hotpatch-fix --dry-run exited %d (0 expected: a change found):\n", rc);
            print_file(report);
            ok = 0;
        } else {
            ok &= check_report(report, want, &changed);
        }
        rc = run(full, fixed, logfile);
        if (rc != 0) {
            printf("  hotpatch-fix (full) exited %d:\n", rc);
            print_file(logfile);
            ok = 0;
        } else {
            int c2 = 0;
            ok &= check_report(logfile, want, &c2);
        }
        printf("  the comparison reports %d changed function%s%s\n", changed, changed == 1 ? "" : "s",
               ok ? " (the edited one): correct" : ": WRONG");
        if (ok)
            print_file(report);
        fflush(stdout);
        if (!ok)
            return 0;
    }

    series s[3];
    for (int k = 0; k < 3; k++) {
        s[k].name = names[k];
        s[k].cpu = calloc((size_t)rounds, sizeof(double));
        s[k].wall = calloc((size_t)rounds, sizeof(double));
        if (!s[k].cpu || !s[k].wall)
            return -1;
    }
    for (int r = 0; r < rounds; r++) {
        /* rotate the order so that none is always first or last */
        for (int m = 0; m < 3; m++) {
            int k = (m + r) % 3;
            const char *out = k == 0 ? logfile : report;
            double c0 = children_cpu(), t0 = now();
            rc = run(cmds[k], fixed, out);
            double c1 = children_cpu(), t1 = now();
            if (rc != 0) {
                printf("  %s exited %d:\n", names[k], rc);
                print_file(out);
                return 0;
            }
            if (k > 0 && !check_report(out, want, &changed))
                return 0;
            s[k].cpu[r] = c1 - c0;
            s[k].wall[r] = t1 - t0;
        }
    }
    if (rounds == 1) {
        printf("  the comparison reports %d changed function%s (the edited one): correct\n", changed,
               changed == 1 ? "" : "s");
        print_file(report);
    }
    double cpu[3], wall[3];
    for (int k = 0; k < 3; k++) {
        cpu[k] = median(s[k].cpu, rounds);
        wall[k] = median(s[k].wall, rounds);
        printf("  %-42s median CPU %8.1f ms  (min %8.1f, max %8.1f), wall %8.1f ms\n", s[k].name, cpu[k] * 1e3,
               s[k].cpu[0] * 1e3, s[k].cpu[rounds - 1] * 1e3, wall[k] * 1e3);
        free(s[k].cpu);
        free(s[k].wall);
    }
    double rb = cpu[1] / cpu[0], rc2 = cpu[2] / cpu[0];
    int pass = rb <= TARGET_RATIO;
    printf("  ratio (b)/(a) %.3fx CPU, %.3fx wall (target <= %.1fx CPU): %s\n", rb, wall[1] / wall[0], TARGET_RATIO,
           gated ? (pass ? "PASS" : "FAIL") : (pass ? "within target (not gated)" : "above target (not gated)"));
    printf("  ratio (c)/(a) %.3fx CPU, %.3fx wall (reported only)\n", rc2, wall[2] / wall[0]);
    fflush(stdout);
    return gated ? pass : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "--generate") == 0) {
        int n = atoi(argv[2]);
        return n >= 8 && generate(argv[3], n, argc > 4 && strcmp(argv[4], "--edit") == 0) ? 0 : 2;
    }
    if (argc < 6) {
        fprintf(stderr,
                "usage: %s CLANG PLUGIN HOTPATCH_FIX HOTPATCH_LINK WORKDIR [ROUNDS [SIZES [GATED]]]\n"
                "       %s --generate N OUT [--edit]\n",
                argv[0], argv[0]);
        return 2;
    }
    int rounds = argc > 6 ? atoi(argv[6]) : 5;
    if (rounds < 1 || rounds > 50)
        rounds = 5;
    char sizes[256];
    snprintf(sizes, sizeof sizes, "%s", argc > 7 ? argv[7] : "10000,60000:1");
    int gated_max = argc > 8 ? atoi(argv[8]) : 10000;
    char work[PATH_MAX];
    mkdir(argv[5], 0755);
    if (!realpath(argv[5], work)) {
        fprintf(stderr, "bench_fix: %s: %s\n", argv[5], strerror(errno));
        return 2;
    }
    /* the commands run in the unit's directory: the tools by absolute paths */
    static char tools[4][PATH_MAX];
    for (int i = 0; i < 4; i++) {
        if (argv[1 + i][0] != '/' && strchr(argv[1 + i], '/')) {
            char here[PATH_MAX];
            if (!getcwd(here, sizeof here) ||
                snprintf(tools[i], sizeof tools[i], "%s/%s", here, argv[1 + i]) >= (int)sizeof tools[i]) {
                fprintf(stderr, "bench_fix: %s: %s\n", argv[1 + i], strerror(errno));
                return 2;
            }
            argv[1 + i] = tools[i];
        }
    }
    int ok = 1;
    for (char *tok = strtok(sizes, ","); tok; tok = strtok(NULL, ",")) {
        /* N or N:ROUNDS */
        int n = atoi(tok), size_rounds = rounds;
        const char *colon = strchr(tok, ':');
        if (colon)
            size_rounds = atoi(colon + 1);
        if (n < 8 || size_rounds < 1 || size_rounds > 50) {
            fprintf(stderr, "bench_fix: bad size '%s'\n", tok);
            return 2;
        }
        int r = bench_size(argv + 1, work, n, size_rounds, n <= gated_max);
        if (r < 0)
            return 2;
        ok &= r;
    }
    printf("fix bench: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
