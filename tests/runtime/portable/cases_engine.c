/*
 * cases_engine.c — hp_probe / hp_apply / hp_remove / hp_retarget / hp_original /
 * hp_lookup, and hp_version. Expected bytes and values come from the protocol
 * (README.md, "The runtime (libhotpatch)") and the fixtures' meaning
 * (fixtures.h), never from running the engine.
 */
#include "hp_test.h"
#include "cases.h"
#include "fixtures.h"

#if defined(__x86_64__) || defined(_M_X64)
#define HP_X64 1
#else
#define HP_X64 0
#endif

typedef int (*fn_int)(int);
typedef int (*fn_void)(void);
typedef uintptr_t (*fn_uptr)(void);

#define FP(f) ((void *)(uintptr_t)(f))
#define BYTES(f) code_bytes((uintptr_t)(f))

/* The bytes of a function, also before its entry: through an integer the compiler cannot trace
   (GCC would otherwise object to reading before a function's first byte). */
static const uint8_t *code_bytes(uintptr_t f)
{
    volatile uintptr_t a = f;
    return (const uint8_t *)a;
}

/* Bytes [E-32, E+16) of a function, for "nothing was written" checks. */
typedef struct snap {
    uint8_t b[48];
} snap;

static snap take(const void *f)
{
    snap s;
    memcpy(s.b, code_bytes((uintptr_t)f) - 32, sizeof s.b);
    return s;
}

static int same(const snap *a, const void *f)
{
    snap b = take(f);
    return memcmp(a->b, b.b, sizeof b.b) == 0;
}

/* Replacements */
static int rep_add1000(int x) { return x + 1000; }
static int rep_add2000(int x) { return x + 2000; }
static int rep_const_7(void) { return 7; }

/* ------------------------------------------------------------------------- */

void case_engine_probe_accepts_nop_site(void)
{
    hp_site s;
    memset(&s, 0xA5, sizeof s);
    snap before = take(FP(fx_nop6_1));
    HP_CHECK_ST(hp_probe(FP(fx_nop6_1), &s), HP_OK);
    HP_CHECK(s.reason == HP_SITE_OK, "reason %d", (int)s.reason);
    HP_CHECK(s.machine == hp_host_machine(), "machine %d", (int)s.machine);
    HP_CHECK(s.pad_found >= 6, "pad_found %u", (unsigned)s.pad_found);
    HP_CHECK(s.entry_len == 2, "entry_len %u", (unsigned)s.entry_len);
    HP_CHECK(s.site_offset == 0, "site_offset %u", (unsigned)s.site_offset);
    HP_CHECK(s.flags & HP_SITE_F_ENTRY_NOP, "flags %x", (unsigned)s.flags);
    HP_CHECK(s.entry_bytes[0] == 0x66 && s.entry_bytes[1] == 0x90, "entry %x %x", s.entry_bytes[0],
             s.entry_bytes[1]);
    HP_CHECK(same(&before, FP(fx_nop6_1)), "probe wrote");
    HP_CHECK_ST(hp_probe(FP(fx_hot_add), NULL), HP_OK);
}

void case_engine_probe_refusals(void)
{
    hp_site s;
    HP_CHECK_ST(hp_probe(NULL, &s), HP_ERR_ARGUMENT);
    HP_CHECK_ST(hp_probe(FP(fx_short), &s), HP_ERR_NOT_PATCHABLE);
    HP_CHECK(s.reason == HP_SITE_ENTRY_SHORT, "fx_short reason %s", hp_site_reason_str(s.reason));
    HP_CHECK_ST(hp_probe(FP(fx_nopad), &s), HP_ERR_NOT_PATCHABLE);
    HP_CHECK(s.reason == HP_SITE_PADDING_SHORT || s.reason == HP_SITE_PADDING_NOT_FILLER,
             "fx_nopad reason %s", hp_site_reason_str(s.reason));
    HP_CHECK_ST(hp_probe(FP(fx_cross), &s), HP_ERR_NOT_PATCHABLE);
    HP_CHECK(s.reason == HP_SITE_ENTRY_CROSSES_LINE, "fx_cross reason %s", hp_site_reason_str(s.reason));
    HP_CHECK_ST(hp_probe(FP(fx_redirected), &s), HP_ERR_REDIRECTED);
    HP_CHECK_ST(hp_probe(FP(fx_foreign), &s), HP_ERR_REDIRECTED);
#if HP_X64
    HP_CHECK_ST(hp_probe(FP(fx_pad5), &s), HP_ERR_NOT_PATCHABLE);
    HP_CHECK(s.reason == HP_SITE_PADDING_SHORT || s.reason == HP_SITE_PADDING_NOT_FILLER, "fx_pad5 reason %s",
             hp_site_reason_str(s.reason));
#else
    HP_CHECK_ST(hp_probe(FP(fx_pad5), &s), HP_OK);
#endif
    /* not code: a data object (ret bytes, so that an emulator that hides execute permission,
       qemu-user, still refuses it: as not patchable) */
    static const uint8_t data[64] = {0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3,
                                     0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3,
                                     0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3,
                                     0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3};
    hp_status dst = hp_probe(data + 32, &s);
    HP_CHECK(dst == HP_ERR_ARGUMENT || dst == HP_ERR_NOT_PATCHABLE, "data: %s", hp_status_str(dst));
}

