# HotpatchFunctions.cmake — hotpatch_enable(), for installed and in-tree use.
#
# hotpatch_enable(<target> [PAD n] [SCOPE all|exported] [EXCLUDE glob…]
#                 [AUDIT ON|OFF] [MIN_COVERAGE pct] [WARN_ONLY] [SOURCE_AUDIT ON|OFF]
#                 [SOURCE_ROOT dir])
#
# - compiles the target's C sources with the hotpatch clang plugin (HOTPATCH_PLUGIN); the map
#   names each translation unit by its path relative to SOURCE_ROOT (default: the project's source
#   directory), which is how a fix built later from a corrected copy finds its unit;
# - EXCLUDE globs reach the plugin (exclude=), hotpatch-link (--hotpatch-exclude=) and the audit
#   (--exclude): an excluded function is neither padded nor reported;
# - links it through hotpatch-link when it is installed (HOTPATCH_LINK), which verifies
#   the image and writes <image>.hpmap;
# - Windows targets with AUDIT ON (the default): runs hotpatch-audit after every build
#   (findings fail the build, or warn with WARN_ONLY) and adds a ctest test
#   hotpatch_audit_<target> that writes <target>.sarif for code-scanning upload. The target may be
#   one of another directory (HotpatchAll.cmake): the audit is then the custom target
#   hotpatch_audit_<target>_step of this directory, in the default build, after the link.
#   (The audit reads PE images: on Linux targets only the plugin is applied.)
# - SOURCE_AUDIT ON (default OFF), when CMAKE_EXPORT_COMPILE_COMMANDS is on: a ctest test
#   hotpatch_source_audit_<target> runs `hotpatch-audit --source` over compile_commands.json,
#   restricted to the target's C/C++ sources (--unit), with the target's .def files (--def), and
#   writes <target>.source.sarif. A test, not a post-build step: it needs no build, reads every
#   unit's command as configured, and would otherwise re-parse every unit after each link. Sources
#   added to the target after hotpatch_enable() count: the test is made at the end of the directory.
#
# Needs: the target's C compiler is clang 19 (the plugin is loaded into it).

