# HpInstall.cmake — what `cmake --install` lays out (relocatable: nothing
# installed names an absolute path of the build machine):
#   bin/        hotpatch-audit, hotpatch-link (+ hotpatch-link-bitcode, hotpatch-ld.lld, hotpatch-lld-link),
#               hotpatch-cc (the $CC wrapper: finds ../lib/hotpatch/hotpatch-plugin.so and hotpatch-link),
#               hotpatch-manifest
#   include/    hotpatch.h, hotpatch_pe.h, hotpatch_table.h, hotpatch_fix.h (HP_RUNTIME_PUBLIC_HEADERS, runtime/CMakeLists.txt)
#   lib/        libhotpatch.a, libhotpatch.so -> .so.0 -> .so.<version> (host)
#   lib/hotpatch/hotpatch-plugin.so
#   lib/hotpatch/ld/         ld.lld and lld-link: links to bin/hotpatch-link for clang -B
#   lib/hotpatch/<triple>/   the runtime for each Windows / i386 target that was built: static
#                            (libhotpatch.a, hotpatch.lib) and shared (hotpatch.dll + libhotpatch_dll.dll.a /
#                            hotpatch_dll.lib, libhotpatch.so*): Hotpatch::runtime and ::runtime_shared
#   lib/cmake/Hotpatch/      HotpatchConfig.cmake (+ version), functions, toolchain files, kernel32.def,
#                            HotpatchAll.cmake (CMAKE_PROJECT_INCLUDE for unmodified projects)
#   lib/pkgconfig/hotpatch.pc                the host runtime
#   lib/pkgconfig/hotpatch-<triple>.pc       the static runtime of lib/hotpatch/<triple>/ (full path in Libs)
#   lib/pkgconfig/hotpatch-dll-<triple>.pc   Windows: hotpatch.dll's import library, Cflags -DHP_DLL
#   lib/hotpatch/<triple>/pkgconfig/{hotpatch,hotpatch-dll}.pc  the same two, for PKG_CONFIG_LIBDIR=<that dir>
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(HP_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/Hotpatch")
set(HP_INSTALL_PKGLIBDIR "${CMAKE_INSTALL_LIBDIR}/hotpatch")

install(TARGETS ${HP_RUNTIME_INSTALL_TARGETS}
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(FILES ${HP_RUNTIME_PUBLIC_HEADERS} DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
if(TARGET hotpatch-plugin)
  install(TARGETS hotpatch-plugin LIBRARY DESTINATION "${HP_INSTALL_PKGLIBDIR}")
endif()
foreach(tool hotpatch-audit hotpatch-link hotpatch-link-bitcode)
  if(TARGET ${tool})
    install(TARGETS ${tool} RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
  endif()
endforeach()
if(TARGET hotpatch-link)
  # lib/hotpatch/ld/{ld.lld,lld-link} -> bin/hotpatch-link: with -B<that dir>, clang's own lld lookup
  # (-fuse-ld=lld, both the MinGW and the MSVC driver) runs hotpatch-link, whatever -fuse-ld a
  # toolchain file put later on the link line. Relative links: the prefix stays relocatable.
  file(RELATIVE_PATH _hp_ld_rel "/p/${HP_INSTALL_PKGLIBDIR}/ld" "/p/${CMAKE_INSTALL_BINDIR}/hotpatch-link")
  install(CODE "
    set(_d \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${HP_INSTALL_PKGLIBDIR}/ld\")
    file(MAKE_DIRECTORY \"\${_d}\")
    foreach(_n ld.lld lld-link)
      file(REMOVE \"\${_d}/\${_n}\")
      file(CREATE_LINK \"${_hp_ld_rel}\" \"\${_d}/\${_n}\" SYMBOLIC)
    endforeach()")
endif()

if(HP_CROSS)
  foreach(triple IN LISTS HP_CROSS_TRIPLES)
    install(DIRECTORY "${CMAKE_BINARY_DIR}/cross/${triple}/runtime/"
      DESTINATION "${HP_INSTALL_PKGLIBDIR}/${triple}"
      FILES_MATCHING PATTERN "*.a" PATTERN "*.lib" PATTERN "*.dll" PATTERN "*.so" PATTERN "*.so.*"
      PATTERN "CMakeFiles" EXCLUDE)
  endforeach()
endif()

# pkg-config files for each target's runtime (README.md, "pkg-config"), from cmake/hotpatch-target.pc.in:
# hotpatch-<triple>.pc (static) and, for Windows, hotpatch-dll-<triple>.pc (the DLL's import library),
# in lib/pkgconfig/ and again as hotpatch.pc / hotpatch-dll.pc in lib/hotpatch/<triple>/pkgconfig/.
function(_hp_install_target_pkgconfig triple)
  set(HP_PC_TRIPLE "${triple}")
  set(HP_PC_VARS "")
  set(HP_PC_CFLAGS "")
  set(variants static)
  if(triple MATCHES "windows-msvc")
    set(static_libs "\${libdir}/hotpatch.lib")
    set(HP_PC_CFLAGS " -DHP_FREESTANDING=1")
    set(dll_libs "\${libdir}/hotpatch_dll.lib")
    list(APPEND variants dll)
  elseif(triple MATCHES "mingw")
    set(static_libs "\${libdir}/libhotpatch.a")
    set(dll_libs "\${libdir}/libhotpatch_dll.dll.a")
    list(APPEND variants dll)
  else()
    set(static_libs "\${libdir}/libhotpatch.a -lpthread")
  endif()
  foreach(variant IN LISTS variants)
    if(variant STREQUAL "dll")
      set(HP_PC_BASE hotpatch-dll)
      set(HP_PC_WHAT "hotpatch.dll")
      set(HP_PC_VARS "dll=\${libdir}/hotpatch.dll")
      set(HP_PC_CFLAGS " -DHP_DLL")
      set(HP_PC_LIBS "${dll_libs}")
    else()
      set(HP_PC_BASE hotpatch)
      set(HP_PC_WHAT "static")
      set(HP_PC_LIBS "${static_libs}")
    endif()
    set(out "${CMAKE_BINARY_DIR}/pkgconfig/${triple}")
    file(RELATIVE_PATH HP_PC_PREFIX_REL "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
    string(REGEX REPLACE "/$" "" HP_PC_PREFIX_REL "${HP_PC_PREFIX_REL}")
    configure_file("${PROJECT_SOURCE_DIR}/cmake/hotpatch-target.pc.in" "${out}/${HP_PC_BASE}-${triple}.pc" @ONLY)
    install(FILES "${out}/${HP_PC_BASE}-${triple}.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
    file(RELATIVE_PATH HP_PC_PREFIX_REL "/p/${HP_INSTALL_PKGLIBDIR}/${triple}/pkgconfig" "/p")
    string(REGEX REPLACE "/$" "" HP_PC_PREFIX_REL "${HP_PC_PREFIX_REL}")
    configure_file("${PROJECT_SOURCE_DIR}/cmake/hotpatch-target.pc.in" "${out}/pkgconfig/${HP_PC_BASE}.pc" @ONLY)
    install(FILES "${out}/pkgconfig/${HP_PC_BASE}.pc" DESTINATION "${HP_INSTALL_PKGLIBDIR}/${triple}/pkgconfig")
  endforeach()
endfunction()
if(HP_CROSS)
  foreach(triple IN LISTS HP_CROSS_TRIPLES)
    _hp_install_target_pkgconfig(${triple})
  endforeach()
endif()

install(DIRECTORY "${PROJECT_SOURCE_DIR}/cmake/toolchains" "${PROJECT_SOURCE_DIR}/cmake/windows"
  DESTINATION "${HP_INSTALL_CMAKEDIR}")
install(FILES "${PROJECT_SOURCE_DIR}/cmake/HotpatchFunctions.cmake" "${PROJECT_SOURCE_DIR}/cmake/HotpatchAudit.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/HotpatchAll.cmake"   # -DCMAKE_PROJECT_INCLUDE=…: every image of a project
  DESTINATION "${HP_INSTALL_CMAKEDIR}")

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/HotpatchConfig.cmake.in"
  "${CMAKE_BINARY_DIR}/HotpatchConfig.cmake"
  INSTALL_DESTINATION "${HP_INSTALL_CMAKEDIR}"
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_BINDIR)
# ARCH_INDEPENDENT: one package serves 64- and 32-bit targets (lib/hotpatch/<triple>/); without it a
# project for i686-w64-mingw32 or i386-linux-gnu (CMAKE_SIZEOF_VOID_P 4) would reject the package.
write_basic_package_version_file("${CMAKE_BINARY_DIR}/HotpatchConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES "${CMAKE_BINARY_DIR}/HotpatchConfig.cmake" "${CMAKE_BINARY_DIR}/HotpatchConfigVersion.cmake"
  DESTINATION "${HP_INSTALL_CMAKEDIR}")

configure_file("${PROJECT_SOURCE_DIR}/cmake/hotpatch.pc.in" "${CMAKE_BINARY_DIR}/hotpatch.pc" @ONLY)
install(FILES "${CMAKE_BINARY_DIR}/hotpatch.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
