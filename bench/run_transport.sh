#!/usr/bin/env bash
# Builds the release preset, runs the transport benchmarks (about 2 minutes on 2 vCPUs) and prints
# Markdown tables with every figure beside its same-run baseline and the ratio.
#   bench/run_transport.sh                                  # everything
#   bench/run_transport.sh --benchmark_filter=round_trip    # extra arguments go to transport_bench
#   BUILD_DIR=build/mine bench/run_transport.sh             # another build folder
#   RINGSERVE_BENCH_SPIN_US=0 bench/run_transport.sh        # the worker's spin before it sleeps
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/release}
cd "$root"
cmake --preset release -B "$build" >/dev/null
cmake --build "$build" --target transport_bench -j2 >/dev/null
out=$(mktemp --suffix=.json)
trap 'rm -f "$out"' EXIT
"$build/bin/transport_bench" --benchmark_out="$out" --benchmark_out_format=json "$@" >&2
python3 "$root/bench/transport/report.py" "$out"
