#!/usr/bin/env bash
# Long coverage-guided runs of every fuzz target (tests/fuzz/README.md), one after another:
#   bench/fuzz/run.sh [seconds per target, default 600]
# Builds the `fuzz` preset (clang-14, libFuzzer, ASan+UBSan), then prints per target the
# executions, the corpus size and coverage libFuzzer reached, and any crash file. A crash input
# belongs in tests/fuzz/corpus/<target>/ once fixed.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
bash tools/setup.sh build fuzz
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)"
status=0
for t in http_request request_decoder response_reader control_protocol; do
  work=build/fuzz/bench-fuzz/$t
  mkdir -p "$work"
  echo "== fuzz_$t, $seconds s"
  if ! tests/fuzz/run_fuzzer.sh "build/fuzz/bin/fuzz_$t" "tests/fuzz/corpus/$t" "$work" "$seconds" \
      > "$work/log" 2>&1; then
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::peak_rss_mb|^#[0-9]+.*DONE" "$work/log" || true
  echo "corpus: $(ls "$work/corpus" | wc -l) inputs; crashes: $(ls "$work" | grep -c -E '^(crash|leak|timeout|oom)-' || true)"
done
exit $status