set(_HOTPATCH_FUNCTIONS_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(hotpatch_enable target)
  cmake_parse_arguments(HP "WARN_ONLY" "PAD;SCOPE;AUDIT;MIN_COVERAGE;SOURCE_AUDIT;SOURCE_ROOT" "EXCLUDE" ${ARGN})
  if(HP_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "hotpatch_enable(${target}): unknown arguments: ${HP_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "hotpatch_enable(${target}): no such target")
  endif()
  get_target_property(type ${target} TYPE)
  if(NOT type MATCHES "^(SHARED_LIBRARY|MODULE_LIBRARY|EXECUTABLE)$")
    message(FATAL_ERROR "hotpatch_enable(${target}): a ${type} is not an image; use it on the SHARED, MODULE or EXECUTABLE target that links it")
  endif()
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_C_COMPILER_VERSION MATCHES "^19\\.")
    message(FATAL_ERROR "hotpatch_enable(${target}): the C compiler is ${CMAKE_C_COMPILER_ID} ${CMAKE_C_COMPILER_VERSION}; "
      "the hotpatch plugin needs clang 19 (use a toolchain file from ${HOTPATCH_TOOLCHAIN_DIR}, or CC=clang-19)")
  endif()
  if(NOT EXISTS "${HOTPATCH_PLUGIN}")
    message(FATAL_ERROR "hotpatch_enable(${target}): the plugin ${HOTPATCH_PLUGIN} does not exist")
  endif()
  if(DEFINED HP_PAD AND NOT HP_PAD MATCHES "^[0-9]+$")
    message(FATAL_ERROR "hotpatch_enable(${target}): PAD must be a number of bytes, got '${HP_PAD}'")
  endif()
  if(DEFINED HP_SCOPE AND NOT HP_SCOPE MATCHES "^(all|exported)$")
    message(FATAL_ERROR "hotpatch_enable(${target}): SCOPE must be all or exported, got '${HP_SCOPE}'")
  endif()
  if(NOT DEFINED HP_AUDIT)
    set(HP_AUDIT ON)
  endif()
  if(DEFINED HP_MIN_COVERAGE AND NOT HP_MIN_COVERAGE MATCHES "^[0-9]+(\\.[0-9]+)?$")
    message(FATAL_ERROR "hotpatch_enable(${target}): MIN_COVERAGE must be a percentage, got '${HP_MIN_COVERAGE}'")
  endif()

  # Compile: the plugin and its options.
  if(NOT DEFINED HP_SOURCE_ROOT)
    set(HP_SOURCE_ROOT "${PROJECT_SOURCE_DIR}")
  endif()
  set(copts "-fplugin=${HOTPATCH_PLUGIN}" "-fplugin-arg-hotpatch-source-root=${HP_SOURCE_ROOT}")
  if(DEFINED HP_PAD)
    list(APPEND copts "-fplugin-arg-hotpatch-pad=${HP_PAD}")
  endif()
  if(DEFINED HP_SCOPE)
    list(APPEND copts "-fplugin-arg-hotpatch-scope=${HP_SCOPE}")
  endif()
  foreach(glob IN LISTS HP_EXCLUDE)
    list(APPEND copts "-fplugin-arg-hotpatch-exclude=${glob}")
  endforeach()
  target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:C>:${copts}>")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${HOTPATCH_PLUGIN}")

  # Link: Windows images go through hotpatch-link (it verifies the image and writes <image>.hpmap).
  # HOTPATCH_LINK_DIR holds ld.lld and lld-link links to it; -B makes clang's lld lookup find them
  # first, for the MinGW and the MSVC driver alike, wherever a toolchain file puts -fuse-ld=lld.
  if(WIN32 AND EXISTS "${HOTPATCH_LINK_DIR}/ld.lld")
    set(lopts "-B${HOTPATCH_LINK_DIR}/" "-fuse-ld=lld")
    if(DEFINED HP_PAD)
      list(APPEND lopts "-Wl,--hotpatch-pad=${HP_PAD}")
    endif()
    if(HP_WARN_ONLY)
      list(APPEND lopts "-Wl,--hotpatch-warn-only")
    endif()
    foreach(glob IN LISTS HP_EXCLUDE)   # excluded functions are neither padded nor reported
      list(APPEND lopts "-Wl,--hotpatch-exclude=${glob}")
    endforeach()
    target_link_options(${target} PRIVATE ${lopts})
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${HOTPATCH_LINK}")
  endif()

  # Audit: PE images only.
  if(HP_AUDIT AND WIN32)
    if(NOT EXISTS "${HOTPATCH_AUDIT}")
      message(FATAL_ERROR "hotpatch_enable(${target}): AUDIT ON but ${HOTPATCH_AUDIT} does not exist")
    endif()
    string(REPLACE ";" "|" exclude_arg "${HP_EXCLUDE}")
    set(audit_cmd "${CMAKE_COMMAND}" "-DAUDIT=${HOTPATCH_AUDIT}" "-DIMAGE=$<TARGET_FILE:${target}>"
              "-DPAD=${HP_PAD}" "-DMIN_COVERAGE=${HP_MIN_COVERAGE}" "-DWARN_ONLY=${HP_WARN_ONLY}"
              "-DEXCLUDE=${exclude_arg}"
              -P "${_HOTPATCH_FUNCTIONS_DIR}/HotpatchAudit.cmake")
    get_target_property(target_bin ${target} BINARY_DIR)
    if(target_bin STREQUAL CMAKE_CURRENT_BINARY_DIR)
      add_custom_command(TARGET ${target} POST_BUILD COMMAND ${audit_cmd}
        COMMENT "hotpatch-audit ${target}"
        VERBATIM)
    else()
      # A target of another directory (HotpatchAll.cmake enables them all from the top level): CMake
      # takes POST_BUILD steps only in the target's own directory, so the audit is a step of the
      # default build here that re-runs whenever the image is relinked (a stamp records a pass).
      set(stamp "${CMAKE_CURRENT_BINARY_DIR}/${target}.hotpatch-audit.passed")
      add_custom_command(OUTPUT "${stamp}"
        COMMAND ${audit_cmd}
        COMMAND "${CMAKE_COMMAND}" -E touch "${stamp}"
        DEPENDS ${target} "${HOTPATCH_AUDIT}"
        COMMENT "hotpatch-audit ${target}"
        VERBATIM)
      get_target_property(efa ${target} EXCLUDE_FROM_ALL)
      get_target_property(target_src ${target} SOURCE_DIR)
      get_property(defa DIRECTORY "${target_src}" PROPERTY EXCLUDE_FROM_ALL)
      if(efa OR defa)   # the audit must not bring a target into `all` that the project keeps out of it
        add_custom_target(hotpatch_audit_${target}_step DEPENDS "${stamp}")
      else()
        add_custom_target(hotpatch_audit_${target}_step ALL DEPENDS "${stamp}")
      endif()
    endif()
    set(sarif "${CMAKE_CURRENT_BINARY_DIR}/${target}.sarif")
    set(aargs --format sarif --output "${sarif}")
    if(DEFINED HP_PAD)
      list(APPEND aargs --pad "${HP_PAD}")
    endif()
    foreach(glob IN LISTS HP_EXCLUDE)
      list(APPEND aargs --exclude "${glob}")
    endforeach()
    add_test(NAME hotpatch_audit_${target} COMMAND "${HOTPATCH_AUDIT}" ${aargs} "$<TARGET_FILE:${target}>")
  elseif(HP_AUDIT)
    message(STATUS "hotpatch_enable(${target}): not a Windows target: the plugin is applied, the PE audit is skipped")
  endif()

  # Source audit: the hazards of the sources (audit/README.md, checks HP4xxx), any target.
  if(HP_SOURCE_AUDIT)
    if(NOT CMAKE_EXPORT_COMPILE_COMMANDS)
      message(WARNING "hotpatch_enable(${target}): SOURCE_AUDIT ON needs the compilation database: configure with "
        "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON (Ninja or Makefile generators); no source audit is added")
    elseif(NOT EXISTS "${HOTPATCH_AUDIT}")
      message(FATAL_ERROR "hotpatch_enable(${target}): SOURCE_AUDIT ON but ${HOTPATCH_AUDIT} does not exist")
    else()
      set_property(TARGET ${target} PROPERTY HOTPATCH_SOURCE_AUDIT_EXE "${HOTPATCH_AUDIT}")
      cmake_language(EVAL CODE "cmake_language(DEFER CALL _hotpatch_source_audit_test [[${target}]])")
    endif()
  endif()
