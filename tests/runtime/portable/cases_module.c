/*
 * cases_module.c — patch modules live: hp_module_load/unload/info/entry on the
 * modules of fix_modules.c against the image of fix_target.c (both built next
 * to this program; fix_target.c says what each function returns, fix_modules.c
 * what each module does). The target is loaded by the cases themselves
 * (dlopen / LoadLibrary) and called through the addresses it exports.
 *
 * What is checked: a module applied while 4 threads call its targets (every
 * result checked) and unloaded again; a SYMBOL slot writing the target's own
 * file-static variable; modules stacked on one function with HP_PREVIOUS
 * chaining, unloaded in every order; each refusal (target not loaded, another
 * build, other bytes, the verify callback, no manifest, unchecked, not
 * patchable because hp_apply() holds it) leaves nothing applied, the target's
 * bytes unchanged and the module not loaded.
 */
#include "hp_test.h"

#include "cases.h"
#include "hotpatch_fix.h"

#if defined(_WIN32)
#define SEP "\\"
#else
#define SEP "/"
#endif

typedef int (*fn1)(int);
typedef int (*fn0)(void);

static struct {
    void *lib;
    fn1 add, mul, bump, quote, hashed;
    fn0 counter_get;
    char dir[1024];
} T;

static size_t str_len(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static int contains(const char *hay, const char *needle)
{
    size_t n = str_len(needle);
    for (; *hay; hay++)
        if (memcmp(hay, needle, n) == 0)
            return 1;
    return n == 0;
}

static int str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && str_len(a) == str_len(b) && memcmp(a, b, str_len(a)) == 0;
}

/* dir + separator + name (+ suffix) into buf. */
static const char *path_of(char *buf, size_t size, const char *name, const char *suffix)
{
    size_t d = str_len(T.dir), n = str_len(name), s = str_len(suffix);
    if (d + 1 + n + s + 1 > size)
        return "";
    memcpy(buf, T.dir, d);
    buf[d] = SEP[0];
    memcpy(buf + d + 1, name, n);
    memcpy(buf + d + 1 + n, suffix, s + 1);
    return buf;
}

/* The fix module `name` (fix_modules.c) next to this program. */
static const char *fix(char *buf, size_t size, const char *name)
{
    return path_of(buf, size, name, HPT_FIX_SUFFIX);
}

#define FP(f) ((void *)(uintptr_t)(f))

/* Load the target image once per process and take its functions' addresses. */
static int setup(void)
{
    if (T.lib != NULL)
        return 1;
    char p[1200];
    if (!hp_test_exe_dir(T.dir, sizeof T.dir)) {
        HP_CHECK(0, "the program's directory is unknown");
        return 0;
    }
    T.lib = hp_test_lib_open(path_of(p, sizeof p, HPT_FIX_TARGET_FILE, ""));
    HP_CHECK(T.lib != NULL, "cannot load %s", p);
    if (T.lib == NULL)
        return 0;
    T.add = (fn1)(uintptr_t)hp_test_lib_sym(T.lib, "tgt_add");
    T.mul = (fn1)(uintptr_t)hp_test_lib_sym(T.lib, "tgt_mul");
    T.bump = (fn1)(uintptr_t)hp_test_lib_sym(T.lib, "tgt_bump");
    T.quote = (fn1)(uintptr_t)hp_test_lib_sym(T.lib, "tgt_quote");
    T.hashed = (fn1)(uintptr_t)hp_test_lib_sym(T.lib, "tgt_hashed");
    T.counter_get = (fn0)(uintptr_t)hp_test_lib_sym(T.lib, "tgt_counter_get");
    int ok = T.add && T.mul && T.bump && T.quote && T.hashed && T.counter_get;
    HP_CHECK(ok, "the target's exports");
    if (ok)
        HP_CHECK(T.add(1) == 2 && T.mul(2) == 6 && T.quote(3) == 300 && T.hashed(10) == 5, "the target as built");
    return ok;
}

