#!/bin/sh
# Builds a model folder's C++ runtimes at image build time: each CMake project SRC/<project> is
# configured against the image's SDK (find_package(ringserve) finds /opt/ringserve), built, and
# every runtime library it produced is copied to OUT, which becomes the image's built-in runtime
# folder. Usage: build-runtimes.sh SRC OUT PROJECT...
set -eu
src=$1 out=$2
shift 2
mkdir -p "$out"
for p in "$@"; do
  b=/tmp/ringserve-runtimes/$p
  cmake -S "$src/$p" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=/opt/ringserve
  cmake --build "$b"
  found=$(find "$b" -name '*.so' -not -path '*/CMakeFiles/*')
  if [ -z "$found" ]; then
    echo "ringserve: the CMake project $p built no runtime library (*.so)" >&2
    exit 1
  fi
  for so in $found; do cp "$so" "$out/"; done
done
