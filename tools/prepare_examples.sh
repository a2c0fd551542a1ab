#!/usr/bin/env bash
# Prepares the bundled examples that are made rather than committed: examples/models/iris/model.joblib,
# trained from scikit-learn's bundled iris data with the Python that has Debian's python3-sklearn.
# Called by tools/serve.sh and tools/test.sh after tools/setup.sh; does nothing when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${RINGSERVE_EXAMPLES_PYTHON:-/usr/bin/python3}
iris=examples/models/iris
if [[ ! -f $iris/model.joblib || $iris/train.py -nt $iris/model.joblib ]]; then
  "$python" "$iris/train.py"
fi