/* Nothing of the modules is in force: every target function as built. */
static void expect_pristine(const char *when)
{
    HP_CHECK(T.add(1) == 2 && T.mul(2) == 6 && T.quote(3) == 300 && T.hashed(10) == 5,
             "%s: add %d mul %d quote %d hashed %d", when, T.add(1), T.mul(2), T.quote(3), T.hashed(10));
    hp_patch *p = NULL;
    HP_CHECK(hp_lookup(FP(T.add), &p) == HP_ERR_NOT_PATCHED && hp_lookup(FP(T.mul), &p) == HP_ERR_NOT_PATCHED &&
                 hp_lookup(FP(T.quote), &p) == HP_ERR_NOT_PATCHED && hp_lookup(FP(T.hashed), &p) == HP_ERR_NOT_PATCHED,
             "%s: a patch is left", when);
}

typedef struct load_result {
    hp_status st;
    hp_module *mod;
    char msg[512];
} load_result;

static load_result load(const char *name, const hp_module_options *given)
{
    load_result r;
    char p[1200];
    hp_module_options o;
    memset(&r, 0, sizeof r);
    memset(&o, 0, sizeof o);
    if (given != NULL)
        o = *given;
    o.message = r.msg;
    o.message_size = sizeof r.msg;
    r.st = hp_module_load(fix(p, sizeof p, name), &o, &r.mod);
    return r;
}

/* ------------------------------------------------------------------------- */
/* Applied while threads call                                                 */
/* ------------------------------------------------------------------------- */

/* Phases of the live case: what a call that starts in it must return. */
enum { PH_BEFORE, PH_LOADING, PH_APPLIED, PH_UNLOADING, PH_UNLOADED, PH_COUNT };

typedef struct worker {
    int phase_seen[PH_COUNT]; /* calls made in each phase */
    unsigned long calls;
    unsigned long bad;
    int first_bad_x, first_bad_add, first_bad_mul, first_bad_phase;
} worker;

static struct {
    int stop;
    int phase;
    worker w[4];
} L;

/*
 * Windows: the runtime makes every core serialise before it runs code again after a swap with
 * FlushProcessWriteBuffers, which Wine implements as a no-op (README, "What the Wine-based tests
 * cannot prove"); a core may then still run an entry it decoded before. The worker serialises itself
 * (cpuid) after reading the phase, as the interrupt of the real call would make it: the check that
 * code after the load's return is new stays exact. Linux runs without it (membarrier SYNC_CORE).
 */
static void serialize_core(void)
{
#if defined(_WIN32)
    unsigned a = 0, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d) : : "memory");
    (void)b;
    (void)d;
#endif
}

static void live_worker(void *arg)
{
    worker *w = arg;
    for (int x = 0; !__atomic_load_n(&L.stop, __ATOMIC_ACQUIRE); x = (x + 1) & 1023) {
        int ph = __atomic_load_n(&L.phase, __ATOMIC_ACQUIRE);
        serialize_core();
        int a = T.add(x), m = T.mul(x);
        /* the phase held throughout the two calls when it reads the same after them */
        int held = __atomic_load_n(&L.phase, __ATOMIC_ACQUIRE) == ph;
        int old = a == x + 1 && m == x * 3, neu = a == x + 1001 && m == x * 3 + 1000;
        int a_ok = a == x + 1 || a == x + 1001, m_ok = m == x * 3 || m == x * 3 + 1000;
        /* before the load and after the unload everything is old; between the load's return and the
           unload's call everything is new; otherwise each function is one or the other */
        int ok = a_ok && m_ok && (!held || ph != PH_APPLIED || neu) &&
                 (!held || (ph != PH_BEFORE && ph != PH_UNLOADED) || old);
        if (!ok && w->bad++ == 0) {
            w->first_bad_x = x;
            w->first_bad_add = a;
            w->first_bad_mul = m;
            w->first_bad_phase = ph;
        }
        __atomic_store_n(&w->phase_seen[ph], w->phase_seen[ph] + 1, __ATOMIC_RELAXED);
        w->calls++;
    }
}

/* Wait until every worker made `n` calls in phase `ph` (at most 30 s). */
static int wait_calls(int ph, int n)
{
    unsigned long long t0 = hp_now_us();
    for (;;) {
        int all = 1;
        for (int i = 0; i < 4; i++)
            all &= __atomic_load_n(&L.w[i].phase_seen[ph], __ATOMIC_RELAXED) >= n;
        if (all)
            return 1;
        if (hp_now_us() - t0 > 30000000ull)
            return 0;
        hp_thread_yield();
    }
}

