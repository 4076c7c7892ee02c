# runtime benchmarks: the patch engine against its floor measured in the same run. Label "bench":
# never in the default run.
#   bench_runtime          Linux x86-64 (issue 4): one function, a 10,000-function transaction, and
#                          the call overhead of an unpatched hotpatchable function
#   bench_runtime_windows  Windows x64 under Wine (issue 17), with 1 and 8 busy worker threads: one
#                          function and a 2,000-function transaction; built by the x86_64-w64-mingw32
#                          sub-build (tests/runtime/portable/engine.cmake)
if(TARGET hpt_runtime_cases AND HP_TARGET_OS STREQUAL "linux" AND HP_TARGET_ARCH STREQUAL "x64")
  add_executable(bench_runtime "${CMAKE_CURRENT_LIST_DIR}/runtime/bench_runtime.c")
  target_link_libraries(bench_runtime PRIVATE hpt_runtime_cases)
  hp_c_target(bench_runtime)
  add_test(NAME bench_runtime COMMAND bench_runtime)
  set_tests_properties(bench_runtime PROPERTIES LABELS bench TIMEOUT 600)
endif()
if(HP_CROSS AND HP_RUNTIME_ENGINE AND "x86_64-w64-mingw32" IN_LIST HP_CROSS_TRIPLES AND HP_WINE)
  set(_hp_bench_win "${CMAKE_BINARY_DIR}/cross/x86_64-w64-mingw32/tests/runtime/portable/bench_runtime_windows.exe")
  add_test(NAME bench_runtime_windows COMMAND "${CMAKE_COMMAND}" -E env
    "WINEPREFIX=${PROJECT_BINARY_DIR}/wineprefix" WINEDEBUG=-all "WINEDLLOVERRIDES=mscoree,mshtml=" DISPLAY=
    "${HP_WINE}" "${_hp_bench_win}")
  set_tests_properties(bench_runtime_windows PROPERTIES LABELS bench TIMEOUT 900 FIXTURES_REQUIRED wine)
endif()
