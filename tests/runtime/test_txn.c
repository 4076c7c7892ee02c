/*
 * test_txn.c — Criterion suite "txn": the portable transaction cases
 * (portable/cases_txn.c), one Test each, in its own process.
 */
#include "criterion_cases.h"

HP_TXN_CASES(HP_CRITERION_CASE)
