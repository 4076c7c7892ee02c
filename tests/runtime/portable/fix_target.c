/*
 * fix_target.c — the image the patch-module tests patch: hpt_fix_target.dll /
 * libhpt_fix_target.so (and, built with HPT_OTHER, hpt_other_target: another
 * image the tests never load). Its functions have the plugin's site, made
 * with clang's patchable_function_entry as in fixtures_nop.c (6 bytes of
 * padding, `66 90` entry); the ELF build is linked with --build-id.
 *
 *   tgt_add(x)   = x + 1        fix_live: x + 1001
 *   tgt_mul(x)   = x * 3        fix_live: x * 3 + 1000
 *   tgt_bump(x)  : tgt_counter += x, returns it     fix_var: += 2 * x through a SYMBOL slot
 *   tgt_counter_get() = tgt_counter (a file-static variable; never patched)
 *   tgt_quote(q) = q * 100      fix_s1: PREVIOUS(q) - 7; fix_s2: PREVIOUS(q) * 2; fix_s3: PREVIOUS(q) + 1
 *   tgt_hashed(x) = x - 5       fix_hash: its manifest carries a wrong hash
 *   tgt_abs()    = 60           Windows only: its code holds tgt_counter's absolute address (a base
 *                               relocation in .text; the image is linked at the program's own base, so
 *                               the loader must relocate it); fix_abs: 61
 */
#if defined(_WIN32)
#define TGT_API __declspec(dllexport)
#else
#define TGT_API __attribute__((visibility("default")))
#endif
#define TGT_SITE __attribute__((patchable_function_entry(8, 6), noinline))

#if defined(HPT_OTHER)
#define TGT_ADD_ONE 2 /* another build: other bytes, another build-id */
#else
#define TGT_ADD_ONE 1
#endif

TGT_API int tgt_add(int x);
TGT_API int tgt_mul(int x);
TGT_API int tgt_bump(int x);
TGT_API int tgt_counter_get(void);
TGT_API int tgt_quote(int q);
TGT_API int tgt_hashed(int x);

static int tgt_counter;

TGT_API TGT_SITE int tgt_add(int x)
{
    return x + TGT_ADD_ONE;
}

TGT_API TGT_SITE int tgt_mul(int x)
{
    return x * 3;
}

TGT_API TGT_SITE int tgt_bump(int x)
{
    tgt_counter += x;
    return tgt_counter;
}

TGT_API TGT_SITE int tgt_counter_get(void)
{
    return tgt_counter;
}

TGT_API TGT_SITE int tgt_quote(int q)
{
    return q * 100;
}

TGT_API TGT_SITE int tgt_hashed(int x)
{
    return x - 5;
}

#if defined(_WIN32)
TGT_API int tgt_abs(void);

TGT_API TGT_SITE int tgt_abs(void)
{
    int *p;
#if defined(__x86_64__)
    __asm__("movabsq %1, %0" : "=r"(p) : "i"(&tgt_counter)); /* DIR64 fixup */
#else
    __asm__("movl %1, %0" : "=r"(p) : "i"(&tgt_counter)); /* HIGHLOW fixup */
#endif
    return p == &tgt_counter ? 60 : 0;
}
#endif
