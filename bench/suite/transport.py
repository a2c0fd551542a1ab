"""The transport micro-benchmarks of bench/transport (h1's transport_bench) that the suite
table shows: 64 B round trips through the ring beside a futex ping-pong and a Unix-socket round
trip, and a 1 MiB payload read in place by the worker beside memcpy of 1 MiB."""
import json
import os
import subprocess
import tempfile

from servers import SuiteError

FILTER = r"round_trip/(ring|futex|uds)/(same|split)/|payload/(ring_touch/split|memcpy)/1048576/"


def run_transport_bench(binary):
    """Returns {"round_trip/ring/same": {"p50_us":..}, "payload/memcpy/1048576": {"GBps":..}, ...}."""
    fd, out = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        p = subprocess.run([binary, f"--benchmark_filter={FILTER}", f"--benchmark_out={out}",
                            "--benchmark_out_format=json"], capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise SuiteError(f"transport_bench failed ({p.returncode}): {p.stderr[-2000:]}")
        with open(out) as f:
            data = json.load(f)
    finally:
        os.unlink(out)
    results = {}
    for b in data["benchmarks"]:
        name = "/".join(x for x in b["name"].split("/") if not x.startswith(("iterations:", "real_time")))
        results[name] = b
    return results
