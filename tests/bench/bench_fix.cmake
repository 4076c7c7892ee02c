# bench_fix.cmake — hotpatch-fix's comparison against one compile (issue 15, "Performance"):
# a generated 10,000-function unit (and a 60,000-function one, reported, not gated) released
# through hotpatch-link, then a one-line edit of one function in a copy; measured in the same run,
# medians of 5 interleaved rounds of CPU time (the 60,000-function size: one round, checked, no warm-up):
# (a) compiling the unit once with the plugin,
# (b) hotpatch-fix --dry-run (target: (b) <= 2.0 x (a)), (c) hotpatch-fix building the module
# (reported). Every run must report exactly the edited function changed
# (tests/bench/fix_compare/bench_fix.c). Label "bench": never part of the default test run.
if(TARGET hotpatch-fix AND TARGET hotpatch-cc AND TARGET hotpatch-link AND TARGET hotpatch-plugin)
  add_executable(bench_fix "${CMAKE_CURRENT_LIST_DIR}/fix_compare/bench_fix.c")
  hp_c_target(bench_fix)
  add_dependencies(bench_fix hotpatch-fix hotpatch-cc hotpatch-link hotpatch-plugin)
  set(_hp_bench_fix_dir "${CMAKE_CURRENT_BINARY_DIR}/fix_compare")
  add_test(NAME bench_fix
    COMMAND bench_fix "${HP_CLANG}" "$<TARGET_FILE:hotpatch-plugin>" "$<TARGET_FILE:hotpatch-fix>"
            "$<TARGET_FILE:hotpatch-link>" "${_hp_bench_fix_dir}" 5 10000,60000:1 10000)
  set_tests_properties(bench_fix PROPERTIES LABELS bench TIMEOUT 7200)
endif()
# The same comparison as a correctness test of the default run (not a benchmark: no ratio is gated):
# a generated 1,500-function unit of every kind above (switches with jump tables, string literals,
# statics, inlined helpers), one edit, exactly that function reported changed.
if(TARGET bench_fix)
  add_test(NAME fix_compare_generated
    COMMAND bench_fix "${HP_CLANG}" "$<TARGET_FILE:hotpatch-plugin>" "$<TARGET_FILE:hotpatch-fix>"
            "$<TARGET_FILE:hotpatch-link>" "${CMAKE_CURRENT_BINARY_DIR}/fix_compare_generated" 1 1500:1 0)
  set_tests_properties(fix_compare_generated PROPERTIES TIMEOUT 900)
endif()
