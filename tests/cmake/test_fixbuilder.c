/*
 * test_fixbuilder.c — hotpatch-fix, the fix builder, with an installed hotpatch on the fixture
 * tests/fixbuilder: the release built by its CMakeLists (svc.dll, its map and code digests), then
 * each scripted edit (edits/NN-name.patch) applied to a copy of the release's sources and given to
 * hotpatch-fix; what it reports and its exit status must be what edits/NN-name.expect says (written
 * by hand), and every module it writes is loaded into the running release under Wine while worker
 * threads call the changed functions (host.c checks each answer). The CMake route
 * (hotpatch_add_fix without FUNCTIONS) is built and loaded the same way.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hpt.h"
#include "pkgt.h"

#define FIXTURE HPT_SOURCE_DIR "/tests/fixbuilder"
#define MAX_ITEMS 16

typedef struct item {
    char group[16]; /* changed, new, refused */
    int variable;
    char name[128], unit[128], note[256];
} item;

typedef struct expect_t {
    int exit_status;
    item items[MAX_ITEMS];
    int nitems;
    char checks[MAX_ITEMS][128]; /* NAME:ARG:BEFORE:AFTER, as host.exe takes them */
    int nchecks;
} expect_t;

static char release_dir[4200];

/* edits/<name>.expect */
static void read_expect(const char *name, expect_t *e)
{
    char path[4400], line[512];
    snprintf(path, sizeof path, "%s/edits/%s.expect", FIXTURE, name);
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot read %s", path);
    memset(e, 0, sizeof *e);
    e->exit_status = -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char word[32] = "";
        int at = 0;
        if (line[0] == '#' || sscanf(line, "%31s %n", word, &at) < 1)
            continue;
        if (strcmp(word, "exit") == 0) {
            e->exit_status = atoi(line + at);
        } else if (strcmp(word, "check") == 0) {
            char fn[64];
            int arg, before, after;
            cr_assert_eq(sscanf(line + at, "%63s %d %d %d", fn, &arg, &before, &after), 4, "%s: %s", path, line);
            snprintf(e->checks[e->nchecks++], sizeof e->checks[0], "%s:%d:%d:%d", fn, arg, before, after);
        } else {
            item *it = &e->items[e->nitems++];
            int n = 0;
            cr_assert_eq(sscanf(line + at, "%127s %127s %n", it->name, it->unit, &n), 2, "%s: %s", path, line);
            snprintf(it->note, sizeof it->note, "%s", line + at + n);
            it->variable = strstr(word, "-variable") != NULL;
            snprintf(it->group, sizeof it->group, "%.*s", (int)strcspn(word, "-"), word);
        }
    }
    fclose(f);
    cr_assert_neq(e->exit_status, -1, "%s says no exit status", path);
}

/* The report hotpatch-fix printed: "<group>: [variable ]<name> (<unit>)[  <note>]", the group label
   only on its first line. */
static int read_report(const char *out, item *items, int max)
{
    int n = 0;
    char group[16] = "";
    for (const char *l = out; *l && n < max; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        size_t len = strcspn(l, "\n");
        if (len < 12)
            continue;
        if (l[0] != ' ') {
            size_t g = strcspn(l, ": \n");
            if (l[g] != ':')
                continue;
            snprintf(group, sizeof group, "%.*s", (int)g, l);
        }
        if (strcmp(group, "changed") && strcmp(group, "new") && strcmp(group, "refused"))
            continue;
        const char *p = l + 11, *end = l + len;
        item *it = &items[n];
        memset(it, 0, sizeof *it);
        snprintf(it->group, sizeof it->group, "%s", group);
        if (strncmp(p, "variable ", 9) == 0) {
            it->variable = 1;
            p += 9;
        }
        const char *open = strstr(p, " ("), *close = open ? strchr(open, ')') : NULL;
        if (!open || !close || close > end)
            continue;
        snprintf(it->name, sizeof it->name, "%.*s", (int)(open - p), p);
        snprintf(it->unit, sizeof it->unit, "%.*s", (int)(close - open - 2), open + 2);
        snprintf(it->note, sizeof it->note, "%.*s", (int)(end - close - 1), close + 1);
        n++;
    }
    return n;
}

static const item *find(const item *items, int n, const item *want)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(items[i].group, want->group) && items[i].variable == want->variable &&
            !strcmp(items[i].name, want->name) && !strcmp(items[i].unit, want->unit))
            return &items[i];
    return NULL;
}

/* The release: the fixture's CMakeLists built once, with FIXED (a corrected copy) or without, and
   FIXED_MOVED (a corrected svc.c that moved) or without. */
