"""wrk runs (the same settings against the bare server and ringserve) and the one-request check
that a server answers a body correctly before it is loaded."""
import json
import os
import re
import subprocess
import urllib.request
from dataclasses import dataclass

from servers import SuiteError, pin_prefix

LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "post_file.lua")


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int   # non-2xx responses + socket errors (read/write/timeout; connect too)


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise SuiteError(f"unreadable wrk latency {text!r}")
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[unit]


def parse_wrk(out):
    def grab(pattern, conv=float, default=None):
        m = re.search(pattern, out, re.M)
        if m is None:
            if default is not None:
                return default
            raise SuiteError("unexpected wrk output:\n" + out)
        return conv(m.group(1))

    errors = grab(r"Non-2xx or 3xx responses:\s+(\d+)", int, 0)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    return WrkResult(rps=grab(r"^Requests/sec:\s+([\d.]+)"),
                     p50_ms=grab(r"^\s+50%\s+(\S+)", _ms), p99_ms=grab(r"^\s+99%\s+(\S+)", _ms),
                     requests=grab(r"^\s+(\d+) requests in", int), errors=errors)


def run_wrk(url, body, seconds, threads=1, connections=16, cpus=None):
    env = dict(os.environ, SUITE_BODY=body.path, SUITE_CONTENT_TYPE=body.content_type,
               SUITE_HEADER_LEN=str(body.header_len) if body.header_len else "")
    cmd = pin_prefix(cpus) + ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                              "--timeout", "10s", "-s", LUA, url]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    if p.returncode != 0:
        raise SuiteError(f"wrk failed ({p.returncode}): {p.stderr}{p.stdout}")
    return parse_wrk(p.stdout)


def post_once(url, body):
    with open(body.path, "rb") as f:
        data = f.read()
    headers = {"Content-Type": body.content_type}
    if body.header_len:
        headers["Inference-Header-Content-Length"] = str(body.header_len)
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read(), data
    except urllib.error.HTTPError as e:
        raise SuiteError(f"{url} answered {e.code} to {body.name}: {e.read()[:500]!r}") from e


def check_echo(url, body):
    """One request: the echo must return the input tensor unchanged (the figures are for a
    server that works, not one that answers errors quickly)."""
    status, headers, reply, sent = post_once(url, body)
    if status != 200:
        raise SuiteError(f"{url} answered {status} to {body.name}")
    if body.header_len:
        hlen = int(headers.get("Inference-Header-Content-Length", "0"))
        if hlen == 0 or reply[hlen:] != sent[body.header_len:]:
            raise SuiteError(f"{body.name}: the binary output is not the input tensor")
    else:
        got = json.loads(reply)["outputs"][0]["data"]
        want = json.loads(sent)["inputs"][0]["data"]
        if len(got) != len(want) or any(abs(a - b) > 1e-6 * max(1.0, abs(b)) for a, b in zip(got, want)):
            raise SuiteError(f"{body.name}: the JSON output is not the input tensor")


@dataclass
class LoadgenResult:
    rps: float
    p50_ms: float
    p99_ms: float


def run_ringserve_bench(ringserve, base_url, elements, seconds, connections=16, cpus=None, grpc=None):
    """`ringserve bench` (clients/loadgen): with the binary extension, as a second load generator
    beside wrk on the same server (the two should agree); or, with grpc="raw"/"typed", over gRPC
    (base_url is then host:port), 16 calls in flight as wrk keeps 16 connections busy."""
    how = ["-b", "--binary-output", "-c", str(connections)] if grpc is None else \
        ["--protocol", "grpc", "-c", str(connections)] + (["--typed"] if grpc == "typed" else [])
    cmd = pin_prefix(cpus) + [ringserve, "bench", "-u", base_url, "-m", "echo", "--shape", f"1,{elements}", *how,
                              "-d", str(seconds), "--warmup", "0.5", "-q"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if p.returncode != 0:
        raise SuiteError(f"ringserve bench failed ({p.returncode}): {p.stderr}{p.stdout}")
    m = re.search(r"(\d+) sent, (\d+) ok, (\d+) errors", p.stdout)
    rps = re.search(r"requests/s\s+([\d.]+)", p.stdout)
    lat = re.search(r"p50 ([\d.]+)\s+p90 [\d.]+\s+p99 ([\d.]+)", p.stdout)
    if not (m and rps and lat):
        raise SuiteError("unexpected ringserve bench output:\n" + p.stdout)
    if int(m.group(3)):
        raise SuiteError(f"ringserve bench: {m.group(3)} failed requests of {m.group(1)}")
    return LoadgenResult(float(rps.group(1)), float(lat.group(1)), float(lat.group(2)))
