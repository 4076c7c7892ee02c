/*
 * cases_txn.c — transactions: all or nothing, out pointers, the 10,000-function
 * commit and its failure twins (bytes compared).
 */
#include "hp_test.h"
#include "cases.h"
#include "fixtures.h"
#include "gen_functions.h"

typedef int (*fn_int)(int);
#define FP(f) ((void *)(uintptr_t)(f))

static int rep_neg(int x) { return -x - 1; }
static int rep_big(int x) { return x + 500000; }

/* See cases_engine.c. */
static const uint8_t *code_bytes(uintptr_t f)
{
    volatile uintptr_t a = f;
    return (const uint8_t *)a;
}

/* Bytes [E-16, E+2) of every generated function. */
#define GEN_SNAP 18
static uint8_t g_snap[(size_t)HP_GEN_COUNT * GEN_SNAP];
static hp_patch *g_p[HP_GEN_COUNT];
static void *g_orig[HP_GEN_COUNT];

static uint8_t *gen_snapshot(void)
{
    uint8_t *s = g_snap;
    for (int i = 0; i < HP_GEN_COUNT; i++)
        memcpy(s + (size_t)i * GEN_SNAP, code_bytes((uintptr_t)hp_gen_table[i]) - 16, GEN_SNAP);
    return s;
}

static int gen_unchanged(const uint8_t *s)
{
    int bad = 0;
    for (int i = 0; i < HP_GEN_COUNT; i++)
        if (memcmp(s + (size_t)i * GEN_SNAP, code_bytes((uintptr_t)hp_gen_table[i]) - 16, GEN_SNAP) != 0)
            bad++;
    return bad;
}

void case_txn_small_commit_and_remove(void)
{
    void *targets[4] = {FP(fx_nop6_1), FP(fx_nop6_2), FP(fx_hot_add), FP(fx_nop16)};
    void *orig[4] = {NULL, NULL, NULL, NULL};
    hp_patch *p[4] = {NULL, NULL, NULL, NULL};
    hp_txn *t = NULL;
    fx_hot_global = 0;
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    for (int i = 0; i < 4; i++)
        HP_CHECK_ST(hp_txn_apply(t, targets[i], FP(rep_neg), &orig[i], &p[i]), HP_OK);
    /* nothing happens before commit */
    HP_CHECK(fx_nop6_1(1) == 2 && p[0] == NULL && orig[0] == NULL, "applied before commit");
    HP_CHECK_ST(hp_txn_commit(t), HP_OK);
    for (int i = 0; i < 4; i++) {
        HP_CHECK(p[i] != NULL && orig[i] != NULL && hp_original(p[i]) == orig[i], "out pointers %d", i);
        HP_CHECK(((fn_int)(uintptr_t)targets[i])(4) == -5, "target %d redirected", i);
    }
    HP_CHECK(((fn_int)(uintptr_t)orig[0])(4) == 5 && ((fn_int)(uintptr_t)orig[2])(4) == 4 &&
                 ((fn_int)(uintptr_t)orig[3])(4) == 8,
             "originals");
    /* remove all in one transaction */
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    for (int i = 0; i < 4; i++)
        HP_CHECK_ST(hp_txn_remove(t, p[i]), HP_OK);
    HP_CHECK_ST(hp_txn_commit(t), HP_OK);
    HP_CHECK(fx_nop6_1(4) == 5 && fx_nop6_2(4) == 6 && fx_hot_add(4) == 4 && fx_nop16(4) == 8, "restored");
}

/* A target already in the transaction is refused by the add that repeats it, which names it; the
   transaction is then spent (HP_ERR_TXN_STATE) and its commit fails with HP_ERR_DUPLICATE, writing
   nothing. */
