/*
 * cases.h — the runtime's test cases, shared by the portable programs
 * (hp_test_main) and the Criterion suites (one Test per case).
 * X-macro lists: X(suite, name).
 */
#ifndef HP_TEST_CASES_H
#define HP_TEST_CASES_H

#define HP_ENGINE_CASES(X)                      \
    X(engine, probe_accepts_nop_site)           \
    X(engine, probe_refusals)                   \
    X(engine, refusals_write_nothing)           \
    X(engine, argument_errors)                  \
    X(engine, apply_remove_nop_entry)           \
    X(engine, padding_and_entry_bytes)          \
    X(engine, already_patched_and_stale)        \
    X(engine, retarget)                         \
    X(engine, reapply_reuses_padding)           \
    X(engine, original_from_replacement_nop)    \
    X(engine, original_from_replacement_hot)    \
    X(engine, endbr_sites)                      \
    X(engine, relocated_call_keeps_return)      \
    X(engine, padding_of_five)                  \
    X(engine, lookup)                           \
    X(engine, version)                          \
    X(engine, probe_of_our_site_from_record)    \
    X(engine, same_replacement_leaves_slot_page) \
    X(engine, jump_table_entry)

#define HP_TXN_CASES(X)                         \
    X(txn, small_commit_and_remove)             \
    X(txn, duplicate_target_refused)            \
    X(txn, failed_add_poisons)                  \
    X(txn, empty_and_abort)                     \
    X(txn, stale_remove_refused)                \
    X(txn, foreign_write_before_commit)         \
    X(txn, not_a_handle)                        \
    X(txn, generated_10000_commit)              \
    X(txn, generated_10000_one_bad_at_add)      \
    X(txn, generated_10000_one_bad_at_commit)

#define HP_STRESS_CASES(X)                      \
    X(stress, nop_entry)                        \
    X(stress, hot_entry)                        \
    X(stress, concurrent_transactions)

/* Windows programs only (cases_windows.c): import thunks of hpt_thunk_dll.dll, allocations. */
#define HP_WINDOWS_CASES(X)                     \
    X(windows, import_thunk_followed)           \
    X(windows, hook_behind_thunk_refused)       \
    X(windows, pages_of_two_allocations)

#define HP_DECLARE_CASE(suite, name) void case_##suite##_##name(void);
HP_ENGINE_CASES(HP_DECLARE_CASE)
HP_TXN_CASES(HP_DECLARE_CASE)
HP_STRESS_CASES(HP_DECLARE_CASE)
HP_WINDOWS_CASES(HP_DECLARE_CASE)

#endif
