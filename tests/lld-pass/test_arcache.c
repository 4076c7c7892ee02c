/*
 * test_arcache.c — the archives found to hold no bitcode, remembered between links (hp_link_arcache.h):
 * what is noted is known again after a save and a load, a changed file is not, a damaged cache file is
 * an empty cache, the size stays bounded, and no directory means no cache.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hp_link_arcache.h"
#include "hpt.h"

static struct stat stat_of(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s", path);
    return st;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

Test(arcache, noted_archives_are_known_after_a_save_and_a_load)
{
    const char *d = hpt_scratch("arcache_roundtrip");
    char dir[4200], a[4200], b[4200];
    snprintf(dir, sizeof dir, "%s/cache/nested", d); /* created by the save */
    snprintf(a, sizeof a, "%s/liba.a", d);
    snprintf(b, sizeof b, "%s/libb.a", d);
    write_text(a, "!<arch>\n");
    write_text(b, "!<arch>\n");
    struct stat sa = stat_of(a), sb = stat_of(b);

    hp_link_arcache *c = hp_link_arcache_load(dir);
    cr_assert_not_null(c);
    cr_expect_not(hp_link_arcache_clean(c, &sa), "an empty cache knew an archive");
    hp_link_arcache_note_clean(c, &sa);
    cr_expect(hp_link_arcache_clean(c, &sa));
    cr_expect_eq(hp_link_arcache_save(c), 0);
    hp_link_arcache_free(c);

    c = hp_link_arcache_load(dir);
    cr_expect(hp_link_arcache_clean(c, &sa), "not known after a save and a load");
    cr_expect_not(hp_link_arcache_clean(c, &sb), "an archive never noted was known");
    unsigned hits = 0, noted = 0;
    hp_link_arcache_counts(c, &hits, &noted);
    cr_expect_eq(hits, 1);
    cr_expect_eq(noted, 0);
    hp_link_arcache_free(c);

    /* the archive rewritten (another size, other times): no longer known */
    nanosleep(&(struct timespec){0, 10000000}, NULL);
    write_text(a, "!<arch>\nmore");
    struct stat sa2 = stat_of(a);
    c = hp_link_arcache_load(dir);
    cr_expect_not(hp_link_arcache_clean(c, &sa2), "a changed archive was still known");
    hp_link_arcache_note_clean(c, &sa2); /* replaces the stale entry of the same file */
    cr_expect_eq(hp_link_arcache_save(c), 0);
    hp_link_arcache_free(c);
    char file[4300];
    snprintf(file, sizeof file, "%s/archives-v1", dir);
    size_t size = 0;
    char *text = (char *)hpt_read_file(file, &size);
    cr_assert_not_null(text);
    size_t lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += text[i] == '\n';
    cr_expect_eq(lines, 2, "header and one entry, the stale one replaced:\n%.*s", (int)size, text);
    cr_expect(strncmp(text, "hotpatch-link archives 1\n", 25) == 0, "%.*s", (int)size, text);
    free(text);

    /* even the same size rewritten in place: the change time moves */
    nanosleep(&(struct timespec){0, 10000000}, NULL);
    write_text(a, "!<arch>\nmorf");
    struct stat sa3 = stat_of(a);
    c = hp_link_arcache_load(dir);
    cr_expect_not(hp_link_arcache_clean(c, &sa3), "an archive rewritten to the same size was still known");
    hp_link_arcache_free(c);
}

