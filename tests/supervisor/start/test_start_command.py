"""`ringserve start` as docs/cli.md promises it: the real binary, every row of its exit table (0
stopped by a signal, 1 a port or the control socket that cannot be opened, 2 bad settings, no
repository folder, no worker binary), each failure as one line, and the graceful stop removing
the control socket. The assembly underneath is tested in-process by tests/supervisor/server/."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

BIN = os.environ["RINGSERVE_BIN"]
BUILD_DIR = os.environ["RINGSERVE_BUILD_DIR"]
GUARD = 60  # seconds: a guard against a hang, not a timing check


def repository(settings=None, raw_settings=None):
    d = tempfile.mkdtemp(prefix="rs-start-")
    s = {"host": "127.0.0.1", "http_port": 0, "grpc_port": 0, "metrics_port": 0,
         "control_socket": os.path.join(d, "ctl.sock")}
    s.update(settings or {})
    with open(os.path.join(d, "settings.json"), "w") as f:
        f.write(raw_settings if raw_settings is not None else json.dumps(s))
    return d


def run(*args, binary=BIN):
    return subprocess.run([binary, "start", *args], capture_output=True, text=True, timeout=GUARD)


class StartFailuresTest(unittest.TestCase):
    def assertOneLine(self, r, code, *needles):
        self.assertEqual(r.returncode, code, r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r.stderr)
        for n in needles:
            self.assertIn(n, lines[0])

    def test_a_repository_that_is_not_a_folder_exits_2(self):
        d = tempfile.mkdtemp(prefix="rs-start-")
        self.addCleanup(shutil.rmtree, d)
        missing = os.path.join(d, "nope")
        r = run(missing)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("nope", r.stderr)

    def test_a_broken_settings_json_exits_2_naming_the_file(self):
        d = repository(raw_settings='{"http_port": 0,')
        self.addCleanup(shutil.rmtree, d)
        self.assertOneLine(run(d), 2, "settings.json")

    def test_a_setting_of_the_wrong_type_exits_2_naming_it(self):
        d = repository({"http_port": "eighty"})
        self.addCleanup(shutil.rmtree, d)
        self.assertOneLine(run(d), 2, "http_port")

    def test_no_worker_binary_beside_ringserve_exits_2(self):
        alone = tempfile.mkdtemp(prefix="rs-start-bin-", dir=BUILD_DIR)
        self.addCleanup(shutil.rmtree, alone)
        binary = os.path.join(alone, "ringserve")
        try:
            os.link(BIN, binary)
        except OSError:
            shutil.copy(BIN, binary)
        d = repository()
        self.addCleanup(shutil.rmtree, d)
        self.assertOneLine(run(d, binary=binary), 2, "ringserve-worker")

    def test_a_rest_port_in_use_exits_1_saying_why(self):
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        self.addCleanup(taken.close)
        d = repository({"http_port": taken.getsockname()[1]})
        self.addCleanup(shutil.rmtree, d)
        r = run(d)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot listen on 127.0.0.1:%d" % taken.getsockname()[1], r.stderr)

    def test_a_control_socket_that_cannot_be_made_exits_1_saying_why(self):
        d = repository({"control_socket": "/proc/ringserve/ctl.sock"})
        self.addCleanup(shutil.rmtree, d)
        r = run(d)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("control socket", r.stderr)


class StartAndStopTest(unittest.TestCase):
    def start(self):
        d = repository()
        self.addCleanup(shutil.rmtree, d)
        log = open(os.path.join(d, "log"), "w+")
        self.addCleanup(log.close)
        p = subprocess.Popen([BIN, "start", d], stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        deadline = time.monotonic() + GUARD
        while time.monotonic() < deadline and p.poll() is None:
            log.seek(0)
            m = re.search(r"on http://127\.0\.0\.1:(\d+) ", log.read())
            if m:
                return d, p, log, int(m.group(1))
            time.sleep(0.05)
        log.seek(0)
        self.fail("no port logged:\n" + log.read())

    def test_sigterm_drains_and_exits_0_removing_the_control_socket(self):
        d, p, log, port = self.start()
        sock = os.path.join(d, "ctl.sock")
        self.assertEqual(os.stat(sock).st_mode & 0o777, 0o600)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/live", timeout=GUARD) as r:
            self.assertEqual(r.status, 200)
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(GUARD), 0)
        log.seek(0)
        text = log.read()
        self.assertIn("draining in-flight requests and stopping", text)
        self.assertIn("stopped", text)
        self.assertFalse(os.path.exists(sock))

    def test_sigint_stops_too(self):
        _, p, _, _ = self.start()
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(GUARD), 0)


if __name__ == "__main__":
    unittest.main()
