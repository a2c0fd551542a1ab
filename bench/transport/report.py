#!/usr/bin/env python3
"""Turns transport_bench's JSON output into Markdown tables, each figure beside the baseline
measured in the same run and the ratio the targets are stated in."""
import json
import sys


def load(path):
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        # "round_trip/ring/same/iterations:100000/real_time" -> "round_trip/ring/same"
        name = "/".join(p for p in b["name"].split("/") if not p.startswith(("iterations:", "real_time")))
        out[name] = b
    return out, data.get("context", {})


def fmt(v, digits=2):
    if v is None:
        return "–"
    if v >= 1e6:
        return f"{v / 1e6:.2f} M"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.{digits}f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def mean_us(b):
    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]]
    return b["real_time"] * scale


def main():
    r, ctx = load(sys.argv[1])
    get = lambda name, key: r[name].get(key) if name in r else None
    print(f"Transport benchmarks, {ctx.get('date', '')}, {ctx.get('num_cpus', '?')} CPUs, "
          f"load average {ctx.get('load_avg', ['?'])}\n")

    print("### Round trip, 64 B each way (µs; ring = SupervisorLane ⇄ WorkerEndpoint across processes)\n")
    print("| placement | ring p50 | ring p99 | ring mean | futex p50 | futex p99 | futex mean | uds p50 | uds p99 | uds mean "
          "| ring/futex p50 | ring/futex mean | ring/uds p50 | ring/uds mean | futex wakes per round trip |")
    print("|---|" + "---|" * 14)
    for p in ("same", "split", "unpinned"):
        ring, fut, uds = (f"round_trip/{m}/{p}" for m in ("ring", "futex", "uds"))
        if ring not in r:
            continue
        rm, fm, um = mean_us(r[ring]), mean_us(r[fut]) if fut in r else None, mean_us(r[uds]) if uds in r else None
        print(f"| {p} | {fmt(get(ring, 'p50_us'))} | {fmt(get(ring, 'p99_us'))} | {fmt(rm)} "
              f"| {fmt(get(fut, 'p50_us'))} | {fmt(get(fut, 'p99_us'))} | {fmt(fm)} "
              f"| {fmt(get(uds, 'p50_us'))} | {fmt(get(uds, 'p99_us'))} | {fmt(um)} "
              f"| {fmt(ratio(get(ring, 'p50_us'), get(fut, 'p50_us')))} | {fmt(ratio(rm, fm))} "
              f"| {fmt(ratio(get(ring, 'p50_us'), get(uds, 'p50_us')))} | {fmt(ratio(rm, um))} "
              f"| {fmt(get(ring, 'futex_wakes_per_rt'), 3)} |")
    print("\nTarget: ring ≤ 1.5× futex, never slower than uds, same placement.")
    if "idle/worker_cpu" in r:
        print(f"\nWorker CPU while idle for 300 ms after a request: {get('idle/worker_cpu', 'idle_cpu_pct'):.2f} % of one CPU.")

    print("\n### Pipelined small requests (descriptor only), window = requests in flight\n")
    print("| placement | window | requests/s | ns/request | lane→worker futex wakes/request "
          "| worker→lane eventfd wakes/request | worker sleeps/request |")
    print("|---|---|---|---|---|---|---|")
    for name in sorted((n for n in r if n.startswith("stream/pipelined/")),
                       key=lambda n: (n.split("/")[2], int(n.split(":")[-1]))):
        _, _, p, w = name.split("/")
        b = r[name]
        print(f"| {p} | {w.split(':')[1]} | {fmt(b.get('requests_per_s'))} | {fmt(b.get('ns_per_request'))} "
              f"| {fmt(b.get('lane_wakes_worker_per_req'), 3)} | {fmt(b.get('worker_wakes_lane_per_req'), 3)} "
              f"| {fmt(b.get('worker_sleeps_per_req'), 3)} |")
    one_way = [n for n in r if n.startswith("stream/one_way/")]
    if one_way:
        print("\n| one-way stream, flush every 64 | descriptors/s | target |")
        print("|---|---|---|")
        for n in one_way:
            print(f"| {n.split('/')[-1]} | {fmt(r[n].get('descriptors_per_s'))} | ≥ 1 M |")

    print("\n### Payload copied into the arena by the lane, read in place by the worker (GB/s, 1 GB = 1e9 B)\n")
    print("`touch`: the worker checks bounds and reads one word per 4 KiB page (the transport's own cost) — "
          "compare with memcpy. `sum`: it reads every word (a runtime reading its input) — compare with "
          "memcpy then sum in one process, the same work without a process boundary.\n")
    print("| size | touch split | touch same | memcpy | touch split / memcpy | touch same / memcpy "
          "| sum split | sum same | memcpy then sum | sum split / (memcpy+sum) | sum same / (memcpy+sum) |")
    print("|---|" + "---|" * 10)
    sizes = sorted({int(n.split("/")[-1]) for n in r if n.startswith("payload/")})
    for s in sizes:
        g = lambda kind, p: get(f"payload/{kind}/{p}/{s}", "GBps")
        ts, tm, ss, sm = g("ring_touch", "split"), g("ring_touch", "same"), g("ring", "split"), g("ring", "same")
        mc, mcs = get(f"payload/memcpy/{s}", "GBps"), get(f"payload/memcpy_then_sum/{s}", "GBps")
        label = f"{s // (1 << 20)} MiB" if s >= 1 << 20 else f"{s // 1024} KiB" if s >= 1024 else f"{s} B"
        print(f"| {label} | {fmt(ts)} | {fmt(tm)} | {fmt(mc)} | {fmt(ratio(ts, mc))} | {fmt(ratio(tm, mc))} "
              f"| {fmt(ss)} | {fmt(sm)} | {fmt(mcs)} | {fmt(ratio(ss, mcs))} | {fmt(ratio(sm, mcs))} |")
    print("\nTarget (64 MiB): ≥ 0.8× memcpy — one copy, not two.")

if __name__ == "__main__":
    main()
