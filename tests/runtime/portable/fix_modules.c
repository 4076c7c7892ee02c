/*
 * fix_modules.c — the patch modules of the module tests, one per FIX_* macro,
 * each with a manifest written by hand with the structs of hotpatch_fix.h
 * (what the plugin's fix mode writes for a real fix). RVAs come from the
 * header the build generates from the target image (HPT_RVAS_HEADER:
 * HPT_RVA_<symbol>, hpt_fixfill rvas); identity fields and hashes are left 0
 * and HP_FIX_F_CHECKED unset for the build's fill step (hpt_fixfill fill, as
 * `hotpatch-manifest fill` would) — except where a test wants them wrong.
 *
 *   FIX_LIVE       tgt_add -> x + 1001, tgt_mul -> x * 3 + 1000
 *   FIX_VAR        tgt_bump -> tgt_counter += 2 * x through a SYMBOL slot, returns it + 1000000
 *   FIX_S1         tgt_quote -> PREVIOUS(q) - 7     (two fragments, 16-aligned: zero fill between)
 *   FIX_S2         tgt_quote -> PREVIOUS(q) * 2     (two PREVIOUS slots for tgt_quote; calls the second)
 *   FIX_S3         tgt_quote -> PREVIOUS(q) + 1
 *   FIX_HASH       tgt_add -> x + 1001 (good), tgt_hashed -> 0 with a wrong hash: HP_ERR_HASH
 *   FIX_IDENT      tgt_add -> x + 1001, filled with one identity bit flipped: HP_ERR_IDENTITY
 *   FIX_UNCHECKED  tgt_add -> x + 1001, never filled: HP_ERR_NO_MANIFEST
 *   FIX_OTHER      tgt_add of hpt_other_target, an image never loaded: HP_ERR_TARGET_NOT_LOADED
 *   FIX_ABS        (Windows) tgt_abs -> 61, hashed over the absolute address the loader relocated
 */
#include <stdint.h>

#include "hotpatch_fix.h"

#include HPT_RVAS_HEADER

#if defined(_WIN32)
#define FIX_FORMAT HP_FIX_FORMAT_PE
#if defined(__x86_64__)
#define FIX_MACHINE 0x8664u
#else
#define FIX_MACHINE 0x14Cu
#endif
#else
#define FIX_FORMAT HP_FIX_FORMAT_ELF
#if defined(__x86_64__)
#define FIX_MACHINE 62u
#else
#define FIX_MACHINE 3u
#endif
#endif

#define FIX_SECTION __attribute__((section(HP_FIX_SECTION), used))
#if defined(_WIN32)
#define FIX_API __declspec(dllexport)
#else
#define FIX_API __attribute__((visibility("default")))
#endif
#define FIX_PTR(x) {.p = (const void *)(x)}
#define FIX_HEADER(type, nent, nslot)                                                                     \
    {                                                                                                     \
        .magic = {'H', 'P', 'F', 'I', 'X', 'M', 'A', 'N'}, .version = HP_FIX_VERSION,                     \
        .size = (uint32_t)sizeof(type), .flags = 0, .entry_count = (nent), .slot_count = (nslot),         \
        .format = FIX_FORMAT, .machine = FIX_MACHINE, .target_name = FIX_PTR(HPT_TARGET_FILE),            \
        .unit = FIX_PTR("tests/runtime/portable/fix_modules.c")                                           \
    }
