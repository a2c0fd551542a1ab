"""Starts the real `ringserve start` on free loopback ports and talks to it with real clients.

Used by every end-to-end test. Paths come from the environment CTest sets:
RINGSERVE_BIN (the ringserve binary), RINGSERVE_EXAMPLES (examples/models),
RINGSERVE_TEST_RUNTIMES (folder of test-only runtime plugins).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import requests

BIN = os.environ.get("RINGSERVE_BIN", "ringserve")
EXAMPLES = os.environ.get("RINGSERVE_EXAMPLES", "")
TEST_RUNTIMES = os.environ.get("RINGSERVE_TEST_RUNTIMES", "")


def memfd_count(pid):
    """Shared-memory segments (memfds) a process holds open."""
    n = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("/memfd:ringserve"):
                    n += 1
            except OSError:
                pass
    except FileNotFoundError:
        return 0
    return n


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


class Server:
    """A running `ringserve start` on a copy of a model repository."""

    def __init__(self, repo=None, settings=None, models=None, env=None, copy_examples=True, wait_ready=True,
                 files=None, preexec_fn=None):
        self.dir = tempfile.mkdtemp(prefix="ringserve-e2e-")
        self.repo = os.path.join(self.dir, "repo")
        if repo is not None:
            shutil.copytree(repo, self.repo)
        elif copy_examples and EXAMPLES:
            shutil.copytree(EXAMPLES, self.repo)
        else:
            os.makedirs(self.repo)
        for name, ms in (models or {}).items():
            d = os.path.join(self.repo, name)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "model-settings.json"), "w") as f:
                f.write(ms if isinstance(ms, str) else json.dumps(ms))
        for rel, src in (files or {}).items():
            dst = os.path.join(self.repo, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy(src, dst)
        s = {"http_port": 0, "metrics_port": 0, "grpc_port": 0, "host": "127.0.0.1", "http_threads": 2}
        s.update(settings or {})
        with open(os.path.join(self.repo, "settings.json"), "w") as f:
            json.dump(s, f)
        self.log_path = os.path.join(self.dir, "server.log")
        self.log = open(self.log_path, "wb")
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen([BIN, "start", self.repo], stdout=self.log, stderr=subprocess.STDOUT, env=e,
                                     preexec_fn=preexec_fn)
        self.port, self.metrics_port = self._wait_for_ports()
        self.url = f"http://127.0.0.1:{self.port}"
        # Logged just before the REST line _wait_for_ports waits for.
        m = re.search(r"gRPC on \S+:(\d+) ", self.read_log())
        self.grpc_port = int(m.group(1)) if m else None
        self.grpc_target = f"127.0.0.1:{self.grpc_port}"
        if wait_ready:
            self.wait_ready()

    def _wait_for_ports(self, timeout=30):
        deadline = time.time() + timeout
        pat = re.compile(r"on http://[^:]+:(\d+) .*metrics on :(\d+)")
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ringserve exited early:\n" + self.read_log())
            m = pat.search(self.read_log())
            if m:
                return int(m.group(1)), int(m.group(2))
            time.sleep(0.02)
        raise RuntimeError("ringserve did not report its ports:\n" + self.read_log())

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_ready(self, timeout=30, model=None):
        deadline = time.time() + timeout
        path = f"/v2/models/{model}/ready" if model else "/v2/health/ready"
        while time.time() < deadline:
            try:
                if requests.get(self.url + path, timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.02)
        raise RuntimeError(f"not ready within {timeout}s:\n" + self.read_log())

    def wait_loaded(self, model, timeout=60):
        """The repository index entry of `model` once its load has ended (READY or UNAVAILABLE):
        for a model that never becomes ready. Loads run concurrently (environments are prepared
        off the main loop), so another model being ready says nothing about this one."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            entry = {m["name"]: m for m in self.post("/v2/repository/index", json={}).json()}.get(model)
            if entry is not None and entry["state"] != "LOADING":
                return entry
            time.sleep(0.05)
        raise RuntimeError(f"{model} still loading after {timeout}s:\n" + self.read_log())

    def wait_all_loaded(self, timeout=60):
        """Until no model of the repository index is LOADING (each READY or UNAVAILABLE)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(m["state"] != "LOADING" for m in self.post("/v2/repository/index", json={}).json()):
                return
            time.sleep(0.05)
        raise RuntimeError(f"models still loading after {timeout}s:\n" + self.read_log())

    def config_with_instances(self, model, n, timeout=60, version=None):
        """Triton's config of `model` once `n` workers hold it (instance_group count), or the last
        one read at the timeout: a model is READY with its first worker, and the others finish
        loading it afterwards, so a test about "the other worker" waits for this first."""
        deadline = time.monotonic() + timeout
        path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/config"
        while True:
            c = self.get(path).json()
            if c["instance_group"][0]["count"] == n or time.monotonic() > deadline:
                return c
            time.sleep(0.05)

    def get(self, path, **kw):
        return requests.get(self.url + path, timeout=kw.pop("timeout", 30), **kw)

    def post(self, path, **kw):
        return requests.post(self.url + path, timeout=kw.pop("timeout", 30), **kw)

    def infer(self, model, inputs, version=None, **kw):
        body = {"inputs": inputs}
        body.update(kw.pop("extra", {}))
        path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"
        return self.post(path, json=body, **kw)

    def metrics(self):
        return requests.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10).text

    def worker_pids(self):
        return children(self.proc.pid)

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("ringserve did not stop on SIGTERM:\n" + self.read_log())
        self.log.close()
        return self.proc.returncode

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def finish(self):
        """A test class's teardown: a graceful stop that must exit 0, then cleanup."""
        code = self.stop()
        self.cleanup()
        assert code == 0, code


def run_threads(n, fn):
    """Runs fn(i) on n threads; returns the list of results (exceptions re-raised)."""
    results = [None] * n
    errors = []

    def body(i):
        try:
            results[i] = fn(i)
        except BaseException as e:  # noqa: BLE001 - collected and re-raised
            errors.append(e)

    ts = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]
    return results