endfunction()

# The source audit's test for one target, made at the end of the target's directory (all its sources
# known): the target's own units (--unit, absolute paths) and .def files (--def).
function(_hotpatch_source_audit_test target)
  get_target_property(audit ${target} HOTPATCH_SOURCE_AUDIT_EXE)
  get_target_property(srcs ${target} SOURCES)
  get_target_property(dir ${target} SOURCE_DIR)
  set(args --source "${CMAKE_BINARY_DIR}/compile_commands.json" --format sarif
      --output "${CMAKE_CURRENT_BINARY_DIR}/${target}.source.sarif")
  set(units 0)
  foreach(s IN LISTS srcs)
    if(s MATCHES "\\$<")   # generator expressions (objects of other targets) are not this target's units
      continue()
    endif()
    get_filename_component(abs "${s}" ABSOLUTE BASE_DIR "${dir}")
    if(abs MATCHES "\\.[dD][eE][fF]$")
      list(APPEND args --def "${abs}")
    elseif(abs MATCHES "\\.(c|i|cc|cp|cpp|cxx|c\\+\\+|C|CPP|m|mm)$")
      list(APPEND args --unit "${abs}")
      math(EXPR units "${units} + 1")
    endif()
  endforeach()
  if(units EQUAL 0)
    message(WARNING "hotpatch_enable(${target}): SOURCE_AUDIT ON, but the target has no C or C++ source to audit")
    return()
  endif()
  add_test(NAME hotpatch_source_audit_${target} COMMAND "${audit}" ${args} WORKING_DIRECTORY "${dir}")