void case_engine_refusals_write_nothing(void)
{
    struct {
        const char *name;
        void *f;
        hp_status want;
    } t[] = {
        {"fx_short", FP(fx_short), HP_ERR_NOT_PATCHABLE},
        {"fx_nopad", FP(fx_nopad), HP_ERR_NOT_PATCHABLE},
        {"fx_cross", FP(fx_cross), HP_ERR_NOT_PATCHABLE},
        {"fx_redirected", FP(fx_redirected), HP_ERR_REDIRECTED},
        {"fx_foreign", FP(fx_foreign), HP_ERR_REDIRECTED},
        {"fx_jrcxz", FP(fx_jrcxz), HP_ERR_RELOCATE},
#if HP_X64
        {"fx_pad5", FP(fx_pad5), HP_ERR_NOT_PATCHABLE},
#endif
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        snap before = take(t[i].f);
        void *orig = (void *)1;
        hp_patch *p = (hp_patch *)1;
        hp_status st = hp_apply(t[i].f, FP(rep_const_7), &orig, &p);
        HP_CHECK(st == t[i].want, "%s: %s, want %s", t[i].name, hp_status_str(st), hp_status_str(t[i].want));
        HP_CHECK(same(&before, t[i].f), "%s: bytes changed", t[i].name);
        HP_CHECK(orig == (void *)1 && p == (hp_patch *)1, "%s: out pointers written", t[i].name);
    }
    HP_CHECK(fx_short() == 42, "fx_short");
    HP_CHECK(fx_nopad() == 43, "fx_nopad");
    HP_CHECK(fx_redirected() == 43, "fx_redirected");
    HP_CHECK(fx_jrcxz() == 45, "fx_jrcxz");
    HP_CHECK(fx_cross() == 47, "fx_cross");
}

