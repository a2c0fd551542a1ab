#!/usr/bin/env bash
# Sets up this machine (Debian packages), builds ringserve and runs every test through CTest.
#   tools/test.sh            # the dev preset (Debug, warnings)
#   tools/test.sh asan       # AddressSanitizer + UndefinedBehaviorSanitizer
#   tools/test.sh tsan       # ThreadSanitizer, the tests labelled `tsan` (the ring)
# RINGSERVE_WERROR=ON (CI sets it) turns warnings into errors.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}
bash tools/setup.sh
jobs=$(nproc)
cmake --preset "$preset" -DRINGSERVE_WERROR="${RINGSERVE_WERROR:-OFF}" >/dev/null
cmake --build --preset "$preset" -j"$jobs"
ctest --preset "$preset" -j"$jobs" --no-tests=error
