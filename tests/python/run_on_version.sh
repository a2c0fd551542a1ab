#!/usr/bin/env bash
# run_on_version.sh 3.X DIR: the python/ unit tests under pyenv's CPython 3.X (issue 12 item 5:
# the pure package runs on every CPython 3.8+ the machine has). Exit 77 (CTest: skipped) with the
# reason when pyenv or that version is absent.
set -euo pipefail
version=$1 dir=$2
root=$(pyenv root 2>/dev/null || true)
[[ -n $root ]] || root=${PYENV_ROOT:-$HOME/.pyenv}
py=$(ls -d "$root"/versions/"$version".*/bin/python3 2>/dev/null | sort -V | tail -1 || true)
if [[ -z $py || ! -x $py ]]; then
  echo "skipped: no CPython $version under $root/versions"
  exit 77
fi
echo "running on $py ($("$py" -c 'import sys; print(sys.version.split()[0])'))"
exec "$py" -m unittest discover -v -s "$dir" -p "test_*.py"
