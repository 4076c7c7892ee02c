# Patch modules (hp_module_*, runtime/src/module.c), built for every target:
#   hpt_fix_target      the image the modules patch (fix_target.c; ELF: linked with --build-id)
#   hpt_other_target    the same source as another build, never loaded (target-not-loaded case)
#   hpt_fix_<name>      the modules (fix_modules.c with FIX_<NAME>): manifests written by hand
#   hpt_fixfill         the test-only fill step, a program of the build machine (hpt_fixfill.c): the
#                       RVA header the manifests are compiled with, and after each module's link its
#                       identity fields and hashes from the target image + HP_FIX_F_CHECKED (what
#                       `hotpatch-manifest fill` does, byte for byte: test_module.c compares them).
#                       Where the host tree has built hotpatch-manifest (lld-pass/), the modules whose
#                       manifests are right are filled by it instead; the cross trees, and the modules
#                       that carry a wrong hash or identity on purpose (which it refuses), use hpt_fixfill
#   hpt_module_cases    cases_manifest.c (the reader on hand-made bytes), cases_module.c (live)
#   hpt_runtime_module  the portable program running them (Wine, qemu-i386, natively)
# Included from engine.cmake. Everything lands next to the programs: the cases find the images in
# their own directory. The images are compiled by clang without sanitizers (their entries are
# clang's patchable_function_entry sites, as in fixtures_nop.c); a GCC host calls clang-19 itself.

set(_hp_mod_dir "${CMAKE_CURRENT_BINARY_DIR}")

if(CMAKE_CROSSCOMPILING)
  find_program(HPT_HOST_CC NAMES cc gcc clang-19 clang REQUIRED)
else()
  set(HPT_HOST_CC "${CMAKE_C_COMPILER}")
endif()
set(_hp_fill "${_hp_mod_dir}/hpt_fixfill${CMAKE_HOST_EXECUTABLE_SUFFIX}")
add_custom_command(OUTPUT "${_hp_fill}"
  COMMAND "${HPT_HOST_CC}" -std=c11 -O1 -Wall -Wextra -Werror "-I${PROJECT_SOURCE_DIR}/runtime/include"
          "${_hp_rtp}/hpt_fixfill.c" -o "${_hp_fill}"
  DEPENDS "${_hp_rtp}/hpt_fixfill.c" "${PROJECT_SOURCE_DIR}/runtime/include/hotpatch_fix.h"
  COMMENT "hpt_fixfill (build machine): the test-only manifest fill" VERBATIM)
add_custom_target(hpt_fixfill_tool DEPENDS "${_hp_fill}")

if(WIN32)
  set(_hp_img_prefix "")
  set(_hp_img_suffix ".dll")
else()
  set(_hp_img_prefix "lib")
  set(_hp_img_suffix ".so")
endif()
set(_hp_tgt_file "${_hp_img_prefix}hpt_fix_target${_hp_img_suffix}")
set(_hp_other_file "${_hp_img_prefix}hpt_other_target${_hp_img_suffix}")

if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  set(_hp_img_native ON)
else()
  set(_hp_img_native OFF)
  find_program(HP_FIXTURE_CLANG NAMES clang-19 clang REQUIRED)
endif()
set(_hp_img_link "")
if(WIN32 AND HP_FREESTANDING)
  list(APPEND _hp_img_link "-Wl,/debug:symtab") # the RVA header reads the COFF symbol table
elseif(NOT WIN32)
  list(APPEND _hp_img_link "-Wl,--build-id")
endif()

