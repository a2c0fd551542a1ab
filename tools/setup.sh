#!/usr/bin/env bash
# Installs the Debian 12 packages ringserve builds, tests and benchmarks with (DEVELOPERS.md lists
# them and says why each is there). Idempotent: prints nothing when everything is installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost-dev capnproto libcapnp-dev libevent-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsimdjson-dev libcli11-dev libarchive-dev libssl-dev zlib1g-dev libzstd-dev
  curl python3 python3-requests
  wrk zstd xz-utils file binutils
)

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
