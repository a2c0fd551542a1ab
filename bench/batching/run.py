#!/usr/bin/env python3
"""Adaptive batching's benchmark (README.md): one `ringserve start` serving the busy runtime
(examples/runtimes/busy: a fixed cost per predict call, plus a little per row) with batching off and
on, and the echo runtime with batching off and on; `ringserve bench` drives each model in turn in
the same run and the table gives each figure beside its unbatched baseline.

  bench/batching/run.py [--build build/release] [--duration 8] [--call-cost-us 2000] [--out FILE]

Idle machine only: the numbers are wall-clock throughput and latency."""
import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def models(call_cost_us, row_cost_us):
    busy = {"implementation": "busy.Busy",
            "parameters": {"extra": {"call_cost_us": call_cost_us, "row_cost_us": row_cost_us}}}
    out = {"busy-off": busy}
    for size in (8, 32):
        for ms in (1, 5):
            out[f"busy-{size}-{ms}ms"] = dict(busy, max_batch_size=size, max_batch_time=ms / 1000)
    out["echo-off"] = {"implementation": "echo.EchoRuntime"}
    out["echo-32-1ms"] = {"implementation": "echo.EchoRuntime", "max_batch_size": 32, "max_batch_time": 0.001}
    return out


def start(binary, repo, http_threads):
    with open(os.path.join(repo, "settings.json"), "w") as f:
        json.dump({"http_port": 0, "metrics_port": 0, "grpc_port": 0, "host": "127.0.0.1",
                   "http_threads": http_threads, "parallel_workers": 1}, f)
    log = open(os.path.join(repo, "server.log"), "wb")
    proc = subprocess.Popen([binary, "start", repo], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        with open(os.path.join(repo, "server.log"), "rb") as f:
            m = re.search(rb"on http://[^:]+:(\d+) ", f.read())
        if m:
            port = int(m.group(1))
            break
        if proc.poll() is not None:
            sys.exit("ringserve exited early; see " + os.path.join(repo, "server.log"))
        time.sleep(0.05)
    else:
        sys.exit("ringserve did not report its port")
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2).status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("ringserve not ready")


def bench(binary, port, model, concurrency, duration):
    """The summary `ringserve bench` prints for the whole run (its CSV is per second)."""
    out = subprocess.run([binary, "bench", "-u", f"http://127.0.0.1:{port}", "-m", model, "--shape", "1,16",
                          "-c", str(concurrency), "-d", str(duration), "--warmup", "1", "-q"],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"(\d+) ok, (\d+) errors", out)
    rate = re.search(r"requests/s\s+([\d.]+)", out)
    lat = re.search(r"p50 ([\d.]+)\s+p90 ([\d.]+)\s+p99 ([\d.]+)", out)
    if not (m and rate and lat):
        sys.exit("unexpected `ringserve bench` output:\n" + out)
    return {"ok": float(m.group(1)), "errors": float(m.group(2)), "requests_per_s": float(rate.group(1)),
            "p50_ms": float(lat.group(1)), "p99_ms": float(lat.group(3))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--call-cost-us", type=int, default=2000)
    ap.add_argument("--row-cost-us", type=int, default=10)
    ap.add_argument("--http-threads", type=int, default=1)
    ap.add_argument("--out")
    a = ap.parse_args()
    binary = os.path.join(a.build, "bin", "ringserve")
    repo = tempfile.mkdtemp(prefix="ringserve-batching-")
    try:
        for name, ms in models(a.call_cost_us, a.row_cost_us).items():
            os.makedirs(os.path.join(repo, name))
            with open(os.path.join(repo, name, "model-settings.json"), "w") as f:
                json.dump(dict(ms, name=name), f)
        proc, port = start(binary, repo, a.http_threads)
        try:
            results = {}
            for model in ["busy-off", "busy-8-1ms", "busy-8-5ms", "busy-32-1ms", "busy-32-5ms"]:
                results[model] = bench(binary, port, model, 32, a.duration)
                print(model, results[model], flush=True)
            for model in ["echo-off", "echo-32-1ms"]:
                results[model + " c=1"] = bench(binary, port, model, 1, a.duration)
                print(model, results[model + " c=1"], flush=True)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    finally:
        shutil.rmtree(repo, ignore_errors=True)

    base = results["busy-off"]
    lines = [f"busy runtime: {a.call_cost_us} us per predict call + {a.row_cost_us} us per row; [1,16] FP32 "
             f"JSON requests, 32 in flight, http_threads {a.http_threads}, 1 worker, {a.duration} s each.", "",
             "| model | batching | req/s | × unbatched | p50 ms | p99 ms | p99 goal ms | queueing floor ms | errors |",
             "|---|---|---|---|---|---|---|---|---|"]
    for model in ["busy-off", "busy-8-1ms", "busy-8-5ms", "busy-32-1ms", "busy-32-5ms"]:
        r = results[model]
        if model == "busy-off":
            setting, goal, floor = "off", "", f"{32 * (a.call_cost_us + a.row_cost_us) / 1000:.2f}"
        else:
            size, ms = model.split("-")[1], int(model.split("-")[2][:-2])
            setting = f"{size} rows / {ms} ms"
            predict_ms = (a.call_cost_us + int(size) * a.row_cost_us) / 1000
            goal = f"{2 * ms + predict_ms:.2f}"
            # 32 requests in flight, at most `size` per predict, one predict at a time: a request
            # waits for the batches ahead of it, whatever the batcher does.
            floor = f"{math.ceil(32 / int(size)) * predict_ms:.2f}"
        lines.append(f"| busy | {setting} | {r['requests_per_s']:.0f} | {r['requests_per_s'] / base['requests_per_s']:.2f} "
                     f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {goal} | {floor} | {r['errors']:.0f} |")
    e0, e1 = results["echo-off c=1"], results["echo-32-1ms c=1"]
    lines.append(f"| echo, 1 in flight | off | {e0['requests_per_s']:.0f} | 1.00 | {e0['p50_ms']:.3f} | "
                 f"{e0['p99_ms']:.3f} | | | {e0['errors']:.0f} |")
    lines.append(f"| echo, 1 in flight | 32 rows / 1 ms | {e1['requests_per_s']:.0f} | "
                 f"{e1['requests_per_s'] / e0['requests_per_s']:.2f} | {e1['p50_ms']:.3f} | {e1['p99_ms']:.3f} | | | "
                 f"{e1['errors']:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
