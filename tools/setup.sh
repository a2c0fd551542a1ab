#!/usr/bin/env bash
# Installs the Debian 12 packages ringserve builds, tests and benchmarks with (DEVELOPERS.md lists
# them and says why each is there). Idempotent: prints nothing when everything is installed.
#   tools/setup.sh            # the groups `build`, `test` and `python`
#   tools/setup.sh GROUP...   # only those: build (compile the shipped targets; the repository's
#                             # Dockerfile uses it with python-host), test, python-host (the
#                             # Python host's headers), python (the host and the Python runtimes),
#                             # image (podman and the image tests)
set -euo pipefail

declare -A groups
groups[build]="build-essential cmake ninja-build pkg-config ccache
  libboost-dev capnproto libcapnp-dev libevent-dev libspdlog-dev libfmt-dev
  libsimdjson-dev libcli11-dev libarchive-dev libssl-dev zlib1g-dev libzstd-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc"
groups[test]="libgtest-dev libgmock-dev libbenchmark-dev
  curl python3 python3-requests python3-yaml python3-grpcio python3-protobuf
  wrk zstd xz-utils file binutils valgrind clang-format-14"
# The Python runtime host (runtimes/python: CPython headers, built against the stable ABI); the
# repository's Dockerfile builds with `build python-host`.
groups[python-host]="python3-dev"
# The Python host plus what the built-in Python runtimes and their tests use, all for Debian's
# /usr/bin/python3.
groups[python]="${groups[python-host]} python3-numpy python3-pandas python3-sklearn python3-joblib python3-xgboost"
# Image builds and their tests (tests/supervisor/image): podman with runc (crun fails on hybrid
# cgroups), debootstrap for a local Debian base, uidmap for podman's user namespaces.
groups[image]="podman runc uidmap debootstrap"
# The fuzz preset: clang with libFuzzer and the sanitizer runtimes (tests/fuzz).
groups[fuzz]="clang-14 libclang-rt-14-dev"

selected=("$@")
((${#selected[@]} > 0)) || selected=(build test python)
packages=()
for g in "${selected[@]}"; do
  [[ -n ${groups[$g]:-} ]] || { echo "setup: unknown group '$g' (build, test, python-host, python, image, fuzz)" >&2; exit 2; }
  read -r -a list <<<"$(echo ${groups[$g]})"
  packages+=("${list[@]}")
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -ne 0 ]]; then
  sudo=sudo
else
  sudo=
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
