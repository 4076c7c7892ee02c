# HpZydis.cmake — the Zydis decoder as target hp_zydis.
#
# Host (Linux x86-64): Debian's libzydis-dev.
# Every other target (Windows x64/x86, Linux i386): the decoder part of Debian's
# zydis source package (`apt-get source zydis`, 4.0.x), fetched once into the
# build tree (never committed) and compiled for the target against the Zycore
# headers of libzycore-dev. Only a copy of the Zycore/ header folder is put on
# the include path — never /usr/include itself, or Linux headers would leak
# into Windows builds.

set(HP_ZYDIS_SOURCE_DIR "" CACHE PATH "Unpacked Debian zydis source package (fetched into the build tree when empty)")
set(HP_ZYCORE_INCLUDE_DIR "" CACHE PATH "Directory holding a copy of Zycore/ headers (made in the build tree when empty)")

# hp_zydis_fetch_source(): fills HP_ZYDIS_SOURCE_DIR with Debian's zydis source package.
function(hp_zydis_fetch_source)
  set(dir "${CMAKE_BINARY_DIR}/_deps/zydis-pkg")
  file(GLOB found LIST_DIRECTORIES true "${dir}/zydis-4.*")
  if(NOT found)
    file(MAKE_DIRECTORY "${dir}")
    message(STATUS "hotpatch: fetching Debian's zydis source package into ${dir}")
    # scripts/debian-source: the newest version the archive really serves (a mirror may lack a
    # security update's files)
    execute_process(COMMAND "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../scripts/debian-source" zydis
      WORKING_DIRECTORY "${dir}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    file(GLOB found LIST_DIRECTORIES true "${dir}/zydis-4.*")
    if(NOT rc EQUAL 0 OR NOT found)
      message(FATAL_ERROR "hotpatch: could not fetch Debian's zydis source package (apt-get source zydis, exit ${rc}):\n${err}\n"
        "It needs a deb-src entry and dpkg-dev: run  sudo scripts/setup-deps  (it adds both), then configure again.")
    endif()
  endif()
  list(GET found 0 src)
  if(NOT EXISTS "${src}/src/Decoder.c" OR NOT EXISTS "${src}/include/Zydis/Zydis.h")
    message(FATAL_ERROR "hotpatch: ${src} does not look like the zydis 4 source package (no src/Decoder.c); remove ${dir} and configure again")
  endif()
  set(HP_ZYDIS_SOURCE_DIR "${src}" CACHE PATH "" FORCE)
endfunction()

# hp_zycore_headers(): fills HP_ZYCORE_INCLUDE_DIR with a private copy of Zycore/.
function(hp_zycore_headers)
  set(dir "${CMAKE_BINARY_DIR}/_deps/zycore-include")
  if(NOT EXISTS "${dir}/Zycore/Zycore.h")
    file(COPY "${HP_ZYCORE_SYSTEM_INCLUDE}/Zycore" DESTINATION "${dir}")
  endif()
  set(HP_ZYCORE_INCLUDE_DIR "${dir}" CACHE PATH "" FORCE)
endfunction()

set(_hp_zydis_from_source ON)
if(HP_TARGET_TRIPLE STREQUAL "x86_64-linux-gnu" AND NOT HP_RUNTIME_ONLY)
  set(_hp_zydis_from_source OFF)
endif()

if(NOT _hp_zydis_from_source)
  add_library(hp_zydis INTERFACE)
  target_link_libraries(hp_zydis INTERFACE "${HP_ZYDIS_LIBRARY}")
  target_include_directories(hp_zydis SYSTEM INTERFACE "${HP_ZYDIS_SYSTEM_INCLUDE}")
else()
  if(NOT HP_ZYDIS_SOURCE_DIR)
    hp_zydis_fetch_source()
  endif()
  if(NOT HP_ZYCORE_INCLUDE_DIR)
    hp_zycore_headers()
  endif()
  # The decoder only: no formatter, no encoder. The runtime only decodes (the site rules' instruction
  # lengths, trampolines' operands), so the smallest build is enough (README.md, "Requirements").
  set(_zs "${HP_ZYDIS_SOURCE_DIR}/src")
  # An OBJECT library: its objects go into libhotpatch itself, so the installed
  # static runtime for each target is self-contained.
  add_library(hp_zydis OBJECT
    ${_zs}/Decoder.c ${_zs}/DecoderData.c ${_zs}/SharedData.c ${_zs}/MetaInfo.c
    ${_zs}/Mnemonic.c ${_zs}/Register.c ${_zs}/Segment.c ${_zs}/Utils.c ${_zs}/Zydis.c)
  target_include_directories(hp_zydis SYSTEM PUBLIC "${HP_ZYDIS_SOURCE_DIR}/include" "${HP_ZYCORE_INCLUDE_DIR}")
  target_include_directories(hp_zydis PRIVATE "${HP_ZYDIS_SOURCE_DIR}/src")
  target_compile_definitions(hp_zydis PUBLIC ZYDIS_STATIC_BUILD ZYCORE_STATIC_BUILD
    ZYDIS_DISABLE_ENCODER ZYDIS_DISABLE_FORMATTER)
  if(HP_FREESTANDING)
    target_compile_definitions(hp_zydis PUBLIC ZYAN_NO_LIBC)
  endif()
  # Hidden like libhotpatch's own objects: the decoder goes into libhotpatch.so, which exports only
  # the HP_API functions.
  set_target_properties(hp_zydis PROPERTIES C_STANDARD 99 C_EXTENSIONS ON C_VISIBILITY_PRESET hidden)
  target_compile_options(hp_zydis PRIVATE -w)   # third-party code: its warnings are not ours to fix
endif()
