"""Hot loading under load: reloads lose no request, unloads drain, a broken reload keeps the old copy."""
import json
import os
import threading
import time
import unittest

import requests

from ringserve_fixture import Server, TEST_RUNTIMES

MISBEHAVE = os.path.join(TEST_RUNTIMES, "misbehave.so")
X = [{"name": "x", "shape": [2], "datatype": "INT32", "data": [4, 5]}]


def write_settings(server, folder, settings):
    with open(os.path.join(server.repo, folder, "model-settings.json"), "w") as f:
        json.dump(settings, f)


class HotReloadTest(unittest.TestCase):
    def setUp(self):
        self.s = Server(copy_examples=False, settings={"parallel_workers": 2}, models={
            "a": {"name": "a", "implementation": "echo.EchoRuntime", "platform": "gen-0"},
            "b": {"name": "b", "implementation": "echo.EchoRuntime"},
            "c": {"name": "c", "implementation": "misbehave.Misbehave"},
            "slow": {"name": "slow", "implementation": "misbehave.Misbehave"},
        }, files={"c/misbehave.so": MISBEHAVE, "slow/misbehave.so": MISBEHAVE})

    def tearDown(self):
        code = self.s.stop()
        self.s.cleanup()
        self.assertEqual(code, 0)

    def test_reload_under_load_fails_no_request(self):
        stop = threading.Event()
        results = []
        lock = threading.Lock()

        def client():
            sess = requests.Session()
            while not stop.is_set():
                r = sess.post(self.s.url + "/v2/models/a/infer", json={"inputs": X}, timeout=30)
                ok = r.status_code == 200 and r.json()["outputs"][0]["data"] == [4, 5]
                with lock:
                    results.append((ok, r.status_code, r.text[:200]))
            sess.close()

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            platform = "gen-0"
            for i in range(10):
                if i % 2:  # changed settings: a new copy with other metadata
                    platform = f"gen-{i}"
                    write_settings(self.s, "a", {"name": "a", "implementation": "echo.EchoRuntime",
                                                 "platform": platform})
                r = self.s.post("/v2/repository/models/a/load")
                self.assertEqual(r.status_code, 200, r.text)
                # Once the reload has answered, every request sees the new copy.
                self.assertEqual(self.s.get("/v2/models/a").json()["platform"], platform)
                for other in ("b", "c"):
                    self.assertEqual(self.s.post(f"/v2/repository/models/{other}/unload").status_code, 200)
                    self.assertEqual(self.s.post(f"/v2/repository/models/{other}/load").status_code, 200)
        finally:
            stop.set()
            for t in threads:
                t.join()
        failures = [r for r in results if not r[0]]
        self.assertEqual(failures, [])
        self.assertGreater(len(results), 50)

    def test_unload_drains_in_flight_requests_then_404(self):
        out = {}

        def slow_call():
            out["r"] = self.s.infer("slow", X, extra={"parameters": {"action": "sleep", "sleep_ms": 800}})

        t = threading.Thread(target=slow_call)
        t.start()
        time.sleep(0.2)
        started = time.time()
        r = self.s.post("/v2/repository/models/slow/unload")
        self.assertEqual(r.status_code, 200, r.text)
        # The unload waited for the request in flight, which completed normally.
        t.join()
        self.assertEqual(out["r"].status_code, 200, out["r"].text)
        self.assertGreater(time.time() - started, 0.3)
        r = self.s.infer("slow", X)
        self.assertEqual((r.status_code, r.json()), (404, {"error": "Model slow not found"}))

    def test_reload_to_a_broken_copy_keeps_the_old_one(self):
        write_settings(self.s, "b", {"name": "b", "implementation": "nosuchmodule.Nothing"})
        r = self.s.post("/v2/repository/models/b/load")
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("nosuchmodule", r.json()["error"])
        r = self.s.infer("b", X)
        self.assertEqual(r.status_code, 200, r.text)
        index = {e["name"]: e for e in self.s.post("/v2/repository/index", json={}).json()}
        self.assertEqual(index["b"]["state"], "READY")


class PoolFollowsModelsTest(unittest.TestCase):
    def test_environment_pool_stops_with_its_last_model(self):
        s = Server(copy_examples=False, models={
            "envmodel": {"name": "envmodel", "implementation": "misbehave.Misbehave",
                         "parameters": {"environment_path": "../env"}},
            "plain": {"name": "plain", "implementation": "echo.EchoRuntime"},
        }, files={"env/lib/misbehave.so": MISBEHAVE})
        try:
            self.assertEqual(s.infer("envmodel", X).status_code, 200)
            def workers():
                out = []
                for p in s.worker_pids():
                    try:
                        with open(f"/proc/{p}/cmdline") as f:
                            out.append(f.read().replace("\0", " "))
                    except OSError:
                        pass
                return out
            self.assertEqual(len(workers()), 2)  # the default pool's and the environment pool's
            self.assertEqual(s.post("/v2/repository/models/envmodel/unload").status_code, 200)
            deadline = time.time() + 10
            while len(workers()) != 1 and time.time() < deadline:
                time.sleep(0.02)
            self.assertEqual(len(workers()), 1, workers())
            self.assertIn("no models left", s.read_log())
            self.assertEqual(s.infer("plain", X).status_code, 200)
            # Loading it again brings the pool back.
            self.assertEqual(s.post("/v2/repository/models/envmodel/load").status_code, 200)
            self.assertEqual(s.infer("envmodel", X).status_code, 200)
        finally:
            self.assertEqual(s.stop(), 0)
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
