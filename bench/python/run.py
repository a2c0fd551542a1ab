#!/usr/bin/env python3
"""Python runtimes through the real server (issues 11 and 12), each beside a baseline of the same
run, with the project's load generator (`ringserve bench`, 16 connections, closed loop):

- Python echo (examples/models/echo-py, MLServer's echo runtime) vs the C++ echo
  (examples/runtimes/echo): FP32 [1,16] and [1,65536] JSON, 1 and 2 workers;
- iris `predict` (examples/models/iris, mlserver_sklearn.SKLearnModel) vs the Python echo with
  the same [1,4] body, 1 and 2 workers.

Bodies are built as MLServer 1.3.5 was measured with (bench/python/README.md): one input `input0`,
random floats in [-1, 1] rounded to 6 decimals, compact JSON (the [1,65536] body is ~615 KB).
Every round starts a fresh server per worker count and runs every case once; C++ and Python
alternate which goes first from round to round, so both see the same machine load. Prints
Markdown: the date, load average before and after, the medians with their min-max over the rounds,
and the goals of issues 11 and 12. MLServer cannot run here: its figures are quoted (README).

  tools/prepare_examples.sh        # examples/models/iris/model.joblib
  cmake --preset release && cmake --build --preset release -j2
  bench/python/run.py [--seconds 8] [--rounds 2]
"""
import argparse
import datetime
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("RINGSERVE_BIN", os.path.join(ROOT, "build", "release", "bin", "ringserve"))
MODELS = os.path.join(ROOT, "examples", "models")

# MLServer 1.3.5, parallel_workers 1, the quiet AMD EPYC host of the same kind as this machine
# (2 vCPUs, Debian 12), wrk -c16: MLServer's measured figures, copied into bench/python/README.md.
MLSERVER_1W = {16: 1221.0, 65536: 6.4}
GOAL_VS_MLSERVER = {16: 10.0, 65536: 20.0}
GOAL_VS_CPP_16 = 0.6

IRIS_ROW = [5.1, 3.5, 1.4, 0.2]


def write_body(folder, name, shape, data):
    path = os.path.join(folder, name + ".json")
    doc = {"inputs": [{"name": "input0", "shape": shape, "datatype": "FP32", "data": data}]}
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    return path


def bodies(folder):
    rng = random.Random(1)
    out = {n: write_body(folder, f"1x{n}", [1, n], [round(rng.uniform(-1.0, 1.0), 6) for _ in range(n)])
           for n in (16, 65536)}
    out["iris"] = write_body(folder, "iris", [1, 4], IRIS_ROW)
    return out


