#!/usr/bin/env bash
# Mounts tracefs and bpffs when they are missing: tracepoint attach needs tracefs, and
# pinning needs bpffs. Says clearly what it could not do; never fails the caller for bpffs.
set -u
status=0
if [ ! -e /sys/kernel/tracing/events ] && [ ! -e /sys/kernel/debug/tracing/events ]; then
  if mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null; then
    echo "mount-fs: mounted tracefs on /sys/kernel/tracing"
  else
    echo "mount-fs: cannot mount tracefs on /sys/kernel/tracing (need root and a kernel with" \
         "CONFIG_TRACING); tracepoint programs will fail to attach" >&2
    status=1
  fi
fi
if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
  if mount -t bpf bpf /sys/fs/bpf 2>/dev/null; then
    echo "mount-fs: mounted bpffs on /sys/fs/bpf"
  else
    echo "mount-fs: note: cannot mount bpffs on /sys/fs/bpf (only needed for pinning)" >&2
  fi
fi
exit $status
