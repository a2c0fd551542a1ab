#!/usr/bin/env bash
# Sets up this machine, builds ringserve (release) and serves the bundled example models
# (examples/models) on http://127.0.0.1:8080. Extra arguments go to `ringserve start`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/prepare_examples.sh
cmake --preset release >/dev/null
# Only what serving needs (the tests are built by tools/test.sh).
cmake --build --preset release -j"$(nproc)" --target ringserve ringserve-worker example_runtimes
bin=build/release/bin/ringserve
if [[ ! -x $bin ]]; then
  echo "serve: built what exists so far; the supervisor (build/release/bin/ringserve) is not there yet" >&2
  exit 1
fi
exec "$bin" start examples/models "$@"
