"""`ringserve ctl` against the real server: hot load/unload by name and path, list/status output,
the socket's life cycle (private, removed at shutdown, stale one replaced), a peer with another uid,
concurrent ctl processes. Skipped while this build's `ringserve` has no `ctl` command."""
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

from ringserve_fixture import BIN, Server, run_threads

ECHO = {"implementation": "echo.EchoRuntime"}
X = [{"name": "x", "shape": [2], "datatype": "INT32", "data": [1, 2]}]


def has_ctl():
    try:
        return subprocess.run([BIN, "ctl", "--help"], capture_output=True, timeout=30).returncode == 0
    except OSError:
        return False


def ctl(sock, *args, prefix=()):
    return subprocess.run([*prefix, BIN, "ctl", *args, "--socket", sock], capture_output=True, text=True, timeout=120)


def wait_for_socket(server, sock, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(sock) and f"control socket: {sock}" in server.read_log():
            return
        time.sleep(0.02)
    raise RuntimeError("no control socket:\n" + server.read_log())


@unittest.skipUnless(has_ctl(), "this ringserve has no ctl command yet")
class CtlTest(unittest.TestCase):
    s = None

    def start(self, sock):
        # `load_models_at_startup: false`: every model is loaded through the socket.
        self.s = Server(copy_examples=False, models={"echo": ECHO, "other": ECHO},
                        settings={"load_models_at_startup": False, "control_socket": sock}, wait_ready=False)

    def tearDown(self):
        if self.s:
            self.s.stop()
            self.s.cleanup()

    def server_with_socket(self):
        d = tempfile.mkdtemp(prefix="ringserve-ctl-")
        self.addCleanup(shutil.rmtree, d, True)
        sock = os.path.join(d, "run", "ctl.sock")
        self.start(sock)
        wait_for_socket(self.s, sock)
        return sock

    def test_hot_load_unload_and_tables(self):
        sock = self.server_with_socket()
        st = os.stat(os.path.dirname(sock))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(sock).st_mode), 0o600)

        r = ctl(sock, "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("NAME"), r.stdout)
        self.assertIn("echo", r.stdout)
        self.assertEqual(self.s.infer("echo", X).status_code, 404)

        t0 = time.perf_counter()
        r = ctl(sock, "load", "echo")
        elapsed = (time.perf_counter() - t0) * 1000
        self.assertEqual(r.returncode, 0, r.stderr)
        print(f"\n`ringserve ctl load echo` (process start to exit, READY): {elapsed:.1f} ms")
        self.assertEqual(self.s.infer("echo", X).status_code, 200)

        r = ctl(sock, "list", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        states = {m["name"]: m["state"] for m in json.loads(r.stdout)["models"]}
        self.assertEqual(states["echo"], "READY")
        self.assertNotEqual(states["other"], "READY")

        r = ctl(sock, "status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        status = json.loads(r.stdout)
        self.assertEqual(status["pid"], self.s.proc.pid)
        self.assertEqual(status["http_port"], self.s.port)
        self.assertEqual(status["control_socket"], sock)
        workers = [w for p in status["pools"] for w in p["workers"]]
        self.assertTrue(any("echo" in w["models"] and w["pid"] > 0 for w in workers), status)
        r = ctl(sock, "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"pid {self.s.proc.pid}", r.stdout)

        r = ctl(sock, "reload", "--path", os.path.join(self.s.repo, "echo"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.s.infer("echo", X).status_code, 200)

        r = ctl(sock, "unload", "echo")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.s.infer("echo", X).status_code, 404)

        r = ctl(sock, "load", "missing")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("missing", r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)

    def test_socket_removed_at_shutdown_and_stale_socket_replaced(self):
        sock = self.server_with_socket()
        self.assertEqual(self.s.stop(), 0)
        self.assertFalse(os.path.exists(sock))
        r = ctl(sock, "list")
        self.assertEqual(r.returncode, 2)
        self.assertIn("is the server running?", r.stderr)
        self.s.cleanup()

        # A killed server leaves its socket behind; the next one replaces it.
        self.start(sock)
        wait_for_socket(self.s, sock)
        self.s.proc.send_signal(signal.SIGKILL)
        self.s.proc.wait()
        self.s.log.close()
        self.assertTrue(stat.S_ISSOCK(os.lstat(sock).st_mode))
        self.s.cleanup()
        self.start(sock)
        wait_for_socket(self.s, sock)
        self.assertIn("replacing the stale control socket", self.s.read_log())
        self.assertEqual(ctl(sock, "list").returncode, 0)

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root and setpriv")
    def test_other_uid_is_refused(self):
        sock = self.server_with_socket()
        nobody = pwd.getpwnam("nobody").pw_uid
        # Loosen the modes so the peer reaches the socket: SO_PEERCRED must still refuse it.
        d = os.path.dirname(sock)
        for p in (os.path.dirname(d), d):
            os.chmod(p, 0o755)
        os.chmod(sock, 0o666)
        r = ctl(sock, "list", prefix=("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"))
        if "Permission denied" in r.stderr and "ringserve" not in r.stderr:
            self.skipTest("nobody cannot execute the ringserve binary here")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"uid {nobody} may not control this server", r.stderr)
        self.assertIn(f"refused a connection from uid {nobody}", self.s.read_log())
        self.assertEqual(ctl(sock, "list").returncode, 0)

    def test_concurrent_ctl_processes(self):
        sock = self.server_with_socket()
        self.assertEqual(ctl(sock, "load", "echo").returncode, 0)

        def once(i):
            if i % 3 == 0:
                return ctl(sock, "reload", "echo")
            if i % 3 == 1:
                return ctl(sock, "load" if i % 2 else "unload", "other")
            return ctl(sock, "status")

        def one(i):
            r = once(i)
            # Known, rare and not yet understood: a reply lost to ECONNRESET under concurrent
            # reloads (seen once in CI). The operation itself is idempotent; retry it once so the
            # flake does not hide real failures, and leave a trace in the output.
            if r.returncode == 2 and "Connection reset" in r.stderr:
                print("retrying after:", r.stderr.strip())
                r = once(i)
            return r

        results = run_threads(9, one)
        for i, r in enumerate(results):
            if i % 3 != 1:  # load/unload of `other` may race each other; either order is fine
                self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.s.infer("echo", X).status_code, 200)


if __name__ == "__main__":
    unittest.main()
