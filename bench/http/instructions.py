#!/usr/bin/env python3
"""Instructions per request (callgrind), ringserve's supervisor and worker against the bare server.

Each server runs under `valgrind --tool=callgrind --trace-children=yes` twice, serving N1 and then
N2 sequential keep-alive POSTs from one client on one connection; the per-request figure is
(I(N2) - I(N1)) / (N2 - N1), so start-up and shutdown cancel out. Instruction counts do not depend
on the host's load, unlike wall-clock figures. Worker counts include its idle spin (--spin-us),
which is time-based: read them as an upper bound.
  bench/http/instructions.py --ringserve build/release/bin/ringserve --bare-server build/limits/http_server
"""
import argparse, glob, http.client, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "suite"))
import bodies  # noqa: E402  (the suite's request bodies)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, path, need_200, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            if r.status == 200 or (not need_200 and r.status < 500):
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"instructions.py: nothing answered on port {port}")


def post_n(port, path, body, headers, n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(n):
        c.request("POST", path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        if r.status // 100 != 2:
            raise SystemExit(f"instructions.py: HTTP {r.status}: {data[:300]!r}")
    c.close()


def totals(outdir):
    """pid -> (command, total Ir) of every callgrind.out.<pid> in outdir."""
    res = {}
    for f in glob.glob(os.path.join(outdir, "callgrind.out.*")):
        cmd, tot = "?", 0
        with open(f, errors="replace") as fh:
            for line in fh:
                if line.startswith("cmd:"):
                    cmd = os.path.basename(line.split()[1])
                m = re.match(r"(?:summary|totals):\s+(\d+)", line)
                if m:
                    tot = max(tot, int(m.group(1)))
        res[f] = (cmd, tot)
    return res


def run_once(kind, args, body, n):
    outdir = tempfile.mkdtemp(prefix="rs-instr-")
    port = free_port()
    vg = ["valgrind", "--tool=callgrind", "--trace-children=yes", "--quiet",
          f"--callgrind-out-file={outdir}/callgrind.out.%p"]
    if kind == "bare":
        cmd, path = vg + [args.bare_server, f"--port={port}", "--mode=direct"], "/infer"
        ready = "/infer"
    else:
        repo = os.path.join(outdir, "repo")
        os.makedirs(os.path.join(repo, "echo"))
        shutil.copy(args.echo_settings, os.path.join(repo, "echo", "model-settings.json"))
        with open(os.path.join(repo, "settings.json"), "w") as f:
            json.dump({"host": "127.0.0.1", "http_port": port, "metrics_port": 0, "grpc_port": 0,
                       "http_threads": 1, "parallel_workers": 1}, f)
        cmd, path, ready = vg + [args.ringserve, "start", repo], "/v2/models/echo/infer", "/v2/models/echo/ready"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(port, ready, need_200=kind != "bare")
        post_n(port, path, body["data"], body["headers"], n)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=300)
    res = totals(outdir)
    shutil.rmtree(outdir, ignore_errors=True)
    by_cmd = {}
    for cmd_name, tot in res.values():
        by_cmd[cmd_name] = by_cmd.get(cmd_name, 0) + tot
    return by_cmd


def load_body(folder, name):
    b = bodies.standard_bodies(folder)[name]
    headers = {"Content-Type": b.content_type}
    if b.header_len:
        headers["Inference-Header-Content-Length"] = str(b.header_len)
    with open(b.path, "rb") as f:
        return {"data": f.read(), "headers": headers}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    ap.add_argument("--ringserve", default=os.path.join(root, "build/release/bin/ringserve"))
    ap.add_argument("--bare-server", default=os.path.join(root, "build/limits/http_server"))
    ap.add_argument("--echo-settings", default=os.path.join(root, "examples/models/echo/model-settings.json"))
    ap.add_argument("--bodies", default="1x16-json,1x65536-binary")
    ap.add_argument("--n1", type=int, default=100)
    ap.add_argument("--n2", type=int, default=600)
    ap.add_argument("--servers", default="bare,ringserve")
    args = ap.parse_args()
    print("| body | process | instructions/request |\n|---|---|---|")
    body_dir = tempfile.mkdtemp(prefix="rs-instr-bodies-")
    for name in args.bodies.split(","):
        body = load_body(body_dir, name)
        per = {}
        for kind in args.servers.split(","):
            a = run_once(kind, args, body, args.n1)
            b = run_once(kind, args, body, args.n2)
            for cmd_name in sorted(set(a) | set(b)):
                ir = (b.get(cmd_name, 0) - a.get(cmd_name, 0)) / (args.n2 - args.n1)
                per[(kind, cmd_name)] = ir
                print(f"| {name} | {kind}: {cmd_name} | {ir:,.0f} |", flush=True)
        bare = sum(v for (k, _), v in per.items() if k == "bare")
        sup = per.get(("ringserve", "ringserve"))
        if bare and sup:
            print(f"| {name} | ratio supervisor / bare | {sup / bare:.2f} |", flush=True)
    shutil.rmtree(body_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