void case_txn_duplicate_target_refused(void)
{
    hp_txn *t = NULL;
    hp_patch *p = NULL, *q = NULL, *r = NULL;
    uint8_t before[32];
    memcpy(before, code_bytes((uintptr_t)fx_nop6_3) - 16, sizeof before);
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_nop6_3), FP(rep_neg), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_nop6_1), FP(rep_neg), NULL, &r), HP_OK);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_nop6_3), FP(rep_big), NULL, &q), HP_ERR_DUPLICATE);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_nop6_2), FP(rep_big), NULL, NULL), HP_ERR_TXN_STATE);
    HP_CHECK_ST(hp_txn_commit(t), HP_ERR_DUPLICATE);
    HP_CHECK(p == NULL && q == NULL && r == NULL, "handles written by a failed commit");
    HP_CHECK(memcmp(before, code_bytes((uintptr_t)fx_nop6_3) - 16, sizeof before) == 0, "bytes changed");
    HP_CHECK(fx_nop6_3(1) == 4 && fx_nop6_1(1) == 2, "untouched");

    /* one handle removed twice: refused when added */
    HP_CHECK_ST(hp_apply(FP(fx_nop6_3), FP(rep_neg), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_remove(t, p), HP_OK);
    HP_CHECK_ST(hp_txn_remove(t, p), HP_ERR_DUPLICATE);
    hp_txn_abort(t);
    HP_CHECK(fx_nop6_3(1) == -2, "the live patch changed");
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(fx_nop6_3(1) == 4, "removed");
}

void case_txn_failed_add_poisons(void)
{
    hp_txn *t = NULL;
    hp_patch *p = NULL;
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_nop6_4), FP(rep_neg), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_short), FP(rep_neg), NULL, NULL), HP_ERR_NOT_PATCHABLE);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_nop6_1), FP(rep_neg), NULL, NULL), HP_ERR_TXN_STATE);
    HP_CHECK_ST(hp_txn_commit(t), HP_ERR_NOT_PATCHABLE);
    HP_CHECK(p == NULL && fx_nop6_4(1) == 5 && fx_nop6_1(1) == 2, "nothing applied");
}

void case_txn_empty_and_abort(void)
{
    hp_txn *t = NULL;
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_commit(t), HP_OK);
    hp_txn_abort(NULL);
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    hp_patch *p = NULL;
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_nop6_1), FP(rep_neg), NULL, &p), HP_OK);
    hp_txn_abort(t);
    HP_CHECK(p == NULL && fx_nop6_1(1) == 2, "abort applied something");
}

void case_txn_stale_remove_refused(void)
{
    hp_patch *p = NULL;
    hp_txn *t = NULL;
    HP_CHECK_ST(hp_apply(FP(fx_nop6_2), FP(rep_neg), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_remove(t, p), HP_OK);
    HP_CHECK_ST(hp_txn_remove(t, p), HP_ERR_DUPLICATE); /* the same live handle twice */
    HP_CHECK_ST(hp_txn_commit(t), HP_ERR_DUPLICATE);
    HP_CHECK(fx_nop6_2(1) == -2, "still redirected");
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_remove(t, p), HP_ERR_STALE_HANDLE);
    HP_CHECK_ST(hp_txn_commit(t), HP_ERR_STALE_HANDLE);
}

/*
 * hp_txn_apply/remove check each operation early; when nothing was committed
 * in between, the commit only looks at the live bytes again. A foreign tool
 * writing an entry between the two must still fail the commit, with nothing
 * written: for an apply (entry no longer the original) and for a remove (our
 * jump replaced). The sites are known (patched once before), as in the fast path.
 */
/* Another tool writes `jmp $` at `at`, then `t` is committed: it must fail with
   HP_ERR_REDIRECTED and write nothing around entries a and b; `at` is restored after. */
static void commit_after_foreign_write(hp_txn *t, uint8_t *at, const uint8_t *a, const uint8_t *b)
{
    static const uint8_t foreign[2] = {0xEB, 0xFE}; /* never run: restored before any call */
    uint8_t saved[2], before_a[18], before_b[18];
    memcpy(saved, at, 2);
    HP_CHECK(hp_test_poke_code(at, foreign, 2), "foreign write");
    memcpy(before_a, a - 16, sizeof before_a);
    memcpy(before_b, b - 16, sizeof before_b);
    HP_CHECK_ST(hp_txn_commit(t), HP_ERR_REDIRECTED);
    HP_CHECK(memcmp(before_a, a - 16, sizeof before_a) == 0 && memcmp(before_b, b - 16, sizeof before_b) == 0,
             "a failed commit wrote code");
    HP_CHECK(hp_test_poke_code(at, saved, 2), "restore");
}

