/*
 * main.c — a portable runtime test program (Windows under Wine, Linux i386,
 * and the host): the suites selected at build time (HP_WITH_ENGINE,
 * HP_WITH_TXN, HP_WITH_STRESS, HP_WITH_MODULE; freestanding programs get no argv). Prints one
 * line per case and "N passed, N failed"; exits 1 on any failure.
 */
#include "hp_test.h"

#include "cases.h"

#define HP_TABLE_ENTRY(suite, name) {#suite "/" #name, case_##suite##_##name},

static const hp_test_case cases[] = {
#if defined(HP_WITH_ENGINE)
    HP_ENGINE_CASES(HP_TABLE_ENTRY)
#if defined(_WIN32)
    HP_WINDOWS_CASES(HP_TABLE_ENTRY)
#endif
#endif
#if defined(HP_WITH_TXN)
    HP_TXN_CASES(HP_TABLE_ENTRY)
#endif
#if defined(HP_WITH_STRESS)
    HP_STRESS_CASES(HP_TABLE_ENTRY)
#endif
#if defined(HP_WITH_MODULE)
    HP_MANIFEST_CASES(HP_TABLE_ENTRY)
    HP_MODULE_CASES(HP_TABLE_ENTRY)
#endif
};

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return hp_test_main("runtime", cases, sizeof cases / sizeof cases[0]);
}
