# lua_setup.cmake — the source audit's Lua fixture (ctest fixture audit_source_lua): Debian's lua5.4
# fetched into CACHE, and lua/CMakeLists.txt configured twice into BUILD for its compilation database:
# BUILD/linux (clang-19, LUA_USE_LINUX) and BUILD/mingw (lua54.dll with the hotpatch plugin).
#   -DCACHE= -DBUILD= -DGENERATOR= -DCLANG= -DTOOLCHAIN=<mingw toolchain file>
#   -DHOTPATCH_PLUGIN= -DHOTPATCH_AUDIT= -DHOTPATCH_FUNCTIONS=
include("${CMAKE_CURRENT_LIST_DIR}/debian_source.cmake")
debian_source(lua5.4 "${CACHE}" lua)
file(WRITE "${BUILD}/lua-dir.txt" "${lua}")
foreach(kind linux mingw)
  if(kind STREQUAL "linux")
    set(extra "-DCMAKE_C_COMPILER=${CLANG}")
  else()
    set(extra "-DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN}" "-DHOTPATCH_PLUGIN=${HOTPATCH_PLUGIN}"
              "-DHOTPATCH_AUDIT=${HOTPATCH_AUDIT}" "-DHOTPATCH_FUNCTIONS=${HOTPATCH_FUNCTIONS}")
  endif()
  execute_process(COMMAND "${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}/lua" -B "${BUILD}/${kind}"
                          -G "${GENERATOR}" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON "-DLUA_DIR=${lua}" ${extra}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "configuring Lua (${kind}) failed:\n${o}\n${e}")
  endif()
endforeach()
