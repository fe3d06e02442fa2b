#!/usr/bin/env bash
# Builds the kernel's BPF selftest programs of socket filter, tc and XDP type from Debian's linux-source tarball into a cache outside the repository.
#
# Usage: build-selftests.sh            (env: BPFKIT_SELFTESTS_DIR, default /var/cache/bpfkit-selftests;
#                                        BPFKIT_SELFTESTS_TARBALL, default the newest /usr/src/linux-source-*.tar.xz;
#                                        JOBS, default nproc)
# Extracts only tools/testing/selftests/bpf, tools/lib/bpf, tools/include and the helper-doc script, generates
# bpf_helper_defs.h and vmlinux.h (from this kernel's BTF), then compiles, with clang-19 as the selftests'
# Makefile does (-O2 -mcpu=v3 -g), every progs/*.c that has a socket/tc/tcx/classifier/action/xdp section.
# Objects are cached per (tarball, kernel, clang); a source that does not compile is listed in failed.txt,
# not fatal. Prints the object directory on its last line.
set -euo pipefail

DIR=${BPFKIT_SELFTESTS_DIR:-/var/cache/bpfkit-selftests}
TARBALL=${BPFKIT_SELFTESTS_TARBALL:-$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1 || true)}
JOBS=${JOBS:-$(nproc)}
CLANG=${CLANG:-clang-19}

[ -n "$TARBALL" ] && [ -f "$TARBALL" ] || { echo "build-selftests: no linux-source tarball in /usr/src (apt-get install linux-source-6.12)" >&2; exit 2; }
for c in "$CLANG" bpftool python3 tar; do command -v "$c" >/dev/null || { echo "build-selftests: $c not installed" >&2; exit 2; }; done
[ -r /sys/kernel/btf/vmlinux ] || { echo "build-selftests: /sys/kernel/btf/vmlinux not readable" >&2; exit 2; }

release=$(basename "$TARBALL" .tar.xz)
SRC=$DIR/$release
mkdir -p "$DIR"

# 1. The sources: extracted once per tarball (into a temp dir, renamed when complete).
if [ ! -f "$SRC/.complete" ]; then
  rm -rf "$SRC" "$SRC.tmp"
  mkdir -p "$SRC.tmp"
  top=$release # Debian's tarball holds one directory named as the file
  tar -xJf "$TARBALL" -C "$SRC.tmp" --strip-components=1 \
    "$top/tools/testing/selftests/bpf" "$top/tools/lib/bpf" "$top/tools/include" "$top/scripts/bpf_doc.py"
  mkdir -p "$SRC.tmp/inc/bpf"
  cp "$SRC.tmp"/tools/lib/bpf/*.h "$SRC.tmp/inc/bpf/"
  python3 "$SRC.tmp/scripts/bpf_doc.py" --header --file "$SRC.tmp/tools/include/uapi/linux/bpf.h" > "$SRC.tmp/inc/bpf/bpf_helper_defs.h"
  touch "$SRC.tmp/.complete"
  mv "$SRC.tmp" "$SRC"
fi

# 2. vmlinux.h of this kernel, and the object dir keyed by kernel and compiler.
kernel=$(uname -r)
cver=$("$CLANG" -dumpversion)
OBJ=$DIR/obj-$release-$kernel-clang$cver
mkdir -p "$OBJ"
if [ ! -s "$OBJ/vmlinux.h" ]; then
  bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$OBJ/vmlinux.h.tmp"
  mv "$OBJ/vmlinux.h.tmp" "$OBJ/vmlinux.h"
fi

# 3. The sources with a packet program section (SEC("xdp"), SEC("?tc"), SEC("socket/..."), ...).
PROGS=$SRC/tools/testing/selftests/bpf/progs
grep -lE 'SEC\("\??(socket|tc|tcx/|classifier|action|xdp)' "$PROGS"/*.c | sort > "$OBJ/sources.txt"

triple=$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
arch=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
export CLANG OBJ
export CFLAGS="-g -O2 --target=bpf -mcpu=v3 -mlittle-endian -D__TARGET_ARCH_$arch -DENABLE_ATOMICS_TESTS
  -I$OBJ -I$SRC/inc -I$SRC/tools/testing/selftests/bpf -I$SRC/tools/include/uapi
  -idirafter /usr/local/include -idirafter /usr/include/$triple -idirafter /usr/include
  -std=gnu11 -fno-strict-aliasing -Wno-compare-distinct-pointer-types -w"
# One source: cached .o, else compile to a temp name and rename; a failure leaves name.err.
compile_one() {
  local src=$1 name
  name=$(basename "$src" .c)
  [ -f "$OBJ/$name.o" ] && return 0
  [ -f "$OBJ/$name.err" ] && return 0
  local extra=""
  case $name in test_l4lb_noinline|test_xdp_noinline) extra=-fno-inline ;; esac
  # shellcheck disable=SC2086
  if "$CLANG" $CFLAGS $extra -c "$src" -o "$OBJ/$name.o.tmp" 2> "$OBJ/$name.log"; then
    mv "$OBJ/$name.o.tmp" "$OBJ/$name.o"
    rm -f "$OBJ/$name.log"
  else
    rm -f "$OBJ/$name.o.tmp"
    mv "$OBJ/$name.log" "$OBJ/$name.err"
  fi
}
export -f compile_one
xargs -a "$OBJ/sources.txt" -P "$JOBS" -I{} bash -c 'compile_one "$1"' _ {}

total=$(wc -l < "$OBJ/sources.txt")
ls "$OBJ" | sed -n 's/\.err$//p' > "$OBJ/failed.txt"
failed=$(wc -l < "$OBJ/failed.txt")
echo "build-selftests: $((total - failed)) of $total sources compiled, $failed failed (listed in $OBJ/failed.txt)" >&2
echo "$OBJ"
