# HpFuzz.cmake — the fuzz build (HP_FUZZ=ON; the C compiler must be clang 19 with compiler-rt:
# Debian package libclang-rt-19-dev). Included by the top level after the parts.
#
# Builds instrumented copies of the libraries that read untrusted input, under names of their own,
# and one libFuzzer target per parser (tests/fuzz/targets.cmake, sources tests/fuzz/fuzz_*.c):
#
#   hp_fuzz_runtime  the runtime's site rules and PE view (HP_RUNTIME_CORE_SOURCES, _PE_SOURCES)
#   hp_fuzz_manifest the patch-module manifest reader (message.c, manifest.c, ptrmap.c)
#                    (and hp_fuzz_runtime_plain, the site rules uninstrumented, for the seed writer)
#   hp_fuzz_tools    hp_tools (the COFF symbol reader, globs, padding options, ...)
#   hp_fuzz_audit    hp_audit (the readers, checks, report model, renderers)
#   hp_fuzz_link     hotpatch-link's command line and response files (lld-pass/src/cmdline.c, rsp.c)
#   hp_fuzz_link_code  code digests of objects, the digests an object carries and the .hpcode reader
#                    (lld-pass/src/digest.c, carry.c, codefile.c; label.c for the unit label and hex rules
#                    they share)
#   hp_fuzz_link_manifest  hotpatch-manifest's fix-module reader and the post-link pass it checks
#                    checksums with (lld-pass/src/manifest.c, elfmap.c, map.c, post.c, units.c, label.c)
#   hp_fuzz_policy   the plugin's options (plugin/src/options.c: LLVM-C headers, no LLVM calls)
#
# Each copy is compiled from the very sources of its normal target (read off the target, so a
# file added there is fuzzed too) with -fsanitize=fuzzer-no-link,address,undefined: libFuzzer
# gets coverage feedback from the code under test, not only from the harness. The normal targets
# are left exactly as they are; the fuzz targets and `fuzz_seeds` (seeds.c) are built by the
# target `fuzz-targets`, into <build>/bin.
#
# HP_FUZZ_COVERAGE=ON builds the same targets for source-based coverage instead
# (-fprofile-instr-generate -fcoverage-mapping, no sanitizers) around tests/fuzz/replay.c in
# place of libFuzzer: `scripts/fuzz --coverage` replays a corpus through them for llvm-cov.
# A normal host tree builds the fuzz build as a sub-build (tests/fuzz/CMakeLists.txt).

if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang" OR CMAKE_C_COMPILER_VERSION VERSION_LESS 19)
  message(FATAL_ERROR "HP_FUZZ=ON needs clang 19 as the C compiler (configure with -DCMAKE_C_COMPILER=clang-19); "
    "found ${CMAKE_C_COMPILER_ID} ${CMAKE_C_COMPILER_VERSION}")
endif()
if(CMAKE_CROSSCOMPILING OR HP_RUNTIME_ONLY)
  message(FATAL_ERROR "HP_FUZZ=ON is for host builds of the tools: turn it off for cross and runtime-only builds")
endif()

include("${PROJECT_SOURCE_DIR}/tests/fuzz/targets.cmake")

if(HP_FUZZ_COVERAGE)
  set(_hp_fuzz_lib_flags -fprofile-instr-generate -fcoverage-mapping -g -O0)
  set(_hp_fuzz_exe_flags ${_hp_fuzz_lib_flags})
  set(_hp_fuzz_main "${PROJECT_SOURCE_DIR}/tests/fuzz/replay.c")
else()
  set(_hp_fuzz_san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1)
  set(_hp_fuzz_lib_flags -fsanitize=fuzzer-no-link ${_hp_fuzz_san})
  set(_hp_fuzz_exe_flags -fsanitize=fuzzer ${_hp_fuzz_san})
  set(_hp_fuzz_main "")
endif()

# hp_fuzz_library(<name> FROM <target> [SOURCES <file>...] [LIBS <lib>...] [PLAIN]): an instrumented
# copy of <target> — its sources (or only SOURCES, relative to its directory), include directories
# and definitions — linking LIBS instead of its own dependencies. PLAIN: not instrumented.
function(hp_fuzz_library name)
  cmake_parse_arguments(A "PLAIN" "FROM" "SOURCES;LIBS" ${ARGN})
  get_target_property(dir ${A_FROM} SOURCE_DIR)
  if(A_SOURCES)
    set(srcs ${A_SOURCES})
  else()
    get_target_property(srcs ${A_FROM} SOURCES)
  endif()
  set(abs "")
  foreach(s IN LISTS srcs)
    if(NOT IS_ABSOLUTE "${s}")
      set(s "${dir}/${s}")
    endif()
    list(APPEND abs "${s}")
  endforeach()
  add_library(${name} STATIC EXCLUDE_FROM_ALL ${abs})
  target_include_directories(${name}
    PRIVATE $<TARGET_PROPERTY:${A_FROM},INCLUDE_DIRECTORIES>
    PUBLIC $<TARGET_PROPERTY:${A_FROM},INTERFACE_INCLUDE_DIRECTORIES>)
  target_include_directories(${name} SYSTEM
    PUBLIC $<TARGET_PROPERTY:${A_FROM},INTERFACE_SYSTEM_INCLUDE_DIRECTORIES>)
  target_compile_definitions(${name} PRIVATE $<TARGET_PROPERTY:${A_FROM},COMPILE_DEFINITIONS>)
  target_compile_options(${name} PRIVATE ${HP_C_WARNINGS})
  if(NOT A_PLAIN)
    target_compile_options(${name} PRIVATE ${_hp_fuzz_lib_flags})
  endif()
  target_link_libraries(${name} PUBLIC ${A_LIBS})
