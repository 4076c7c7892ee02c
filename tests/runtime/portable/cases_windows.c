/*
 * cases_windows.c — how Windows code takes addresses, and Windows memory: the
 * engine follows import thunks to the function they lead to, keeps refusing a
 * hook, and changes pages of two allocations in one transaction. Windows
 * programs only (MinGW and freestanding MSVC ABI); hpt_thunk_dll.dll is built
 * with them (thunk_dll.c says what its functions return).
 */
#include "hp_test.h"
#include "cases.h"

#if defined(_WIN32)

typedef int (*fn_int)(int);
#define FP(f) ((void *)(uintptr_t)(f))

/* Declared without __declspec(dllimport): calls and `&` go through this program's import thunks. */
int thk_add(int x);
int thk_hooked(int x);

#define THUNK_DLL "hpt_thunk_dll.dll"

static int rep_add1000(int x) { return x + 1000; }
static int hook_detour(int x) { return x + 7000; }

/* Bytes of code through an integer the compiler cannot trace (cases_engine.c). */
static const uint8_t *code_bytes(const void *f)
{
    volatile uintptr_t a = (uintptr_t)f;
    return (const uint8_t *)a;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* `&thk_add` is the program's import thunk, FF 25 (jmp [__imp_thk_add]); the engine patches the
   function in the DLL it leads to, so calls through the thunk and direct calls are redirected. */
void case_windows_import_thunk_followed(void)
{
    void *thunk = FP(thk_add);
    void *real = hp_test_dll_export(THUNK_DLL, "thk_add");
    const uint8_t *t = code_bytes(thunk), *e = code_bytes(real);
    HP_CHECK(real != NULL && real != thunk, "thunk %p, export %p", thunk, real);
    if (real == NULL || real == thunk)
        return;
    HP_CHECK(t[0] == 0xFF && t[1] == 0x25, "&thk_add is not an import thunk: %x %x", t[0], t[1]);
    uint8_t thunk_before[8];
    memcpy(thunk_before, t, sizeof thunk_before);

    hp_site s;
    HP_CHECK_ST(hp_probe(thunk, &s), HP_OK);
    HP_CHECK((s.flags & HP_SITE_F_THUNK) && (s.flags & HP_SITE_F_ENTRY_NOP) && s.reason == HP_SITE_OK,
             "probe through the thunk: flags %x reason %s", (unsigned)s.flags, hp_site_reason_str(s.reason));
    HP_CHECK_ST(hp_probe(real, &s), HP_OK);
    HP_CHECK(!(s.flags & HP_SITE_F_THUNK), "the function itself is no thunk: flags %x", (unsigned)s.flags);

    void *orig = NULL;
    hp_patch *p = NULL, *found = NULL;
    HP_CHECK_ST(hp_apply(thunk, FP(rep_add1000), &orig, &p), HP_OK);
    HP_CHECK(thk_add(1) == 1001, "call through the thunk: %d", thk_add(1));
    HP_CHECK(((fn_int)(uintptr_t)real)(1) == 1001, "direct call");
    HP_CHECK(orig == (void *)(e + 2) && ((fn_int)(uintptr_t)orig)(1) == 11, "original %p", orig);
    HP_CHECK(memcmp(thunk_before, t, sizeof thunk_before) == 0, "the thunk was written");
    HP_CHECK(e[0] == 0xEB && e[1] == 0xF8 && e[-6] == 0xFF && e[-5] == 0x25, "the function's entry %x %x", e[0],
             e[1]);
    HP_CHECK_ST(hp_lookup(thunk, &found), HP_OK);
    HP_CHECK(found == p, "lookup through the thunk %p, handle %p", (void *)found, (void *)p);
    HP_CHECK_ST(hp_lookup(real, &found), HP_OK);
    HP_CHECK(found == p, "lookup of the function %p, handle %p", (void *)found, (void *)p);
    HP_CHECK_ST(hp_probe(thunk, &s), HP_ERR_ALREADY_PATCHED);
    HP_CHECK(s.reason == HP_SITE_PATCHED && (s.flags & HP_SITE_F_THUNK), "probe of the patched function: %s %x",
             hp_site_reason_str(s.reason), (unsigned)s.flags);
    HP_CHECK_ST(hp_apply(real, FP(rep_add1000), NULL, NULL), HP_ERR_ALREADY_PATCHED);
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(thk_add(1) == 11 && e[0] == 0x66 && e[1] == 0x90, "restored");

    /* the function a thunk leads to is the target: it cannot be its own replacement */
    HP_CHECK_ST(hp_apply(thunk, real, NULL, NULL), HP_ERR_ARGUMENT);
    /* the thunk and the function are one target in a transaction: refused when added */
    hp_txn *txn = NULL;
    HP_CHECK_ST(hp_txn_begin(&txn), HP_OK);
    HP_CHECK_ST(hp_txn_apply(txn, thunk, FP(rep_add1000), NULL, NULL), HP_OK);
    HP_CHECK_ST(hp_txn_apply(txn, real, FP(hook_detour), NULL, NULL), HP_ERR_DUPLICATE);
    HP_CHECK_ST(hp_txn_commit(txn), HP_ERR_DUPLICATE);
    HP_CHECK(thk_add(1) == 11, "a refused transaction changed the function");
}

/* A hook another tool left on the imported function (MinHook's shape: E9 to a relay near the
   target, the relay jumping on to the detour; and a jmp [cell] whose cell is no import's) stays
   refused when reached through the import thunk: only the import thunk is followed. */
void case_windows_hook_behind_thunk_refused(void)
{
    void *thunk = FP(thk_hooked);
    uint8_t *real = hp_test_dll_export(THUNK_DLL, "thk_hooked");
    HP_CHECK(real != NULL && (void *)real != thunk, "export %p", (void *)real);
    if (real == NULL)
        return;
    uint8_t *relay = hp_test_map_near(real, 4096);
    HP_CHECK(relay != NULL, "no memory near %p for the relay", (void *)real);
    if (relay == NULL)
        return;
    uint8_t saved[8], hook[8];
    memcpy(saved, real, sizeof saved);
#if defined(__x86_64__) || defined(_M_X64)
    /* relay: FF 25 00000000 abs64 = jmp [rip+0] -> hook_detour; cell at relay+32 for the second hook */
    static const uint8_t jmp_rip0[6] = {0xFF, 0x25, 0, 0, 0, 0};
    uintptr_t detour = (uintptr_t)hook_detour;
    memcpy(relay, jmp_rip0, 6);
    memcpy(relay + 6, &detour, 8);
    memcpy(relay + 32, &detour, 8);
#else
    /* relay: E9 rel32 = jmp hook_detour */
    relay[0] = 0xE9;
    put32(relay + 1, (uint32_t)((uintptr_t)hook_detour - ((uintptr_t)relay + 5)));
#endif
    HP_CHECK(hp_test_set_page_prot(relay, HP_TEST_R | HP_TEST_X), "relay protection");

    /* the first hook: E9 rel32 = jmp relay, over the function's first 5 bytes */
    hook[0] = 0xE9;
    put32(hook + 1, (uint32_t)((uintptr_t)relay - ((uintptr_t)real + 5)));
    HP_CHECK(hp_test_poke_code(real, hook, 5), "hook");
    HP_CHECK(thk_hooked(1) == 7001, "the hook is live: %d", thk_hooked(1));
    hp_site s;
    HP_CHECK_ST(hp_probe(thunk, &s), HP_ERR_REDIRECTED);
    HP_CHECK(s.reason == HP_SITE_REDIRECTED && (s.flags & HP_SITE_F_THUNK), "through the thunk: %s, flags %x",
             hp_site_reason_str(s.reason), (unsigned)s.flags);
    HP_CHECK_ST(hp_apply(thunk, FP(rep_add1000), NULL, NULL), HP_ERR_REDIRECTED);
    HP_CHECK_ST(hp_apply(real, FP(rep_add1000), NULL, NULL), HP_ERR_REDIRECTED);
    HP_CHECK(memcmp(real, hook, 5) == 0 && thk_hooked(1) == 7001, "the hook was touched");

#if defined(__x86_64__) || defined(_M_X64)
    /* the second hook: FF 25 disp32 = jmp [relay+32], a cell that is in no import address table */
    hook[0] = 0xFF;
    hook[1] = 0x25;
    put32(hook + 2, (uint32_t)((uintptr_t)relay + 32 - ((uintptr_t)real + 6)));
    HP_CHECK(hp_test_poke_code(real, hook, 6), "hook");
    HP_CHECK(thk_hooked(2) == 7002, "the hook is live: %d", thk_hooked(2));
    HP_CHECK_ST(hp_apply(thunk, FP(rep_add1000), NULL, NULL), HP_ERR_REDIRECTED);
    HP_CHECK_ST(hp_probe(real, &s), HP_ERR_REDIRECTED);
    HP_CHECK(!(s.flags & HP_SITE_F_THUNK), "a jmp [cell] outside the IAT was followed: flags %x", (unsigned)s.flags);
    HP_CHECK(memcmp(real, hook, 6) == 0 && thk_hooked(2) == 7002, "the hook was touched");
#endif

    /* the other tool unhooks: the function patches through its thunk again */
    HP_CHECK(hp_test_poke_code(real, saved, sizeof saved), "unhook");
    hp_patch *p = NULL;
    HP_CHECK_ST(hp_apply(thunk, FP(rep_add1000), NULL, &p), HP_OK);
    HP_CHECK(thk_hooked(1) == 1001, "redirected: %d", thk_hooked(1));
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(thk_hooked(1) == 21, "restored: %d", thk_hooked(1));
    hp_test_unmap(relay, 4096);
}

/*
 * One transaction over code in two allocations mapped back to back: the engine
 * changes neighbouring pages of one protection with one call, which Windows
 * refuses across two allocations; the run is then changed page by page, and
 * the commit succeeds with every protection restored.
 */
void case_windows_pages_of_two_allocations(void)
{
    /* a 128 KiB hole, then two 64 KiB allocations filling it */
    uint8_t *hole = hp_test_map(NULL, 0x20000);
    HP_CHECK(hole != NULL, "no address space");
    if (hole == NULL)
        return;
    hp_test_unmap(hole, 0x20000);
    uint8_t *a = hp_test_map(hole, 0x10000), *b = hp_test_map(hole + 0x10000, 0x10000);
    HP_CHECK(a == hole && b == hole + 0x10000, "two neighbouring allocations: %p %p", (void *)a, (void *)b);
    if (a != hole || b != hole + 0x10000) {
        if (a != NULL)
            hp_test_unmap(a, 0x10000);
        if (b != NULL)
            hp_test_unmap(b, 0x10000);
        return;
    }
    /* f(x) = x + 5 in a's last page, g(x) = x + 6 in b's first page: 16 bytes of CC padding, then
       66 90 (2-byte NOP), 8D 41 05 / 8D 41 06 (lea eax, [rcx+5/6]: x64, first argument in ecx), C3 */
    static const uint8_t body_f[6] = {0x66, 0x90, 0x8D, 0x41, 0x05, 0xC3};
    static const uint8_t body_g[6] = {0x66, 0x90, 0x8D, 0x41, 0x06, 0xC3};
    uint8_t *f = a + 0x10000 - 32, *g = b + 16;
    memset(f - 16, 0xCC, 16);
    memcpy(f, body_f, sizeof body_f);
    memset(b, 0xCC, 16);
    memcpy(g, body_g, sizeof body_g);
    HP_CHECK(hp_test_set_page_prot(f, HP_TEST_R | HP_TEST_X) && hp_test_set_page_prot(g, HP_TEST_R | HP_TEST_X),
             "code protection");
#if defined(__x86_64__) || defined(_M_X64)
    HP_CHECK(((fn_int)(uintptr_t)f)(1) == 6 && ((fn_int)(uintptr_t)g)(1) == 7, "the generated code");
#endif
    hp_txn *t = NULL;
    hp_patch *pf = NULL, *pg = NULL;
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_apply(t, f, FP(rep_add1000), NULL, &pf), HP_OK);
    HP_CHECK_ST(hp_txn_apply(t, g, FP(rep_add1000), NULL, &pg), HP_OK);
    HP_CHECK_ST(hp_txn_commit(t), HP_OK);
    HP_CHECK(f[0] == 0xEB && g[0] == 0xEB, "entries %x %x", f[0], g[0]);
#if defined(__x86_64__) || defined(_M_X64)
    HP_CHECK(((fn_int)(uintptr_t)f)(1) == 1001 && ((fn_int)(uintptr_t)g)(1) == 1001, "redirected");
#endif
    /* the same pages again, by one transaction of removals */
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_remove(t, pf), HP_OK);
    HP_CHECK_ST(hp_txn_remove(t, pg), HP_OK);
    HP_CHECK_ST(hp_txn_commit(t), HP_OK);
    HP_CHECK(f[0] == 0x66 && g[0] == 0x66, "restored entries %x %x", f[0], g[0]);
    HP_CHECK(hp_test_page_prot(f) == (HP_TEST_R | HP_TEST_X) && hp_test_page_prot(g) == (HP_TEST_R | HP_TEST_X),
             "protections %x %x", hp_test_page_prot(f), hp_test_page_prot(g));
    /* the runtime keeps its records of these sites: the pages stay mapped */
}

#endif /* _WIN32 */
