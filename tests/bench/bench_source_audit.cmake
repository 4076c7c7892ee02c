# bench_source_audit.cmake — the source audit (`hotpatch-audit --source`, issue 18) against
# `clang-19 -fsyntax-only` over the same compilation databases with the same parallelism, measured
# in one run (tests/bench/source_audit/bench_source_audit.py): SQLite's amalgamation and Lua's files,
# Debian's sqlite3 and lua5.4 source packages fetched into the build tree. Target: at most 1.5x.
# Label "bench": never part of the default test run; also `cmake --build <dir> --target bench-source-audit`.
if(TARGET hotpatch-audit AND TARGET hp_audit_source)
  find_program(HP_PYTHON3 NAMES python3)
  if(HP_PYTHON3)
    set(_hp_sa_bench "${HP_PYTHON3}" "${CMAKE_CURRENT_LIST_DIR}/source_audit/bench_source_audit.py"
      --audit "$<TARGET_FILE:hotpatch-audit>" --clang "${HP_CLANG}" --cmake "${CMAKE_COMMAND}"
      --generator "${CMAKE_GENERATOR}" --toolchain "${PROJECT_SOURCE_DIR}/cmake/toolchains/x86_64-w64-mingw32.cmake"
      --fetch "${PROJECT_SOURCE_DIR}/tests/audit/source/debian_source.cmake"
      --cache "${PROJECT_BINARY_DIR}/_deps/debian-sources"
      --lua-project "${PROJECT_SOURCE_DIR}/tests/audit/source/lua"
      --sqlite-project "${CMAKE_CURRENT_LIST_DIR}/source_audit/sqlite"
      --work "${CMAKE_CURRENT_BINARY_DIR}/source_audit" --runs 5 --max-ratio 1.5)
    add_custom_target(bench-source-audit COMMAND ${_hp_sa_bench} DEPENDS hotpatch-audit USES_TERMINAL VERBATIM)
    add_test(NAME bench_source_audit COMMAND ${_hp_sa_bench})
    set_tests_properties(bench_source_audit PROPERTIES LABELS bench TIMEOUT 3600)
  endif()
endif()
