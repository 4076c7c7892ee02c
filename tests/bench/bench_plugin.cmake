# bench_plugin.cmake — compile-time cost of the clang plugin
# (tests/bench/plugin_compile/plugin_compile.sh: a generated 10,000-function
# unit compiled with and without -fplugin: CPU-time ratios and, at -O0, the
# instruction ratio from cachegrind).
# Never part of the default ctest run: `cmake --build <dir> --target bench-plugin`,
# or configure with -DHP_PLUGIN_BENCH_TEST=ON and run `ctest -L bench`.
if(TARGET hotpatch-plugin)
  set(_hp_plugin_bench
    sh "${CMAKE_CURRENT_LIST_DIR}/plugin_compile/plugin_compile.sh"
    "${HP_CLANG}" "$<TARGET_FILE:hotpatch-plugin>" "${CMAKE_CURRENT_BINARY_DIR}/plugin_compile")
  add_custom_target(bench-plugin COMMAND ${_hp_plugin_bench}
    DEPENDS hotpatch-plugin USES_TERMINAL VERBATIM)
  option(HP_PLUGIN_BENCH_TEST "Also register the plugin benchmark as a ctest entry (label bench)" OFF)
  if(HP_PLUGIN_BENCH_TEST)
    add_test(NAME bench_plugin_compile COMMAND ${_hp_plugin_bench})
    set_tests_properties(bench_plugin_compile PROPERTIES LABELS bench TIMEOUT 7200)
  endif()
endif()