void case_engine_argument_errors(void)
{
    hp_patch *p = NULL;
    HP_CHECK_ST(hp_apply(NULL, FP(rep_add1000), NULL, &p), HP_ERR_ARGUMENT);
    HP_CHECK_ST(hp_apply(FP(fx_nop6_1), NULL, NULL, &p), HP_ERR_ARGUMENT);
    HP_CHECK_ST(hp_apply(FP(fx_nop6_1), FP(fx_nop6_1), NULL, &p), HP_ERR_ARGUMENT);
    HP_CHECK(p == NULL, "handle written on failure");
    HP_CHECK_ST(hp_remove(NULL), HP_ERR_ARGUMENT);
    HP_CHECK_ST(hp_retarget(NULL, FP(rep_add1000)), HP_ERR_ARGUMENT);
    HP_CHECK(hp_original(NULL) == NULL, "hp_original(NULL)");
    HP_CHECK_ST(hp_txn_begin(NULL), HP_ERR_ARGUMENT);
    HP_CHECK_ST(hp_txn_commit(NULL), HP_ERR_ARGUMENT);
    HP_CHECK_ST(hp_txn_apply(NULL, FP(fx_nop6_1), FP(rep_add1000), NULL, NULL), HP_ERR_ARGUMENT);
    HP_CHECK_ST(hp_txn_remove(NULL, NULL), HP_ERR_ARGUMENT);
    /* a valid patch, then a NULL replacement for retarget */
    HP_CHECK_ST(hp_apply(FP(fx_nop6_1), FP(rep_add1000), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_retarget(p, NULL), HP_ERR_ARGUMENT);
    HP_CHECK(fx_nop6_1(1) == 1001, "still redirected");
    HP_CHECK_ST(hp_remove(p), HP_OK);
}

void case_engine_apply_remove_nop_entry(void)
{
    const uint8_t *e = BYTES(fx_nop6_1);
    void *orig = NULL;
    hp_patch *p = NULL;
    HP_CHECK(fx_nop6_1(5) == 6, "before");
    HP_CHECK_ST(hp_apply(FP(fx_nop6_1), FP(rep_add1000), &orig, &p), HP_OK);
    HP_CHECK(p != NULL && orig != NULL, "out pointers");
    HP_CHECK(fx_nop6_1(5) == 1005, "redirected: %d", fx_nop6_1(5));
    HP_CHECK(hp_original(p) == orig, "hp_original == out_original");
    /* a NOP entry's original is the entry + 2 */
    HP_CHECK(orig == (void *)(e + 2), "original %p, entry+2 %p", orig, (const void *)(e + 2));
    HP_CHECK(((fn_int)(uintptr_t)orig)(5) == 6, "original behaviour");
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(fx_nop6_1(5) == 6, "restored: %d", fx_nop6_1(5));
    HP_CHECK(e[0] == 0x66 && e[1] == 0x90, "entry bytes restored: %x %x", e[0], e[1]);
    HP_CHECK(((fn_int)(uintptr_t)orig)(5) == 6, "original still callable after remove");
}

void case_engine_padding_and_entry_bytes(void)
{
    hp_patch *p = NULL;
    const uint8_t *e = BYTES(fx_nop6_2);
    HP_CHECK_ST(hp_apply(FP(fx_nop6_2), FP(rep_add1000), NULL, &p), HP_OK);
    /* 6 bytes of padding: FF 25 xx xx xx xx at E-6 (x64: [rip+disp32] -> slot; x86: [abs32]),
       entry EB F8 = jmp short E-6 */
    HP_CHECK(e[-6] == 0xFF && e[-5] == 0x25, "padding jump %x %x", e[-6], e[-5]);
    HP_CHECK(e[0] == 0xEB && e[1] == 0xF8, "entry %x %x", e[0], e[1]);
    HP_CHECK(fx_nop6_2(1) == 1001, "redirected");
    HP_CHECK_ST(hp_remove(p), HP_OK);

    e = BYTES(fx_nop16);
    HP_CHECK_ST(hp_apply(FP(fx_nop16), FP(rep_add2000), NULL, &p), HP_OK);
#if HP_X64
    /* 16 bytes of padding, E-8 8-aligned: FF 25 00000000 + abs64 at E-14; entry EB F0 = jmp E-14 */
    {
        static const uint8_t jmp_rip0[6] = {0xFF, 0x25, 0, 0, 0, 0};
        uint64_t abs;
        memcpy(&abs, e - 8, 8);
        HP_CHECK(memcmp(e - 14, jmp_rip0, 6) == 0, "inline form instruction");
        HP_CHECK(abs == (uint64_t)(uintptr_t)rep_add2000, "inline slot %llx", (unsigned long long)abs);
        HP_CHECK(e[0] == 0xEB && e[1] == 0xF0, "entry %x %x", e[0], e[1]);
    }
#else
    HP_CHECK(e[-6] == 0xFF && e[-5] == 0x25 && e[0] == 0xEB && e[1] == 0xF8, "x86 absolute form");
#endif
    HP_CHECK(fx_nop16(3) == 2003, "redirected: %d", fx_nop16(3));
    HP_CHECK_ST(hp_retarget(p, FP(rep_add1000)), HP_OK);
    HP_CHECK(fx_nop16(3) == 1003, "retargeted: %d", fx_nop16(3));
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(fx_nop16(3) == 6, "restored");
}

void case_engine_already_patched_and_stale(void)
{
    hp_patch *p = NULL, *q = NULL;
    HP_CHECK_ST(hp_apply(FP(fx_nop6_3), FP(rep_add1000), NULL, &p), HP_OK);
    snap s = take(FP(fx_nop6_3));
    HP_CHECK_ST(hp_apply(FP(fx_nop6_3), FP(rep_add2000), NULL, &q), HP_ERR_ALREADY_PATCHED);
    HP_CHECK(q == NULL, "handle written on failure");
    HP_CHECK(same(&s, FP(fx_nop6_3)), "bytes changed by a refused apply");
    hp_site site;
    HP_CHECK_ST(hp_probe(FP(fx_nop6_3), &site), HP_ERR_ALREADY_PATCHED);
    HP_CHECK(site.reason == HP_SITE_PATCHED, "probe reason %s", hp_site_reason_str(site.reason));
    HP_CHECK(fx_nop6_3(0) == 1000, "first redirection kept");
    HP_CHECK_ST(hp_remove(p), HP_OK);
    /* p is freed: the runtime recognises the stale pointer without dereferencing it */
    HP_CHECK_ST(hp_remove(p), HP_ERR_STALE_HANDLE);
    HP_CHECK_ST(hp_retarget(p, FP(rep_add2000)), HP_ERR_STALE_HANDLE);
    HP_CHECK(fx_nop6_3(0) == 3, "restored");
    HP_CHECK_ST(hp_probe(FP(fx_nop6_3), &site), HP_OK);
    HP_CHECK(site.reason == HP_SITE_PREVIOUSLY_PATCHED, "probe reason %s", hp_site_reason_str(site.reason));
}

void case_engine_retarget(void)
{
    hp_patch *p = NULL;
    HP_CHECK_ST(hp_apply(FP(fx_nop6_4), FP(rep_add1000), NULL, &p), HP_OK);
    snap s = take(FP(fx_nop6_4));
    HP_CHECK_ST(hp_retarget(p, FP(rep_add2000)), HP_OK);
    HP_CHECK(fx_nop6_4(1) == 2001, "retargeted: %d", fx_nop6_4(1));
    /* the slot lives outside the code (6-byte padding): code bytes unchanged by a retarget */
    HP_CHECK(same(&s, FP(fx_nop6_4)), "retarget changed code bytes");
    HP_CHECK_ST(hp_retarget(p, FP(rep_add1000)), HP_OK);
    HP_CHECK(fx_nop6_4(1) == 1001, "retargeted back");
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(fx_nop6_4(1) == 5, "restored");
}

void case_engine_reapply_reuses_padding(void)
{
    hp_patch *p = NULL;
    void *o1 = NULL, *o2 = NULL;
    HP_CHECK_ST(hp_apply(FP(fx_hot_add), FP(rep_add1000), &o1, &p), HP_OK);
    HP_CHECK_ST(hp_remove(p), HP_OK);
    snap s = take(FP(fx_hot_add));
    HP_CHECK_ST(hp_apply(FP(fx_hot_add), FP(rep_add2000), &o2, &p), HP_OK);
    HP_CHECK(o1 == o2, "trampoline not reused: %p %p", o1, o2);
    snap t = take(FP(fx_hot_add));
    /* only the two entry bytes differ: the padding jump was not rewritten */
    HP_CHECK(memcmp(s.b, t.b, 32) == 0, "padding rewritten");
    HP_CHECK(memcmp(s.b + 34, t.b + 34, sizeof s.b - 34) == 0, "bytes after the entry changed");
    fx_hot_global = 0;
    HP_CHECK(fx_hot_add(1) == 2001, "redirected to the new replacement: %d", fx_hot_add(1));
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(same(&s, FP(fx_hot_add)), "remove did not restore exactly");
}

static void *g_orig_nop;
static int wrap_nop(int x)
{
    return ((fn_int)(uintptr_t)g_orig_nop)(x) * 10;
}

void case_engine_original_from_replacement_nop(void)
{
    hp_patch *p = NULL;
    HP_CHECK_ST(hp_apply(FP(fx_nop6_2), FP(wrap_nop), &g_orig_nop, &p), HP_OK);
    HP_CHECK(fx_nop6_2(3) == 50, "(3 + 2) * 10: %d", fx_nop6_2(3));
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(fx_nop6_2(3) == 5, "restored");
}

static void *g_orig_add, *g_orig_store;
static int wrap_add(int x)
{
    return ((fn_int)(uintptr_t)g_orig_add)(x) + 100;
}
static int wrap_store(int x)
{
    return ((fn_int)(uintptr_t)g_orig_store)(x) + 1;
}

void case_engine_original_from_replacement_hot(void)
{
    hp_patch *pa = NULL, *ps = NULL;
    hp_site s;
    HP_CHECK_ST(hp_probe(FP(fx_hot_store), &s), HP_OK);
    HP_CHECK(!(s.flags & HP_SITE_F_ENTRY_NOP) && s.entry_len >= 2, "not a NOP entry: flags %x len %u",
             (unsigned)s.flags, (unsigned)s.entry_len);
    HP_CHECK_ST(hp_apply(FP(fx_hot_add), FP(wrap_add), &g_orig_add, &pa), HP_OK);
    HP_CHECK_ST(hp_apply(FP(fx_hot_store), FP(wrap_store), &g_orig_store, &ps), HP_OK);
    /* a trampoline, not entry + 2 */
    HP_CHECK(g_orig_add != (void *)(BYTES(fx_hot_add) + 2), "hot original is entry+2");
    fx_hot_global = 5;
    HP_CHECK(fx_hot_add(1) == 106, "1 + 5 + 100: %d", fx_hot_add(1));
    HP_CHECK(fx_hot_store(33) == 8, "7 + 1: %d", fx_hot_store(33));
    /* the relocated first instruction stored to the real global (RIP-relative on x64) */
    HP_CHECK(fx_hot_global == 33, "global %d", fx_hot_global);
    HP_CHECK_ST(hp_remove(pa), HP_OK);
    HP_CHECK_ST(hp_remove(ps), HP_OK);
    HP_CHECK(fx_hot_store(12) == 7 && fx_hot_global == 12, "restored");
    HP_CHECK(((fn_int)(uintptr_t)g_orig_store)(9) == 7 && fx_hot_global == 9, "trampoline after remove");
    fx_hot_global = 0;
}

void case_engine_endbr_sites(void)
{
    hp_patch *p = NULL;
    void *orig = NULL;
    hp_site s;
    const uint8_t *e = BYTES(fx_endbr);
    HP_CHECK_ST(hp_probe(FP(fx_endbr), &s), HP_OK);
    HP_CHECK(s.site_offset == 4 && (s.flags & HP_SITE_F_ENDBR), "site after endbr: offset %u flags %x",
             (unsigned)s.site_offset, (unsigned)s.flags);
    HP_CHECK_ST(hp_apply(FP(fx_endbr), FP(rep_const_7), &orig, &p), HP_OK);
    HP_CHECK(fx_endbr() == 7, "redirected");
    HP_CHECK(e[0] == 0xF3 && e[1] == 0x0F && e[2] == 0x1E, "endbr kept");
    /* EB F4: from E+6 back to E-6, the padding jump */
    HP_CHECK(e[4] == 0xEB && e[5] == 0xF4, "site %x %x", e[4], e[5]);
    /* an indirect call to the original must land on endbr */
    const uint8_t *o = orig;
    HP_CHECK(o[0] == 0xF3 && o[1] == 0x0F && o[2] == 0x1E, "original starts with endbr");
    HP_CHECK(((fn_void)(uintptr_t)orig)() == 46, "original");
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(fx_endbr() == 46, "restored");

    HP_CHECK_ST(hp_apply(FP(fx_endbr_hot), FP(rep_const_7), &orig, &p), HP_OK);
    HP_CHECK(fx_endbr_hot() == 7, "redirected");
    HP_CHECK(((fn_void)(uintptr_t)orig)() == 49, "relocated original");
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(fx_endbr_hot() == 49, "restored");
}

void case_engine_relocated_call_keeps_return(void)
{
    hp_patch *p = NULL;
    void *orig = NULL;
    uintptr_t want = (uintptr_t)fx_callnext + 5;
    HP_CHECK(fx_callnext() == want, "fixture");
    HP_CHECK_ST(hp_apply(FP(fx_callnext), FP(rep_const_7), &orig, &p), HP_OK);
    HP_CHECK(fx_callnext() == 7, "redirected");
    HP_CHECK(((fn_uptr)(uintptr_t)orig)() == want, "relocated call returns into the original: %lx",
             (unsigned long)((fn_uptr)(uintptr_t)orig)());
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(fx_callnext() == want, "restored");
}

void case_engine_padding_of_five(void)
{
#if HP_X64
    HP_CHECK_ST(hp_apply(FP(fx_pad5), FP(rep_const_7), NULL, NULL), HP_ERR_NOT_PATCHABLE);
#else
    hp_patch *p = NULL;
    const uint8_t *e = BYTES(fx_pad5);
    HP_CHECK_ST(hp_apply(FP(fx_pad5), FP(rep_const_7), NULL, &p), HP_OK);
    /* E9 rel32 at E-5 (to a thunk), entry EB F9 = jmp short E-5 */
    HP_CHECK(e[-5] == 0xE9 && e[0] == 0xEB && e[1] == 0xF9, "thunk form %x / %x %x", e[-5], e[0], e[1]);
    HP_CHECK(fx_pad5() == 7, "redirected");
    HP_CHECK_ST(hp_retarget(p, FP(fx_short)), HP_OK);
    HP_CHECK(fx_pad5() == 42, "retargeted");
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(fx_pad5() == 48, "restored");
#endif
}

void case_engine_lookup(void)
{
    hp_patch *p = NULL, *found = (hp_patch *)1;
    static const uint8_t data[16] = {0xC3};

    /* argument errors: nothing is looked up, the out pointer is not written */
    HP_CHECK_ST(hp_lookup(NULL, &found), HP_ERR_ARGUMENT);
    HP_CHECK(found == (hp_patch *)1, "out pointer written on an argument error");
    HP_CHECK_ST(hp_lookup(FP(fx_nop6_2), NULL), HP_ERR_ARGUMENT);

    /* not redirected: a patchable function, one the rules refuse, data */
    HP_CHECK_ST(hp_lookup(FP(fx_nop6_2), &found), HP_ERR_NOT_PATCHED);
    HP_CHECK(found == NULL, "out pointer not cleared: %p", (void *)found);
    HP_CHECK_ST(hp_lookup(FP(fx_short), &found), HP_ERR_NOT_PATCHED);
    HP_CHECK_ST(hp_lookup(data, &found), HP_ERR_NOT_PATCHED);

    /* found after apply: the handle hp_apply handed out, also after a retarget */
    HP_CHECK_ST(hp_apply(FP(fx_nop6_2), FP(rep_add1000), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_lookup(FP(fx_nop6_2), &found), HP_OK);
    HP_CHECK(found == p, "lookup %p, apply %p", (void *)found, (void *)p);
    HP_CHECK_ST(hp_retarget(p, FP(rep_add2000)), HP_OK);
    HP_CHECK_ST(hp_lookup(FP(fx_nop6_2), &found), HP_OK);
    HP_CHECK(found == p, "after retarget: lookup %p, apply %p", (void *)found, (void *)p);

    /* not found after remove */
    HP_CHECK_ST(hp_remove(p), HP_OK);
    found = (hp_patch *)1;
    HP_CHECK_ST(hp_lookup(FP(fx_nop6_2), &found), HP_ERR_NOT_PATCHED);
    HP_CHECK(found == NULL, "out pointer not cleared after remove: %p", (void *)found);

    /* a patch applied without out_patch: the looked-up handle retargets and removes it */
    HP_CHECK_ST(hp_apply(FP(fx_nop6_2), FP(rep_add1000), NULL, NULL), HP_OK);
    HP_CHECK(fx_nop6_2(1) == 1001, "redirected: %d", fx_nop6_2(1));
    found = NULL;
    HP_CHECK_ST(hp_lookup(FP(fx_nop6_2), &found), HP_OK);
    HP_CHECK(found != NULL, "no handle");
    /* a NOP entry's original is the entry + 2 */
    HP_CHECK(hp_original(found) == (void *)(BYTES(fx_nop6_2) + 2), "original %p", hp_original(found));
    HP_CHECK_ST(hp_retarget(found, FP(rep_add2000)), HP_OK);
    HP_CHECK(fx_nop6_2(1) == 2001, "retargeted: %d", fx_nop6_2(1));
    HP_CHECK_ST(hp_remove(found), HP_OK);
    HP_CHECK(fx_nop6_2(1) == 3, "restored: %d", fx_nop6_2(1));
    HP_CHECK_ST(hp_lookup(FP(fx_nop6_2), &found), HP_ERR_NOT_PATCHED);

    /* the same through a transaction, removed through one */
    hp_txn *t = NULL;
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_nop6_2), FP(rep_add1000), NULL, NULL), HP_OK);
    HP_CHECK_ST(hp_lookup(FP(fx_nop6_2), &found), HP_ERR_NOT_PATCHED); /* not before the commit */
    HP_CHECK_ST(hp_txn_commit(t), HP_OK);
    HP_CHECK_ST(hp_lookup(FP(fx_nop6_2), &found), HP_OK);
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_remove(t, found), HP_OK);
    HP_CHECK_ST(hp_txn_commit(t), HP_OK);
    HP_CHECK(fx_nop6_2(1) == 3, "restored by the transaction: %d", fx_nop6_2(1));
    HP_CHECK_ST(hp_lookup(FP(fx_nop6_2), &found), HP_ERR_NOT_PATCHED);
}

