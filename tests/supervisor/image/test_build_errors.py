"""`ringserve build` failing before any build starts: each case one line on stderr, exit status 1,
and no hang (a builder that does not answer is given up on after a bounded check). Real binaries
only: the real docker CLI against a socket with no daemon, and against one that never answers."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BIN = os.environ["RINGSERVE_BIN"]
HERE = os.path.dirname(os.path.abspath(__file__))
PLAIN = os.path.join(HERE, "folders", "plain")


def build(*args, env=None, timeout=120):
    start = time.monotonic()
    r = subprocess.run([BIN, "build", *args], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})})
    return r, time.monotonic() - start


class BuildErrorsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ringserve-build-errors-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assertOneLine(self, r, expected):
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("ringserve build: "), lines[0])
        self.assertIn(expected, lines[0])

    def test_no_builder_on_path(self):
        # PATH holds only a folder without docker or podman.
        r, _ = build(PLAIN, "-t", "x", env={"PATH": self.tmp})
        self.assertOneLine(r, "no image builder: neither docker nor podman is on PATH")

    def test_a_requested_builder_that_is_not_installed(self):
        for builder in ("docker", "podman"):
            r, _ = build(PLAIN, "-t", "x", "--builder", builder, env={"PATH": self.tmp})
            self.assertOneLine(r, f"--builder {builder}: {builder} is not installed")

    def test_an_unknown_builder_is_a_usage_error(self):
        r, _ = build(PLAIN, "-t", "x", "--builder", "kaniko")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("kaniko", r.stderr)

    def test_a_folder_without_models(self):
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        r, _ = build(empty, "-t", "x", env={"PATH": self.tmp})
        self.assertOneLine(r, "holds no model-settings.json")

    def test_the_tag_is_required(self):
        r, _ = build(PLAIN)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--tag", r.stderr)

    @unittest.skipUnless(shutil.which("docker"), "the docker CLI is not installed")
    def test_docker_without_a_daemon(self):
        sock = os.path.join(self.tmp, "no-daemon.sock")
        r, _ = build(PLAIN, "-t", "x", "--builder", "docker", env={"DOCKER_HOST": f"unix://{sock}"})
        self.assertOneLine(r, "the Docker daemon does not answer")

    @unittest.skipUnless(shutil.which("docker"), "the docker CLI is not installed")
    def test_docker_whose_daemon_never_answers_is_given_up_on(self):
        # A socket that accepts connections and never replies: the docker CLI would wait forever.
        path = os.path.join(self.tmp, "silent.sock")
        server = socket.socket(socket.AF_UNIX)
        server.bind(path)
        server.listen(8)
        held = []
        stop = threading.Event()

        def accept():
            server.settimeout(0.5)
            while not stop.is_set():
                try:
                    held.append(server.accept()[0])
                except OSError:
                    pass

        t = threading.Thread(target=accept, daemon=True)
        t.start()
        try:
            r, seconds = build(PLAIN, "-t", "x", "--builder", "docker", env={"DOCKER_HOST": f"unix://{path}"})
        finally:
            stop.set()
            t.join()
            for c in held:
                c.close()
            server.close()
        self.assertOneLine(r, "the Docker daemon does not answer")
        self.assertIn("within", r.stderr)
        print(f"\nsilent daemon given up on after {seconds:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
