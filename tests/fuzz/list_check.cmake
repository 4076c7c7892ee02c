# list_check.cmake — `scripts/fuzz --list` names exactly the targets of tests/fuzz/targets.cmake, in
# order (the script reads the list itself; a list it cannot read leaves it with no targets at all).
#   cmake -DROOT=<source root> -P list_check.cmake
cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/targets.cmake")
execute_process(COMMAND bash "${ROOT}/scripts/fuzz" --list WORKING_DIRECTORY "${ROOT}"
  OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "scripts/fuzz --list failed (${rc})")
endif()
string(STRIP "${out}" out)
string(REPLACE "\n" ";" got "${out}")
if(NOT got STREQUAL HP_FUZZ_TARGETS)
  message(FATAL_ERROR "scripts/fuzz --list gives '${got}', targets.cmake has '${HP_FUZZ_TARGETS}'")
endif()
list(LENGTH got n)
message(STATUS "scripts/fuzz --list: the ${n} targets of targets.cmake")