Test(arcache, a_damaged_file_is_an_empty_cache)
{
    const char *d = hpt_scratch("arcache_damaged");
    char a[4200], file[4200];
    snprintf(a, sizeof a, "%s/liba.a", d);
    snprintf(file, sizeof file, "%s/archives-v1", d);
    write_text(a, "!<arch>\n");
    struct stat sa = stat_of(a);
    char good[512];
    snprintf(good, sizeof good, "%llu %llu %llu %llu %llu %llu %llu\n", (unsigned long long)sa.st_dev,
             (unsigned long long)sa.st_ino, (unsigned long long)sa.st_size, (unsigned long long)sa.st_mtim.tv_sec,
             (unsigned long long)sa.st_mtim.tv_nsec, (unsigned long long)sa.st_ctim.tv_sec,
             (unsigned long long)sa.st_ctim.tv_nsec);
    char text[1024];
    /* the control: a well-formed line is known */
    snprintf(text, sizeof text, "hotpatch-link archives 1\n%s", good);
    write_text(file, text);
    hp_link_arcache *c = hp_link_arcache_load(d);
    cr_expect(hp_link_arcache_clean(c, &sa), "a well-formed entry was not read");
    hp_link_arcache_free(c);
    const char *bad[] = {"hotpatch-link archives 2\n%s",           /* another version */
                         "hotpatch-link archives 1\nx 1 2\n%s",     /* a malformed line first */
                         "hotpatch-link archives 1\n1 2 3 4 5 6\n%s", /* six numbers */
                         "hotpatch-link archives 1\n99999999999999999999 1 2 3 4 5 6\n%s"}; /* overflow */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, bad[i], good);
        write_text(file, text);
        c = hp_link_arcache_load(d);
        cr_assert_not_null(c);
        cr_expect_not(hp_link_arcache_clean(c, &sa), "case %zu: an entry of a damaged file was trusted", i);
        hp_link_arcache_free(c);
    }
    /* more entries than a cache holds: not written by us, not trusted */
    {
        size_t cap = (HP_LINK_ARCACHE_MAX + 2) * 16 + 64, len = 0;
        char *big = malloc(cap);
        cr_assert_not_null(big);
        len += (size_t)snprintf(big + len, cap - len, "hotpatch-link archives 1\n");
        for (unsigned k = 0; k <= HP_LINK_ARCACHE_MAX; k++)
            len += (size_t)snprintf(big + len, cap - len, "1 %u 3 4 5 6 7\n", k);
        cr_assert_lt(len, cap);
        write_text(file, big);
        free(big);
        FILE *f = fopen(file, "a");
        fputs(good, f);
        fclose(f);
        c = hp_link_arcache_load(d);
        cr_expect_not(hp_link_arcache_clean(c, &sa), "a cache longer than its bound was trusted");
        hp_link_arcache_free(c);
    }
    /* a last line cut short (no newline) is not read */
    snprintf(text, sizeof text, "hotpatch-link archives 1\n%.*s", (int)strlen(good) - 1, good);
    write_text(file, text);
    c = hp_link_arcache_load(d);
    cr_expect_not(hp_link_arcache_clean(c, &sa), "a line cut short was trusted");
    hp_link_arcache_free(c);
}

Test(arcache, bounded_and_off_without_a_directory)
{
    const char *d = hpt_scratch("arcache_bounded");
    char a[4200];
    snprintf(a, sizeof a, "%s/liba.a", d);
    write_text(a, "!<arch>\n");
    struct stat st = stat_of(a), first = st;
    hp_link_arcache *c = hp_link_arcache_load(d);
    for (unsigned i = 0; i < HP_LINK_ARCACHE_MAX + 10; i++) {
        st.st_ino = first.st_ino + 1000000 + i; /* as many distinct files */
        hp_link_arcache_note_clean(c, &st);
    }
    cr_expect_eq(hp_link_arcache_save(c), 0);
    hp_link_arcache_free(c);
    c = hp_link_arcache_load(d);
    st.st_ino = first.st_ino + 1000000;
    cr_expect_not(hp_link_arcache_clean(c, &st), "the oldest entry was kept past the bound");
    st.st_ino = first.st_ino + 1000000 + HP_LINK_ARCACHE_MAX + 9;
    cr_expect(hp_link_arcache_clean(c, &st), "the newest entry was dropped");
    hp_link_arcache_free(c);

    c = hp_link_arcache_load(NULL);
    cr_assert_not_null(c);
    hp_link_arcache_note_clean(c, &first);
    cr_expect_not(hp_link_arcache_clean(c, &first), "no directory, yet something was remembered");
    cr_expect_eq(hp_link_arcache_save(c), 0);
    hp_link_arcache_free(c);

    /* a directory that cannot be created: the save fails, nothing else does */
    c = hp_link_arcache_load("/proc/no/such/dir");
    hp_link_arcache_note_clean(c, &first);
    cr_expect_eq(hp_link_arcache_save(c), -1);
    hp_link_arcache_free(c);
}

Test(arcache, default_directory_follows_xdg_then_home)
{
    char buf[4096];
    const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    char *sx = x ? strdup(x) : NULL, *sh = h ? strdup(h) : NULL;
    setenv("XDG_CACHE_HOME", "/x/cache", 1);
    cr_expect_str_eq(hp_link_arcache_default_dir(buf, sizeof buf), "/x/cache/hotpatch");
    setenv("XDG_CACHE_HOME", "relative", 1); /* not absolute: ignored, as the XDG rules say */
    setenv("HOME", "/home/u", 1);
    cr_expect_str_eq(hp_link_arcache_default_dir(buf, sizeof buf), "/home/u/.cache/hotpatch");
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    cr_expect_null(hp_link_arcache_default_dir(buf, sizeof buf));
    if (sx)
        setenv("XDG_CACHE_HOME", sx, 1);
    if (sh)
        setenv("HOME", sh, 1);
    free(sx);
    free(sh);
}