# hpt_fix_image(<target> <file name> SOURCE <c file> [DEFINES d...] [DEPENDS generated...] [LINK flags...]
#               [POST command args...]): one image, <file name> in _hp_mod_dir; POST runs after its link.
function(hpt_fix_image name file)
  cmake_parse_arguments(A "" "SOURCE" "DEFINES;DEPENDS;LINK;POST" ${ARGN})
  list(APPEND _hp_img_link ${A_LINK})
  set(out "${_hp_mod_dir}/${file}")
  set(incs "${PROJECT_SOURCE_DIR}/runtime/include" "${_hp_mod_dir}")
  if(_hp_img_native)
    add_library(${name} MODULE "${A_SOURCE}" ${A_DEPENDS})
    set_target_properties(${name} PROPERTIES PREFIX "" SUFFIX "" OUTPUT_NAME "${file}"
      LIBRARY_OUTPUT_DIRECTORY "${_hp_mod_dir}" RUNTIME_OUTPUT_DIRECTORY "${_hp_mod_dir}")
    target_compile_definitions(${name} PRIVATE ${A_DEFINES})
    target_compile_options(${name} PRIVATE -O2 -fcf-protection=none ${HP_C_WARNINGS})
    target_include_directories(${name} PRIVATE ${incs})
    target_link_options(${name} PRIVATE ${_hp_img_link})
    if(A_POST)
      add_dependencies(${name} hpt_fixfill_tool)
      add_custom_command(TARGET ${name} POST_BUILD COMMAND ${A_POST} VERBATIM)
    endif()
  else()
    set(defs "")
    foreach(d IN LISTS A_DEFINES)
      list(APPEND defs "-D${d}")
    endforeach()
    list(TRANSFORM incs PREPEND "-I")
    set(post "")
    if(A_POST)
      set(post COMMAND ${A_POST})
    endif()
    add_custom_command(OUTPUT "${out}"
      COMMAND "${HP_FIXTURE_CLANG}" -std=c11 -O2 -fPIC -shared -fcf-protection=none ${HP_C_WARNINGS} ${defs} ${incs}
              "${A_SOURCE}" -o "${out}" ${_hp_img_link}
      ${post}
      DEPENDS "${A_SOURCE}" ${A_DEPENDS} "${PROJECT_SOURCE_DIR}/runtime/include/hotpatch_fix.h" "${_hp_fill}"
      COMMENT "image ${file} (clang)" VERBATIM)
    add_custom_target(${name} DEPENDS "${out}")
  endif()
endfunction()

# Windows: the target is linked at the base the program itself takes, so that LoadLibrary must
# relocate it (tgt_abs holds an absolute address in its code: the hash must be the file's)
set(_hp_tgt_link "")
set(_hp_tgt_syms tgt_add tgt_mul tgt_bump tgt_counter tgt_quote tgt_hashed)
if(WIN32)
  list(APPEND _hp_tgt_syms tgt_abs)
  if(HP_TARGET_ARCH STREQUAL "x64")
    set(_hp_exe_base 0x140000000)
  else()
    set(_hp_exe_base 0x400000)
  endif()
  if(HP_FREESTANDING)
    set(_hp_tgt_link LINK "-Wl,/base:${_hp_exe_base}")
  else()
    set(_hp_tgt_link LINK "-Wl,--image-base=${_hp_exe_base}")
  endif()
endif()
hpt_fix_image(hpt_fix_target "${_hp_tgt_file}" SOURCE "${_hp_rtp}/fix_target.c" ${_hp_tgt_link})
hpt_fix_image(hpt_other_target "${_hp_other_file}" SOURCE "${_hp_rtp}/fix_target.c" DEFINES HPT_OTHER=1)

# RVAs of the target's symbols, for the hand-written manifests
set(_hp_rvas "${_hp_mod_dir}/hpt_fix_rvas.h")
set(_hp_other_rvas "${_hp_mod_dir}/hpt_other_target_rvas.h")
add_custom_command(OUTPUT "${_hp_rvas}"
  COMMAND "${_hp_fill}" rvas "${_hp_mod_dir}/${_hp_tgt_file}" "${_hp_rvas}"
          ${_hp_tgt_syms}
  DEPENDS hpt_fix_target "${_hp_mod_dir}/${_hp_tgt_file}" hpt_fixfill_tool "${_hp_fill}"
  COMMENT "RVAs of ${_hp_tgt_file}" VERBATIM)
add_custom_command(OUTPUT "${_hp_other_rvas}"
  COMMAND "${_hp_fill}" rvas "${_hp_mod_dir}/${_hp_other_file}" "${_hp_other_rvas}" tgt_add
  DEPENDS hpt_other_target "${_hp_mod_dir}/${_hp_other_file}" hpt_fixfill_tool "${_hp_fill}"
  COMMENT "RVAs of ${_hp_other_file}" VERBATIM)