void case_txn_foreign_write_before_commit(void)
{
    hp_patch *p = NULL, *q = NULL, *r = NULL;
    hp_txn *t = NULL;
    uint8_t *e3 = (uint8_t *)(uintptr_t)code_bytes((uintptr_t)fx_nop6_3);
    uint8_t *e4 = (uint8_t *)(uintptr_t)code_bytes((uintptr_t)fx_nop6_4);

    HP_CHECK_ST(hp_apply(FP(fx_nop6_3), FP(rep_neg), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK_ST(hp_apply(FP(fx_nop6_4), FP(rep_neg), NULL, &q), HP_OK);

    /* apply: the entry changes under the transaction */
    p = NULL;
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_nop6_3), FP(rep_big), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_txn_remove(t, q), HP_OK);
    commit_after_foreign_write(t, e3, e3, e4);
    HP_CHECK(p == NULL, "handle written by a failed commit");
    HP_CHECK(fx_nop6_3(1) == 4 && fx_nop6_4(1) == -2, "states after the failed commit");

    /* remove: our jump is replaced under the transaction */
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_remove(t, q), HP_OK);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_nop6_3), FP(rep_big), NULL, &p), HP_OK);
    commit_after_foreign_write(t, e4, e3, e4);
    HP_CHECK(p == NULL && fx_nop6_3(1) == 4 && fx_nop6_4(1) == -2, "states after the failed commit");

    /* a known site twice in one transaction: the second add is refused */
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_nop6_3), FP(rep_big), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_nop6_3), FP(rep_neg), NULL, &r), HP_ERR_DUPLICATE);
    HP_CHECK_ST(hp_txn_commit(t), HP_ERR_DUPLICATE);
    HP_CHECK(p == NULL && r == NULL && fx_nop6_3(1) == 4, "duplicate applied");

    /* and everything still works afterwards */
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_remove(t, q), HP_OK);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_nop6_3), FP(rep_big), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_txn_commit(t), HP_OK);
    HP_CHECK(fx_nop6_3(1) == 500001 && fx_nop6_4(1) == 5, "commit after the failures");
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(fx_nop6_3(1) == 4, "removed");
}

/* Handles are checked against the runtime's pool: pointers that are not live handles are stale. */
void case_txn_not_a_handle(void)
{
    hp_patch *p = NULL;
    int local = 0;
    hp_txn *t = NULL;
    HP_CHECK_ST(hp_apply(FP(fx_nop6_2), FP(rep_neg), NULL, &p), HP_OK);
    HP_CHECK_ST(hp_remove((hp_patch *)(void *)&local), HP_ERR_STALE_HANDLE);
    HP_CHECK_ST(hp_remove((hp_patch *)(void *)((char *)p + 1)), HP_ERR_STALE_HANDLE);
    HP_CHECK_ST(hp_retarget((hp_patch *)(void *)((char *)p + sizeof(void *)), FP(rep_big)), HP_ERR_STALE_HANDLE);
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    HP_CHECK_ST(hp_txn_remove(t, (hp_patch *)(void *)((char *)p - 1)), HP_ERR_STALE_HANDLE);
    HP_CHECK_ST(hp_txn_commit(t), HP_ERR_STALE_HANDLE);
    HP_CHECK(fx_nop6_2(1) == -2, "a stale pointer changed the patch");
    HP_CHECK_ST(hp_remove(p), HP_OK);
    HP_CHECK(fx_nop6_2(1) == 3, "removed");
    HP_CHECK_ST(hp_remove(p), HP_ERR_STALE_HANDLE);
}

