# CPACK_PRE_BUILD_SCRIPTS: runs on cpack's staging tree before the .debs are made. Every ELF
# file is stripped (with .comment, which lintian flags) after its debug information is saved
# as build/debug/.build-id/XX/YYYY.debug, and gets a .gnu_debuglink to it: gdb finds it with
# `set debug-file-directory <build>/debug`. (CMake 3.25's own -dbgsym .ddeb generation lists
# absolute staging paths in its md5sums, so it is not used.)
find_program(EU_OBJCOPY objcopy REQUIRED)
find_program(EU_READELF readelf REQUIRED)
file(GLOB_RECURSE eu_files LIST_DIRECTORIES false "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*")
foreach(f IN LISTS eu_files)
  if(IS_SYMLINK "${f}")
    continue()
  endif()
  file(READ "${f}" magic LIMIT 4 HEX)
  if(NOT magic STREQUAL "7f454c46")
    continue()
  endif()
  execute_process(COMMAND ${EU_READELF} -n "${f}" OUTPUT_VARIABLE notes)
  if(NOT notes MATCHES "Build ID: ([0-9a-f][0-9a-f])([0-9a-f]+)")
    message(FATAL_ERROR "${f}: no build id: cannot file its debug information")
  endif()
  set(dbg "${CPACK_EU_DEBUG_DIR}/.build-id/${CMAKE_MATCH_1}/${CMAKE_MATCH_2}.debug")
  get_filename_component(dbgdir "${dbg}" DIRECTORY)
  file(MAKE_DIRECTORY "${dbgdir}")
  execute_process(COMMAND ${EU_OBJCOPY} --only-keep-debug "${f}" "${dbg}" COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND ${EU_OBJCOPY} --strip-unneeded --remove-section=.comment
                          "--add-gnu-debuglink=${dbg}" "${f}" COMMAND_ERROR_IS_FATAL ANY)
endforeach()