void case_module_live_threads_apply_and_unload(void)
{
    if (!setup())
        return;
    memset(&L, 0, sizeof L);
    hp_thread th[4];
    int started = 0;
    for (int i = 0; i < 4; i++)
        started += hp_thread_create(&th[i], live_worker, &L.w[i]) == 0;
    HP_CHECK(started == 4, "threads");
    HP_CHECK(wait_calls(PH_BEFORE, 200), "workers running");
    __atomic_store_n(&L.phase, PH_LOADING, __ATOMIC_RELEASE);
    /* the workers may be inside the module's code when it is reverted: it must stay mapped
       (HP_MODULE_KEEP_LOADED) until they are stopped, then this program unloads it */
    hp_module_options keep;
    memset(&keep, 0, sizeof keep);
    keep.flags = HP_MODULE_KEEP_LOADED;
    load_result r = load("hpt_fix_live", &keep);
    HP_CHECK(r.st == HP_OK, "load: %s (%s)", hp_status_str(r.st), r.msg);
    __atomic_store_n(&L.phase, PH_APPLIED, __ATOMIC_RELEASE);
    HP_CHECK(T.add(5) == 1006 && T.mul(5) == 1015, "applied: %d %d", T.add(5), T.mul(5));
    HP_CHECK(wait_calls(PH_APPLIED, 2000), "calls while applied");
    __atomic_store_n(&L.phase, PH_UNLOADING, __ATOMIC_RELEASE);
    if (r.st == HP_OK)
        HP_CHECK_ST(hp_module_unload(r.mod), HP_OK);
    __atomic_store_n(&L.phase, PH_UNLOADED, __ATOMIC_RELEASE);
    HP_CHECK(wait_calls(PH_UNLOADED, 2000), "calls after the unload");
    __atomic_store_n(&L.stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < started; i++)
        hp_thread_join(&th[i]);
    for (int i = 0; i < 4; i++)
        HP_CHECK(L.w[i].bad == 0, "worker %d: %lu of %lu results wrong; first: x %d add %d mul %d in phase %d", i,
                 L.w[i].bad, L.w[i].calls, L.w[i].first_bad_x, L.w[i].first_bad_add, L.w[i].first_bad_mul,
                 L.w[i].first_bad_phase);
    char p[1200];
    HP_CHECK(hp_test_lib_loaded(fix(p, sizeof p, "hpt_fix_live")), "HP_MODULE_KEEP_LOADED: the module was unloaded");
    void *lib = hp_test_lib_open(p); /* the reference hp_module_load took, and this one */
    hp_test_lib_close(lib);
    hp_test_lib_close(lib);
    HP_CHECK(!hp_test_lib_loaded(p), "the module stayed loaded");
    expect_pristine("after the unload");
}

/* ------------------------------------------------------------------------- */
/* A SYMBOL slot                                                              */
/* ------------------------------------------------------------------------- */

void case_module_symbol_slot_one_variable(void)
{
    if (!setup())
        return;
    int c0 = T.counter_get();
    HP_CHECK(T.bump(1) == c0 + 1, "the target's own bump");
    load_result r = load("hpt_fix_var", NULL);
    HP_CHECK(r.st == HP_OK, "load: %s (%s)", hp_status_str(r.st), r.msg);
    if (r.st != HP_OK)
        return;
    /* the fix writes the target's variable (+= 2x); the target's unpatched reader sees it */
    HP_CHECK(T.bump(5) == c0 + 11 + 1000000, "the fix's bump: %d", T.bump(0) - 1000000);
    HP_CHECK(T.counter_get() == c0 + 11, "the target's reader: %d, want %d", T.counter_get(), c0 + 11);
    HP_CHECK(T.bump(2) == c0 + 15 + 1000000, "again");
    hp_module_summary s;
    HP_CHECK_ST(hp_module_info(r.mod, &s), HP_OK);
    HP_CHECK(s.entry_count == 1 && s.slot_count == 1, "%zu entries, %zu slots", s.entry_count, s.slot_count);
    HP_CHECK_ST(hp_module_unload(r.mod), HP_OK);
    /* one variable: the original bump goes on from where the fix left it */
    HP_CHECK(T.bump(1) == c0 + 16 && T.counter_get() == c0 + 16, "after the unload: %d", T.counter_get());
}

/* ------------------------------------------------------------------------- */
/* Stacking                                                                   */
/* ------------------------------------------------------------------------- */