endfunction()

get_directory_property(_hp_rt_core DIRECTORY "${PROJECT_SOURCE_DIR}/runtime" DEFINITION HP_RUNTIME_CORE_SOURCES)
get_directory_property(_hp_rt_pe DIRECTORY "${PROJECT_SOURCE_DIR}/runtime" DEFINITION HP_RUNTIME_PE_SOURCES)
hp_fuzz_library(hp_fuzz_runtime FROM hotpatch_static SOURCES ${_hp_rt_core} ${_hp_rt_pe} LIBS hp_zydis)
hp_fuzz_library(hp_fuzz_runtime_plain FROM hotpatch_static SOURCES ${_hp_rt_core} LIBS hp_zydis PLAIN)
hp_fuzz_library(hp_fuzz_tools FROM hp_tools LIBS hp_fuzz_runtime)
# the patch-module manifest reader alone: its target supplies the OS layer's heap
hp_fuzz_library(hp_fuzz_manifest FROM hotpatch_static SOURCES src/message.c src/manifest.c src/ptrmap.c)
if(TARGET hp_audit)
  hp_fuzz_library(hp_fuzz_audit FROM hp_audit LIBS hp_fuzz_tools)
endif()
if(TARGET hp_link)
  hp_fuzz_library(hp_fuzz_link FROM hp_link SOURCES src/cmdline.c src/rsp.c LIBS hp_fuzz_tools)
  hp_fuzz_library(hp_fuzz_link_code FROM hp_link SOURCES src/digest.c src/carry.c src/codefile.c src/label.c
                  LIBS hp_fuzz_tools)
endif()
if(TARGET hp_link_manifest)
  # manifest.c recomputes PE checksums with post.c's, which verifies through the audit library (and
  # reads the map's units from the audit's walk of the symbol table: units.c)
  hp_fuzz_library(hp_fuzz_link_manifest FROM hp_link_manifest SOURCES src/manifest.c src/elfmap.c src/map.c
                  src/post.c src/post_table.c src/units.c src/label.c LIBS hp_fuzz_audit)
endif()
if(TARGET hp_policy)
  hp_fuzz_library(hp_fuzz_policy FROM hp_policy SOURCES src/options.c LIBS hp_fuzz_tools)
endif()

add_custom_target(fuzz-targets)
set(_hp_fuzz_manifest "")
foreach(name IN LISTS HP_FUZZ_TARGETS)
  hp_fuzz_target_enabled(${name} _on)
  if(NOT _on)
    continue()
  endif()
  add_executable(fuzz_${name} EXCLUDE_FROM_ALL "${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c" ${_hp_fuzz_main})
  target_link_libraries(fuzz_${name} PRIVATE ${HP_FUZZ_${name}_LIBS})
  target_compile_options(fuzz_${name} PRIVATE ${HP_C_WARNINGS} ${_hp_fuzz_exe_flags})
  target_link_options(fuzz_${name} PRIVATE ${_hp_fuzz_exe_flags})
  set_target_properties(fuzz_${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/bin")
  add_dependencies(fuzz-targets fuzz_${name})
  string(REPLACE ";" " " _under "${HP_FUZZ_${name}_UNDER_TEST}")
  string(APPEND _hp_fuzz_manifest "${name}\t${_under}\n")
endforeach()

# The seed writer: an ordinary program (the runtime's site cases need the site rules, uninstrumented).
add_executable(fuzz_seeds EXCLUDE_FROM_ALL "${PROJECT_SOURCE_DIR}/tests/fuzz/seeds.c"
  "${PROJECT_SOURCE_DIR}/tests/runtime/site_cases.c")
target_include_directories(fuzz_seeds PRIVATE "${PROJECT_SOURCE_DIR}/tests/runtime")
target_link_libraries(fuzz_seeds PRIVATE hp_fuzz_runtime_plain)
hp_c_target(fuzz_seeds)
set_target_properties(fuzz_seeds PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/bin")
add_dependencies(fuzz-targets fuzz_seeds)

# What scripts/fuzz reads: the targets this tree built and the code each one tests.
file(WRITE "${CMAKE_BINARY_DIR}/fuzz-targets.tsv" "${_hp_fuzz_manifest}")
