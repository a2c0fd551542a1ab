#!/usr/bin/env python3
"""The standard benchmark suite: measures ringserve end to end and its baselines in the same run
and prints one Markdown table (case | ringserve | baseline | ratio | target | met?).

Run through bench/suite/run.sh, which builds what this needs and passes the paths.
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from bodies import standard_bodies
from loadgen import check_echo, run_ringserve_bench, run_wrk
from servers import BareServer, Ringserve, SuiteError, rss_kib
from transport import run_transport_bench

MLSERVER_64K_JSON_RPS = 6.0  # MLServer's [1,65536] FP32 JSON figure the issue-4 targets cite
SMALL, BIG_JSON, BIG_BIN, HUGE_BIN = "1x16-json", "1x65536-json", "1x65536-binary", "1x1048576-binary"
# gRPC cases (issue 13), loaded by `ringserve bench --protocol grpc`: name -> (elements, contents).
GRPC_SMALL_TYPED, GRPC_SMALL_RAW, GRPC_BIG_RAW = "grpc-1x16-typed", "grpc-1x16-raw", "grpc-1x65536-raw"
GRPC_CASES = {GRPC_SMALL_TYPED: (16, "typed"), GRPC_SMALL_RAW: (16, "raw"), GRPC_BIG_RAW: (65536, "raw")}
LABEL = {SMALL: "`[1,16]` FP32 JSON", BIG_JSON: "`[1,65536]` FP32 JSON", BIG_BIN: "`[1,65536]` FP32 binary",
         HUGE_BIN: "`[1,1048576]` FP32 binary"}

# (key, ringserve http_threads, parallel_workers, pinned?, title)
CONFIGS = [("1w", 1, 1, False, "1 worker, 1 HTTP thread, unpinned"),
           ("2w", 2, 2, False, "2 workers, 2 HTTP threads, unpinned"),
           ("1w-pinned", 1, 1, True, "1 worker, 1 HTTP thread, server (supervisor + worker) on CPU 0, wrk on CPU 1")]
SERVER_CPU, WRK_CPU = "0", "1"


def log(msg):
    print(f"[suite {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine_line():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} vCPUs, {model}, kernel {platform.release()}"


class Spread:
    """Median (min–max) of repeated runs."""

    def __init__(self, values):
        self.values = sorted(values)
        self.median = statistics.median(self.values)

    def fmt(self, digits):
        m = f"{self.median:,.{digits}f}"
        if len(self.values) == 1:
            return m
        return f"{m} ({self.values[0]:,.{digits}f}–{self.values[-1]:,.{digits}f})"


def memcpy_baseline(binary, bytes_, reps):
    p = subprocess.run([binary, "--bytes", str(bytes_), "--reps", str(reps)], capture_output=True, text=True,
                       check=True)
    fields = p.stdout.split()
    return Spread([float(fields[1]), float(fields[2]), float(fields[3])]) if reps > 1 else Spread([float(fields[1])])


class Suite:
    def __init__(self, args):
        self.a = args
        self.rows = []          # (section, case, ringserve, baseline, ratio, target, met)
        self.wrk = {}           # (server key, config key, body) -> [WrkResult]
        self.rss = {}           # label -> {"VmRSS": KiB, ...}
        self.loadgen = {}       # config key -> LoadgenResult of `ringserve bench` on the 256 KiB binary body

    # ------------------------------------------------------------------ HTTP
    def http(self, bodies):
        a = self.a
        for key, threads, workers, pinned, title in CONFIGS:
            if key not in a.configs:
                continue
            names = [n for n in bodies if n in (a.pinned_bodies if pinned else a.bodies)]
            server_cpu, wrk_cpu = (SERVER_CPU, WRK_CPU) if pinned else (None, None)
            log(f"{title}: {', '.join(names)}; {a.reps} × {a.seconds} s each, load average {loadavg()}")
            with BareServer(a.bare_server, cpus=server_cpu) as bare, \
                    Ringserve(a.ringserve, a.echo_settings, threads, workers, cpus=server_cpu) as rs:
                if key == "1w":
                    self.rss["bare"] = rss_kib(bare.proc.pid)
                    self.rss["supervisor idle"] = rss_kib(rs.proc.pid)
                    self.rss["worker idle"] = max((rss_kib(p) for p in rs.worker_pids()), key=lambda r: r["VmRSS"])
                for n in names:
                    check_echo(rs.url, bodies[n])
                    for _ in range(a.reps):
                        # Alternate baseline and ringserve so that both see the same background load.
                        for server, url in (("bare", bare.url), ("ringserve", rs.url)):
                            r = run_wrk(url, bodies[n], a.seconds, cpus=wrk_cpu)
                            if r.errors:
                                raise SuiteError(f"{server} {key} {n}: {r.errors} failed requests of {r.requests}")
                            self.wrk.setdefault((server, key, n), []).append(r)
                if not pinned and rs.grpc_target:
                    for case in a.grpc:
                        elements, contents = GRPC_CASES[case]
                        for _ in range(a.reps):
                            r = run_ringserve_bench(a.ringserve, rs.grpc_target, elements, a.seconds, grpc=contents)
                            self.wrk.setdefault(("grpc", key, case), []).append(r)
                if a.loadgen_check and BIG_BIN in names:
                    self.loadgen[key] = run_ringserve_bench(a.ringserve, rs.base, 65536, a.seconds, cpus=wrk_cpu)
                if key == "1w":
                    self.rss["supervisor after load"] = rss_kib(rs.proc.pid)
                    self.rss["worker after load"] = max((rss_kib(p) for p in rs.worker_pids()),
                                                         key=lambda r: r["VmRSS"])

    def spread(self, server, key, body, field):
        runs = self.wrk.get((server, key, body))
        return Spread([getattr(r, field) for r in runs]) if runs else None

    # ------------------------------------------------------------------ rows
    def row(self, section, case, value, base, ratio, target, met, digits=(0, 0)):
        fv = value if isinstance(value, str) else value.fmt(digits[0]) if value else "–"
        fb = base if isinstance(base, str) else base.fmt(digits[1]) if base else "–"
        fr = "–" if ratio is None else f"{ratio:.2f}×"
        fm = "–" if met is None else ("**yes**" if met else "**no**")
        self.rows.append((section, case, fv, fb, fr, target, fm))

    def transport_rows(self, t):
        get = lambda name, key: t[name].get(key) if name in t else None
        for p, where in (("same", "same vCPU"), ("split", "2 vCPUs")):
            ring = get(f"round_trip/ring/{p}", "p50_us")
            for peer, target, limit in (("futex", "≤ 1.5× futex", 1.5), ("uds", "≤ 1× UDS", 1.0)):
                b = get(f"round_trip/{peer}/{p}", "p50_us")
                if ring is None or b is None:
                    continue
                self.row("transport", f"64 B round trip p50 µs, {where}: ring vs {peer}",
                         f"{ring:.2f}", f"{b:.2f}", ring / b, target, ring / b <= limit)
        touch = get("payload/ring_touch/split/1048576", "GBps")
        mc = get("payload/memcpy/1048576", "GBps")
        if touch and mc:
            self.row("transport", "1 MiB tensor written by the lane, read in place by the worker (2 vCPUs), GB/s",
                     f"{touch:.1f}", f"{mc:.1f} (memcpy 1 MiB)", touch / mc, "–", None)

    def http_rows(self, memcpy4m):
        for key, _, _, _, title in CONFIGS:
            sec = f"e2e {key}"
            s = lambda body, field, server="ringserve": self.spread(server, key, body, field)
            if s(SMALL, "rps"):
                rs, base = s(SMALL, "rps"), s(SMALL, "rps", "bare")
                self.row(sec, f"{LABEL[SMALL]} req/s vs bare server, same body", rs, base,
                         rs.median / base.median, "≥ 0.5×", rs.median / base.median >= 0.5)
                rs, base = s(SMALL, "p50_ms"), s(SMALL, "p50_ms", "bare")
                self.row(sec, f"{LABEL[SMALL]} p50 ms", rs, base, rs.median / base.median, "≤ 2×",
                         rs.median / base.median <= 2.0, digits=(3, 3))
                rs, base = s(SMALL, "p99_ms"), s(SMALL, "p99_ms", "bare")
                self.row(sec, f"{LABEL[SMALL]} p99 ms", rs, base, rs.median / base.median, "–", None, digits=(3, 3))
            if s(BIG_JSON, "rps"):
                rs = s(BIG_JSON, "rps")
                self.row(sec, f"{LABEL[BIG_JSON]} req/s vs MLServer", rs, f"{MLSERVER_64K_JSON_RPS:.0f} (MLServer)",
                         rs.median / MLSERVER_64K_JSON_RPS, "≥ 50×", rs.median / MLSERVER_64K_JSON_RPS >= 50)
                base = s(BIG_JSON, "rps", "bare")
                self.row(sec, f"{LABEL[BIG_JSON]} req/s vs bare server, same body", rs, base,
                         rs.median / base.median, "–", None)
            if s(BIG_BIN, "rps"):
                rs, base = s(BIG_BIN, "rps"), s(BIG_BIN, "rps", "bare")
                self.row(sec, f"{LABEL[BIG_BIN]} req/s vs MLServer", rs, f"{MLSERVER_64K_JSON_RPS:.0f} (MLServer JSON)",
                         rs.median / MLSERVER_64K_JSON_RPS, "≥ 500×", rs.median / MLSERVER_64K_JSON_RPS >= 500)
                self.row(sec, f"{LABEL[BIG_BIN]} req/s vs bare server, same body (256 KiB)", rs, base,
                         rs.median / base.median, "≈ 0.5× (the 500× target)", rs.median / base.median >= 0.5)
                rs, base = s(BIG_BIN, "p50_ms"), s(BIG_BIN, "p50_ms", "bare")
                self.row(sec, f"{LABEL[BIG_BIN]} p50 ms", rs, base, rs.median / base.median, "–", None,
                         digits=(2, 2))
            if key in self.loadgen and s(BIG_BIN, "rps"):
                lg, w = self.loadgen[key], s(BIG_BIN, "rps")
                self.row(sec, f"{LABEL[BIG_BIN]} req/s by `ringserve bench` (-c16, 1 run) vs wrk's median: the two load "
                         f"generators agree? (its p50 {lg.p50_ms:.2f} ms, p99 {lg.p99_ms:.2f} ms)", f"{lg.rps:,.0f}", w,
                         lg.rps / w.median, "–", None)
            self.grpc_rows(sec, key)
            if s(HUGE_BIN, "rps"):
                runs = self.wrk[("ringserve", key, HUGE_BIN)]
                gbps = Spread([r.rps * 4 * 1048576 / 1e9 for r in runs])
                self.row(sec, f"{LABEL[HUGE_BIN]} tensor GB/s (req/s × 4 MiB) vs memcpy 4 MiB", gbps, memcpy4m,
                         gbps.median / memcpy4m.median, "≥ 0.3×", gbps.median / memcpy4m.median >= 0.3,
                         digits=(2, 1))
                rs, base = s(HUGE_BIN, "rps"), s(HUGE_BIN, "rps", "bare")
                self.row(sec, f"{LABEL[HUGE_BIN]} req/s vs bare server, same body (4 MiB)", rs, base,
                         rs.median / base.median, "–", None)
                # Both directions through loopback TCP (the echo sends the 4 MiB back) beside what the
                # bare server takes in: how close ringserve gets to the HTTP ceiling for these bytes.
                both = Spread([r.rps * 8 * 1048576 / 1e9 for r in runs])
                ceiling = Spread([r.rps * 4 * 1048576 / 1e9 for r in self.wrk[("bare", key, HUGE_BIN)]])
                self.row(sec, f"{LABEL[HUGE_BIN]} HTTP GB/s, request + echoed response (8 MiB/request) vs bare "
                         "server's request bodies (4 MiB/request)", both, ceiling, both.median / ceiling.median, "–",
                         None, digits=(2, 2))

    def grpc_rows(self, sec, key):
        """gRPC beside REST of the same run (REST loaded by wrk, gRPC by `ringserve bench`, 16 in flight each)."""
        s = lambda body, field, server="ringserve": self.spread(server, key, body, field)
        for case, rest, target in ((GRPC_SMALL_TYPED, SMALL, 0.8), (GRPC_SMALL_RAW, SMALL, 0.8),
                                   (GRPC_BIG_RAW, BIG_BIN, 1.0)):
            g, r = s(case, "rps", "grpc"), s(rest, "rps")
            if not g:
                continue
            elements, contents = GRPC_CASES[case]
            label = f"gRPC `[1,{elements}]` FP32 {contents} req/s"
            if r:
                self.row(sec, f"{label} vs REST {LABEL[rest]} of this run", g, r, g.median / r.median,
                         f"≥ {target:g}×", g.median / r.median >= target)
            else:
                self.row(sec, label, g, "–", None, "–", None)
            p50 = s(case, "p50_ms", "grpc")
            self.row(sec, f"{label[:-6]} p50 ms", p50, s(rest, "p50_ms") or "–",
                     p50.median / s(rest, "p50_ms").median if s(rest, "p50_ms") else None, "–", None, digits=(3, 3))

    def rss_rows(self):
        if "supervisor idle" not in self.rss:
            return
        mib = lambda k, field="VmRSS": self.rss[k][field] / 1024
        bare = f"{mib('bare'):.1f} (bare server)"

        def case(k):
            # Private (anon + file) vs shared-segment pages: the segment is sized by shm_size and
            # touched pages stay resident, so after a load they dominate and are no leak.
            return (f"{mib(k):.1f} (anon {mib(k, 'RssAnon'):.1f}, file {mib(k, 'RssFile'):.1f}, "
                    f"shm {mib(k, 'RssShmem'):.1f})")

        for k, what, limit in (("supervisor idle", "supervisor VmRSS MiB, idle (1 worker, 1 HTTP thread)", 20),
                               ("worker idle", "worker VmRSS MiB with the echo model, idle", 10),
                               ("supervisor after load", "supervisor VmRSS MiB after the 1-worker load", None),
                               ("worker after load", "worker VmRSS MiB after the 1-worker load", None)):
            self.row("memory", what, case(k), bare, mib(k) / mib("bare"), f"< {limit} MiB" if limit else "–",
                     mib(k) < limit if limit else None)

    # ------------------------------------------------------------------ output
    def markdown(self, header):
        out = [header, "", "| section | case | ringserve | baseline (same run) | ratio | target | met? |",
               "|---|---|---|---|---|---|---|"]
        out += [f"| {' | '.join(r)} |" for r in self.rows]
        return "\n".join(out) + "\n"


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ringserve", required=True, help="the ringserve binary")
    ap.add_argument("--bare-server", required=True, help="../shared/limits http_server binary")
    ap.add_argument("--memcpy-bw", required=True, help="suite_memcpy_bw binary")
    ap.add_argument("--transport-bench", help="transport_bench binary (omit to skip the micro-benchmarks)")
    ap.add_argument("--echo-settings", required=True, help="model-settings.json of the echo model")
    ap.add_argument("--reps", type=int, default=3, help="wrk runs per case (median reported)")
    ap.add_argument("--seconds", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--configs", default="1w,2w,1w-pinned", help="subset of 1w,2w,1w-pinned")
    ap.add_argument("--bodies", default=f"{SMALL},{BIG_JSON},{BIG_BIN},{HUGE_BIN}")
    ap.add_argument("--pinned-bodies", default=f"{SMALL},{BIG_JSON},{BIG_BIN},{HUGE_BIN}")
    ap.add_argument("--grpc", default=",".join(GRPC_CASES),
                    help=f"gRPC cases loaded by `ringserve bench --protocol grpc` in the unpinned configs, subset of "
                         f"{','.join(GRPC_CASES)} ('' for none)")
    ap.add_argument("--loadgen-check", action="store_true",
                    help="also load the 256 KiB binary case once with `ringserve bench` (a second load generator)")
    ap.add_argument("--command", default="bench/suite/run.sh", help="how this run was started (printed)")
    ap.add_argument("--revision", default="unknown", help="the commit the binaries were built from (printed)")
    ap.add_argument("--out", help="also write the table to this file")
    a = ap.parse_args(argv)
    a.configs = a.configs.split(",")
    a.grpc = [c for c in a.grpc.split(",") if c]
    unknown = [c for c in a.grpc if c not in GRPC_CASES]
    if unknown:
        ap.error(f"unknown --grpc case(s): {', '.join(unknown)}")
    a.bodies = a.bodies.split(",")
    a.pinned_bodies = a.pinned_bodies.split(",")
    return a


def main(argv):
    a = parse_args(argv)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = loadavg()
    suite = Suite(a)
    with tempfile.TemporaryDirectory(prefix="ringserve-suite-bodies-") as tmp:
        bodies = standard_bodies(tmp)
        log("memcpy 4 MiB baseline")
        memcpy4m = memcpy_baseline(a.memcpy_bw, 4 << 20, 5)
        t = {}
        if a.transport_bench:
            log("transport micro-benchmarks (bench/transport)")
            t = run_transport_bench(a.transport_bench)
        suite.http(bodies)
        log("done")
    suite.transport_rows(t)
    suite.http_rows(memcpy4m)
    suite.rss_rows()
    finished = datetime.datetime.now(datetime.timezone.utc)
    header = (f"ringserve benchmark suite, {started:%Y-%m-%d %H:%M}–{finished:%H:%M} UTC on {machine_line()}; "
              f"load average {load_start} at the start, {loadavg()} at the end.\n\n"
              f"Command: `{a.command}` (built from {a.revision} plus the working tree). wrk -t1 -c16 --latency, {a.seconds} s per run; figures are median "
              f"(min–max) of {a.reps} run(s), baseline and ringserve runs alternating. Bare server = "
              f"`../shared/limits` `http_server --mode=direct` (answers 150 B from its event loop, no IPC), sent the "
              f"same request bytes. memcpy 4 MiB = {memcpy4m.fmt(1)} GB/s (single thread). Sections: "
              + "; ".join(f"`e2e {k}` = {title}" for k, _, _, _, title in CONFIGS) + ".")
    table = suite.markdown(header)
    print(table)
    if a.out:
        with open(a.out, "w") as f:
            f.write("# Benchmark suite results\n\n" + table)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SuiteError as e:
        print(f"suite: {e}", file=sys.stderr)
        sys.exit(1)