static int build_fixture_moved(const char *name, const char *fixed, const char *fixed_moved, hpt_proc *p)
{
    char def[4600], def_moved[4600];
    snprintf(def, sizeof def, "-DFIXED=%s", fixed ? fixed : "");
    snprintf(def_moved, sizeof def_moved, "-DFIXED_MOVED=%s", fixed_moved ? fixed_moved : "");
    const char *extra[] = {def, def_moved, NULL};
    return build_project(FIXTURE, name, "x86_64-w64-mingw32", extra, p);
}

static int build_fixture(const char *name, const char *fixed, hpt_proc *p)
{
    return build_fixture_moved(name, fixed, NULL, p);
}

/* A copy of release/ with edits/<edit>.patch applied, in a scratch directory of its own: one per test
   (`test`) and edit, as the suite's tests run at the same time and use some of the same edits (a shared
   directory was removed and recreated under the other test's patch). */
static const char *edited_copy(const char *test, const char *edit)
{
    static char dir[4300];
    char scratch[200];
    snprintf(scratch, sizeof scratch, "fixbuilder-%s-%s", test, edit);
    snprintf(dir, sizeof dir, "%s", hpt_scratch(scratch));
    static const char *const files[] = {"svc.c", "svc.h", "util.c"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char from[4400], to[4400];
        snprintf(from, sizeof from, "%s/release/%s", FIXTURE, files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        copy_file(from, to);
    }
    char patch[4400];
    snprintf(patch, sizeof patch, "%s/edits/%s.patch", FIXTURE, edit);
    const char *argv[] = {"patch", "--quiet", "-p1", "-d", dir, "-i", patch, NULL};
    hpt_proc p;
    cr_assert_eq(hpt_run(argv, NULL, 60, &p), 0);
    cr_assert_eq(p.status, 0, "%s does not apply:\n%s%s", patch, p.out, p.err);
    hpt_proc_free(&p);
    return dir;
}

/* host.exe of the release's build tree: load `fix` while workers call the checked functions. */
static void load_live(const char *what, const char *fix_dir, const char *fix_dll, char checks[][128], int nchecks)
{
    char host[4400];
    snprintf(host, sizeof host, "%s/host.exe", release_dir);
    const char *argv[MAX_ITEMS + 3] = {host, win_path(fix_dir, fix_dll)};
    int n = 2;
    for (int i = 0; i < nchecks; i++)
        argv[n++] = checks[i];
    argv[n] = NULL;
    cr_assert_gt(nchecks, 0, "%s: the expect file has no check of the fix's results", what);
    hpt_proc p;
    cr_assert_eq(hpt_run_wine(argv, 300, &p), 0);
    cr_expect_eq(p.status, 0, "%s: host.exe:\n%s\n%s", what, p.out, p.err);
    cr_expect(strstr(p.out, "host: OK") != NULL, "%s: host.exe:\n%s\n%s", what, p.out, p.err);
    hpt_proc_free(&p);
}

static void one_edit(const char *edit)
{
    expect_t e;
    read_expect(edit, &e);
    const char *dir = edited_copy("edits", edit);
    char fix[4300], image[4400], src1[4400], src2[4400], out[4400];
    snprintf(fix, sizeof fix, "%s/bin/hotpatch-fix", moved);
    snprintf(image, sizeof image, "%s/svc.dll", release_dir);
    snprintf(src1, sizeof src1, "%s/svc.c", dir);
    snprintf(src2, sizeof src2, "%s/util.c", dir);
    snprintf(out, sizeof out, "%s/fix.dll", dir);
    /* the release's compile flags: -O2 and its exclusion (tests/fixbuilder/CMakeLists.txt) */
    const char *argv[] = {fix,  "--for", image, "--source-root", dir, "-o", out, src1, src2, "--", "-O2",
                          "-fplugin-arg-hotpatch-exclude=svc_raw", NULL};
    hpt_proc p;
    cr_assert_eq(hpt_run(argv, NULL, 300, &p), 0);
    cr_expect_eq(p.status, e.exit_status, "%s: hotpatch-fix exited %d, not %d:\n%s\n%s", edit, p.status,
                 e.exit_status, p.out, p.err);
    item got[MAX_ITEMS];
    int n = read_report(p.out, got, MAX_ITEMS);
    for (int i = 0; i < e.nitems; i++) {
        const item *g = find(got, n, &e.items[i]);
        cr_expect(g != NULL, "%s: the report lacks %s %s%s (%s):\n%s", edit, e.items[i].group,
                  e.items[i].variable ? "variable " : "", e.items[i].name, e.items[i].unit, p.out);
        if (g && e.items[i].note[0])
            cr_expect(strstr(g->note, e.items[i].note) != NULL, "%s: %s's note is '%s', not one with '%s'", edit,
                      g->name, g->note, e.items[i].note);
    }
    for (int i = 0; i < n; i++)
        cr_expect(find(e.items, e.nitems, &got[i]) != NULL, "%s: the report has %s %s (%s), which the edit does not "
                  "ask for:\n%s", edit, got[i].group, got[i].name, got[i].unit, p.out);
    struct stat sb;
    int written = stat(out, &sb) == 0;
    cr_expect_eq(written, e.exit_status == 0, "%s: a module was %swritten (exit %d)", edit, written ? "" : "not ",
                 p.status);
    hpt_proc_free(&p);
    if (e.exit_status == 0 && written)
        load_live(edit, dir, "fix.dll", e.checks, e.nchecks);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

Test(fixbuilder, every_scripted_edit_is_found_refused_or_applied_live_as_written, .timeout = 1200)
{
    install("fixbuilder");
    hpt_proc p;
    int rc = build_fixture("fixbuilder", NULL, &p);
    cr_assert_eq(rc, 0, "the release failed to build:\n%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
    snprintf(release_dir, sizeof release_dir, "%s/../fixbuilder-build", moved);
    char code[4400];
    snprintf(code, sizeof code, "%s/svc.dll.hpcode", release_dir);
    struct stat sb;
    cr_assert_eq(stat(code, &sb), 0, "hotpatch-link wrote no %s", code);

    DIR *d = opendir(FIXTURE "/edits");
    cr_assert(d);
    char *names[64];
    int n = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL && n < 64;) {
        size_t len = strlen(de->d_name);
        if (len > 6 && strcmp(de->d_name + len - 6, ".patch") == 0)
            names[n++] = strndup(de->d_name, len - 6);
    }
    closedir(d);
    cr_assert_geq(n, 8, "the edits are missing: %d", n);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n; i++) {
        one_edit(names[i]);
        free(names[i]);
    }
}

/* hotpatch_add_fix() without FUNCTIONS: the same comparison inside the build; a refusal fails it. */
Test(fixbuilder, cmake_route_finds_the_functions_and_refuses_what_a_swap_cannot_do, .timeout = 900)
{
    install("fixbuilder-cmake");
    const char *fixed = edited_copy("cmake", "02-inline-helper");
    hpt_proc p;
    int rc = build_fixture("fixbuilder-cmake", fixed, &p);
    cr_assert_eq(rc, 0, "the release and its fix failed to build:\n%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "svc_total (svc.c)  inlines tax_rate()") != NULL, "%s", p.out);
    hpt_proc_free(&p);
    snprintf(release_dir, sizeof release_dir, "%s/../fixbuilder-cmake-build", moved);
    expect_t e;
    read_expect("02-inline-helper", &e);
    load_live("hotpatch_add_fix", release_dir, "svc_fix.dll", e.checks, e.nchecks);

    /* the corrected svc.c moved since the release (to moved/quote.c): UNIT names the release's svc.c */
    fixed = edited_copy("cmake", "01-constant");
    char moved_dir[4400], moved_src[4500], from[4500], header[4500];
    snprintf(moved_dir, sizeof moved_dir, "%s/moved", fixed);
    cr_assert_eq(mkdir(moved_dir, 0755), 0, "cannot make %s", moved_dir);
    snprintf(from, sizeof from, "%s/svc.c", fixed);
    snprintf(moved_src, sizeof moved_src, "%s/quote.c", moved_dir);
    copy_file(from, moved_src);
    snprintf(from, sizeof from, "%s/svc.h", fixed);
    snprintf(header, sizeof header, "%s/svc.h", moved_dir);
    copy_file(from, header);
    rc = build_fixture_moved("fixbuilder-cmake", fixed, moved_src, &p);
    cr_assert_eq(rc, 0, "the fix of a moved file failed to build:\n%s\n%s", p.out, p.err);
    cr_expect(strstr(p.out, "changed:   svc_quote (svc.c)\nunchanged:") != NULL, "%s", p.out);
    hpt_proc_free(&p);
    read_expect("01-constant", &e);
    load_live("hotpatch_add_fix UNIT", release_dir, "svc_fix_moved.dll", e.checks, e.nchecks);

    fixed = edited_copy("cmake", "09-initial-value");
    rc = build_fixture("fixbuilder-cmake", fixed, &p);
    cr_expect_neq(rc, 0, "a fix of an initial value was built:\n%s", p.out);
    cr_expect(strstr(p.out, "variable served (svc.c)  its initial value changed") != NULL, "%s\n%s", p.out, p.err);
    hpt_proc_free(&p);
}
