#!/bin/sh
# apt-get install of the packages a list file names (one a line, `#` comments), then the apt caches
# removed so the layer holds only the packages. Run as root at image build time.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
grep -v '^#' "$1" | xargs apt-get install -y -qq --no-install-recommends >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
