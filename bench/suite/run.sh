#!/usr/bin/env bash
# The standard benchmark suite: builds what it needs (release preset), builds the bare libevent
# server of ../shared/limits, runs the transport micro-benchmarks and ringserve end to end beside
# their same-run baselines, and prints one Markdown table (also written to bench/suite/RESULTS.md).
#   bench/suite/run.sh              # full suite, about 6 minutes; writes bench/suite/RESULTS.md
#   bench/suite/run.sh --quick      # 1 run of 3 s per case, fewer pinned cases (~2 minutes); no file
#   bench/suite/run.sh --dry-run    # 1 s per case, small and 256 KiB bodies, 1 worker: checks the suite works
#   bench/suite/run.sh --no-build   # use the ringserve binaries already built in BUILD_DIR
#   BUILD_DIR=build/mine LIMITS_BUILD_DIR=/tmp/limits bench/suite/run.sh
#   bench/suite/run.sh -- --reps 5 --seconds 10    # arguments after -- go to suite.py
# Needs wrk (tools/setup.sh installs it) and taskset (util-linux).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build/release}
limits_src=${LIMITS_DIR:-$root/../shared/limits}
limits_build=${LIMITS_BUILD_DIR:-$root/build/limits}
mode=full
do_build=1
extra=()
while (($#)); do
  case $1 in
    --quick) mode=quick ;;
    --dry-run) mode=dry ;;
    --no-build) do_build=0 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
cd "$root"
for tool in wrk taskset python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed (tools/setup.sh)" >&2; exit 2; }
done
[[ -f $limits_src/src/http_server.cpp ]] || { echo "run.sh: no bare server source in $limits_src (set LIMITS_DIR)" >&2; exit 2; }

if ((do_build)); then
  echo "[suite] building $build (release) and $limits_build" >&2
  cmake --preset release -B "$build" >/dev/null
  cmake --build "$build" --target ringserve ringserve-worker runtime_echo transport_bench suite_memcpy_bw -j2 >/dev/null
fi
# The bare server lives outside the repository; it is small, so it is (re)built even with --no-build.
cmake -S "$limits_src" -B "$limits_build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$limits_build" --target http_server -j2 >/dev/null

rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
args=(--revision "$rev" --ringserve "$build/bin/ringserve" --bare-server "$limits_build/http_server"
      --memcpy-bw "$build/bin/suite_memcpy_bw" --echo-settings "$root/examples/models/echo/model-settings.json")
case $mode in
  full) args+=(--transport-bench "$build/bin/transport_bench" --loadgen-check --out "$root/bench/suite/RESULTS.md"
               --command "bench/suite/run.sh") ;;
  quick) args+=(--transport-bench "$build/bin/transport_bench" --loadgen-check --reps 1 --seconds 3
                --pinned-bodies 1x16-json,1x65536-binary --command "bench/suite/run.sh --quick") ;;
  dry) args+=(--reps 1 --seconds 1 --configs 1w --bodies 1x16-json,1x65536-binary
              --command "bench/suite/run.sh --dry-run") ;;
esac
PYTHONDONTWRITEBYTECODE=1 exec python3 "$root/bench/suite/suite.py" "${args[@]}" "${extra[@]}"
