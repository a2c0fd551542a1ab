#!/bin/sh
# Turns a Debian 12 image holding ringserve in /opt/ringserve into a ringserve image: installs the
# runtime packages (runtime-packages.txt beside this script, and python-runtime-packages.txt when
# the installation holds the Python runtime host), creates the non-root user and the folders a
# server writes to. Run as root at image build time, by the repository's Dockerfile and
# by Dockerfiles `ringserve dockerfile` writes for a plain Debian base.
#
# Arguments name built-in Python runtimes whose libraries to add (`sklearn`, `xgboost`:
# python-NAME-packages.txt), as the repository's Dockerfile does with PYTHON_RUNTIMES for an image
# that serves any scikit-learn or XGBoost model (KServe's formats) rather than one folder's.
#
# Arbitrary UIDs (OpenShift runs images as a random UID with group 0): everything the server
# writes lives in folders owned by group 0 with group write, and HOME is one of them.
set -eu
here=$(dirname "$0")
prefix=$(cd "$here/../.." && pwd)
lists="$here/runtime-packages.txt"
# The Python host is built only where python3-dev was present; without it the image needs no Python.
python_host=
if [ -e "$prefix/lib/ringserve/runtimes/libringserve_python.so" ]; then
  python_host=1
  lists="$lists $here/python-runtime-packages.txt"
fi
for runtime in "$@"; do
  list="$here/python-$runtime-packages.txt"
  if [ -z "$python_host" ] || [ ! -f "$list" ]; then
    echo "image-setup.sh: no built-in Python runtime '$runtime' here (sklearn, xgboost; they need the Python host)" >&2
    exit 2
  fi
  lists="$lists $list"
done
# shellcheck disable=SC2086 # file names without spaces
"$here/apt-install.sh" $lists
if [ -n "$python_host" ]; then
  # The built-in packages compiled now: at run time their folder is not writable by the server's
  # user, so every worker would otherwise compile them again on import.
  python3 -m compileall -q "$prefix/lib/ringserve/python" >/dev/null
fi

useradd --uid 1000 --gid 0 --no-create-home --home-dir /home/ringserve --shell /usr/sbin/nologin ringserve
# /var/lib/ringserve/envs: unpacked environment tarballs; /run/ringserve: XDG_RUNTIME_DIR (control
# socket); /home/ringserve: HOME (Python user caches).
for d in /var/lib/ringserve/envs /run/ringserve /home/ringserve /mnt/models; do
  mkdir -p "$d"
  chown 1000:0 "$d"
  chmod 2775 "$d"
done
