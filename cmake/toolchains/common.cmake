# Shared part of the hotpatch toolchain files: clang-19 and lld from Debian's packages.
find_program(HP_CLANG NAMES clang-19 PATHS /usr/lib/llvm-19/bin)
if(NOT HP_CLANG)
  message(FATAL_ERROR "hotpatch: clang-19 not found. Install it with scripts/setup-deps (Debian package clang-19).")
endif()
find_program(HP_LLD NAMES ld.lld-19 ld.lld PATHS /usr/lib/llvm-19/bin NO_DEFAULT_PATH)
if(NOT HP_LLD)
  message(FATAL_ERROR "hotpatch: lld-19 not found. Install it with scripts/setup-deps (Debian package lld-19).")
endif()
set(CMAKE_C_COMPILER "${HP_CLANG}")
set(CMAKE_C_COMPILER_TARGET "${HP_TARGET_TRIPLE}")
set(CMAKE_AR /usr/lib/llvm-19/bin/llvm-ar)
set(CMAKE_RANLIB /usr/lib/llvm-19/bin/llvm-ranlib)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)   # find_package(Hotpatch) from the host prefix
# The tools are needed again in try_compile projects.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HP_TARGET_TRIPLE HP_FREESTANDING)
