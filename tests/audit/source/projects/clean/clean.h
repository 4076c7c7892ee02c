/* clean.h — the public header of the clean fixture: declarations only, no exported body. */
#ifndef CLEAN_H
#define CLEAN_H

#ifdef CLEAN_BUILDING
#define CLEAN_API __declspec(dllexport)
#else
#define CLEAN_API __declspec(dllimport)
#endif

CLEAN_API int clean_open(const char *name);
CLEAN_API void clean_close(int handle);
CLEAN_API int clean_version(void);

/* Inline, but not exported: each includer has its own copy, and nobody patches it through the DLL. */
static inline int clean_clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

#endif
