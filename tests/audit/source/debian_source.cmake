# debian_source.cmake — a Debian source package, fetched once into a cache directory of the build
# tree (never into the source tree) with scripts/debian-source (`apt-get source`; needs a deb-src entry and dpkg-dev:
# scripts/setup-deps adds both). Used by the source audit's tests and benchmark.
#
#   include(debian_source.cmake) then debian_source(<package> <cache dir> <out var>)
#   or: cmake -DPACKAGE=<package> -DCACHE=<dir> -P debian_source.cmake
# <out var> receives the unpacked directory (<cache>/<package>-<version>).
# scripts/debian-source: the newest version the archive really serves (a mirror may lack a security update's files)
get_filename_component(_hp_debian_source_script "${CMAKE_CURRENT_LIST_DIR}/../../../scripts/debian-source" ABSOLUTE)

function(debian_source package cache out)
  set(glob "${cache}/${package}-[0-9]*")
  file(GLOB found LIST_DIRECTORIES true "${glob}")
  list(FILTER found EXCLUDE REGEX "\\.(dsc|tar\\..*|diff\\..*)$")
  if(NOT found)
    file(MAKE_DIRECTORY "${cache}")
    message(STATUS "fetching Debian's ${package} source package into ${cache}")
    execute_process(COMMAND "${_hp_debian_source_script}" "${package}" WORKING_DIRECTORY "${cache}"
                    RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
    file(GLOB found LIST_DIRECTORIES true "${glob}")
    list(FILTER found EXCLUDE REGEX "\\.(dsc|tar\\..*|diff\\..*)$")
    if(NOT rc EQUAL 0 OR NOT found)
      message(FATAL_ERROR "could not fetch Debian's ${package} source package (apt-get source ${package}, exit "
        "${rc}):\n${e}\nIt needs a deb-src entry and dpkg-dev: run  sudo scripts/setup-deps  (it adds both).")
    endif()
  endif()
  list(GET found 0 dir)
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE AND PACKAGE)
  debian_source("${PACKAGE}" "${CACHE}" dir)
  message(STATUS "${PACKAGE}: ${dir}")
endif()