set(_hp_fix_images "")
# hpt_fix_module(<NAME> [OTHER] [NOFILL] [FLIP] [WRONG] [LLD]): hpt_fix_<name> from fix_modules.c with
# FIX_<NAME>. OTHER: for hpt_other_target; NOFILL: never filled; FLIP: filled, then one identity bit
# flipped; WRONG: carries a wrong hash on purpose (filled by hpt_fixfill, which fills only zeros).
# LLD (ELF): linked by lld, which on x86-64 leaves the manifest's pointers 0 in the file and their
# values in the relocations' addends (the reader applies them); the others by the compiler's default
# linker (GNU ld writes the values in place).
function(hpt_fix_module upper)
  cmake_parse_arguments(A "OTHER;NOFILL;FLIP;WRONG;LLD" "" "" ${ARGN})
  set(link "")
  if(A_LLD AND NOT WIN32)
    set(link LINK -fuse-ld=lld)
  endif()
  string(TOLOWER "${upper}" lower)
  set(tgt "${_hp_tgt_file}")
  set(rvas "${_hp_rvas}")
  if(A_OTHER)
    set(tgt "${_hp_other_file}")
    set(rvas "${_hp_other_rvas}")
  endif()
  get_filename_component(rvas_name "${rvas}" NAME)
  set(post "")
  set(fixfile "${_hp_mod_dir}/hpt_fix_${lower}${_hp_img_suffix}")
  if(A_NOFILL)
  elseif(TARGET hotpatch-manifest AND NOT A_FLIP AND NOT A_WRONG)
    set(post POST "$<TARGET_FILE:hotpatch-manifest>" fill --target "${_hp_mod_dir}/${tgt}" "${fixfile}")
  else()
    set(post POST "${_hp_fill}" fill "${_hp_mod_dir}/${tgt}" "${fixfile}")
    if(A_FLIP)
      list(APPEND post --flip-identity)
    endif()
  endif()
  hpt_fix_image(hpt_fix_${lower} "hpt_fix_${lower}${_hp_img_suffix}" SOURCE "${_hp_rtp}/fix_modules.c"
    DEFINES FIX_${upper}=1 "HPT_TARGET_FILE=\"${tgt}\"" "HPT_RVAS_HEADER=\"${rvas_name}\""
    DEPENDS "${rvas}" ${link} ${post})
  if(TARGET hotpatch-manifest)
    add_dependencies(hpt_fix_${lower} hotpatch-manifest)
  endif()
  set(_hp_fix_images ${_hp_fix_images} hpt_fix_${lower} PARENT_SCOPE)
endfunction()

hpt_fix_module(LIVE LLD)
hpt_fix_module(VAR LLD)
hpt_fix_module(S1)
hpt_fix_module(S2)
hpt_fix_module(S3 LLD)
hpt_fix_module(HASH WRONG)
hpt_fix_module(IDENT FLIP)
hpt_fix_module(UNCHECKED NOFILL)
hpt_fix_module(OTHER OTHER)
if(WIN32)
  hpt_fix_module(ABS)
endif()

add_library(hpt_module_cases STATIC "${_hp_rtp}/cases_manifest.c" "${_hp_rtp}/cases_module.c")
target_include_directories(hpt_module_cases PRIVATE "${PROJECT_SOURCE_DIR}/runtime/src")
target_compile_definitions(hpt_module_cases PRIVATE "HPT_FIX_TARGET_FILE=\"${_hp_tgt_file}\""
  "HPT_FIX_SUFFIX=\"${_hp_img_suffix}\"")
if(WIN32)
  target_compile_definitions(hpt_module_cases PRIVATE "HPT_EXE_BASE=${_hp_exe_base}")
endif()
target_link_libraries(hpt_module_cases PUBLIC hpt_runtime_cases)
if(NOT WIN32)
  target_link_libraries(hpt_module_cases PUBLIC ${CMAKE_DL_LIBS})
endif()
add_dependencies(hpt_module_cases hpt_fix_target hpt_other_target ${_hp_fix_images})
hp_c_target(hpt_module_cases)

add_executable(hpt_runtime_module "${_hp_rtp}/main.c")
target_compile_definitions(hpt_runtime_module PRIVATE HP_WITH_MODULE)
target_link_libraries(hpt_runtime_module PRIVATE hpt_module_cases)
hp_c_target(hpt_runtime_module)