def start(workers, tmp):
    repo = os.path.join(tmp, f"repo-{workers}")
    os.makedirs(os.path.join(repo, "echo"))
    with open(os.path.join(repo, "echo", "model-settings.json"), "w") as f:
        json.dump({"name": "echo", "implementation": "echo.EchoRuntime"}, f)
    for model in ("echo-py", "iris"):
        shutil.copytree(os.path.join(MODELS, model), os.path.join(repo, model),
                        ignore=shutil.ignore_patterns("__pycache__", "train.py"))
    with open(os.path.join(repo, "settings.json"), "w") as f:
        json.dump({"http_port": 0, "metrics_port": 0, "grpc_port": 0, "host": "127.0.0.1",
                   "parallel_workers": workers}, f)
    log_path = os.path.join(tmp, f"server-{workers}.log")
    log = open(log_path, "wb")
    # No .pyc next to the copied models (the built-in packages are compiled as usual).
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.Popen([BIN, "start", repo], stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        m = re.search(r"on http://[^:]+:(\d+)", open(log_path).read())
        if m:
            url = f"http://127.0.0.1:{m.group(1)}"
            try:
                ready = all(urllib.request.urlopen(f"{url}/v2/models/{name}/ready", timeout=2).status == 200
                            for name in ("echo", "echo-py", "iris"))
                if ready:
                    return p, url
            except OSError:
                pass
        time.sleep(0.1)
    p.kill()
    p.wait()
    raise SystemExit("server did not become ready:\n" + open(log_path).read())


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def bench(url, model, body, seconds):
    cmd = [BIN, "bench", "-u", url, "-m", model, "-i", body, "-c", "16", "-d", str(seconds),
           "--warmup", "1", "-q"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    m = re.search(r"(\d+) sent, (\d+) ok, (\d+) errors", out.stdout)
    rps = re.search(r"requests/s\s+([\d.]+)", out.stdout)
    lat = re.search(r"p50 ([\d.]+)", out.stdout)
    if out.returncode != 0 or not (m and rps and lat) or int(m.group(3)):
        raise SystemExit(f"ringserve bench -m {model} -i {body} failed:\n{out.stdout}{out.stderr}")
    return float(rps.group(1)), float(lat.group(1))


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def spread(values, fmt):
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=8, help="measured seconds per case (default 8)")
    ap.add_argument("--rounds", type=int, default=2, help="fresh servers and every case, this many times (default 2)")
    ap.add_argument("--workers", default="1,2", help="parallel_workers values (default 1,2)")
    args = ap.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]
    if not os.path.exists(BIN):
        raise SystemExit(f"{BIN} is missing: cmake --preset release && cmake --build --preset release -j2")
    if not os.path.exists(os.path.join(MODELS, "iris", "model.joblib")):
        raise SystemExit("examples/models/iris/model.joblib is missing: run tools/prepare_examples.sh")

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_before = loadavg()
    # (workers, case, model) -> [(req/s, p50 ms), ...], one per round
    results = {}
    tmp = tempfile.mkdtemp(prefix="ringserve-pybench-")
    try:
        files = bodies(tmp)
        for rnd in range(args.rounds):
            for workers in worker_counts:
                p, url = start(workers, tmp)
                try:
                    for case, pair in ((16, ("echo", "echo-py")), (65536, ("echo", "echo-py")),
                                       ("iris", ("echo-py", "iris"))):
                        for model in (pair if rnd % 2 == 0 else pair[::-1]):
                            r = bench(url, model, files[case], args.seconds)
                            results.setdefault((workers, case, model), []).append(r)
                            print(f"round {rnd + 1} workers {workers} {model} {case}: {r[0]:,.1f} req/s, "
                                  f"p50 {r[1]:.2f} ms (load {loadavg()})", file=sys.stderr, flush=True)
                finally:
                    stop(p)
                    shutil.rmtree(os.path.join(tmp, f"repo-{workers}"), ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_after = loadavg()

    def ratios(workers, case, num, den):
        return [a[0] / b[0] for a, b in zip(results[(workers, case, num)], results[(workers, case, den)])]

    print(f"{started}, {cpu_model()}, {os.cpu_count()} vCPUs, ringserve {commit}, release build; "
          f"{args.rounds} rounds of {args.seconds:g} s per case, `ringserve bench -c 16`; "
          f"load average (1, 5, 15 min) {load_before} before, {load_after} after. "
          "Medians over the rounds, (min–max) in brackets.\n")
    print("| workers | payload | C++ echo req/s | p50 ms | Python echo req/s | p50 ms | Python / C++ | "
          "Python / MLServer 1 worker |")
    print("|---|---|---|---|---|---|---|---|")
    for workers in worker_counts:
        for n in (16, 65536):
            c, py = results[(workers, n, "echo")], results[(workers, n, "echo-py")]
            vs_ml = [r[0] / MLSERVER_1W[n] for r in py]
            print(f"| {workers} | FP32 [1,{n}] JSON | {spread([r[0] for r in c], '{:,.0f}')} | "
                  f"{spread([r[1] for r in c], '{:.2f}')} | {spread([r[0] for r in py], '{:,.0f}')} | "
                  f"{spread([r[1] for r in py], '{:.2f}')} | {spread(ratios(workers, n, 'echo-py', 'echo'), '{:.2f}×')} | "
                  f"{spread(vs_ml, '{:.1f}×')} |")
    print()
    print("| workers | iris predict req/s | p50 ms | Python echo, same [1,4] body, req/s | p50 ms | iris / echo |")
    print("|---|---|---|---|---|---|")
    for workers in worker_counts:
        iris, py = results[(workers, "iris", "iris")], results[(workers, "iris", "echo-py")]
        print(f"| {workers} | {spread([r[0] for r in iris], '{:,.0f}')} | {spread([r[1] for r in iris], '{:.2f}')} | "
              f"{spread([r[0] for r in py], '{:,.0f}')} | {spread([r[1] for r in py], '{:.2f}')} | "
              f"{spread(ratios(workers, 'iris', 'iris', 'echo-py'), '{:.2f}×')} |")
    if 1 in worker_counts:
        print()
        for n in (16, 65536):
            worst = min(r[0] for r in results[(1, n, "echo-py")]) / MLSERVER_1W[n]
            print(f"- goal Python echo ≥ {GOAL_VS_MLSERVER[n]:g}× MLServer's 1-worker {MLSERVER_1W[n]:g} req/s "
                  f"for [1,{n}]: worst round {worst:.1f}× — {'met' if worst >= GOAL_VS_MLSERVER[n] else 'MISSED'}")
        for workers in worker_counts:
            worst = min(ratios(workers, 16, "echo-py", "echo"))
            print(f"- goal Python echo ≥ {GOAL_VS_CPP_16}× C++ echo for [1,16], {workers} worker(s): worst round "
                  f"{worst:.2f}× — {'met' if worst >= GOAL_VS_CPP_16 else 'MISSED'}")


if __name__ == "__main__":
    main()
