# The patch engine's portable test programs (issue 4), built for every target:
#   hpt_runtime_engine  the engine and transaction cases (incl. 10,000 generated functions)
#   hpt_runtime_stress  8 threads calling while another applies/retargets/removes
# Included from tests/runtime/portable/CMakeLists.txt (cross sub-builds) and
# tests/runtime/engine.cmake (host). Fixtures are compiled at -O2 without
# sanitizers: their bytes are part of the tests' meaning (fixtures.h).
if(NOT TARGET hotpatch_static OR NOT HP_RUNTIME_ENGINE)
  return()
endif()

set(_hp_rtp "${CMAKE_CURRENT_LIST_DIR}")
if(NOT DEFINED HP_STRESS_OPS)
  set(HP_STRESS_OPS 100000)
endif()

set(_hp_fx_sources fixtures_nop.c fixtures_hot.c fixtures_asm.c gen_functions.c)
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  list(TRANSFORM _hp_fx_sources PREPEND "${_hp_rtp}/" OUTPUT_VARIABLE _hp_fx_paths)
  add_library(hpt_runtime_fixtures STATIC ${_hp_fx_paths})
  hp_c_target(hpt_runtime_fixtures)
  # after hp_c_target: these options come last and win
  target_compile_options(hpt_runtime_fixtures PRIVATE -O2 -fno-sanitize=all -fcf-protection=none)
  set_source_files_properties("${_hp_rtp}/fixtures_hot.c" TARGET_DIRECTORY hpt_runtime_fixtures
    PROPERTIES COMPILE_OPTIONS "-fms-hotpatch")
else()
  # The sites are clang's (patchable_function_entry's "66 90" entry, -fms-hotpatch): a GCC host
  # build compiles the fixtures with clang-19.
  find_program(HP_FIXTURE_CLANG NAMES clang-19 clang REQUIRED)
  set(_hp_fx_objs "")
  foreach(src IN LISTS _hp_fx_sources)
    set(obj "${CMAKE_CURRENT_BINARY_DIR}/hpt_runtime_fixtures/${src}.o")
    set(extra "")
    if(src STREQUAL "fixtures_hot.c")
      set(extra -fms-hotpatch)
    endif()
    add_custom_command(OUTPUT "${obj}"
      COMMAND "${CMAKE_COMMAND}" -E make_directory "${CMAKE_CURRENT_BINARY_DIR}/hpt_runtime_fixtures"
      COMMAND "${HP_FIXTURE_CLANG}" -std=c11 -O2 -fPIC -fcf-protection=none -Wall -Wextra -Werror ${extra}
              "-I${_hp_rtp}" -c "${_hp_rtp}/${src}" -o "${obj}"
      DEPENDS "${_hp_rtp}/${src}" "${_hp_rtp}/fixtures.h" "${_hp_rtp}/gen_functions.h"
      COMMENT "fixture ${src} (clang)")
    list(APPEND _hp_fx_objs "${obj}")
  endforeach()
  add_library(hpt_runtime_fixtures STATIC ${_hp_fx_objs})
  set_source_files_properties(${_hp_fx_objs} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  set_target_properties(hpt_runtime_fixtures PROPERTIES LINKER_LANGUAGE C)
endif()
target_include_directories(hpt_runtime_fixtures PUBLIC "${_hp_rtp}")

add_library(hpt_runtime_cases STATIC
  "${_hp_rtp}/cases_engine.c" "${_hp_rtp}/cases_txn.c" "${_hp_rtp}/cases_stress.c" "${_hp_rtp}/hp_test_os.c")
if(WIN32)
  # How Windows code takes addresses (cases_windows.c): the program calls hpt_thunk_dll.dll's functions
  # through import thunks. The DLL is built with the program, next to it.
  add_library(hpt_thunk_dll SHARED "${_hp_rtp}/thunk_dll.c")
  set_target_properties(hpt_thunk_dll PROPERTIES PREFIX "" OUTPUT_NAME hpt_thunk_dll)
  hp_c_target(hpt_thunk_dll)
  target_compile_options(hpt_thunk_dll PRIVATE -O2 -fcf-protection=none)
  target_sources(hpt_runtime_cases PRIVATE "${_hp_rtp}/cases_windows.c")
  target_link_libraries(hpt_runtime_cases PUBLIC hpt_thunk_dll)
endif()
target_include_directories(hpt_runtime_cases PUBLIC "${_hp_rtp}")
target_compile_definitions(hpt_runtime_cases PRIVATE HP_STRESS_OPS=${HP_STRESS_OPS})
target_link_libraries(hpt_runtime_cases PUBLIC hpt_runtime_fixtures hotpatch_static hpt_portable)
if(NOT WIN32)
  find_package(Threads REQUIRED)
  target_link_libraries(hpt_runtime_cases PUBLIC Threads::Threads)
endif()
hp_c_target(hpt_runtime_cases)

add_executable(hpt_runtime_engine "${_hp_rtp}/main.c")
target_compile_definitions(hpt_runtime_engine PRIVATE HP_WITH_ENGINE HP_WITH_TXN)
target_link_libraries(hpt_runtime_engine PRIVATE hpt_runtime_cases)
hp_c_target(hpt_runtime_engine)

add_executable(hpt_runtime_stress "${_hp_rtp}/main.c")
target_compile_definitions(hpt_runtime_stress PRIVATE HP_WITH_STRESS)
target_link_libraries(hpt_runtime_stress PRIVATE hpt_runtime_cases)
hp_c_target(hpt_runtime_stress)

# The Windows benchmark (tests/bench/runtime/bench_runtime_windows.c): built by the x64 MinGW
# sub-build, run under Wine by the host tree's ctest (label "bench", tests/bench/bench_runtime.cmake).
if(WIN32 AND HP_TARGET_ARCH STREQUAL "x64" AND NOT HP_FREESTANDING)
  add_executable(bench_runtime_windows "${PROJECT_SOURCE_DIR}/tests/bench/runtime/bench_runtime_windows.c")
  target_link_libraries(bench_runtime_windows PRIVATE hpt_runtime_cases)
  hp_c_target(bench_runtime_windows)
endif()

# Patch modules: the target image, the fix modules, hpt_runtime_module (module.cmake).
include("${_hp_rtp}/module.cmake")
