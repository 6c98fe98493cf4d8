# cmake -DBPFTOOL=... -DBTF=/sys/kernel/btf/vmlinux -DOUT=.../vmlinux.h -P gen-vmlinux.cmake
# Writes vmlinux.h from the build machine's kernel BTF (no shell involved), atomically.
if(NOT EXISTS "${BTF}")
  message(FATAL_ERROR "gen-vmlinux: ${BTF} does not exist: this kernel has no BTF "
                      "(CONFIG_DEBUG_INFO_BTF). Configure with -DEU_VMLINUX_H=/path/to/vmlinux.h "
                      "or -DEU_BUILD_PLUGINS=OFF.")
endif()
execute_process(COMMAND "${BPFTOOL}" btf dump file "${BTF}" format c
                OUTPUT_FILE "${OUT}.tmp" ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUT}.tmp")
  message(FATAL_ERROR "gen-vmlinux: ${BPFTOOL} btf dump file ${BTF} failed (${rc}): ${err}")
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