void case_txn_generated_10000_commit(void)
{
    hp_patch **p = g_p;
    void **orig = g_orig;
    hp_txn *t = NULL;
    memset(g_p, 0, sizeof g_p);
    memset(g_orig, 0, sizeof g_orig);
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    for (int i = 0; i < HP_GEN_COUNT; i++) {
        hp_status st = hp_txn_apply(t, FP(hp_gen_table[i]), FP(rep_big), &orig[i], &p[i]);
        if (st != HP_OK) {
            HP_CHECK(st == HP_OK, "hp_txn_apply %d: %s", i, hp_status_str(st));
            break;
        }
    }
    unsigned long long t0 = hp_now_us();
    HP_CHECK_ST(hp_txn_commit(t), HP_OK);
    unsigned long long t1 = hp_now_us();
    int bad = 0, badorig = 0;
    for (int i = 0; i < HP_GEN_COUNT; i++) {
        if (hp_gen_table[i](1) != 500001)
            bad++;
        if (orig[i] == NULL || ((fn_int)(uintptr_t)orig[i])(1) != 1 + i)
            badorig++;
    }
    HP_CHECK(bad == 0, "%d of %d not redirected", bad, HP_GEN_COUNT);
    HP_CHECK(badorig == 0, "%d originals wrong", badorig);
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    for (int i = 0; i < HP_GEN_COUNT; i++)
        if (p[i] != NULL)
            hp_txn_remove(t, p[i]);
    HP_CHECK_ST(hp_txn_commit(t), HP_OK);
    unsigned long long t2 = hp_now_us();
    bad = 0;
    for (int i = 0; i < HP_GEN_COUNT; i++)
        if (hp_gen_table[i](1) != 1 + i)
            bad++;
    HP_CHECK(bad == 0, "%d of %d not restored", bad, HP_GEN_COUNT);
    hpt_outf("  10000-function commit %llu us, removal commit %llu us\n", t1 - t0, t2 - t1);
}

void case_txn_generated_10000_one_bad_at_add(void)
{
    uint8_t *before = gen_snapshot();
    hp_patch **p = g_p;
    hp_txn *t = NULL;
    memset(g_p, 0, sizeof g_p);
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    for (int i = 0; i < HP_GEN_COUNT; i++)
        hp_txn_apply(t, FP(hp_gen_table[i]), FP(rep_big), NULL, &p[i]);
    HP_CHECK_ST(hp_txn_apply(t, FP(fx_short), FP(rep_big), NULL, NULL), HP_ERR_NOT_PATCHABLE);
    HP_CHECK_ST(hp_txn_commit(t), HP_ERR_NOT_PATCHABLE);
    HP_CHECK(gen_unchanged(before) == 0, "%d functions changed", gen_unchanged(before));
    int handles = 0;
    for (int i = 0; i < HP_GEN_COUNT; i++)
        handles += p[i] != NULL;
    HP_CHECK(handles == 0, "%d handles handed out", handles);
}

void case_txn_generated_10000_one_bad_at_commit(void)
{
    uint8_t *before = NULL;
    hp_patch **p = g_p;
    hp_patch *spoiler = NULL;
    hp_txn *t = NULL;
    const int last = HP_GEN_COUNT - 1;
    memset(g_p, 0, sizeof g_p);
    HP_CHECK_ST(hp_txn_begin(&t), HP_OK);
    for (int i = 0; i < HP_GEN_COUNT; i++)
        HP_CHECK_ST(hp_txn_apply(t, FP(hp_gen_table[i]), FP(rep_big), NULL, &p[i]), HP_OK);
    /* the last target becomes bad between hp_txn_apply and commit: commit's own validation
       must refuse the whole transaction */
    HP_CHECK_ST(hp_apply(FP(hp_gen_table[last]), FP(rep_neg), NULL, &spoiler), HP_OK);
    before = gen_snapshot();
    HP_CHECK_ST(hp_txn_commit(t), HP_ERR_ALREADY_PATCHED);
    HP_CHECK(before != NULL && gen_unchanged(before) == 0, "functions changed");
    int redirected = 0;
    for (int i = 0; i < last; i++)
        redirected += hp_gen_table[i](1) != 1 + i;
    HP_CHECK(redirected == 0, "%d functions redirected", redirected);
    HP_CHECK(hp_gen_table[last](1) == -2, "the spoiler patch");
    HP_CHECK_ST(hp_remove(spoiler), HP_OK);
}
