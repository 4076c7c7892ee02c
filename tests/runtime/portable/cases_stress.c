/*
 * cases_stress.c — 8 threads call a target in a tight loop and check every
 * result is the original's or a replacement's, while this thread applies,
 * retargets and removes. Operations: HP_STRESS_OPS (default 100000) in total.
 */
#include "hp_test.h"
#include "cases.h"
#include "fixtures.h"
#include "gen_functions.h"

typedef int (*fn_int)(int);
#define FP(f) ((void *)(uintptr_t)(f))

#define CALLERS 8

typedef struct stress_state {
    fn_int target;
    int kind; /* 0: fx_stress (NOP entry), 1: fx_hot_add (trampoline) */
    volatile int stop;
    volatile long long calls[CALLERS];
    volatile long wrong[CALLERS];
    volatile int last_bad;
} stress_state;

typedef struct caller_arg {
    stress_state *s;
    int id;
} caller_arg;

static void *volatile g_stress_orig;

/* Replacements call the original: the wrapper pattern under fire. */
static int rep_a(int x) { return ((fn_int)(uintptr_t)g_stress_orig)(x) + 100; }
static int rep_b(int x) { return ((fn_int)(uintptr_t)g_stress_orig)(x) + 200; }

static int expected(int kind, int x, int r)
{
    int base = kind == 0 ? x + 1 : x; /* fx_stress(x) = x + 1; fx_hot_add(x) = x + 0 */
    return r == base || r == base + 100 || r == base + 200;
}

static void caller(void *p)
{
    caller_arg *a = p;
    stress_state *s = a->s;
    long long calls = 0;
    long wrong = 0;
    int x = a->id * 1000003;
    hp_thread_lower_priority();
    while (!s->stop) {
        for (int k = 0; k < 64; k++) {
            x = (x + 7) & 0xFFFFF;
            int r = s->target(x);
            if (!expected(s->kind, x, r)) {
                wrong++;
                s->last_bad = r;
            }
        }
        calls += 64;
#if defined(_WIN32) || defined(__i386__)
        /* Wine does not honour thread priorities, and Linux i386 runs under qemu-i386 here, where
           every code write makes all emulated threads leave their translated code: give the
           patcher the CPU regularly (the callers still make thousands of calls per operation) */
        if ((calls & 255) == 0)
            hp_thread_yield();
#endif
    }
    s->calls[a->id] = calls;
    s->wrong[a->id] = wrong;
}

/* Operations per run: 100,000 by default; the build may lower it for slow emulators. */
#ifndef HP_STRESS_OPS
#define HP_STRESS_OPS 100000
#endif

static void run_stress(fn_int target, int kind)
{
    stress_state s;
    caller_arg args[CALLERS];
    hp_thread th[CALLERS];
    memset(&s, 0, sizeof s);
    s.target = target;
    s.kind = kind;
    fx_hot_global = 0;

    /* the original pointer is the same for every apply of a site: learn it once */
    hp_patch *p = NULL;
    void *orig = NULL;
    HP_CHECK_ST(hp_apply(FP(target), FP(rep_a), &orig, &p), HP_OK);
    g_stress_orig = orig;
    HP_CHECK_ST(hp_remove(p), HP_OK);

    for (int i = 0; i < CALLERS; i++) {
        args[i].s = &s;
        args[i].id = i;
        HP_CHECK(hp_thread_create(&th[i], caller, &args[i]) == 0, "thread %d", i);
    }
    long ops = HP_STRESS_OPS, done = 0, failures = 0;
    unsigned long long t0 = hp_now_us();
    p = NULL;
    while (done < ops) {
        hp_status st;
        switch (done % 4) {
        case 0: st = hp_apply(FP(target), FP(rep_a), NULL, &p); break;
        case 1: st = hp_retarget(p, FP(rep_b)); break;
        case 2: st = hp_retarget(p, FP(rep_a)); break;
        default: st = hp_remove(p); p = NULL; break;
        }
        if (st != HP_OK && failures++ < 5)
            HP_CHECK(st == HP_OK, "operation %ld: %s", done, hp_status_str(st));
        done++;
    }
    if (p != NULL)
        hp_remove(p);
    unsigned long long t1 = hp_now_us();
    s.stop = 1;
    long long calls = 0;
    long wrong = 0;
    for (int i = 0; i < CALLERS; i++) {
        hp_thread_join(&th[i]);
        calls += s.calls[i];
        wrong += s.wrong[i];
    }
    HP_CHECK(failures == 0, "%ld failed operations", failures);
    HP_CHECK(wrong == 0, "%ld wrong results of %lld calls (last %d)", wrong, calls, s.last_bad);
    HP_CHECK(calls > 0, "no calls were made");
    hpt_outf("  %ld operations in %llu ms (%llu us each), %lld calls by %d threads, %ld wrong\n", done,
             (t1 - t0) / 1000u, (t1 - t0) / (unsigned long long)(done ? done : 1), calls, CALLERS, wrong);
}

