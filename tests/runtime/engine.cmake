# The patch engine's suites (issue 4), host side: Criterion wrappers around the
# portable cases, Linux-only cases (seccomp W^X policy, exhausted ±2 GiB), and
# the runs of the cross-built portable programs under Wine and qemu-i386.
include("${CMAKE_CURRENT_SOURCE_DIR}/portable/engine.cmake")
if(NOT TARGET hpt_runtime_cases)
  return()
endif()

hp_criterion_suite(test_engine SOURCES test_engine.c LIBS hpt_runtime_cases)
hp_criterion_suite(test_txn SOURCES test_txn.c LIBS hpt_runtime_cases)
hp_criterion_suite(test_stress SOURCES test_stress.c LIBS hpt_runtime_cases TIMEOUT 300)
# out of memory at every allocation in turn: the engine's malloc/calloc/realloc go through wrappers
hp_criterion_suite(test_nomem SOURCES test_nomem.c LIBS hpt_runtime_cases)
target_link_options(test_nomem PRIVATE "LINKER:--wrap=malloc,--wrap=calloc,--wrap=realloc")

if(HP_CROSS)
  hp_criterion_suite(test_engine_cross SOURCES test_engine_cross.c LIBS hotpatch_static WINE TIMEOUT 900)
  foreach(t IN LISTS HP_CROSS_TRIPLES)
    add_dependencies(test_engine_cross cross-${t})
  endforeach()
endif()