/* Every entry of every module given replaces tgt_quote, through the one patch. */
static void expect_shared_patch(hp_module *const *mods, int n)
{
    hp_patch *live = NULL;
    HP_CHECK_ST(hp_lookup(FP(T.quote), &live), HP_OK);
    for (int i = 0; i < n; i++) {
        hp_module_entry_info e;
        HP_CHECK_ST(hp_module_entry(mods[i], 0, &e), HP_OK);
        HP_CHECK(e.target == FP(T.quote) && e.patch == live && str_eq(e.name, "tgt_quote"),
                 "module %d: target %p patch %p (live %p) name %s", i, e.target, (void *)e.patch, (void *)live,
                 e.name);
    }
}

static int s2_prev_a_set(void)
{
    char p[1200];
    void *lib = hp_test_lib_open(fix(p, sizeof p, "hpt_fix_s2"));
    fn0 f = (fn0)(uintptr_t)hp_test_lib_sym(lib, "hpt_fix_s2_prev_a_set");
    int v = f != NULL ? f() : -1;
    hp_test_lib_close(lib);
    return v;
}

/* quote(3): 300 as built; s1: PREVIOUS - 7; s2: PREVIOUS * 2; s3: PREVIOUS + 1. */
void case_module_stacked_unload_top_first(void)
{
    if (!setup())
        return;
    load_result a = load("hpt_fix_s1", NULL);
    HP_CHECK(a.st == HP_OK, "s1: %s (%s)", hp_status_str(a.st), a.msg);
    HP_CHECK(T.quote(3) == 293, "s1: %d", T.quote(3));
    load_result b = load("hpt_fix_s2", NULL);
    HP_CHECK(b.st == HP_OK, "s2: %s (%s)", hp_status_str(b.st), b.msg);
    if (a.st != HP_OK || b.st != HP_OK)
        return;
    HP_CHECK(T.quote(3) == 586, "s2 on s1: %d", T.quote(3));
    HP_CHECK(s2_prev_a_set() == 1, "both PREVIOUS slots of s2 filled");
    hp_module *mods[2] = {a.mod, b.mod};
    expect_shared_patch(mods, 2);
    HP_CHECK_ST(hp_module_unload(b.mod), HP_OK);
    HP_CHECK(T.quote(3) == 293, "s2 unloaded: %d", T.quote(3));
    HP_CHECK_ST(hp_module_unload(a.mod), HP_OK);
    expect_pristine("both unloaded");
}

void case_module_stacked_unload_bottom_first(void)
{
    if (!setup())
        return;
    load_result a = load("hpt_fix_s1", NULL);
    load_result b = load("hpt_fix_s2", NULL);
    HP_CHECK(a.st == HP_OK && b.st == HP_OK, "s1: %s (%s); s2: %s (%s)", hp_status_str(a.st), a.msg,
             hp_status_str(b.st), b.msg);
    if (a.st != HP_OK || b.st != HP_OK)
        return;
    HP_CHECK(T.quote(3) == 586, "s2 on s1: %d", T.quote(3));
    /* s1 leaves from below s2: s2's PREVIOUS now calls the original */
    HP_CHECK_ST(hp_module_unload(a.mod), HP_OK);
    HP_CHECK(T.quote(3) == 600, "s1 unloaded from below: %d", T.quote(3));
    HP_CHECK(s2_prev_a_set() == 1, "both PREVIOUS slots of s2 rewritten");
    hp_module *mods[1] = {b.mod};
    expect_shared_patch(mods, 1);
    char p[1200];
    HP_CHECK(!hp_test_lib_loaded(fix(p, sizeof p, "hpt_fix_s1")), "s1 stayed loaded");
    HP_CHECK_ST(hp_module_unload(b.mod), HP_OK);
    expect_pristine("both unloaded");
}

