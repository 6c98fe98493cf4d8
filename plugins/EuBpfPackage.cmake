# Building BPF programs into eunomia packages with our own ecc, shared by plugins/ and
# tests/bpf/. vmlinux.h is generated once per build tree (target eu_vmlinux_h), from the
# build machine's /sys/kernel/btf/vmlinux, unless EU_VMLINUX_H names one.
include_guard(GLOBAL)

set(EU_VMLINUX_H "" CACHE FILEPATH "vmlinux.h to build the BPF plugins with (default: generated with bpftool)")

find_program(EU_CLANG NAMES clang clang-14 clang-15 clang-16)
if(NOT EU_CLANG)
  message(FATAL_ERROR "Building the BPF plugins needs clang (apt-get install clang llvm), "
                      "or configure with -DEU_BUILD_PLUGINS=OFF")
endif()

if(EU_VMLINUX_H)
  set(EU_VMLINUX_H_FILE ${EU_VMLINUX_H})
  add_custom_target(eu_vmlinux_h)
else()
  find_program(EU_BPFTOOL bpftool PATHS /usr/sbin /sbin /usr/local/sbin)
  if(NOT EU_BPFTOOL)
    message(FATAL_ERROR "Building the BPF plugins needs bpftool to generate vmlinux.h "
                        "(apt-get install bpftool), or -DEU_VMLINUX_H=FILE, or -DEU_BUILD_PLUGINS=OFF")
  endif()
  set(EU_VMLINUX_H_FILE ${CMAKE_BINARY_DIR}/vmlinux/vmlinux.h)
  add_custom_command(OUTPUT ${EU_VMLINUX_H_FILE}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/vmlinux
    COMMAND ${CMAKE_COMMAND} -DBPFTOOL=${EU_BPFTOOL} -DBTF=/sys/kernel/btf/vmlinux
            -DOUT=${EU_VMLINUX_H_FILE} -P ${CMAKE_SOURCE_DIR}/plugins/gen-vmlinux.cmake
    DEPENDS ${CMAKE_SOURCE_DIR}/plugins/gen-vmlinux.cmake
    COMMENT "Generating vmlinux.h from /sys/kernel/btf/vmlinux"
    VERBATIM)
  add_custom_target(eu_vmlinux_h DEPENDS ${EU_VMLINUX_H_FILE})
endif()
# include_guard makes this file run once: later directories read the path from here
set_property(GLOBAL PROPERTY EU_VMLINUX_H_FILE ${EU_VMLINUX_H_FILE})

# eu_add_bpf_package(<name> <source.bpf.c> <output dir> <list var>)
# Builds <output dir>/package.json (+ .bpf.o, .skel.json) with ecc and appends the package
# path to <list var> in the caller's scope. The header <name>.h beside the source, when it
# exists, names the exported structs.
function(eu_add_bpf_package name source outdir listvar)
  get_property(vmlinux GLOBAL PROPERTY EU_VMLINUX_H_FILE)
  set(incdir ${CMAKE_SOURCE_DIR}/plugins/include)
  get_filename_component(srcdir ${source} DIRECTORY)
  file(GLOB headers ${srcdir}/*.h)
  set(pkg ${outdir}/package.json)
  add_custom_command(OUTPUT ${pkg}
    COMMAND ${CMAKE_COMMAND} -E env CLANG=${EU_CLANG}
            $<TARGET_FILE:ecc> ${source} -o ${outdir} --vmlinux-h ${vmlinux}
            -I ${incdir}
    DEPENDS ecc ${source} ${headers} ${incdir}/eu_bpf.h
    COMMENT "ecc: building BPF package ${name}"
    VERBATIM)
  set(${listvar} ${${listvar}} ${pkg} PARENT_SCOPE)
endfunction()
