"""The isolation proof (issue 5): two environments holding two builds of one library with the same
soname, each with its own `isolation` runtime plugin, packed by `ringserve pack-env` and served by
one `ringserve start` at the same time, under concurrent load. Also: a cached restart does not
unpack again, and an environment declaring a worker of another protocol major is refused before
launch while the other models keep serving, and an environment whose worker dies before its
handshake is retried with backoff and then reported with how it ended, not hidden in a loop.

Paths come from CTest (see CMakeLists.txt): RINGSERVE_BIN, RINGSERVE_WORKER_BIN,
ISOLATION_PLUGIN_V1/V2 (the two plugin builds), ISOLATION_LIB_V1/V2 (folders holding the two
libisolation_versioned.so.1).
"""
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ringserve_fixture import BIN, Server, run_threads  # noqa: E402

WORKER = os.environ.get("RINGSERVE_WORKER_BIN", "")
PLUGIN = {1: os.environ.get("ISOLATION_PLUGIN_V1", ""), 2: os.environ.get("ISOLATION_PLUGIN_V2", "")}
LIBDIR = {1: os.environ.get("ISOLATION_LIB_V1", ""), 2: os.environ.get("ISOLATION_LIB_V2", "")}


def expected(version, x):
    return x + 1000 if version == 1 else 2 * x + 1


def pack(out, version, *extra):
    """Runs `ringserve pack-env` for one plugin build; its library is found via LD_LIBRARY_PATH."""
    env = dict(os.environ, LD_LIBRARY_PATH=LIBDIR[version])
    r = subprocess.run([BIN, "pack-env", PLUGIN[version], "-o", out, *extra], env=env,
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"pack-env failed ({r.returncode}): {r.stderr.strip()}")
    return r


def model(name, tarball="env.tar.gz"):
    return {"name": name, "implementation": "isolation.VersionedRuntime",
            "parameters": {"environment_tarball": tarball}}


class IsolationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ringserve-isolation-")
        cls.tar = {v: os.path.join(cls.tmp, f"env-v{v}.tar.gz") for v in (1, 2)}
        for v in (1, 2):
            pack(cls.tar[v], v)
        # Same plugin and library as v1, but declaring a worker that speaks another protocol major.
        cls.tar_proto = os.path.join(cls.tmp, "env-proto.tar.gz")
        pack(cls.tar_proto, 1, "--worker", WORKER, "--worker-protocol", "99.0")
        cls.envs = os.path.join(cls.tmp, "envs")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def server(self, models, files):
        return Server(copy_examples=False, models=models, files=files,
                      settings={"environments_dir": self.envs, "parallel_workers": 1}, wait_ready=False)

    def test_pack_env_collects_the_library_under_its_soname(self):
        for v in (1, 2):
            with tarfile.open(self.tar[v]) as t:
                names = set(t.getnames())
                manifest = json.load(t.extractfile("ringserve-env.json"))
                lib = t.extractfile("lib/libisolation_versioned.so.1").read()
            self.assertIn("lib/isolation.so", names)
            self.assertIn("lib/libisolation_versioned.so.1", manifest["libraries"])
            self.assertEqual(manifest["plugins"][0]["classes"], ["VersionedRuntime"])
            with open(os.path.join(LIBDIR[v], "libisolation_versioned.so.1"), "rb") as f:
                self.assertEqual(lib, f.read())

    def test_both_versions_serve_side_by_side_under_concurrent_load(self):
        s = self.server({"model-v1": model("model-v1"), "model-v2": model("model-v2")},
                        {"model-v1/env.tar.gz": self.tar[1], "model-v2/env.tar.gz": self.tar[2]})
        try:
            s.wait_ready(timeout=120, model="model-v1")
            s.wait_ready(timeout=120, model="model-v2")

            def one(i):
                v = 1 + i % 2
                r = s.infer(f"model-v{v}", [{"name": "x", "datatype": "INT64", "shape": [1], "data": [i]}])
                return v, i, r.status_code, r.text

            results = []
            for _ in range(10):
                results += run_threads(16, one)
            for v, i, status, text in results:
                self.assertEqual(status, 200, text)
                outputs = {o["name"]: o for o in json.loads(text)["outputs"]}
                self.assertEqual(outputs["library"]["data"], [f"v{v}"], text)
                self.assertEqual(outputs["y"]["data"], [expected(v, i)], text)
            # Two pools, two different workers.
            self.assertGreaterEqual(len(s.worker_pids()), 2)
        finally:
            s.stop()
            s.cleanup()

    def test_a_cached_restart_does_not_unpack_again(self):
        files = {"model-v1/env.tar.gz": self.tar[1]}
        first = self.server({"model-v1": model("model-v1")}, files)
        try:
            first.wait_ready(timeout=120, model="model-v1")
        finally:
            first.stop()
            first.cleanup()
        markers = [os.path.join(self.envs, d, ".ringserve-complete") for d in os.listdir(self.envs)
                   if d.startswith("sha256-")]
        self.assertTrue(markers)
        before = {m: os.stat(m).st_ino for m in markers}
        second = self.server({"model-v1": model("model-v1")}, files)
        try:
            second.wait_ready(timeout=120, model="model-v1")
            r = second.infer("model-v1", [{"name": "x", "datatype": "INT64", "shape": [1], "data": [1]}])
            self.assertEqual(r.status_code, 200, r.text)
        finally:
            second.stop()
            second.cleanup()
        self.assertEqual({m: os.stat(m).st_ino for m in markers}, before, "the unpack was reused, not redone")

    def test_a_worker_of_another_protocol_major_is_refused_and_the_rest_serves(self):
        s = self.server({"model-v1": model("model-v1"), "model-proto": model("model-proto")},
                        {"model-v1/env.tar.gz": self.tar[1], "model-proto/env.tar.gz": self.tar_proto})
        try:
            s.wait_ready(timeout=120, model="model-v1")
            entry = s.wait_loaded("model-proto", timeout=120)
            self.assertEqual(entry["state"], "UNAVAILABLE")
            reason = entry["reason"]
            self.assertIn("environment sha256:", reason)
            self.assertIn("protocol 99.0", reason)
            self.assertIn("this server speaks", reason)
            r = s.infer("model-v1", [{"name": "x", "datatype": "INT64", "shape": [1], "data": [5]}])
            self.assertEqual(r.status_code, 200, r.text)
        finally:
            s.stop()
            s.cleanup()

    def test_a_worker_that_dies_before_its_handshake_is_retried_then_reported(self):
        env = os.path.join(self.tmp, "env-dies")
        os.makedirs(os.path.join(env, "bin"), exist_ok=True)
        worker = os.path.join(env, "bin", "ringserve-worker")
        with open(worker, "w") as f:
            f.write("#!/bin/sh\necho 'env-dies: cannot start' >&2\nexit 3\n")
        os.chmod(worker, 0o755)
        dies = {"name": "model-dies", "implementation": "isolation.VersionedRuntime",
                "parameters": {"environment_path": env}}
        s = self.server({"model-v1": model("model-v1"), "model-dies": dies}, {"model-v1/env.tar.gz": self.tar[1]})
        try:
            s.wait_ready(timeout=120, model="model-v1")
            # The restart policy backs off (100 ms, doubling) and gives up after a few deaths.
            deadline = time.time() + 60
            entry = None
            while time.time() < deadline:
                entry = {m["name"]: m for m in s.post("/v2/repository/index", json={}).json()}["model-dies"]
                if entry["state"] == "UNAVAILABLE":
                    break
                self.assertNotEqual(entry["state"], "READY", entry)
                time.sleep(0.1)
            self.assertEqual(entry["state"], "UNAVAILABLE", entry)
            self.assertIn("exited with status 3", entry["reason"])
            self.assertIn("environment", entry["reason"])
            self.assertEqual(s.get("/v2/models/model-dies/ready").status_code, 400)
            # Retried, not given up on the first death: the log shows several starts of that worker.
            log = s.read_log()
            self.assertGreater(log.count("env-dies: cannot start"), 1, log)
            r = s.infer("model-v1", [{"name": "x", "datatype": "INT64", "shape": [1], "data": [5]}])
            self.assertEqual(r.status_code, 200, r.text)
            outputs = {o["name"]: o for o in r.json()["outputs"]}
            self.assertEqual(outputs["y"]["data"], [expected(1, 5)], r.text)
        finally:
            self.assertEqual(s.stop(), 0)
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
