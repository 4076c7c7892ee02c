# run.cmake — one fuzz target for a fixed budget, as its ctest entry runs it:
#   cmake -DEXE=<fuzz_x> -DNAME=<x> -DSECONDS=<s> -DRUN=<build>/fuzz-run -P run.cmake
# New inputs go to a scratch corpus (RUN/ci/NAME, emptied first); the seeds (RUN/seeds/NAME) and,
# when scripts/fuzz has made one, the long-run corpus (RUN/corpus/NAME) are read, not written.
# Any crash, sanitizer report, leak, hang (60 s for one input: far above the 0.2 s the slowest
# inputs take, so that a stall of a shared VM is not taken for one) or out-of-memory makes libFuzzer
# exit non-zero: the entry fails, naming the input it wrote to RUN/artifacts/.
cmake_minimum_required(VERSION 3.25)

set(work "${RUN}/ci/${NAME}")
file(REMOVE_RECURSE "${work}")
file(MAKE_DIRECTORY "${work}" "${RUN}/artifacts")
set(dirs "${work}" "${RUN}/seeds/${NAME}")
if(IS_DIRECTORY "${RUN}/corpus/${NAME}")
  list(APPEND dirs "${RUN}/corpus/${NAME}")
endif()
execute_process(COMMAND "${EXE}" -max_total_time=${SECONDS} -timeout=60 -rss_limit_mb=2048 -print_final_stats=1
  "-artifact_prefix=${RUN}/artifacts/${NAME}-" ${dirs}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz_${NAME} failed (exit status ${rc}): the input is ${RUN}/artifacts/${NAME}-*; "
    "reproduce with: ${EXE} <that file>")
endif()
