# HotpatchAll.cmake — make every image of an unmodified CMake project hotpatchable:
#
#   cmake -S <project> -B <build> -DCMAKE_TOOLCHAIN_FILE=<any clang-19 toolchain file> \
#         -DCMAKE_PROJECT_INCLUDE=<prefix>/lib/cmake/Hotpatch/HotpatchAll.cmake
#
# CMake includes this file at the end of every project() call. At the first one that has C enabled
# (the top-level project's, normally) it runs find_package(Hotpatch) from this file's own directory
# (no CMAKE_PREFIX_PATH needed, CMAKE_FIND_ROOT_PATH ignored), and at the end of the top-level
# directory (cmake_language(DEFER)) it walks every target of every directory (BUILDSYSTEM_TARGETS,
# recursively over SUBDIRECTORIES):
#   - SHARED, MODULE and EXECUTABLE targets: hotpatch_enable() (HotpatchFunctions.cmake): the
#     plugin, the link through hotpatch-link (<image>.hpmap), and for Windows images the audit after
#     the link plus the ctest test hotpatch_audit_<target>;
#   - STATIC and OBJECT libraries: the plugin only (target_compile_options): their objects end up
#     in images, and every object of an image must be compiled with it;
#   - imported, alias, interface and utility targets, targets with no C source, and targets that
#     already carry the plugin (the project called hotpatch_enable() itself) are left alone.
# Translation units are named in the maps relative to the top-level source directory.
#
# Cache variables:
#   HOTPATCH_ALL_AUDIT            (BOOL, default ON) audit Windows images after every link
#   HOTPATCH_ALL_WARN_ONLY        (BOOL, default OFF) findings of the link check and the audit warn
#                                 instead of failing the build
#   HOTPATCH_ALL_EXCLUDE_TARGETS  (list) targets left as they are
#   HOTPATCH_ALL_EXCLUDE          (list) globs of functions neither padded nor reported
#                                 (hotpatch_enable(… EXCLUDE))
#
# A C compiler that is not clang 19 (gcc, another clang, none) is reported and the project is
# configured as if this file were not there. A clang-19 target with no installed runtime stops
# configuration (HotpatchConfig.cmake names the triple; HP_TARGET_TRIPLE overrides the compiler's).

get_property(_hotpatch_all_state GLOBAL PROPERTY HOTPATCH_ALL_STATE)
if(_hotpatch_all_state)   # scheduled already, or this build is left alone: one decision per build tree
  return()
endif()

set(HOTPATCH_ALL_AUDIT ON CACHE BOOL "HotpatchAll: audit Windows images after every link")
set(HOTPATCH_ALL_WARN_ONLY OFF CACHE BOOL "HotpatchAll: hotpatch findings warn instead of failing the build")
set(HOTPATCH_ALL_EXCLUDE_TARGETS "" CACHE STRING "HotpatchAll: targets left as they are (a list)")
set(HOTPATCH_ALL_EXCLUDE "" CACHE STRING "HotpatchAll: globs of functions neither padded nor reported (a list)")

if(NOT CMAKE_C_COMPILER_LOADED)
  # project(… NONE) or a C++-only project() call: wait for a later project() call with C.
  message(STATUS "HotpatchAll: no C compiler in project ${PROJECT_NAME} yet; nothing made hotpatchable here")
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_C_COMPILER_VERSION MATCHES "^19\\.")
  message(STATUS "HotpatchAll: the C compiler is ${CMAKE_C_COMPILER_ID} ${CMAKE_C_COMPILER_VERSION}, not clang 19 "
    "(the plugin loads into clang 19 only): the targets are left as they are")
  set_property(GLOBAL PROPERTY HOTPATCH_ALL_STATE skipped)
  return()
endif()

