#!/bin/sh
# Turns a Debian 12 image holding ringserve in /opt/ringserve into a ringserve image: installs the
# runtime packages (runtime-packages.txt beside this script), creates the non-root user and the
# folders a server writes to. Run as root at image build time, by the repository's Dockerfile and
# by Dockerfiles `ringserve dockerfile` writes for a plain Debian base.
#
# Arbitrary UIDs (OpenShift runs images as a random UID with group 0): everything the server
# writes lives in folders owned by group 0 with group write, and HOME is one of them.
set -eu
here=$(dirname "$0")
"$here/apt-install.sh" "$here/runtime-packages.txt"

useradd --uid 1000 --gid 0 --no-create-home --home-dir /home/ringserve --shell /usr/sbin/nologin ringserve
# /var/lib/ringserve/envs: unpacked environment tarballs; /run/ringserve: XDG_RUNTIME_DIR (control
# socket); /home/ringserve: HOME (Python user caches).
for d in /var/lib/ringserve/envs /run/ringserve /home/ringserve /mnt/models; do
  mkdir -p "$d"
  chown 1000:0 "$d"
  chmod 2775 "$d"
done
