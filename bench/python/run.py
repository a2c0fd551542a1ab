#!/usr/bin/env python3
"""Python echo vs C++ echo through the real server (issue 11 benchmark), same run, same load
generator (`ringserve bench`, JSON bodies, 16 connections): FP32 [1,16] and [1,65536], 1 and
2 workers. Prints a Markdown table; MLServer's figures are quoted from the shared measurements
of the same host kind (they cannot run here). Release build expected:
  cmake --preset release && cmake --build --preset release --target ringserve ringserve-worker runtime_echo ringserve_python
  bench/python/run.py [seconds]
"""
import json
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
BIN = os.environ.get("RINGSERVE_BIN", os.path.join(ROOT, "build", "release", "bin", "ringserve"))
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 8


def start(workers):
    d = tempfile.mkdtemp(prefix="ringserve-pybench-")
    repo = os.path.join(d, "repo")
    os.makedirs(os.path.join(repo, "echo"))
    shutil.copytree(os.path.join(ROOT, "examples", "models", "echo-py"), os.path.join(repo, "echo-py"))
    with open(os.path.join(repo, "echo", "model-settings.json"), "w") as f:
        json.dump({"name": "echo", "implementation": "echo.EchoRuntime"}, f)
    with open(os.path.join(repo, "settings.json"), "w") as f:
        json.dump({"http_port": 0, "metrics_port": 0, "grpc_port": 0, "host": "127.0.0.1",
                   "parallel_workers": workers}, f)
    log = open(os.path.join(d, "log"), "wb")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.Popen([BIN, "start", repo],
                         stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        m = re.search(r"on http://[^:]+:(\d+)", open(os.path.join(d, "log")).read())
        if m:
            url = f"http://127.0.0.1:{m.group(1)}"
            try:
                if urllib.request.urlopen(url + "/v2/health/ready", timeout=2).status == 200:
                    return p, url, d
            except OSError:
                pass
        time.sleep(0.1)
    raise SystemExit("server did not become ready:\n" + open(os.path.join(d, "log")).read())


def bench(url, model, elements):
    cmd = [BIN, "bench", "-u", url, "-m", model, "--shape", f"1,{elements}", "--input-name", "input0",
           "-c", "16", "-d", str(SECONDS), "--warmup", "1", "-q"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=SECONDS + 120)
    m = re.search(r"(\d+) sent, (\d+) ok, (\d+) errors", out.stdout)
    rps = re.search(r"requests/s\s+([\d.]+)", out.stdout)
    lat = re.search(r"p50 ([\d.]+)", out.stdout)
    if out.returncode != 0 or not (m and rps and lat) or int(m.group(3)):
        raise SystemExit(f"ringserve bench failed:\n{out.stdout}{out.stderr}")
    return float(rps.group(1)), float(lat.group(1))


def main():
    rows = []
    for workers in (1, 2):
        p, url, d = start(workers)
        try:
            for elements in (16, 65536):
                for model in ("echo", "echo-py"):
                    rows.append((workers, elements, model) + bench(url, model, elements))
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(30)
            shutil.rmtree(d, ignore_errors=True)
    print("| workers | payload | C++ echo req/s | p50 | Python echo req/s | p50 | Python / C++ |")
    print("|---|---|---|---|---|---|---|")
    by = {(w, e, m): (r, l) for w, e, m, r, l in rows}
    for workers in (1, 2):
        for elements in (16, 65536):
            c, py = by[(workers, elements, "echo")], by[(workers, elements, "echo-py")]
            print(f"| {workers} | FP32 [1,{elements}] JSON | {c[0]:,.0f} | {c[1]:.2f} ms | {py[0]:,.0f} | "
                  f"{py[1]:.2f} ms | {py[0] / c[0]:.2f}× |")


if __name__ == "__main__":
    main()
