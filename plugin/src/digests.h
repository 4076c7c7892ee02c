/*
 * digests.h — the code digests the plugin adds to the objects it compiles (plugin/README.md,
 * "Code digests in the object"; the section: lld-pass/include/hp_link_carry.h).
 */
#ifndef HP_PLUGIN_DIGESTS_H
#define HP_PLUGIN_DIGESTS_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Add the code digests to the object `path` once the compiler has written it: when the process
 * exits, if the file was written since this call (a failed compile leaves nothing, or an older
 * file, which is not touched). Nothing is written for an object that is not COFF or names no unit;
 * a failure is a warning on stderr (the link computes the digests itself then).
 */
void hp_plugin_carry_digests(const char *path);

#ifdef __cplusplus
}
#endif

#endif /* HP_PLUGIN_DIGESTS_H */