find_package(Hotpatch CONFIG REQUIRED PATHS "${CMAKE_CURRENT_LIST_DIR}" NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
message(STATUS "HotpatchAll: target ${HOTPATCH_TARGET_TRIPLE}: every image of ${PROJECT_NAME} is made hotpatchable "
  "(audit ${HOTPATCH_ALL_AUDIT}, warn-only ${HOTPATCH_ALL_WARN_ONLY})")
set_property(GLOBAL PROPERTY HOTPATCH_ALL_STATE scheduled)
set_property(GLOBAL PROPERTY HOTPATCH_ALL_DIR "${CMAKE_CURRENT_LIST_DIR}")

# Every target of <dir> and of its subdirectories, into <out>.
function(_hotpatch_all_targets dir out)
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    _hotpatch_all_targets("${sub}" more)
    list(APPEND targets ${more})
  endforeach()
  set(${out} "${targets}" PARENT_SCOPE)
endfunction()

# Whether <target> has a C source of its own (generator expressions, e.g. $<TARGET_OBJECTS:…>, count
# as C: objects of the project's C libraries).
function(_hotpatch_all_has_c target out)
  get_target_property(srcs ${target} SOURCES)
  set(${out} OFF PARENT_SCOPE)
  foreach(s IN LISTS srcs)
    if(s MATCHES "^\\$<" OR s MATCHES "\\.[ci]$")
      set(${out} ON PARENT_SCOPE)
      return()
    endif()
  endforeach()
endfunction()

function(_hotpatch_all_apply)
  if(NOT CMAKE_C_COMPILER_LOADED)
    message(STATUS "HotpatchAll: the top-level directory enables no C compiler: the targets are left as they are")
    return()
  endif()
  if(NOT COMMAND hotpatch_enable OR NOT HOTPATCH_PLUGIN)
    get_property(dir GLOBAL PROPERTY HOTPATCH_ALL_DIR)
    find_package(Hotpatch CONFIG REQUIRED PATHS "${dir}" NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
  endif()
  set(opts SOURCE_ROOT "${CMAKE_SOURCE_DIR}")
  if(WIN32 AND HOTPATCH_ALL_AUDIT)
    list(APPEND opts AUDIT ON)
  else()
    list(APPEND opts AUDIT OFF)
  endif()
  if(HOTPATCH_ALL_WARN_ONLY)
    list(APPEND opts WARN_ONLY)
  endif()
  if(HOTPATCH_ALL_EXCLUDE)
    list(APPEND opts EXCLUDE ${HOTPATCH_ALL_EXCLUDE})
  endif()
  set(copts "-fplugin=${HOTPATCH_PLUGIN}" "-fplugin-arg-hotpatch-source-root=${CMAKE_SOURCE_DIR}")
  foreach(glob IN LISTS HOTPATCH_ALL_EXCLUDE)
    list(APPEND copts "-fplugin-arg-hotpatch-exclude=${glob}")
  endforeach()

  _hotpatch_all_targets("${CMAKE_SOURCE_DIR}" targets)
  set(images "")
  set(libs "")
  set(own "")
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    get_target_property(imported ${t} IMPORTED)
    get_target_property(aliased ${t} ALIASED_TARGET)
    if(imported OR aliased OR NOT type MATCHES "^(SHARED_LIBRARY|MODULE_LIBRARY|EXECUTABLE|STATIC_LIBRARY|OBJECT_LIBRARY)$")
      continue()
    endif()
    list(FIND HOTPATCH_ALL_EXCLUDE_TARGETS "${t}" excluded)   # (no IN_LIST: the project's policies apply)
    if(excluded GREATER -1)
      message(STATUS "HotpatchAll: ${t}: excluded (HOTPATCH_ALL_EXCLUDE_TARGETS)")
      continue()
    endif()
    get_target_property(have ${t} COMPILE_OPTIONS)
    if(have MATCHES "-fplugin=[^;]*hotpatch-plugin")
      list(APPEND own ${t})   # hotpatch_enable() of the project's own
      continue()
    endif()
    _hotpatch_all_has_c(${t} has_c)
    if(NOT has_c)
      message(STATUS "HotpatchAll: ${t}: no C source; left as it is")
      continue()
    endif()
    if(type MATCHES "^(STATIC|OBJECT)_LIBRARY$")
      target_compile_options(${t} PRIVATE "$<$<COMPILE_LANGUAGE:C>:${copts}>")
      list(APPEND libs ${t})
    else()
      hotpatch_enable(${t} ${opts})
      list(APPEND images ${t})
    endif()
  endforeach()
  list(JOIN images " " images)
  list(JOIN libs " " libs)
  list(JOIN own " " own)
  if(NOT images)
    set(images "none")
  endif()
  message(STATUS "HotpatchAll: hotpatchable images: ${images}")
  if(libs)
    message(STATUS "HotpatchAll: libraries compiled with the plugin: ${libs}")
  endif()
  if(own)
    message(STATUS "HotpatchAll: made hotpatchable by the project itself: ${own}")
  endif()
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _hotpatch_all_apply)
