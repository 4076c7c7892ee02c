# Windows x64, MSVC ABI, freestanding: clang-19 + lld-link, no CRT and no Windows SDK.
# kernel32.lib is made at configure time by llvm-dlltool from cmake/windows/kernel32.def.
# Programs provide their own entry point (tests/portable/hpt_crt.c does for the test programs)
# and memcpy/memset/memcmp.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR AMD64)
set(HP_TARGET_TRIPLE x86_64-pc-windows-msvc)
set(HP_FREESTANDING ON)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)   # nothing links without our entry point
set(CMAKE_C_FLAGS_INIT "-ffreestanding -fno-stack-protector -mno-stack-arg-probe -fno-builtin")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-fuse-ld=lld -nostdlib -Wl,/subsystem:console -Wl,/nodefaultlib")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-fuse-ld=lld -nostdlib -Wl,/noentry -Wl,/nodefaultlib")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-fuse-ld=lld -nostdlib -Wl,/noentry -Wl,/nodefaultlib")
set(CMAKE_C_STANDARD_LIBRARIES "" CACHE STRING "" FORCE)
set(CMAKE_MSVC_RUNTIME_LIBRARY "")                  # no -D_DLL/--dependent-lib=msvcrt: there is no CRT
