# HpCross.cmake — build the runtime and its portable test programs for every
# other target as sub-builds of this tree (cross/<triple>/), with the toolchain
# files of cmake/toolchains/. The host tests run their programs under Wine
# (Windows x64) and qemu-i386 (Linux i386); PE32 programs are built and audited
# (32-bit Wine cannot be installed here).
include(ExternalProject)

set(HP_CROSS_TRIPLES x86_64-w64-mingw32 i686-w64-mingw32 x86_64-pc-windows-msvc i386-linux-gnu
  CACHE STRING "Targets the runtime is built for in sub-builds")

# The decoder sources are fetched once here and shared by every sub-build.
if(NOT HP_ZYDIS_SOURCE_DIR)
  hp_zydis_fetch_source()
endif()
if(NOT HP_ZYCORE_INCLUDE_DIR)
  hp_zycore_headers()
endif()

foreach(triple IN LISTS HP_CROSS_TRIPLES)
  ExternalProject_Add(cross-${triple}
    SOURCE_DIR "${PROJECT_SOURCE_DIR}"
    BINARY_DIR "${CMAKE_BINARY_DIR}/cross/${triple}"
    CMAKE_ARGS
      "-DCMAKE_TOOLCHAIN_FILE=${PROJECT_SOURCE_DIR}/cmake/toolchains/${triple}.cmake"
      -DHP_RUNTIME_ONLY=ON
      -DCMAKE_BUILD_TYPE=RelWithDebInfo
      "-DHP_WERROR=${HP_WERROR}"
      "-DHP_ZYDIS_SOURCE_DIR=${HP_ZYDIS_SOURCE_DIR}"
      "-DHP_ZYCORE_INCLUDE_DIR=${HP_ZYCORE_INCLUDE_DIR}"
      "-DHP_ZYCORE_SYSTEM_INCLUDE=${HP_ZYCORE_SYSTEM_INCLUDE}"
      "-DHP_LLVM_DLLTOOL=${HP_LLVM_DLLTOOL}"
      "-DHP_RUNTIME_ENGINE=${HP_RUNTIME_ENGINE}"
      "-DHP_BUILD_TESTS=${HP_BUILD_TESTS}"
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON
    LOG_CONFIGURE ON LOG_BUILD ON LOG_OUTPUT_ON_FAILURE ON)
endforeach()