endfunction()

# hotpatch_add_fix(<name> FOR <target>|<image path> SOURCES <file>… [FUNCTIONS <function>…]
#                  [SOURCE_ROOT dir] [UNIT <source> <release path>]… [PAD n])
#
# A patch module <name> (a MODULE library, <name>.dll / <name>.so) for the image FOR names, compiled
# from corrected SOURCES in the plugin's fix mode against the image's map (<image>.hpmap beside it)
# and linked through hotpatch-link --hotpatch-fix-for=<image>, which checks the manifest against the
# real image. FOR is a target of this project or the path of a released image (a fix built in a
# build tree of its own, long after the release). Each source is matched to the release's unit by
# its path relative to SOURCE_ROOT (default: the project's source directory); UNIT names the
# release's path of a source that moved. The program loads the fix with hp_module_load() (hotpatch.h).
#
# Without FUNCTIONS, the functions are found by comparing generated code: the SOURCES are compiled as
# the release was (the object library <name>_compare, with <name>'s include directories, definitions
# and options), and hotpatch-fix compares their code digests with the release's (<image>.hpcode) and
# writes <name>.functions, the list the fix-mode compile takes: exactly the functions whose code
# differs. It prints what it found; a change a swap of functions cannot make (a variable's initial
# value or size, a function not patchable in the release) fails the build with the reason, and so
# does a change that alters no generated code. With FUNCTIONS, those are replaced, as listed.
# Windows targets (PE) only here; ELF fixes: lld-pass/README.md.
function(hotpatch_add_fix name)
  cmake_parse_arguments(HP "" "FOR;SOURCE_ROOT;PAD" "SOURCES;FUNCTIONS;UNIT" ${ARGN})
  if(HP_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "hotpatch_add_fix(${name}): unknown arguments: ${HP_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT HP_FOR)
    message(FATAL_ERROR "hotpatch_add_fix(${name}): FOR <target or image> is required")
  endif()
  if(NOT HP_SOURCES)
    message(FATAL_ERROR "hotpatch_add_fix(${name}): SOURCES is required: the corrected translation units")
  endif()
  if(NOT WIN32)
    message(FATAL_ERROR "hotpatch_add_fix(${name}): only Windows targets are built by this function; for ELF see "
      "the command lines in lld-pass/README.md (hotpatch-manifest)")
  endif()
  if(NOT EXISTS "${HOTPATCH_LINK_DIR}/ld.lld")
    message(FATAL_ERROR "hotpatch_add_fix(${name}): hotpatch-link is not installed (${HOTPATCH_LINK_DIR}/ld.lld)")
  endif()
  list(LENGTH HP_UNIT unit_words)
  math(EXPR unit_odd "${unit_words} % 2")
  if(unit_odd)
    message(FATAL_ERROR "hotpatch_add_fix(${name}): UNIT takes pairs: <source> <release path>")
  endif()
  if(TARGET ${HP_FOR})
    set(image "$<TARGET_FILE:${HP_FOR}>")
    set(map_dep "")
  else()
    get_filename_component(image "${HP_FOR}" ABSOLUTE)
    if(NOT EXISTS "${image}")
      message(FATAL_ERROR "hotpatch_add_fix(${name}): FOR ${HP_FOR}: no such target, and no such image file")
    endif()
    if(NOT EXISTS "${image}.hpmap")
      message(FATAL_ERROR "hotpatch_add_fix(${name}): ${image}.hpmap is missing: the release must be linked by "
        "hotpatch-link (hotpatch_enable) and its map kept beside the image")
    endif()
    set(map_dep "${image}.hpmap")
  endif()
  if(NOT DEFINED HP_SOURCE_ROOT)
    set(HP_SOURCE_ROOT "${PROJECT_SOURCE_DIR}")
  endif()
  if(HP_FUNCTIONS)
    string(REPLACE ";" "," fns "${HP_FUNCTIONS}")
  else()
    if(NOT EXISTS "${HOTPATCH_FIX}")
      message(FATAL_ERROR "hotpatch_add_fix(${name}): without FUNCTIONS the functions are found by hotpatch-fix, "
        "which is not installed (${HOTPATCH_FIX})")
    endif()
    if(NOT TARGET ${HP_FOR} AND NOT EXISTS "${image}.hpcode")
      message(FATAL_ERROR "hotpatch_add_fix(${name}): ${image}.hpcode is missing: without FUNCTIONS the release's "
        "code digests are needed beside the image (hotpatch-link writes them with the map); or list FUNCTIONS")
    endif()
    set(fns "@${CMAKE_CURRENT_BINARY_DIR}/${name}.functions")
  endif()

  set(map "${image}.hpmap")
  if(TARGET ${HP_FOR})
    # The release's map is made by its link: a copy in this tree, refreshed only when it changed, is
    # what the sources depend on (OBJECT_DEPENDS takes no generator expression), so that a relinked
    # release with new addresses recompiles the fix, and an unchanged one does not.
    set(map "${CMAKE_CURRENT_BINARY_DIR}/${name}.release.hpmap")
    add_custom_command(OUTPUT "${map}"
      COMMAND "${CMAKE_COMMAND}" -E copy_if_different "${image}.hpmap" "${map}"
      DEPENDS ${HP_FOR}
      COMMENT "the map of ${HP_FOR} for ${name}"
      VERBATIM)
    set(map_dep "${map}")
  endif()
  set(code "${image}.hpcode")
  if(TARGET ${HP_FOR} AND NOT HP_FUNCTIONS)
    set(code "${CMAKE_CURRENT_BINARY_DIR}/${name}.release.hpcode")
    add_custom_command(OUTPUT "${code}"
      COMMAND "${CMAKE_COMMAND}" -E copy_if_different "${image}.hpcode" "${code}"
      DEPENDS ${HP_FOR}
      COMMENT "the code digests of ${HP_FOR} for ${name}"
      VERBATIM)
  endif()

  add_library(${name} MODULE ${HP_SOURCES} "${map}")
  set_source_files_properties("${map}" TARGET_DIRECTORY ${name} PROPERTIES HEADER_FILE_ONLY ON)
  set_target_properties(${name} PROPERTIES PREFIX "")
  set(copts "-fplugin=${HOTPATCH_PLUGIN}" "-fplugin-arg-hotpatch-source-root=${HP_SOURCE_ROOT}"
      "-fplugin-arg-hotpatch-fix-for=${map}" "-fplugin-arg-hotpatch-fix-functions=${fns}")
  if(DEFINED HP_PAD)
    list(APPEND copts "-fplugin-arg-hotpatch-pad=${HP_PAD}")
  endif()
  target_compile_options(${name} PRIVATE "$<$<COMPILE_LANGUAGE:C>:${copts}>")
  target_include_directories(${name} PRIVATE "${HOTPATCH_INCLUDE_DIR}")
  set(unit_pairs ${HP_UNIT})   # the comparison below needs them too
  while(HP_UNIT)
    list(POP_FRONT HP_UNIT src orig)
    set_property(SOURCE "${src}" TARGET_DIRECTORY ${name} APPEND PROPERTY COMPILE_OPTIONS
      "-fplugin-arg-hotpatch-fix-unit=${orig}")
  endwhile()
  foreach(src IN LISTS HP_SOURCES)
    # a new release map means new addresses: recompile
    if(map_dep)
      set_property(SOURCE "${src}" TARGET_DIRECTORY ${name} APPEND PROPERTY OBJECT_DEPENDS "${map_dep}")
    endif()
  endforeach()
  set(lopts "-B${HOTPATCH_LINK_DIR}/" "-fuse-ld=lld" "-Wl,--hotpatch-fix-for=${image}" "-Wl,--hotpatch-map=none")
  if(DEFINED HP_PAD)
    list(APPEND lopts "-Wl,--hotpatch-pad=${HP_PAD}")
  endif()
  target_link_options(${name} PRIVATE ${lopts})
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS "${HOTPATCH_LINK}" "${HOTPATCH_PLUGIN}")
  if(HP_FUNCTIONS)
    return()
  endif()

  # The comparison: the sources compiled as the release was (the plugin, not its fix mode; <name>'s
  # include directories, definitions and options, its plugin options too but the fix mode's), then
  # hotpatch-fix --objects.
  set(cmp ${name}_compare)
  add_library(${cmp} OBJECT ${HP_SOURCES})
  set(ropts "-fplugin=${HOTPATCH_PLUGIN}" "-fplugin-arg-hotpatch-source-root=${HP_SOURCE_ROOT}")
  if(DEFINED HP_PAD)
    list(APPEND ropts "-fplugin-arg-hotpatch-pad=${HP_PAD}")
  endif()
  set_target_properties(${cmp} PROPERTIES
    INCLUDE_DIRECTORIES "$<TARGET_PROPERTY:${name},INCLUDE_DIRECTORIES>"
    COMPILE_DEFINITIONS "$<TARGET_PROPERTY:${name},COMPILE_DEFINITIONS>"
    COMPILE_OPTIONS "$<FILTER:$<TARGET_PROPERTY:${name},COMPILE_OPTIONS>,EXCLUDE,^-fplugin(=|-arg-hotpatch-(fix-|source-root=|pad=))>;$<$<COMPILE_LANGUAGE:C>:${ropts}>")
  # the same without optimisation: what each function calls in the source, for "inlines f()" in the report
  add_library(${name}_calls OBJECT ${HP_SOURCES})
  set_target_properties(${name}_calls PROPERTIES
    INCLUDE_DIRECTORIES "$<TARGET_PROPERTY:${cmp},INCLUDE_DIRECTORIES>"
    COMPILE_DEFINITIONS "$<TARGET_PROPERTY:${cmp},COMPILE_DEFINITIONS>"
    COMPILE_OPTIONS "$<TARGET_PROPERTY:${cmp},COMPILE_OPTIONS>;-O0")
  set(fargs --for "${image}" --map "${map}" --code "${code}" --source-root "${HP_SOURCE_ROOT}"
      --functions-out "${CMAKE_CURRENT_BINARY_DIR}/${name}.functions"
      --calls "$<JOIN:$<TARGET_OBJECTS:${name}_calls>,$<SEMICOLON>--calls$<SEMICOLON>>")
  set(units ${unit_pairs})
  while(units)
    list(POP_FRONT units src orig)
    get_filename_component(src_abs "${src}" ABSOLUTE)
    list(APPEND fargs --unit "${src_abs}=${orig}")
  endwhile()
  add_custom_command(OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/${name}.functions"
    COMMAND "${HOTPATCH_FIX}" ${fargs} --objects "$<TARGET_OBJECTS:${cmp}>"
    DEPENDS ${cmp} ${name}_calls "$<TARGET_OBJECTS:${cmp}>" "$<TARGET_OBJECTS:${name}_calls>" "${map}" "${code}"
            "${HOTPATCH_FIX}"
    COMMAND_EXPAND_LISTS
    COMMENT "hotpatch-fix: the functions of ${name}, by comparing generated code with the release's"
    VERBATIM)
  # The fix-mode compile waits for the list (a target-level order: the sources are <cmp>'s too, so a
  # file-level OBJECT_DEPENDS on the list would make the comparison depend on itself). The list changes
  # only when the sources or the release do, and both recompile the fix already.
  add_custom_target(${name}_functions DEPENDS "${CMAKE_CURRENT_BINARY_DIR}/${name}.functions")
  add_dependencies(${name} ${name}_functions)
endfunction()
