#!/usr/bin/env bash
# Makes a Debian 12 base image without a registry: `debootstrap --variant=minbase bookworm` from
# this machine's configured Debian mirror, apt caches and logs removed, written as a tar that
# `podman import` / `docker import` turn into an image (the tests import it as
# localhost/debian:12-local). Needs root and debootstrap (tools/setup.sh image).
#   tools/debian-base.sh OUT.tar
set -euo pipefail
out=${1:?usage: tools/debian-base.sh OUT.tar}
mirror=$(grep -hoE '^URIs:\s*\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
if [[ -z $mirror ]]; then
  mirror=$(grep -hoE '^deb\s+(\[[^]]*\]\s+)?\S+\s+bookworm\s' /etc/apt/sources.list 2>/dev/null | awk '{print $NF=="" ? $2 : $(NF-1)}' | head -1 || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
root=$(mktemp -d "${TMPDIR:-/tmp}/debian-base-XXXXXX")
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
  tail -5 "$root.log" >&2
  echo "debian-base: debootstrap from $mirror failed (log above)" >&2
  rm -f "$root.log"
  exit 1
}
rm -f "$root.log"
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/tmp/*
tar -C "$root" --numeric-owner -cf "$out.partial" .
mv "$out.partial" "$out"
