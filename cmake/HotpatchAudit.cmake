# HotpatchAudit.cmake — run by hotpatch_enable()'s post-build step:
#   cmake -DAUDIT=<hotpatch-audit> -DIMAGE=<file> [-DPAD=n] [-DMIN_COVERAGE=pct] [-DWARN_ONLY=ON]
#         [-DEXCLUDE=glob|glob...] -P HotpatchAudit.cmake
# Fails the build when the audit finds functions that are not patchable (exit 1) or cannot read the
# image (exit 2); with WARN_ONLY, findings become a warning and the build goes on.
set(args "${IMAGE}")
if(PAD)
  list(APPEND args --pad "${PAD}")
endif()
if(MIN_COVERAGE)
  list(APPEND args --min-coverage "${MIN_COVERAGE}")
endif()
if(EXCLUDE)
  string(REPLACE "|" ";" globs "${EXCLUDE}")
  foreach(glob IN LISTS globs)
    list(APPEND args --exclude "${glob}")
  endforeach()
endif()
execute_process(COMMAND "${AUDIT}" --quiet ${args} RESULT_VARIABLE rc)
if(rc EQUAL 0)
  return()
endif()
if(rc EQUAL 1 AND WARN_ONLY)
  message(WARNING "hotpatch-audit: ${IMAGE} has functions that cannot be hotpatched (WARN_ONLY: the build goes on)")
  return()
endif()
message(FATAL_ERROR "hotpatch-audit: ${IMAGE} is not hotpatchable (exit ${rc}); see the report above")
