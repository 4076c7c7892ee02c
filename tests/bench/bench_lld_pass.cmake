# lld-pass benchmark: generated 10,000- and 60,000-function DLLs linked through
# hotpatch-link and through plain lld in the same run; prints the medians and the
# CPU ratio per size (target <= 1.15x). Label "bench": never part of the default test run.
if(TARGET hotpatch-link AND TARGET hotpatch-plugin)
  add_executable(bench_lld_pass "${CMAKE_CURRENT_LIST_DIR}/lld_pass/bench_lld_pass.c")
  hp_c_target(bench_lld_pass)
  add_dependencies(bench_lld_pass hotpatch-link hotpatch-plugin)
  set(_hp_bench_lld_dir "${CMAKE_CURRENT_BINARY_DIR}/lld_pass")
  file(MAKE_DIRECTORY "${_hp_bench_lld_dir}")
  add_test(NAME bench_lld_pass
    COMMAND bench_lld_pass "${HP_CLANG}" "$<TARGET_FILE:hotpatch-plugin>" "$<TARGET_FILE:hotpatch-link>"
            "${_hp_bench_lld_dir}" 15 10000,60000)
  set_tests_properties(bench_lld_pass PROPERTIES LABELS bench TIMEOUT 1800)
endif()