/* The decimal number at *s (advancing past it); -1 when there is none. */
static long take_number(const char **s)
{
    long v = -1;
    for (; **s >= '0' && **s <= '9'; (*s)++)
        v = (v < 0 ? 0 : v * 10) + (**s - '0');
    return v;
}

void case_engine_version(void)
{
    const char *v = hp_version();
    HP_CHECK(v != NULL, "hp_version() is NULL");
    if (v == NULL)
        return;
    /* the string is the header's HP_VERSION_STRING, "major.minor.patch" */
    const char *want = HP_VERSION_STRING;
    size_t i = 0;
    while (v[i] != 0 && v[i] == want[i])
        i++;
    HP_CHECK(v[i] == 0 && want[i] == 0, "hp_version() \"%s\", header \"%s\"", v, want);
    const char *c = v;
    long major = take_number(&c), minor = -1, patch = -1;
    if (*c == '.') {
        c++;
        minor = take_number(&c);
    }
    if (*c == '.') {
        c++;
        patch = take_number(&c);
    }
    HP_CHECK(*c == 0 && major == HP_VERSION_MAJOR && minor == HP_VERSION_MINOR && patch == HP_VERSION_PATCH,
             "\"%s\" is not %d.%d.%d", v, HP_VERSION_MAJOR, HP_VERSION_MINOR, HP_VERSION_PATCH);
    /* the number orders like the version: major, minor, patch from the high byte down */
    uint32_t n = hp_version_number();
    HP_CHECK(n == HP_VERSION_NUMBER, "hp_version_number() %lx, header %lx", (unsigned long)n,
             (unsigned long)HP_VERSION_NUMBER);
    HP_CHECK(n >> 16 == (uint32_t)major && ((n >> 8) & 0xFFu) == (uint32_t)minor && (n & 0xFFu) == (uint32_t)patch,
             "%lx does not encode %ld.%ld.%ld", (unsigned long)n, major, minor, patch);
}

