/*
 * test_nomem.c — suite "nomem": out of memory at every allocation the engine
 * makes. The program links with --wrap=malloc,calloc,realloc: while armed,
 * the k-th allocation from then on fails. For k = 0, 1, 2, ... each call must
 * either succeed (a failure the engine may tolerate, such as not caching a
 * page protection) or return HP_ERR_NO_MEMORY having changed nothing: code
 * bytes, out pointers, handles, and no writable+executable mapping left.
 * The loop ends when a call gets through with no failure injected.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hotpatch.h"
#include "hp_test.h"

#include "fixtures.h"
#include "gen_functions.h"

#define FP(f) ((void *)(uintptr_t)(f))

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

/* -1: disarmed; k >= 0: allocations to let through before the one that fails. */
static long g_countdown = -1;
static int g_injected;

static int fail_now(void)
{
    if (g_countdown < 0)
        return 0;
    if (g_countdown-- == 0) {
        g_injected = 1;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return fail_now() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }

static void arm(long k)
{
    g_injected = 0;
    g_countdown = k;
}

static void disarm(void) { g_countdown = -1; }

static int rep_neg(int x) { return -x - 1; }

static const uint8_t *code_bytes(uintptr_t f)
{
    volatile uintptr_t a = f;
    return (const uint8_t *)a;
}

#define SNAP 24 /* [E-16, E+8) */

/* A first apply of a site allocates the most: a site record, a slot, map room, handles. */
Test(nomem, apply_of_a_fresh_site)
{
    long k;
    for (k = 0; k < 500; k++) {
        /* a site never patched before on every round */
        int (*f)(int) = hp_gen_table[k];
        const uint8_t *e = code_bytes((uintptr_t)f);
        uint8_t before[SNAP];
        hp_patch *p = NULL;
        void *orig = NULL;
        memcpy(before, e - 16, SNAP);
        arm(k);
        hp_status st = hp_apply(FP(f), FP(rep_neg), &orig, &p);
        disarm();
        if (!g_injected) {
            cr_assert_eq(st, HP_OK, "no failure injected: %s", hp_status_str(st));
            cr_assert_eq(f(1), -2);
            cr_assert_eq(hp_remove(p), HP_OK);
            break;
        }
        if (st == HP_OK) { /* tolerated (the protection cache): the patch must be whole */
            cr_assert_eq(f(1), -2, "round %ld: applied but not redirected", k);
            cr_assert_eq(hp_remove(p), HP_OK);
            continue;
        }
        cr_assert_eq(st, HP_ERR_NO_MEMORY, "round %ld: %s", k, hp_status_str(st));
        cr_assert(memcmp(before, e - 16, SNAP) == 0, "round %ld: code written by a failed apply", k);
        cr_assert(p == NULL && orig == NULL, "round %ld: out pointers written by a failed apply", k);
        cr_assert_eq(hp_test_count_wx(), 0, "round %ld: a writable+executable mapping was left", k);
        cr_assert_eq(f(1), 1 + (int)k, "round %ld: the target no longer works", k);
    }
    cr_assert(k > 3 && k < 500, "%ld rounds: the apply should allocate a few times and then succeed", k);
}

/* Removing and re-applying a known site, and a transaction, under the same regime. */
Test(nomem, remove_reapply_and_transactions)
{
    hp_patch *p = NULL;
    const uint8_t *e = code_bytes((uintptr_t)fx_nop6_1);
    uint8_t applied[SNAP], removed[SNAP];
    long k;

    memcpy(removed, e - 16, SNAP);
    cr_assert_eq(hp_apply(FP(fx_nop6_1), FP(rep_neg), NULL, &p), HP_OK);
    memcpy(applied, e - 16, SNAP);
    for (k = 0; k < 500; k++) { /* remove */
        arm(k);
        hp_status st = hp_remove(p);
        disarm();
        if (st == HP_OK)
            break;
        cr_assert_eq(st, HP_ERR_NO_MEMORY, "remove round %ld: %s", k, hp_status_str(st));
        cr_assert(memcmp(applied, e - 16, SNAP) == 0, "remove round %ld: code changed", k);
        cr_assert_eq(fx_nop6_1(1), -2, "remove round %ld: the patch is gone", k);
        cr_assert_eq(hp_test_count_wx(), 0);
    }
    cr_assert(k < 500 && fx_nop6_1(1) == 2, "removed");
    /* the padding jump stays: compare the entry only from here on */
    for (k = 0; k < 500; k++) { /* re-apply */
        p = NULL;
        arm(k);
        hp_status st = hp_apply(FP(fx_nop6_1), FP(rep_neg), NULL, &p);
        disarm();
        if (st == HP_OK)
            break;
        cr_assert_eq(st, HP_ERR_NO_MEMORY, "re-apply round %ld: %s", k, hp_status_str(st));
        cr_assert(memcmp(removed + 16, e, 2) == 0 && p == NULL, "re-apply round %ld: something written", k);
        cr_assert_eq(fx_nop6_1(1), 2);
    }
    cr_assert(k < 500 && fx_nop6_1(1) == -2, "re-applied");
    cr_assert_eq(hp_remove(p), HP_OK);

    for (k = 0; k < 2000; k++) { /* a transaction of 8 sites, begin to commit */
        hp_txn *t = NULL;
        hp_patch *q[8] = {NULL};
        hp_status st;
        int i;
        arm(k);
        st = hp_txn_begin(&t);
        for (i = 0; i < 8 && st == HP_OK; i++)
            st = hp_txn_apply(t, FP(hp_gen_table[1000 + i]), FP(rep_neg), NULL, &q[i]);
        if (t != NULL) {
            hp_status c = hp_txn_commit(t); /* after a failed add: refuses with that failure */
            if (st == HP_OK)
                st = c;
            else
                cr_assert_eq(c, st, "txn round %ld: commit after a failed add", k);
        }
        disarm();
        if (st == HP_OK) {
            for (i = 0; i < 8; i++) {
                cr_assert_eq(hp_gen_table[1000 + i](1), -2);
                cr_assert_eq(hp_remove(q[i]), HP_OK);
            }
            if (!g_injected)
                break;
            continue;
        }
        cr_assert_eq(st, HP_ERR_NO_MEMORY, "txn round %ld: %s", k, hp_status_str(st));
        for (i = 0; i < 8; i++) {
            cr_assert(q[i] == NULL, "txn round %ld: handle %d written by a failed commit", k, i);
            cr_assert_eq(hp_gen_table[1000 + i](1), 1001 + i, "txn round %ld: target %d changed", k, i);
        }
        cr_assert_eq(hp_test_count_wx(), 0);
    }
    cr_assert(k < 2000, "the transaction never got through");
}