void case_module_stacked_three_unload_middle(void)
{
    if (!setup())
        return;
    load_result a = load("hpt_fix_s1", NULL);
    load_result b = load("hpt_fix_s2", NULL);
    load_result c = load("hpt_fix_s3", NULL);
    HP_CHECK(a.st == HP_OK && b.st == HP_OK && c.st == HP_OK, "s1 %s, s2 %s, s3 %s (%s)", hp_status_str(a.st),
             hp_status_str(b.st), hp_status_str(c.st), c.msg);
    if (a.st != HP_OK || b.st != HP_OK || c.st != HP_OK)
        return;
    HP_CHECK(T.quote(3) == 587, "s3 on s2 on s1: %d", T.quote(3));
    hp_module *mods[3] = {a.mod, b.mod, c.mod};
    expect_shared_patch(mods, 3);
    HP_CHECK_ST(hp_module_unload(b.mod), HP_OK); /* the middle one: s3's PREVIOUS is s1 now */
    HP_CHECK(T.quote(3) == 294, "s2 unloaded from the middle: %d", T.quote(3));
    HP_CHECK_ST(hp_module_unload(c.mod), HP_OK); /* the top: back to s1 */
    HP_CHECK(T.quote(3) == 293, "s3 unloaded: %d", T.quote(3));
    HP_CHECK_ST(hp_module_unload(a.mod), HP_OK);
    expect_pristine("all unloaded");
    /* s2 alone, on a site patched before: its first PREVIOUS slot gets the original from the commit,
       the second from the hook before the swap */
    b = load("hpt_fix_s2", NULL);
    HP_CHECK(b.st == HP_OK, "s2 alone: %s (%s)", hp_status_str(b.st), b.msg);
    if (b.st != HP_OK)
        return;
    HP_CHECK(T.quote(3) == 600 && s2_prev_a_set() == 1, "s2 alone: %d", T.quote(3));
    HP_CHECK_ST(hp_module_unload(b.mod), HP_OK);
    expect_pristine("s2 unloaded");
}

/* ------------------------------------------------------------------------- */
/* Refusals                                                                   */
/* ------------------------------------------------------------------------- */

/* The bytes around a target's entry, to compare before and after a refusal. */
static void entry_bytes(void *f, uint8_t out[48])
{
    volatile uintptr_t a = (uintptr_t)f;
    memcpy(out, (const uint8_t *)a - 16, 48);
}

static void expect_refused(const load_result *r, hp_status want, const char *name, const char *needle)
{
    HP_CHECK(r->st == want, "%s: %s, want %s (%s)", name, hp_status_str(r->st), hp_status_str(want), r->msg);
    HP_CHECK(r->mod == NULL, "%s: out written", name);
    HP_CHECK(r->msg[0] != '\0' && (needle == NULL || contains(r->msg, needle)), "%s: message \"%s\" (want \"%s\")",
             name, r->msg, needle != NULL ? needle : "");
    char p[1200];
    HP_CHECK(!hp_test_lib_loaded(fix(p, sizeof p, name)), "%s: stayed loaded", name);
    if (r->st == HP_OK)
        hp_module_unload(r->mod);
}

void case_module_target_not_loaded(void)
{
    if (!setup())
        return;
    load_result r = load("hpt_fix_other", NULL);
    expect_refused(&r, HP_ERR_TARGET_NOT_LOADED, "hpt_fix_other", "not loaded");
    expect_pristine("after the refusal");
}

void case_module_identity_mismatch(void)
{
    if (!setup())
        return;
    uint8_t before[48], after[48];
    entry_bytes(FP(T.add), before);
    load_result r = load("hpt_fix_ident", NULL);
#if defined(_WIN32)
    expect_refused(&r, HP_ERR_IDENTITY, "hpt_fix_ident", "TimeDateStamp");
#else
    expect_refused(&r, HP_ERR_IDENTITY, "hpt_fix_ident", "build-id");
#endif
    entry_bytes(FP(T.add), after);
    HP_CHECK(memcmp(before, after, sizeof before) == 0, "the target's bytes changed");
    /* another image given as the target: another build too */
    hp_module_options o;
    memset(&o, 0, sizeof o);
    o.target = FP(hp_test_exe_dir); /* this program */
    r = load("hpt_fix_live", &o);
    expect_refused(&r, HP_ERR_IDENTITY, "hpt_fix_live", NULL);
    /* the right image given by an address inside it */
    o.target = FP(T.hashed);
    r = load("hpt_fix_live", &o);
    HP_CHECK(r.st == HP_OK, "target by address: %s (%s)", hp_status_str(r.st), r.msg);
    HP_CHECK(T.add(1) == 1002, "applied: %d", T.add(1));
    if (r.st == HP_OK)
        HP_CHECK_ST(hp_module_unload(r.mod), HP_OK);
    expect_pristine("after the refusals");
}

