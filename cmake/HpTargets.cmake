# HpTargets.cmake — facts about the target this build tree compiles for.
#
# HP_TARGET_TRIPLE  e.g. x86_64-linux-gnu, x86_64-w64-mingw32, i686-w64-mingw32,
#                   x86_64-pc-windows-msvc, i386-linux-gnu (set by our toolchain files)
# HP_TARGET_OS      linux | windows
# HP_TARGET_ARCH    x64 | x86      (ARM64: planned, refused here with a message)
# HP_FREESTANDING   ON for the MSVC-ABI target: no CRT, kernel32 import library from cmake/windows/kernel32.def

if(NOT HP_TARGET_TRIPLE)
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND CMAKE_SIZEOF_VOID_P EQUAL 8
     AND CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    set(HP_TARGET_TRIPLE x86_64-linux-gnu)
  else()
    message(FATAL_ERROR
      "hotpatch: unsupported host ${CMAKE_SYSTEM_NAME}/${CMAKE_SYSTEM_PROCESSOR}. "
      "Native builds are for Linux x86-64; use a toolchain file from cmake/toolchains/ for the other targets.")
  endif()
endif()

if(HP_TARGET_TRIPLE MATCHES "windows|mingw")
  set(HP_TARGET_OS windows)
else()
  set(HP_TARGET_OS linux)
endif()
if(HP_TARGET_TRIPLE MATCHES "^x86_64")
  set(HP_TARGET_ARCH x64)
elseif(HP_TARGET_TRIPLE MATCHES "^i[3-6]86")
  set(HP_TARGET_ARCH x86)
else()
  message(FATAL_ERROR "hotpatch: architecture of ${HP_TARGET_TRIPLE} is not supported yet (x86 and x86-64 only; ARM64 is planned)")
endif()
if(NOT DEFINED HP_FREESTANDING)
  set(HP_FREESTANDING OFF)
endif()
message(STATUS "hotpatch: target ${HP_TARGET_TRIPLE} (${HP_TARGET_OS}, ${HP_TARGET_ARCH}, freestanding=${HP_FREESTANDING})")
