#!/usr/bin/env bash
# Hot-loading figures (issue: control socket): time of `ringserve ctl load` of the echo model into a
# running pool, and p99 latency of requests to a model while it is reloaded again and again,
# beside the same load with no reload (runs alternate, same server). Prints a Markdown table.
#   bench/hot_reload/run.sh [runs] [seconds]     (default 3 runs of 5 s each)
# Uses the release build in BUILD_DIR (default build/release); build it first
# (cmake --preset release && cmake --build --preset release).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build/release}
rs=$build/bin/ringserve
runs=${1:-3}
secs=${2:-5}
[[ -x $rs ]] || { echo "run.sh: $rs is not built (cmake --build --preset release)" >&2; exit 2; }

# $dir is the repository (echo only); $extra holds echo2 outside it, loaded only by the timed
# `ctl load --path` below.
dir=$(mktemp -d)
extra=$(mktemp -d)
server=
cleanup() { [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; rm -rf "$dir" "$extra"; }
trap cleanup EXIT
cp -r "$root/examples/models/echo" "$dir/echo"
cp -r "$root/examples/models/echo" "$extra/echo2"
sed -i 's/"echo"/"echo2"/' "$extra/echo2/model-settings.json"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sock=$dir/ctl.sock
printf '{"http_port": %s, "metrics_port": 0, "http_threads": 1, "control_socket": "%s", "load_models_at_startup": true}\n' \
  "$port" "$sock" > "$dir/settings.json"
"$rs" start "$dir" > "$dir/server.log" 2>&1 &
server=$!
for _ in $(seq 200); do
  curl -sf "http://127.0.0.1:$port/v2/models/echo/ready" >/dev/null 2>&1 && break
  sleep 0.05
done
curl -sf "http://127.0.0.1:$port/v2/models/echo/ready" >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# 1. `ringserve ctl load` from process start to exit (READY), beside the CLI's own start.
#    EPOCHREALTIME times without forking a subshell.
loads=() ; versions=()
for _ in $(seq 10); do
  t0=${EPOCHREALTIME/[.,]/}; "$rs" ctl --socket "$sock" load --path "$extra/echo2" >/dev/null; t1=${EPOCHREALTIME/[.,]/}
  loads+=($((t1 - t0)))
  "$rs" ctl --socket "$sock" unload echo2 >/dev/null
  t0=${EPOCHREALTIME/[.,]/}; "$rs" --version >/dev/null; t1=${EPOCHREALTIME/[.,]/}
  versions+=($((t1 - t0)))
done
load_ms=$(printf '%s\n' "${loads[@]}" | median | awk '{printf "%.1f", $1/1000}')
version_ms=$(printf '%s\n' "${versions[@]}" | median | awk '{printf "%.1f", $1/1000}')

# 2. p99 of a closed loop (4 in flight, [1,16] FP32 JSON) with and without reloads every 250 ms.
bench() { "$rs" bench -q -u "http://127.0.0.1:$port" -m echo --shape 1,16 -c 4 -d "$secs" --warmup 0.5 "$@"; }
p99() { sed -n 's/.* p99 \([0-9.]*\) .*/\1/p'; }
errors() { sed -n 's/.* ok, \([0-9]*\) errors.*/\1/p'; }
# The reloads are `ringserve ctl` processes (about 10 ms of CPU each to start): the baseline runs
# `ctl list` at the same pace, so the ratio isolates what the reload itself costs the requests.
with_ctl() {  # with_ctl <ctl arguments>: bench while running `ringserve ctl <args>` every 250 ms
  (
    end=$(( $(date +%s) + secs + 1 ))
    n=0
    while (( $(date +%s) < end )); do
      sleep 0.25
      "$rs" ctl --socket "$sock" "$@" >/dev/null || { echo "ctl $* failed" >&2; exit 1; }
      n=$((n + 1))
    done
    echo "$n" > "$dir/ctl-count"
  ) &
  local pid=$!
  bench
  wait "$pid"
}
steady=() ; listing=() ; swap=() ; swap_errors=0 ; reloads=0
for _ in $(seq "$runs"); do
  steady+=("$(bench | p99)")
  listing+=("$(with_ctl list | p99)")
  out=$(with_ctl reload echo)
  reloads=$((reloads + $(cat "$dir/ctl-count")))
  swap+=("$(echo "$out" | p99)")
  swap_errors=$((swap_errors + $(echo "$out" | errors)))
done
l99=$(printf '%s\n' "${listing[@]}" | median)
s99=$(printf '%s\n' "${steady[@]}" | median)
r99=$(printf '%s\n' "${swap[@]}" | median)

echo "hot reload figures, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) vCPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| case | ringserve | baseline (same run) | ratio | goal |"
echo "|---|---|---|---|---|"
echo "| \`ringserve ctl load\` of the echo model into a running pool, process start to exit (READY), median of 10 ms | $load_ms | $version_ms (\`ringserve --version\`, the CLI's own start) | $(awk -v a="$load_ms" -v b="$version_ms" 'BEGIN{printf "%.2f×", a/b}') | < 20 ms |"
echo "| p99 ms of \`[1,16]\` requests to echo while it is reloaded every 250 ms ($reloads reloads, $swap_errors failed requests), median of $runs × ${secs} s | $r99 | $l99 (same load, \`ctl list\` every 250 ms) | $(awk -v a="$r99" -v b="$l99" 'BEGIN{printf "%.2f×", a/b}') | < 2× |"
echo "| the same p99 ms against a steady state with no \`ctl\` process at all | $r99 | $s99 | $(awk -v a="$r99" -v b="$s99" 'BEGIN{printf "%.2f×", a/b}') | – |"
