# Linux i386 (IA-32): clang-19 -m32 with Debian's libc6-dev-i386, lib32gcc-12-dev and gcc-multilib.
# The programs run under qemu-i386 (qemu-user): kernels that refuse 32-bit ELF binaries exist (this
# project's CI machines are such), and qemu-user runs them the same everywhere.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR i686)
set(HP_TARGET_TRIPLE i386-linux-gnu)
set(HP_FREESTANDING OFF)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")
set(CMAKE_C_COMPILER_TARGET "")       # clang's own spelling for the multilib: -m32
set(CMAKE_C_FLAGS_INIT "-m32")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-m32")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-m32")
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE NEVER)
find_program(HP_QEMU_I386 qemu-i386)
if(HP_QEMU_I386)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${HP_QEMU_I386}")
endif()