/* hp_probe of a site this runtime patched answers from its record: the analysis made when it was
   first patched (6 bytes of NOP padding, a 2-byte NOP entry), not the padding jump it sees now. */
void case_engine_probe_of_our_site_from_record(void)
{
    hp_patch *p = NULL;
    hp_site s, first;
    const uint8_t *e = BYTES(fx_nop6_1);
    HP_CHECK_ST(hp_apply(FP(fx_nop6_1), FP(rep_add1000), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_remove(p), HP_OK);
    /* removed: the padding holds the runtime's jump, the entry is the original */
    HP_CHECK(e[-6] == 0xFF && e[-5] == 0x25 && e[0] == 0x66 && e[1] == 0x90, "bytes after remove");
    HP_CHECK_ST(hp_probe(FP(fx_nop6_1), &first), HP_OK);
    HP_CHECK(first.reason == HP_SITE_PREVIOUSLY_PATCHED, "reason %s", hp_site_reason_str(first.reason));
    HP_CHECK(first.pad_found >= 6 && first.entry_len == 2 && (first.flags & HP_SITE_F_ENTRY_NOP) &&
                 first.site_offset == 0 && first.entry_bytes[0] == 0x66 && first.entry_bytes[1] == 0x90,
             "the first analysis: pad_found %u entry_len %u flags %x", (unsigned)first.pad_found,
             (unsigned)first.entry_len, (unsigned)first.flags);
    /* patched: the entry's short jump into the padding, described as the rules describe it */
    HP_CHECK_ST(hp_apply(FP(fx_nop6_1), FP(rep_add2000), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_probe(FP(fx_nop6_1), &s), HP_ERR_ALREADY_PATCHED);
    HP_CHECK(s.reason == HP_SITE_PATCHED && s.entry_len == 2 && s.entry_bytes[0] == 0xEB && s.entry_bytes[1] == 0xF8 &&
                 s.jump_target == 0 && !(s.flags & HP_SITE_F_ENTRY_NOP),
             "patched: %s len %u bytes %x %x", hp_site_reason_str(s.reason), (unsigned)s.entry_len, s.entry_bytes[0],
             s.entry_bytes[1]);
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK_ST(hp_probe(FP(fx_nop6_1), &s), HP_OK);
    HP_CHECK(s.reason == first.reason && s.pad_found == first.pad_found && s.entry_len == first.entry_len &&
                 s.flags == first.flags && s.entry_bytes[0] == first.entry_bytes[0] &&
                 s.entry_bytes[1] == first.entry_bytes[1],
             "a second probe differs from the first");
}

/* The slot a padding jump reads (x64: FF 25 disp32 at E-6 -> E + disp32; x86: FF 25 abs32). */
static void *slot_of(const void *f)
{
    const uint8_t *e = code_bytes((uintptr_t)f);
    int32_t d;
    memcpy(&d, e - 4, 4);
#if HP_X64
    return (void *)(e + d);
#else
    return (void *)(uintptr_t)(uint32_t)d;
#endif
}

/* A re-apply with the replacement the slot already holds writes no slot: the slot page's protection
   is not touched (it is set to read/write here, which an engine that changed it would have put back
   to read-only). Another replacement writes the slot, through the page batch. */
void case_engine_same_replacement_leaves_slot_page(void)
{
    hp_patch *p = NULL;
    HP_CHECK_ST(hp_apply(FP(fx_nop6_4), FP(rep_add1000), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_remove(p), HP_OK);
    void *slot = slot_of(FP(fx_nop6_4));
    uintptr_t held;
    memcpy(&held, slot, sizeof held);
    HP_CHECK(held == (uintptr_t)rep_add1000, "the slot holds %lx", (unsigned long)held);
    HP_CHECK(hp_test_page_prot(slot) == HP_TEST_R, "slot page protection %x", hp_test_page_prot(slot));
    HP_CHECK(hp_test_set_page_prot(slot, HP_TEST_R | HP_TEST_W), "slot page to read/write");

    HP_CHECK_ST(hp_apply(FP(fx_nop6_4), FP(rep_add1000), NULL, &p), HP_OK);
    HP_CHECK(fx_nop6_4(1) == 1001, "redirected: %d", fx_nop6_4(1));
    HP_CHECK(hp_test_page_prot(slot) == (HP_TEST_R | HP_TEST_W), "the slot page was changed: %x",
             hp_test_page_prot(slot));
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(hp_test_page_prot(slot) == (HP_TEST_R | HP_TEST_W), "remove changed the slot page");

    /* another replacement: the slot is written, and its page ends as the runtime keeps it */
    HP_CHECK_ST(hp_apply(FP(fx_nop6_4), FP(rep_add2000), NULL, &p), HP_OK);
    HP_CHECK(fx_nop6_4(1) == 2001, "redirected: %d", fx_nop6_4(1));
    HP_CHECK(hp_test_page_prot(slot) == HP_TEST_R, "slot page after a write: %x", hp_test_page_prot(slot));
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(fx_nop6_4(1) == 5, "restored");
}

/* An entry of a jump table (E9 entries back to back, as incremental linking makes them): on Windows
   the engine follows it to the function it leads to (HP_SITE_F_THUNK); on Linux nothing is followed
   and it is a jump like any other. */
void case_engine_jump_table_entry(void)
{
    hp_site s;
    hp_patch *p = NULL;
    void *orig = NULL;
    const uint8_t *a = BYTES(fx_ilt_a);
    HP_CHECK(a[0] == 0xE9 && a[5] == 0xE9, "fixture: %x %x", a[0], a[5]);
#if defined(_WIN32)
    HP_CHECK_ST(hp_probe(FP(fx_ilt_a), &s), HP_OK);
    HP_CHECK((s.flags & HP_SITE_F_THUNK) && (s.flags & HP_SITE_F_ENTRY_NOP), "flags %x", (unsigned)s.flags);
    HP_CHECK_ST(hp_apply(FP(fx_ilt_a), FP(rep_const_7), &orig, &p), HP_OK);
    HP_CHECK(fx_ilt_a() == 7 && fx_ilt_fn_a() == 7, "redirected: %d %d", fx_ilt_a(), fx_ilt_fn_a());
    HP_CHECK(orig == (void *)(BYTES(fx_ilt_fn_a) + 2) && ((fn_void)(uintptr_t)orig)() == 50, "original");
    HP_CHECK(a[0] == 0xE9 && fx_ilt_b() == 51, "the table was written");
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(fx_ilt_a() == 50, "restored");
#else
    (void)p;
    (void)orig;
    HP_CHECK_ST(hp_probe(FP(fx_ilt_a), &s), HP_ERR_REDIRECTED);
    HP_CHECK(s.reason == HP_SITE_REDIRECTED && !(s.flags & HP_SITE_F_THUNK), "%s", hp_site_reason_str(s.reason));
    HP_CHECK_ST(hp_apply(FP(fx_ilt_a), FP(rep_const_7), NULL, NULL), HP_ERR_REDIRECTED);
    HP_CHECK(fx_ilt_a() == 50, "untouched");
#endif
    /* a lone E9 at an entry (fx_redirected: the function after it is not a table entry) stays refused */
    HP_CHECK_ST(hp_probe(FP(fx_redirected), &s), HP_ERR_REDIRECTED);
    HP_CHECK(!(s.flags & HP_SITE_F_THUNK), "followed a lone jump: flags %x", (unsigned)s.flags);
}
