# wine_i386.cmake — the i386 half of the real corpus of test_corpus.c: a fixed sample of the PE
# images of Debian's libwine:i386, of the same version as the installed libwine (x64), fetched
# once into the build tree and cached there (never committed).
#
#   cmake -DCACHE=<dir> -DSAMPLE=<file listing image names> -P wine_i386.cmake
#
# The i386 dpkg architecture is NOT enabled (it breaks apt-get update on our mirror, README.md
# "Requirements"): apt runs with private state in <dir>/apt — a sources list of one line (the
# archive and suite the installed libwine came from, `apt-cache policy`, restricted to i386), its
# own lists and cache — so that `apt-get download libwine:i386=<version>` can see the package,
# and the system's apt and dpkg configuration are left untouched. `dpkg -x` unpacks the package;
# the images named in SAMPLE are copied to <dir>/sample and everything else is deleted.
# <dir>/VERSION holds the version; <dir>/STAMP (version + sample) makes later runs a no-op.

if(NOT CACHE OR NOT SAMPLE)
  message(FATAL_ERROR "usage: cmake -DCACHE=<dir> -DSAMPLE=<file> -P wine_i386.cmake")
endif()
set(_wine_dir "usr/lib/i386-linux-gnu/wine/i386-windows")

execute_process(COMMAND dpkg-query -W "-f=\${Version}" libwine
  OUTPUT_VARIABLE version RESULT_VARIABLE rc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0 OR version STREQUAL "")
  message(FATAL_ERROR "libwine is not installed (it comes with wine64: run scripts/setup-deps)")
endif()

file(STRINGS "${SAMPLE}" names REGEX "^[^#]")
list(TRANSFORM names STRIP)
list(REMOVE_ITEM names "")
string(SHA256 sample_hash "${names}")
set(stamp "libwine:i386 ${version}\nsample ${sample_hash}\n")

file(MAKE_DIRECTORY "${CACHE}")
file(LOCK "${CACHE}" DIRECTORY GUARD PROCESS TIMEOUT 900)  # two ctest runs of one tree
if(EXISTS "${CACHE}/STAMP" AND IS_DIRECTORY "${CACHE}/sample")
  file(READ "${CACHE}/STAMP" old)
  if(old STREQUAL stamp)
    list(LENGTH names n)
    message(STATUS "libwine:i386 ${version}: ${n} images cached in ${CACHE}/sample")
    return()
  endif()
endif()
file(REMOVE_RECURSE "${CACHE}/sample" "${CACHE}/apt" "${CACHE}/STAMP" "${CACHE}/VERSION")

# The archive of the installed version: "500 http://deb.debian.org/debian bookworm/main amd64 Packages"
execute_process(COMMAND "${CMAKE_COMMAND}" -E env LC_ALL=C apt-cache policy libwine
  OUTPUT_VARIABLE policy RESULT_VARIABLE rc ERROR_QUIET)
string(REGEX MATCH "\\*\\*\\* [^\n]*\n[ \t]+[0-9]+ ([a-z]+://[^ ]+) ([^/ ]+)/([^ ]+) [^ ]+ Packages" m "${policy}")
if(NOT rc EQUAL 0 OR NOT m)
  message(FATAL_ERROR "cannot tell which archive libwine ${version} came from (apt-cache policy libwine):\n${policy}")
endif()
set(uri "${CMAKE_MATCH_1}")
set(suite "${CMAKE_MATCH_2}")
set(component "${CMAKE_MATCH_3}")

set(apt "${CACHE}/apt")
file(MAKE_DIRECTORY "${apt}/lists/partial" "${apt}/cache/archives/partial" "${apt}/sources.list.d" "${apt}/dl")
file(WRITE "${apt}/sources.list" "deb [arch=i386] ${uri} ${suite} ${component}\n")
set(apt_opts
  -q -o "APT::Architectures::=i386" -o "Dir::Etc::SourceList=${apt}/sources.list"
  -o "Dir::Etc::SourceParts=${apt}/sources.list.d" -o "Dir::State::Lists=${apt}/lists"
  -o "Dir::Cache=${apt}/cache" -o "Acquire::Languages=none" -o "APT::Sandbox::User=root")
message(STATUS "libwine:i386 ${version}: fetching from ${uri} ${suite}/${component} (private apt state in ${apt})")
execute_process(COMMAND apt-get ${apt_opts} update RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "apt-get update (i386 index, private state) failed:\n${out}${err}")
endif()
execute_process(COMMAND apt-get ${apt_opts} download "libwine:i386=${version}"
  WORKING_DIRECTORY "${apt}/dl" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(GLOB deb "${apt}/dl/libwine_*_i386.deb")
if(NOT rc EQUAL 0 OR NOT deb)
  message(FATAL_ERROR "apt-get download libwine:i386=${version} failed:\n${out}${err}")
endif()
execute_process(COMMAND dpkg -x "${deb}" "${apt}/root" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dpkg -x ${deb} failed:\n${err}")
endif()

set(missing "")
file(MAKE_DIRECTORY "${CACHE}/sample")
foreach(name IN LISTS names)
  if(EXISTS "${apt}/root/${_wine_dir}/${name}")
    file(COPY "${apt}/root/${_wine_dir}/${name}" DESTINATION "${CACHE}/sample")
  else()
    list(APPEND missing "${name}")
  endif()
endforeach()
file(REMOVE_RECURSE "${apt}")
if(missing)
  file(REMOVE_RECURSE "${CACHE}/sample")
  message(FATAL_ERROR "libwine:i386 ${version} has no ${missing} in /${_wine_dir}: update ${SAMPLE}")
endif()
file(WRITE "${CACHE}/VERSION" "${version}\n")
file(WRITE "${CACHE}/STAMP" "${stamp}")
list(LENGTH names n)
message(STATUS "libwine:i386 ${version}: ${n} images cached in ${CACHE}/sample")
