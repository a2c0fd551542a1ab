#!/usr/bin/env bash
# Sets up this machine (Debian packages), builds ringserve and runs every test through CTest.
#   tools/test.sh            # the dev preset (Debug, warnings)
#   tools/test.sh asan       # AddressSanitizer + UndefinedBehaviorSanitizer
#   tools/test.sh tsan       # ThreadSanitizer, the tests labelled `tsan` (the ring)
#   tools/test.sh fuzz       # clang-14 + libFuzzer: a short coverage-guided run of each target in tests/fuzz
# RINGSERVE_WERROR=ON (CI sets it) turns warnings into errors.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}
bash tools/setup.sh
if [[ $preset == fuzz ]]; then bash tools/setup.sh fuzz; fi
bash tools/prepare_examples.sh
jobs=$(nproc)
cmake --preset "$preset" -DRINGSERVE_WERROR="${RINGSERVE_WERROR:-OFF}" >/dev/null
if [[ $preset == tsan ]]; then
  # ThreadSanitizer runs the tests labelled `tsan` (the ring and its endpoints): build only those.
  cmake --build --preset "$preset" -j"$jobs" --target tsan_tests
else
  cmake --build --preset "$preset" -j"$jobs"  # the fuzz build preset builds only fuzz_targets
fi
ctest --preset "$preset" -j"$jobs" --no-tests=error