void case_module_hash_mismatch_names_entry(void)
{
    if (!setup())
        return;
    uint8_t add0[48], hashed0[48], add1[48], hashed1[48];
    entry_bytes(FP(T.add), add0);
    entry_bytes(FP(T.hashed), hashed0);
    load_result r = load("hpt_fix_hash", NULL);
    expect_refused(&r, HP_ERR_HASH, "hpt_fix_hash", "tgt_hashed");
    entry_bytes(FP(T.add), add1);
    entry_bytes(FP(T.hashed), hashed1);
    HP_CHECK(memcmp(add0, add1, 48) == 0 && memcmp(hashed0, hashed1, 48) == 0, "the target's bytes changed");
    expect_pristine("after the refusal");
}

typedef struct verify_ctx {
    int answer, calls, saw_magic;
    size_t size;
    const char *path;
} verify_ctx;

static int verify_cb(void *vctx, const char *path, const void *manifest, size_t size)
{
    verify_ctx *v = vctx;
    v->calls++;
    v->size = size;
    v->path = path;
    v->saw_magic = size >= 8 && memcmp(manifest, HP_FIX_MAGIC, HP_FIX_MAGIC_SIZE) == 0;
    return v->answer;
}

void case_module_verify_refuses(void)
{
    if (!setup())
        return;
    verify_ctx v;
    memset(&v, 0, sizeof v);
    hp_module_options o;
    memset(&o, 0, sizeof o);
    o.verify = verify_cb;
    o.verify_ctx = &v;
    load_result r = load("hpt_fix_live", &o);
    expect_refused(&r, HP_ERR_REFUSED, "hpt_fix_live", "verify");
    HP_CHECK(v.calls == 1 && v.saw_magic && v.size >= sizeof(hp_fix_header) + 2 * sizeof(hp_fix_entry) &&
                 v.path != NULL && contains(v.path, "hpt_fix_live"),
             "the callback: %d calls, magic %d, %zu bytes", v.calls, v.saw_magic, v.size);
    expect_pristine("after the refusal");
    v.answer = 1;
    r = load("hpt_fix_live", &o);
    HP_CHECK(r.st == HP_OK && v.calls == 2, "accepted: %s (%s)", hp_status_str(r.st), r.msg);
    if (r.st == HP_OK)
        HP_CHECK_ST(hp_module_unload(r.mod), HP_OK);
    expect_pristine("after the unload");
}

void case_module_no_manifest_unchecked_io_format(void)
{
    if (!setup())
        return;
    char p[1200], small[16];
    hp_module *m = NULL;
    hp_module_options o;
    memset(&o, 0, sizeof o);
    char msg[512];
    o.message = msg;
    o.message_size = sizeof msg;
    /* the target itself: an image without a manifest (refused before it is loaded again) */
    HP_CHECK_ST(hp_module_load(path_of(p, sizeof p, HPT_FIX_TARGET_FILE, ""), &o, &m), HP_ERR_NO_MANIFEST);
    HP_CHECK(contains(msg, HP_FIX_SECTION), "message: %s", msg);
    /* a manifest the link step never checked */
    load_result r = load("hpt_fix_unchecked", NULL);
    expect_refused(&r, HP_ERR_NO_MANIFEST, "hpt_fix_unchecked", "hotpatch-manifest fill");
    HP_CHECK(contains(r.msg, "manifest not checked against its target"), "message: %s", r.msg);
    /* the message is cut to its buffer */
    o.message = small;
    o.message_size = sizeof small;
    HP_CHECK_ST(hp_module_load(fix(p, sizeof p, "hpt_fix_unchecked"), &o, &m), HP_ERR_NO_MANIFEST);
    HP_CHECK(str_len(small) == sizeof small - 1 && contains(small, "..."), "cut message: %s", small);
    o.message = msg;
    o.message_size = sizeof msg;
    /* no such file; not an image (the generated header next to this program) */
    HP_CHECK_ST(hp_module_load(fix(p, sizeof p, "hpt_no_such_module"), &o, &m), HP_ERR_IO);
    HP_CHECK(contains(msg, "hpt_no_such_module"), "message: %s", msg);
    HP_CHECK_ST(hp_module_load(path_of(p, sizeof p, "hpt_fix_rvas.h", ""), &o, &m), HP_ERR_FORMAT);
    /* a bare file name is a file in the program's directory (where this program's modules are) */
    HP_CHECK_ST(hp_module_load("hpt_fix_live" HPT_FIX_SUFFIX, &o, &m), HP_OK);
    HP_CHECK(T.add(1) == 1002, "loaded by its bare name: %d (%s)", T.add(1), msg);
    if (m != NULL)
        HP_CHECK_ST(hp_module_unload(m), HP_OK);
    m = NULL;
    /* arguments */
    HP_CHECK_ST(hp_module_load(NULL, &o, &m), HP_ERR_ARGUMENT);
    HP_CHECK_ST(hp_module_load(p, &o, NULL), HP_ERR_ARGUMENT);
    HP_CHECK(m == NULL, "out written on failure");
    expect_pristine("after the refusals");
}

