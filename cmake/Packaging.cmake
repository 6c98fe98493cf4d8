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
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "eBPF package runtime: hot-plugged eBPF programs, decoded events to files and OTLP")
set(CPACK_PACKAGE_DESCRIPTION
    "eunomia-agent runs eBPF packages (eunomia-bpf's package.json format, or bare CO-RE \
objects) from a watched directory, hot-plugging them as files appear, change and go, and \
turns their events into structured records for stdout, rotated JSON-lines files or an \
OpenTelemetry collector. It ships ecc (the package compiler), the bundled plugins and a \
hardened systemd unit.")
set(CPACK_SET_DESTDIR OFF)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "eunomia-agent maintainers <eunomia-agent@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# ecc needs a BPF compiler to build packages; the agent itself does not
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "clang, llvm, bpftool")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/prerm
    ${CMAKE_SOURCE_DIR}/deploy/debian/postrm
    ${CMAKE_SOURCE_DIR}/deploy/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)

if(EU_BUILD_TESTS AND EXISTS ${CMAKE_SOURCE_DIR}/tests/ship/CMakeLists.txt)
  add_subdirectory(${CMAKE_SOURCE_DIR}/tests/ship ${CMAKE_BINARY_DIR}/tests/ship)
endif()
