#!/bin/sh
# Installs a model folder's Python requirements into the image's Python (Debian's python3) at
# image build time. `pip-install.sh FILE` takes a requirements.txt; `pip-install.sh --conda FILE`
# a conda-style environment.yaml, turned into requirements first (conda-to-requirements.py). Where
# no package index is reachable the build fails with pip's own message.
set -eu
here=$(dirname "$0")
conda=
if [ "$1" = --conda ]; then
  conda=1
  shift
fi
list=$(mktemp)
printf 'python3\npython3-pip\nca-certificates\n%s\n' "${conda:+python3-yaml}" >"$list"
"$here/apt-install.sh" "$list"
rm -f "$list"
req=$1
if [ -n "$conda" ]; then
  req=$(mktemp --suffix=.txt)
  python3 "$here/conda-to-requirements.py" "$1" >"$req"
fi
python3 -m pip install --no-cache-dir --break-system-packages --root-user-action=ignore -r "$req"
