# Packaging: the deploy/ install layout, and a Debian package through CPack.
#
#   cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr && cmake --build build
#   (cd build && cpack -G DEB)        # -> build/eunomia-agent_<version>_<arch>.deb
#
# The .deb always installs under /usr with its config in /etc, whatever prefix the build was
# configured with: the DEB generator installs with CMAKE_INSTALL_PREFIX set to
# CPACK_PACKAGING_INSTALL_PREFIX and DESTDIR to its staging directory (so CPACK_SET_DESTDIR
# stays OFF: with it, cpack would keep the build's prefix), and deploy/install.cmake derives
# /etc and the unit's paths from that prefix at install time.
# Its Depends are computed by dpkg-shlibdeps from the libraries the binaries really link
# (libbpf1, libelf1, libuv1, libcurl4, libcjson1, libyaml-0-2, libprotobuf-c1, libssl3,
# libsystemd0, ...), so they follow whatever Debian release it is built on.
add_subdirectory(${CMAKE_SOURCE_DIR}/deploy ${CMAKE_BINARY_DIR}/deploy)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME eunomia-agent)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "eunomia-agent")
set(CPACK_SET_DESTDIR OFF)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Three packages, as Debian splits a program with a library: eunomia-agent (the programs,
# plugins, config, unit), libeunomia0 (the shared library) and libeunomia-dev (headers, static
# library, pkg-config file).
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent lib dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${EU_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# binaries stripped, with a debug link to their debug information kept in build/debug
# (cmake/DebStrip.cmake)
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_SOURCE_DIR}/cmake/DebStrip.cmake)
set(CPACK_EU_DEBUG_DIR ${CMAKE_BINARY_DIR}/debug)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME eunomia-agent)
set(CPACK_DEBIAN_AGENT_PACKAGE_SECTION admin)
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "eBPF package runtime with hot-plugging and OTLP export
eunomia-agent runs eBPF packages (eunomia-bpf's package.json format, or bare
CO-RE objects) from a watched directory, hot-plugging them as files appear,
change and go, and turns their events into structured records for stdout,
rotated JSON-lines files or an OpenTelemetry collector. It ships ecc (the
package compiler), the bundled plugins and a hardened systemd unit.")
# ecc needs a BPF compiler to build packages; the agent itself does not
set(CPACK_DEBIAN_AGENT_PACKAGE_SUGGESTS "clang, llvm, bpftool")
# the maintainer scripts call deb-systemd-helper and deb-systemd-invoke
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "init-system-helpers (>= 1.54~)")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/prerm
    ${CMAKE_SOURCE_DIR}/deploy/debian/postrm
    ${CMAKE_SOURCE_DIR}/deploy/debian/conffiles)

set(CPACK_DEBIAN_LIB_PACKAGE_NAME libeunomia${PROJECT_VERSION_MAJOR})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_LIB_DESCRIPTION
    "eBPF package runtime library
libeunomia reads eunomia-bpf packages, sets their parameters, loads and
attaches their programs and decodes their events from BTF; the runtime of
eunomia-agent, for programs that embed it.")
# a shlibs file (CPack writes it for packages with shared objects) and the ldconfig trigger
# (our postinst/postrm keep CPack from writing ones that call ldconfig directly)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/debian/libeunomia/triggers
    ${CMAKE_SOURCE_DIR}/deploy/debian/libeunomia/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/libeunomia/postrm)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libeunomia-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "eBPF package runtime library (development files)
Headers, the static library and the pkg-config file of libeunomia, the
runtime of eunomia-agent: read eunomia-bpf packages, load and attach their
programs and decode their events from BTF.")
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libeunomia${PROJECT_VERSION_MAJOR} (= ${PROJECT_VERSION}), libbpf-dev, libelf-dev, zlib1g-dev, libdeflate-dev, libuv1-dev, libcjson-dev, libssl-dev")
include(CPack)

if(EU_BUILD_TESTS AND EXISTS ${CMAKE_SOURCE_DIR}/tests/ship/CMakeLists.txt)
  add_subdirectory(${CMAKE_SOURCE_DIR}/tests/ship ${CMAKE_BINARY_DIR}/tests/ship)
endif()
