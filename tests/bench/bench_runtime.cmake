# runtime benchmark (issue 4): the patch engine against its floor measured in the same run, and the
# call overhead of an unpatched hotpatchable function. Label "bench": never in the default run.
if(TARGET hpt_runtime_cases AND HP_TARGET_OS STREQUAL "linux" AND HP_TARGET_ARCH STREQUAL "x64")
  add_executable(bench_runtime "${CMAKE_CURRENT_LIST_DIR}/runtime/bench_runtime.c")
  target_link_libraries(bench_runtime PRIVATE hpt_runtime_cases)
  hp_c_target(bench_runtime)
  add_test(NAME bench_runtime COMMAND bench_runtime)
  set_tests_properties(bench_runtime PROPERTIES LABELS bench TIMEOUT 600)
endif()
