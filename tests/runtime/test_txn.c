/*
 * test_txn.c — Criterion suite "txn": the portable transaction cases
 * (portable/cases_txn.c), one Test each, in its own process.
 */
#include <criterion/criterion.h>

#include "hp_test.h"

#include "cases.h"

#define HP_CRITERION_CASE(suite, name)                                                     \
    Test(suite, name)                                                                      \
    {                                                                                      \
        unsigned f0 = hpt_failures(), wx0 = hp_test_count_wx();                            \
        case_##suite##_##name();                                                           \
        cr_expect_eq(hpt_failures(), f0, "checks failed (the lines above say which)");    \
        cr_expect_leq(hp_test_count_wx(), wx0, "a writable+executable mapping was left"); \
    }

HP_TXN_CASES(HP_CRITERION_CASE)
