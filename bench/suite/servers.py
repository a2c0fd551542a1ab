"""The two servers the suite loads: the bare libevent server of ../shared/limits (the HTTP
ceiling: answers 150 B from its event loop, no IPC) and `ringserve start` on a temporary
repository holding only the echo model. Both bind 127.0.0.1 only and are stopped by PID."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


class SuiteError(Exception):
    """A server that would not start or answer; the suite stops with this message."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin_prefix(cpus):
    return ["taskset", "-c", cpus] if cpus else []


def rss_kib(pid):
    """{"VmRSS", "RssAnon", "RssFile", "RssShmem"} in KiB. A worker's and a supervisor's RssShmem is
    the part of the shared segment they have touched (counted in both processes' VmRSS)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(line.split()[1])
    if "VmRSS" not in out:
        raise SuiteError(f"no VmRSS for pid {pid}")
    return out


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def _stop(proc, timeout=30):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise SuiteError(f"pid {proc.pid} did not stop on SIGTERM")


class BareServer:
    """`http_server --mode=direct`: POST /infer -> fixed 150 B JSON from the event loop."""

    def __init__(self, binary, cpus=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/infer"
        self.proc = subprocess.Popen(pin_prefix(cpus) + [binary, f"--port={self.port}", "--mode=direct"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SuiteError(f"{binary} exited with status {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SuiteError(f"{binary} did not listen on 127.0.0.1:{self.port}")

    def stop(self):
        _stop(self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Ringserve:
    """`ringserve start` on a fresh repository with the echo model (echo.EchoRuntime)."""

    def __init__(self, binary, echo_settings, http_threads, workers, cpus=None, log_dir=None):
        self.dir = tempfile.mkdtemp(prefix="ringserve-suite-", dir=log_dir)
        repo = os.path.join(self.dir, "repo")
        os.makedirs(os.path.join(repo, "echo"))
        shutil.copy(echo_settings, os.path.join(repo, "echo", "model-settings.json"))
        settings = {"host": "127.0.0.1", "http_port": 0, "metrics_port": 0, "grpc_port": 0,
                    "http_threads": http_threads, "parallel_workers": workers}
        with open(os.path.join(repo, "settings.json"), "w") as f:
            json.dump(settings, f)
        self.workers = workers
        self.log_path = os.path.join(self.dir, "server.log")
        with open(self.log_path, "wb") as log:
            # taskset execs ringserve, so proc.pid is the supervisor; workers inherit the mask.
            self.proc = subprocess.Popen(pin_prefix(cpus) + [binary, "start", repo], stdout=log,
                                         stderr=subprocess.STDOUT)
        try:
            self.port = self._wait_port()
            self.base = f"http://127.0.0.1:{self.port}"
            m = re.search(r"gRPC on \S+:(\d+) ", self.read_log())
            self.grpc_target = f"127.0.0.1:{m.group(1)}" if m else None
            self.url = f"{self.base}/v2/models/echo/infer"
            self._wait_ready()
        except BaseException:
            self.stop(check=False)
            raise

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _wait_port(self, timeout=30):
        pat = re.compile(r"on http://[^:\s]+:(\d+) ")
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SuiteError("ringserve exited early:\n" + self.read_log()[-4000:])
            m = pat.search(self.read_log())
            if m:
                return int(m.group(1))
            time.sleep(0.05)
        raise SuiteError("ringserve did not log its port:\n" + self.read_log()[-4000:])

    def _wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/v2/models/echo/ready", timeout=2) as r:
                    if r.status == 200 and len(self.worker_pids()) >= self.workers:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.05)
        raise SuiteError("echo model not ready:\n" + self.read_log()[-4000:])

    def worker_pids(self):
        return children(self.proc.pid)

    def stop(self, check=True):
        try:
            _stop(self.proc)
            if check and self.proc.returncode != 0:
                raise SuiteError(f"ringserve exited with status {self.proc.returncode} on SIGTERM:\n"
                                 + self.read_log()[-4000:])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop(check=exc[0] is None)
