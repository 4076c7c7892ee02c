/*
 * hp_link_arcache.h — the archives hotpatch-link has found to hold no bitcode, remembered between links
 * (lld-pass/README.md, "The archive cache"): a MinGW link names about 10 MB of system archives with
 * -l, and reading every member's header to find LTO bitcode costs ~1.4 ms a link for files that do not
 * change. An archive is known by its device, inode, size and modification and change times (to the
 * nanosecond): any write to it changes the change time, and a forged entry can at worst let bitcode
 * compiled without the plugin reach lld — its exported functions then fail the post-link checks, the
 * others are missing from the table and the map; none is ever listed as patchable.
 *
 * Internal to lld-pass. Not thread-safe (one link, one thread).
 */
#ifndef HP_LINK_ARCACHE_H
#define HP_LINK_ARCACHE_H

#include <stddef.h>
#include <sys/stat.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hp_link_arcache hp_link_arcache;

/** The most entries the file keeps (the newest). */
#define HP_LINK_ARCACHE_MAX 1024u

/**
 * Load the cache kept in directory `dir` (NULL: no cache — every lookup misses, nothing is saved).
 * Never fails on the file: a missing, unreadable or malformed one is an empty cache (rewritten when
 * something is noted). NULL only when out of memory.
 */
hp_link_arcache *hp_link_arcache_load(const char *dir);

/** 1 when the archive `st` describes was found to hold no bitcode, as it is now. */
int hp_link_arcache_clean(hp_link_arcache *c, const struct stat *st);

/** Remember that the archive `st` describes holds no bitcode. */
void hp_link_arcache_note_clean(hp_link_arcache *c, const struct stat *st);

/** Lookups answered from the cache, and archives noted, so far. */
void hp_link_arcache_counts(const hp_link_arcache *c, unsigned *hits, unsigned *noted);

/**
 * Write the cache back when something was noted (the directory is created; a temporary file renamed
 * over the old one, so that concurrent links never read half a file). Returns 0, or -1 when it could
 * not be written (the link goes on: the next one scans again).
 */
int hp_link_arcache_save(hp_link_arcache *c);

/** Free; NULL is a no-op. */
void hp_link_arcache_free(hp_link_arcache *c);

/**
 * The default directory: $XDG_CACHE_HOME/hotpatch, else $HOME/.cache/hotpatch, written into `buf`;
 * NULL when neither variable is set (or the path does not fit).
 */
const char *hp_link_arcache_default_dir(char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_ARCACHE_H */
