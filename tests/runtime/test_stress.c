/*
 * test_stress.c — Criterion suite "stress": the portable stress cases
 * (portable/cases_stress.c), one Test each, in its own process.
 */
#include "criterion_cases.h"

HP_STRESS_CASES(HP_CRITERION_CASE)