void case_module_info_entry_stale_twice(void)
{
    if (!setup())
        return;
    load_result r = load("hpt_fix_live", NULL);
    HP_CHECK(r.st == HP_OK, "load: %s (%s)", hp_status_str(r.st), r.msg);
    if (r.st != HP_OK)
        return;
    hp_module_summary s;
    HP_CHECK_ST(hp_module_info(r.mod, &s), HP_OK);
    HP_CHECK(s.entry_count == 2 && s.slot_count == 0 && str_eq(s.target_name, HPT_FIX_TARGET_FILE) &&
                 contains(s.path, "hpt_fix_live") && s.target_base != NULL &&
                 (uintptr_t)s.target_base < (uintptr_t)T.add,
             "info: %zu entries, %zu slots, target %s at %p", s.entry_count, s.slot_count, s.target_name,
             s.target_base);
    hp_module_entry_info e;
    hp_patch *live = NULL;
    HP_CHECK_ST(hp_module_entry(r.mod, 0, &e), HP_OK);
    HP_CHECK(str_eq(e.name, "tgt_add") && e.target == FP(T.add) && e.replacement != NULL &&
                 hp_lookup(FP(T.add), &live) == HP_OK && live == e.patch,
             "entry 0: %s at %p", e.name, e.target);
    HP_CHECK_ST(hp_module_entry(r.mod, 1, &e), HP_OK);
    HP_CHECK(str_eq(e.name, "tgt_mul") && e.target == FP(T.mul), "entry 1: %s", e.name);
    HP_CHECK_ST(hp_module_entry(r.mod, 2, &e), HP_ERR_ARGUMENT);
    HP_CHECK_ST(hp_module_entry(NULL, 0, &e), HP_ERR_ARGUMENT);
    HP_CHECK_ST(hp_module_info(r.mod, NULL), HP_ERR_ARGUMENT);
    /* the same module again: refused, the first stays in force */
    load_result again = load("hpt_fix_live", NULL);
    HP_CHECK(again.st == HP_ERR_ALREADY_PATCHED && again.mod == NULL, "loaded twice: %s (%s)",
             hp_status_str(again.st), again.msg);
    HP_CHECK(T.add(1) == 1002, "still applied: %d", T.add(1));
    char p[1200];
    HP_CHECK(hp_test_lib_loaded(fix(p, sizeof p, "hpt_fix_live")), "the first load was unloaded");
    HP_CHECK_ST(hp_module_unload(r.mod), HP_OK);
    HP_CHECK(!hp_test_lib_loaded(p), "still loaded after the unload");
    HP_CHECK_ST(hp_module_unload(r.mod), HP_ERR_STALE_HANDLE);
    HP_CHECK_ST(hp_module_info(r.mod, &s), HP_ERR_STALE_HANDLE);
    HP_CHECK_ST(hp_module_entry(r.mod, 0, &e), HP_ERR_STALE_HANDLE);
    HP_CHECK_ST(hp_module_unload(NULL), HP_ERR_ARGUMENT);
    expect_pristine("after the unload");
}

/* Another tool rewrites an entry the module holds: the unload refuses and reverts nothing; once the
   entry is the runtime's again, the unload goes through. */