void case_stress_nop_entry(void)
{
    run_stress(fx_stress, 0);
}

void case_stress_hot_entry(void)
{
    run_stress(fx_hot_add, 1);
}

/*
 * Transactions on four threads at once, each over its own 500 of the generated
 * functions: adds are checked without the engine lock (the registry's sequence
 * lock) while another thread's commit changes the registry — on the first
 * round every site is new, so the registry grows under them. Every operation
 * must succeed, every commit must have redirected its functions, and every
 * function must end as it started.
 */
#define TXN_THREADS 4
#define TXN_SLICE 500
#define TXN_ROUNDS 200

typedef struct txn_worker {
    int first; /* its functions: hp_gen_table[first .. first + TXN_SLICE) */
    long failures;
    hp_status last;
    hp_patch *p[TXN_SLICE];
} txn_worker;

static int rep_gen(int x) { return x + 700000; }

static void txn_thread(void *arg)
{
    txn_worker *w = arg;
    for (int round = 0; round < TXN_ROUNDS; round++) {
        hp_txn *t = NULL;
        hp_status st = hp_txn_begin(&t);
        for (int i = 0; st == HP_OK && i < TXN_SLICE; i++)
            st = hp_txn_apply(t, FP(hp_gen_table[w->first + i]), FP(rep_gen), NULL, &w->p[i]);
        if (st == HP_OK)
            st = hp_txn_commit(t);
        else
            hp_txn_abort(t);
        for (int i = 0; st == HP_OK && i < TXN_SLICE; i += 97)
            if (hp_gen_table[w->first + i](1) != 700001)
                st = HP_ERR_NOT_PATCHED;
        if (st == HP_OK && (st = hp_txn_begin(&t)) == HP_OK) {
            for (int i = 0; st == HP_OK && i < TXN_SLICE; i++)
                st = hp_txn_remove(t, w->p[i]);
            if (st == HP_OK)
                st = hp_txn_commit(t);
            else
                hp_txn_abort(t);
        }
        if (st != HP_OK) {
            w->failures++;
            w->last = st;
            return;
        }
    }
}

void case_stress_concurrent_transactions(void)
{
    static txn_worker w[TXN_THREADS];
    hp_thread th[TXN_THREADS];
    for (int k = 0; k < TXN_THREADS; k++) {
        memset(&w[k], 0, sizeof w[k]);
        w[k].first = 5000 + k * TXN_SLICE; /* sites no other case patches first */
        HP_CHECK(hp_thread_create(&th[k], txn_thread, &w[k]) == 0, "thread %d", k);
    }
    for (int k = 0; k < TXN_THREADS; k++) {
        hp_thread_join(&th[k]);
        HP_CHECK(w[k].failures == 0, "thread %d: %s", k, hp_status_str(w[k].last));
    }
    int bad = 0;
    for (int i = 5000; i < 5000 + TXN_THREADS * TXN_SLICE; i++)
        bad += hp_gen_table[i](1) != 1 + i;
    HP_CHECK(bad == 0, "%d functions not restored", bad);
}
