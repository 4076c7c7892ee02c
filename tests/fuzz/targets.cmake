# tests/fuzz/targets.cmake — the fuzz targets, one per parser of untrusted input: read by the fuzz
# build (cmake/HpFuzz.cmake, which builds them) and by tests/fuzz/CMakeLists.txt (which runs them
# as ctest entries). Per target:
#   _PART        the part that must be built (HP_PARTS) for the target to exist (runtime: always)
#   _LIBS        the instrumented libraries it links (cmake/HpFuzz.cmake)
#   _UNDER_TEST  the code under test, paths from the source root: what `scripts/fuzz --coverage`
#                reports line coverage of (a directory means every .c file in it that is linked)
#   _SEEDS       where its seeds come from (tests/fuzz/corpus.cmake): `generated` (seeds.c),
#                `fixtures` (the audit's fixture files), `images` (the fixture images only),
#                `wine` (a fixed sample of Wine's PE images), `fixmodules` (fix modules and their targets,
#                PE and ELF, built by tests/fuzz/corpus.cmake with hotpatch-manifest's own fixtures),
#                `fixpairs` (each of those modules followed by the target image it was built for),
#                `fixtargets` (those target images alone), `plugobjs` (objects the plugin compiled, x86-64
#                and i386, which carry their code digests, and x86-64 as /bigobj)

set(HP_FUZZ_TARGETS audit_input audit_allow runtime_site runtime_pe runtime_manifest link_rsp link_cmdline
    link_manifest link_fill link_elfmap link_code link_post plugin_options tools_map tools_sort)

set(HP_FUZZ_audit_input_PART audit)
set(HP_FUZZ_audit_input_LIBS hp_fuzz_audit)
set(HP_FUZZ_audit_input_UNDER_TEST audit/src runtime/tools/src/coff.c runtime/tools/src/code.c)
set(HP_FUZZ_audit_input_SEEDS fixtures wine)

set(HP_FUZZ_audit_allow_PART audit)
set(HP_FUZZ_audit_allow_LIBS hp_fuzz_audit)
set(HP_FUZZ_audit_allow_UNDER_TEST audit/src/allow.c audit/src/finish.c)
set(HP_FUZZ_audit_allow_SEEDS generated)

set(HP_FUZZ_runtime_site_PART runtime)
set(HP_FUZZ_runtime_site_LIBS hp_fuzz_runtime)
set(HP_FUZZ_runtime_site_UNDER_TEST runtime/src/site.c runtime/src/decode.c)
set(HP_FUZZ_runtime_site_SEEDS generated)

set(HP_FUZZ_runtime_pe_PART runtime)
set(HP_FUZZ_runtime_pe_LIBS hp_fuzz_runtime)
set(HP_FUZZ_runtime_pe_UNDER_TEST runtime/src/pe.c)
set(HP_FUZZ_runtime_pe_SEEDS images wine)

set(HP_FUZZ_runtime_manifest_PART runtime)
set(HP_FUZZ_runtime_manifest_LIBS hp_fuzz_manifest)
set(HP_FUZZ_runtime_manifest_UNDER_TEST runtime/src/manifest.c runtime/src/message.c)
set(HP_FUZZ_runtime_manifest_SEEDS generated)

set(HP_FUZZ_link_rsp_PART lld-pass)
set(HP_FUZZ_link_rsp_LIBS hp_fuzz_link)
set(HP_FUZZ_link_rsp_UNDER_TEST lld-pass/src/rsp.c)
set(HP_FUZZ_link_rsp_SEEDS generated)

set(HP_FUZZ_link_cmdline_PART lld-pass)
set(HP_FUZZ_link_cmdline_LIBS hp_fuzz_link)
set(HP_FUZZ_link_cmdline_UNDER_TEST lld-pass/src/cmdline.c lld-pass/src/rsp.c)
set(HP_FUZZ_link_cmdline_SEEDS generated)

set(HP_FUZZ_link_manifest_PART lld-pass)
set(HP_FUZZ_link_manifest_LIBS hp_fuzz_link_manifest)
set(HP_FUZZ_link_manifest_UNDER_TEST lld-pass/src/manifest.c lld-pass/src/elfmap.c)
set(HP_FUZZ_link_manifest_SEEDS fixmodules)

set(HP_FUZZ_link_fill_PART lld-pass)
set(HP_FUZZ_link_fill_LIBS hp_fuzz_link_manifest)
set(HP_FUZZ_link_fill_UNDER_TEST lld-pass/src/manifest.c lld-pass/src/elfmap.c)
set(HP_FUZZ_link_fill_SEEDS fixpairs)

set(HP_FUZZ_link_elfmap_PART lld-pass)
set(HP_FUZZ_link_elfmap_LIBS hp_fuzz_link_manifest)
set(HP_FUZZ_link_elfmap_UNDER_TEST lld-pass/src/elfmap.c)
set(HP_FUZZ_link_elfmap_SEEDS fixtargets fixmodules)

set(HP_FUZZ_link_code_PART lld-pass)
set(HP_FUZZ_link_code_LIBS hp_fuzz_link_code)
set(HP_FUZZ_link_code_UNDER_TEST lld-pass/src/digest.c lld-pass/src/carry.c lld-pass/src/codefile.c)
set(HP_FUZZ_link_code_SEEDS generated fixtures plugobjs)

set(HP_FUZZ_link_post_PART lld-pass)
set(HP_FUZZ_link_post_LIBS hp_fuzz_link_manifest)
set(HP_FUZZ_link_post_UNDER_TEST lld-pass/src/post.c lld-pass/src/post_table.c lld-pass/src/units.c runtime/tools/src/code.c)
set(HP_FUZZ_link_post_SEEDS images wine)

set(HP_FUZZ_plugin_options_PART plugin)
set(HP_FUZZ_plugin_options_LIBS hp_fuzz_policy)
set(HP_FUZZ_plugin_options_UNDER_TEST plugin/src/options.c runtime/tools/src/glob.c runtime/tools/src/pad.c)
set(HP_FUZZ_plugin_options_SEEDS generated)

set(HP_FUZZ_tools_map_PART runtime)
set(HP_FUZZ_tools_map_LIBS hp_fuzz_tools)
set(HP_FUZZ_tools_map_UNDER_TEST runtime/tools/src/map.c)
set(HP_FUZZ_tools_map_SEEDS generated)

set(HP_FUZZ_tools_sort_PART runtime)
set(HP_FUZZ_tools_sort_LIBS hp_fuzz_tools)
set(HP_FUZZ_tools_sort_UNDER_TEST runtime/tools/src/sort.c)
set(HP_FUZZ_tools_sort_SEEDS generated)

# hp_fuzz_target_enabled(<name> <out-var>): is the target's part built in this tree?
function(hp_fuzz_target_enabled name out)
  set(part "${HP_FUZZ_${name}_PART}")
  if(part STREQUAL "runtime" OR part IN_LIST HP_PARTS)
    set(${out} ON PARENT_SCOPE)
  else()
    set(${out} OFF PARENT_SCOPE)
  endif()
endfunction()
