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

/* Patch modules: the manifest reader on hand-made bytes (cases_manifest.c), and modules loaded into
   this process (cases_module.c, with the images of fix_target.c and fix_modules.c next to the program). */
#define HP_MANIFEST_CASES(X)                    \
    X(manifest, valid_two_fragments)            \
    X(manifest, truncated_at_every_length)      \
    X(manifest, every_byte_flipped)             \
    X(manifest, version_and_unchecked)          \
    X(manifest, malformed_records)              \
    X(manifest, message_cut)

#define HP_MODULE_CASES(X)                      \
    X(module, live_threads_apply_and_unload)    \
    X(module, symbol_slot_one_variable)         \
    X(module, stacked_unload_top_first)         \
    X(module, stacked_unload_bottom_first)      \
    X(module, stacked_three_unload_middle)      \
    X(module, target_not_loaded)                \
    X(module, identity_mismatch)                \
    X(module, hash_mismatch_names_entry)        \
    X(module, verify_refuses)                   \
    X(module, no_manifest_unchecked_io_format)  \
    X(module, info_entry_stale_twice)           \
    X(module, already_patched_by_apply)         \
    X(module, unload_refused_when_redirected)   \
    X(module, relocated_code_hashes_as_released) \
    X(module, target_option_keep_loaded)

#define HP_DECLARE_CASE(suite, name) void case_##suite##_##name(void);
HP_ENGINE_CASES(HP_DECLARE_CASE)
HP_TXN_CASES(HP_DECLARE_CASE)
HP_STRESS_CASES(HP_DECLARE_CASE)
HP_WINDOWS_CASES(HP_DECLARE_CASE)
HP_MANIFEST_CASES(HP_DECLARE_CASE)
HP_MODULE_CASES(HP_DECLARE_CASE)

#endif