void case_module_unload_refused_when_redirected(void)
{
    if (!setup())
        return;
    load_result r = load("hpt_fix_live", NULL);
    HP_CHECK(r.st == HP_OK, "load: %s (%s)", hp_status_str(r.st), r.msg);
    if (r.st != HP_OK)
        return;
    uint8_t *entry = (uint8_t *)FP(T.add), ours[2], nop[2] = {0x66, 0x90};
    memcpy(ours, entry, 2);
    HP_CHECK(ours[0] == 0xEB, "the runtime's short jump: %x %x", ours[0], ours[1]);
    HP_CHECK(hp_test_poke_code(entry, nop, 2), "poke");
    HP_CHECK_ST(hp_module_unload(r.mod), HP_ERR_REDIRECTED);
    HP_CHECK(T.mul(2) == 1006, "tgt_mul was reverted: %d", T.mul(2));
    char p[1200];
    HP_CHECK(hp_test_lib_loaded(fix(p, sizeof p, "hpt_fix_live")), "the module was unloaded");
    hp_module_summary s;
    HP_CHECK_ST(hp_module_info(r.mod, &s), HP_OK);
    HP_CHECK(hp_test_poke_code(entry, ours, 2), "poke back");
    HP_CHECK(T.add(1) == 1002, "the runtime's entry again: %d", T.add(1));
    HP_CHECK_ST(hp_module_unload(r.mod), HP_OK);
    HP_CHECK(!hp_test_lib_loaded(p), "still loaded");
    expect_pristine("after the unload");
}

/* Windows: the target is relocated by the loader (linked at the program's base); tgt_abs's code holds
   an absolute address, which the module's hash covers as the file has it. */
void case_module_relocated_code_hashes_as_released(void)
{
#if defined(_WIN32)
    if (!setup())
        return;
    fn0 abs_fn = (fn0)(uintptr_t)hp_test_lib_sym(T.lib, "tgt_abs");
    HP_CHECK(abs_fn != NULL && abs_fn() == 60, "tgt_abs as built");
    if (abs_fn == NULL)
        return;
    load_result r = load("hpt_fix_abs", NULL);
    HP_CHECK(r.st == HP_OK, "load: %s (%s)", hp_status_str(r.st), r.msg);
    if (r.st != HP_OK)
        return;
    hp_module_summary s;
    HP_CHECK_ST(hp_module_info(r.mod, &s), HP_OK);
    HP_CHECK((uintptr_t)s.target_base != (uintptr_t)HPT_EXE_BASE, "the target was not relocated: %p",
             s.target_base);
    HP_CHECK(abs_fn() == 61, "applied: %d", abs_fn());
    HP_CHECK_ST(hp_module_unload(r.mod), HP_OK);
    HP_CHECK(abs_fn() == 60, "reverted: %d", abs_fn());
#endif
}

static int rep_mul(int x)
{
    return x * 7;
}

void case_module_already_patched_by_apply(void)
{
    if (!setup())
        return;
    hp_patch *p = NULL;
    HP_CHECK_ST(hp_apply(FP(T.mul), FP(rep_mul), NULL, &p), HP_OK);
    load_result r = load("hpt_fix_live", NULL);
    expect_refused(&r, HP_ERR_ALREADY_PATCHED, "hpt_fix_live", "tgt_mul");
    HP_CHECK(T.add(1) == 2 && T.mul(2) == 14, "nothing applied: %d %d", T.add(1), T.mul(2));
    HP_CHECK_ST(hp_remove(p), HP_OK);
    expect_pristine("after the remove");
}

void case_module_target_option_keep_loaded(void)
{
    if (!setup())
        return;
    hp_module_options o;
    memset(&o, 0, sizeof o);
    o.target = FP(T.counter_get);
    o.flags = HP_MODULE_KEEP_LOADED;
    int c0 = T.counter_get();
    load_result r = load("hpt_fix_var", &o);
    HP_CHECK(r.st == HP_OK, "load: %s (%s)", hp_status_str(r.st), r.msg);
    if (r.st != HP_OK)
        return;
    HP_CHECK(T.bump(1) == c0 + 2 + 1000000, "applied");
    HP_CHECK_ST(hp_module_unload(r.mod), HP_OK);
    char p[1200];
    HP_CHECK(hp_test_lib_loaded(fix(p, sizeof p, "hpt_fix_var")), "KEEP_LOADED: the module was unloaded");
    HP_CHECK(T.bump(1) == c0 + 3, "reverted: %d", T.counter_get());
    /* loaded again (the OS hands back the same mapping): filled and applied again */
    r = load("hpt_fix_var", NULL);
    HP_CHECK(r.st == HP_OK, "again: %s (%s)", hp_status_str(r.st), r.msg);
    if (r.st == HP_OK) {
        HP_CHECK(T.bump(1) == c0 + 5 + 1000000, "applied again");
        HP_CHECK_ST(hp_module_unload(r.mod), HP_OK);
    }
}
