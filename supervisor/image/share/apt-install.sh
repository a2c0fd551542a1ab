#!/bin/sh
# apt-get install of the packages the list files name (one a line, `#` comments; several lists are
# one apt run, so one `apt-get update`), then the apt caches removed so the layer holds only the
# packages. Run as root at image build time. Usage: apt-install.sh LIST...
#
# A line `stub NAME` installs an empty stand-in package NAME first, so a dependency Debian 12
# declares but nothing imports at run time is satisfied without its own dependencies (see the list
# that uses it for why). apt's state stays consistent: later installs see NAME as installed.
set -eu
export DEBIAN_FRONTEND=noninteractive
grep -hv '^#' "$@" | awk '$1 == "stub" { print $2 }' | while read -r name; do
  dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "install ok installed" && continue
  d=$(mktemp -d)
  mkdir "$d/DEBIAN"
  printf 'Package: %s\nVersion: 0~ringserve\nArchitecture: all\nMaintainer: ringserve image <root@localhost>\nDescription: empty stand-in installed by ringserve'"'"'s apt-install.sh\n' \
    "$name" >"$d/DEBIAN/control"
  dpkg-deb --build "$d" "$d.deb" >/dev/null
  dpkg -i "$d.deb" >/dev/null
  rm -rf "$d" "$d.deb"
done
apt-get update -qq
grep -hv '^#' "$@" | awk 'NF == 1 { print $1 }' | xargs apt-get install -y -qq --no-install-recommends >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
