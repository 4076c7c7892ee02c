/*
 * criterion_cases.h — one Criterion Test per portable runtime case (portable/cases.h):
 * the case's own checks must all pass, and it must leave no writable+executable mapping.
 */
#ifndef HP_CRITERION_CASES_H
#define HP_CRITERION_CASES_H

#include <criterion/criterion.h>

#include "cases.h"
#include "hp_test.h"

#define HP_CRITERION_CASE(suite, name)                                                     \
    Test(suite, name)                                                                      \
    {                                                                                      \
        unsigned f0 = hpt_failures(), wx0 = hp_test_count_wx();                            \
        case_##suite##_##name();                                                           \
        cr_expect_eq(hpt_failures(), f0, "checks failed (the lines above say which)");    \
        cr_expect_leq(hp_test_count_wx(), wx0, "a writable+executable mapping was left"); \
    }

#endif /* HP_CRITERION_CASES_H */
