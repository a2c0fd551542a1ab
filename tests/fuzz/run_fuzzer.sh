#!/usr/bin/env bash
# One coverage-guided run of a libFuzzer target (the `fuzz` preset's tests, bench/fuzz/run.sh):
#   run_fuzzer.sh FUZZER SEED_CORPUS WORK_DIR SECONDS [libFuzzer flags...]
# New inputs go to WORK_DIR/corpus (the checked-in seeds stay as they are), a crash to
# WORK_DIR/crash-*; the exit status is libFuzzer's (non-zero on a crash, a leak or a timeout).
# Fixed seed, so a short run explores the same way every time.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=$4
shift 4
mkdir -p "$work/corpus"
exec "$fuzzer" -seed=1 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$@" "$work/corpus" "$seeds"
