# Run by `cmake --install` (and by cpack): see deploy/CMakeLists.txt. Inputs: EU_DEPLOY_SRC,
# EU_BINDIR, CMAKE_INSTALL_PREFIX, $ENV{DESTDIR}. The source files are written for the /usr
# prefix; another prefix gets its own paths substituted.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(eu_etc "/etc")
else()
  set(eu_etc "${CMAKE_INSTALL_PREFIX}/etc")
endif()
set(eu_root "$ENV{DESTDIR}")
set(eu_bin "${CMAKE_INSTALL_PREFIX}/${EU_BINDIR}")

function(eu_deploy_write src dst)
  file(READ "${EU_DEPLOY_SRC}/${src}" text)
  string(REPLACE "/usr/bin/eunomia-agent" "${eu_bin}/eunomia-agent" text "${text}")
  string(REPLACE "/etc/eunomia/" "${eu_etc}/eunomia/" text "${text}")
  string(REPLACE "/etc/eunomia.d" "${eu_etc}/eunomia.d" text "${text}")
  string(REPLACE "/usr/share/" "${CMAKE_INSTALL_PREFIX}/share/" text "${text}")
  get_filename_component(dir "${dst}" DIRECTORY)
  file(MAKE_DIRECTORY "${dir}")
  message(STATUS "Installing: ${dst}")
  file(WRITE "${dst}" "${text}")
endfunction()

# the config: a plain `cmake --install` never overwrites an operator's copy
set(eu_conf "${eu_root}${eu_etc}/eunomia/eunomia.yaml")
if(EXISTS "${eu_conf}" AND "${eu_root}" STREQUAL "")
  message(STATUS "Keeping: ${eu_conf} (the new default is eunomia.yaml.dist beside it)")
  eu_deploy_write(eunomia.yaml "${eu_conf}.dist")
else()
  eu_deploy_write(eunomia.yaml "${eu_conf}")
endif()
message(STATUS "Installing: ${eu_root}${eu_etc}/eunomia.d")
file(MAKE_DIRECTORY "${eu_root}${eu_etc}/eunomia.d")
eu_deploy_write(eunomia-agent.service
                "${eu_root}${CMAKE_INSTALL_PREFIX}/lib/systemd/system/eunomia-agent.service")