#define FIX_ENTRY_LEN(sym, fn, len, hash_)                                                                \
    {                                                                                                     \
        .name = FIX_PTR(#sym), .replacement = FIX_PTR(fn), .target_rva = HPT_RVA_##sym, .hash_len = (len), \
        .hash = (hash_)                                                                                   \
    }
#define FIX_ENTRY(sym, fn, hash_) FIX_ENTRY_LEN(sym, fn, 6, hash_)
#define FIX_SLOT(label, var, kind_, sym, size_)                                                           \
    {                                                                                                     \
        .name = FIX_PTR(label), .slot = FIX_PTR(&(var)), .kind = (kind_), .target_rva = HPT_RVA_##sym,    \
        .size = (size_)                                                                                   \
    }

#if defined(FIX_LIVE) || defined(FIX_HASH) || defined(FIX_IDENT) || defined(FIX_UNCHECKED) || defined(FIX_OTHER)
static int fix_add(int x)
{
    return x + 1001;
}
#endif

#if defined(FIX_LIVE)
static int fix_mul(int x)
{
    return x * 3 + 1000;
}
struct fix_live {
    hp_fix_header h;
    hp_fix_entry e[2];
};
FIX_SECTION static struct fix_live manifest = {
    FIX_HEADER(struct fix_live, 2, 0),
    {FIX_ENTRY(tgt_add, fix_add, 0), FIX_ENTRY(tgt_mul, fix_mul, 0)},
};

#elif defined(FIX_VAR)
static int *counter; /* SYMBOL: the target's file-static tgt_counter */
static int fix_bump(int x)
{
    *counter += 2 * x;
    return *counter + 1000000;
}
struct fix_var {
    hp_fix_header h;
    hp_fix_entry e[1];
    hp_fix_slot s[1];
};
FIX_SECTION static struct fix_var manifest = {
    FIX_HEADER(struct fix_var, 1, 1),
    {FIX_ENTRY(tgt_bump, fix_bump, 0)},
    {FIX_SLOT("fix_target.c:tgt_counter", counter, HP_FIX_SLOT_SYMBOL, tgt_counter, sizeof(int))},
};

#elif defined(FIX_S1)
static int (*prev_quote)(int); /* PREVIOUS: what ran before this module */
static int s1_quote(int q)
{
    return prev_quote(q) - 7;
}
/* two fragments (two translation units' worth); the second 16-aligned, so the linker puts 8 zero
   bytes between them (168 is not a multiple of 16) */
struct fix_s1_a {
    hp_fix_header h;
    hp_fix_entry e[1];
};
struct fix_s1_b {
    hp_fix_header h;
    hp_fix_slot s[1];
};
FIX_SECTION static struct fix_s1_a manifest_a = {
    FIX_HEADER(struct fix_s1_a, 1, 0),
    {FIX_ENTRY(tgt_quote, s1_quote, 0)},
};
FIX_SECTION __attribute__((aligned(16))) static struct fix_s1_b manifest_b = {
    FIX_HEADER(struct fix_s1_b, 0, 1),
    {FIX_SLOT("tgt_quote", prev_quote, HP_FIX_SLOT_PREVIOUS, tgt_quote, 0)},
};

#elif defined(FIX_S2)
static int (*prev_a)(int), (*prev_b)(int); /* two PREVIOUS slots for one function */
static int s2_quote(int q)
{
    return prev_b(q) * 2;
}
FIX_API int hpt_fix_s2_prev_a_set(void); /* for the test: the first slot was filled too */
FIX_API int hpt_fix_s2_prev_a_set(void)
{
    return prev_a == prev_b;
}
struct fix_s2 {
    hp_fix_header h;
    hp_fix_entry e[1];
    hp_fix_slot s[2];
};
FIX_SECTION static struct fix_s2 manifest = {
    FIX_HEADER(struct fix_s2, 1, 2),
    {FIX_ENTRY(tgt_quote, s2_quote, 0)},
    {FIX_SLOT("tgt_quote", prev_a, HP_FIX_SLOT_PREVIOUS, tgt_quote, 0),
     FIX_SLOT("tgt_quote", prev_b, HP_FIX_SLOT_PREVIOUS, tgt_quote, 0)},
};

#elif defined(FIX_S3)
static int (*prev_quote)(int);
static int s3_quote(int q)
{
    return prev_quote(q) + 1;
}
struct fix_s3 {
    hp_fix_header h;
    hp_fix_entry e[1];
    hp_fix_slot s[1];
};
FIX_SECTION static struct fix_s3 manifest = {
    FIX_HEADER(struct fix_s3, 1, 1),
    {FIX_ENTRY(tgt_quote, s3_quote, 0)},
    {FIX_SLOT("tgt_quote", prev_quote, HP_FIX_SLOT_PREVIOUS, tgt_quote, 0)},
};

#elif defined(FIX_HASH)
static int fix_hashed(int x)
{
    (void)x;
    return 0;
}
struct fix_hash {
    hp_fix_header h;
    hp_fix_entry e[2];
};
FIX_SECTION static struct fix_hash manifest = {
    FIX_HEADER(struct fix_hash, 2, 0),
    {FIX_ENTRY(tgt_add, fix_add, 0), FIX_ENTRY(tgt_hashed, fix_hashed, 0x1111222233334444ull)},
};

#elif defined(FIX_ABS)
static int fix_abs(void)
{
    return 61;
}
struct fix_abs {
    hp_fix_header h;
    hp_fix_entry e[1];
};
/* 20 bytes: the 2-byte NOP and the instructions holding the address (x64: its imm64 ends at +19; x86:
   both imm32 at +3 and +10) */
FIX_SECTION static struct fix_abs manifest = {
    FIX_HEADER(struct fix_abs, 1, 0),
    {FIX_ENTRY_LEN(tgt_abs, fix_abs, 20, 0)},
};

#elif defined(FIX_IDENT) || defined(FIX_UNCHECKED) || defined(FIX_OTHER)
struct fix_one {
    hp_fix_header h;
    hp_fix_entry e[1];
};
FIX_SECTION static struct fix_one manifest = {
    FIX_HEADER(struct fix_one, 1, 0),
    {FIX_ENTRY(tgt_add, fix_add, 0)},
};

#else
#error "define one FIX_* (see the header)"
#endif
