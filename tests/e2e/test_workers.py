"""Worker pools end to end: crashes, restarts, timeouts, placement, shutdown, settings from the environment."""
import json
import os
import resource
import signal
import threading
import time
import unittest

import requests

from ringserve_fixture import Server, TEST_RUNTIMES, memfd_count, run_threads

ECHO = {"implementation": "echo.EchoRuntime"}
MISBEHAVE = os.path.join(TEST_RUNTIMES, "misbehave.so")
X = [{"name": "x", "shape": [2], "datatype": "INT32", "data": [1, 2]}]


def is_worker(pid):
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return "ringserve-worker" in f.read()
    except OSError:
        return False


def worker_pids(server):
    return [p for p in server.worker_pids() if is_worker(p)]


class CrashTest(unittest.TestCase):
    def setUp(self):
        self.s = Server(copy_examples=False, settings={"parallel_workers": 2},
                        models={"echo": ECHO, "flaky": {"implementation": "misbehave.Misbehave"}},
                        files={"flaky/misbehave.so": MISBEHAVE})
        # Both workers hold both models before a test kills one: a model is ready with its first
        # worker, and a crash of the only one that has loaded it yet makes it (rightly) restarting,
        # 503, which these tests would misread as a request lost on the surviving worker.
        for model in ("echo", "flaky"):
            self.assertEqual(self.s.config_with_instances(model, 2)["instance_group"][0]["count"], 2)

    def tearDown(self):
        code = self.s.stop()
        self.s.cleanup()
        self.assertEqual(code, 0)

    def test_kill_9_under_load_fails_only_in_flight_requests(self):
        pids = worker_pids(self.s)
        self.assertEqual(len(pids), 2)
        self.assertEqual(memfd_count(self.s.proc.pid), 2)
        stop = threading.Event()
        statuses = []
        lock = threading.Lock()

        def client(i):
            sess = requests.Session()
            while not stop.is_set():
                r = sess.post(self.s.url + "/v2/models/echo/infer", json={"inputs": X}, timeout=30)
                with lock:
                    statuses.append(r.status_code)
                if r.status_code == 200:
                    assert r.json()["outputs"][0]["data"] == [1, 2]
                else:
                    assert r.status_code == 503, r.text
                    assert "retry" in r.json()["error"], r.text
            sess.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        os.kill(pids[0], signal.SIGKILL)
        killed_at = time.time()
        # The model keeps being served by the other worker, and the dead one comes back quickly.
        while len(worker_pids(self.s)) < 2 or pids[0] in worker_pids(self.s):
            self.assertLess(time.time() - killed_at, 5, self.s.read_log())
            time.sleep(0.01)
        back_after = time.time() - killed_at
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        self.assertLess(back_after, 1.0)
        failures = [s for s in statuses if s != 200]
        # Only requests that were on the dead worker failed: at most what one worker had in flight.
        self.assertLessEqual(len(failures), 6, failures)
        self.assertGreater(statuses.count(200), 100)
        self.assertIn("killed by signal 9", self.s.read_log())
        # The dead worker's segment is gone; the new worker has one.
        deadline = time.time() + 5
        while memfd_count(self.s.proc.pid) != 2 and time.time() < deadline:
            time.sleep(0.02)
        self.assertEqual(memfd_count(self.s.proc.pid), 2)

    def test_runtime_crash_fails_its_request_with_503_naming_worker(self):
        r = self.s.infer("flaky", X, extra={"parameters": {"action": "crash"}})
        self.assertEqual(r.status_code, 503, r.text)
        msg = r.json()["error"]
        self.assertRegex(msg, r"worker default/\d")
        # SIGSEGV; under AddressSanitizer its handler turns the fault into SIGABRT.
        self.assertRegex(msg, r"killed by signal (11|6 \(SIGABRT\))")
        # Other models keep serving, and flaky comes back.
        self.assertEqual(self.s.infer("echo", X).status_code, 200)
        self.s.wait_ready(model="flaky", timeout=5)
        self.assertEqual(self.s.infer("flaky", X).status_code, 200)


class CrashLoopTest(unittest.TestCase):
    def test_crash_loop_leaves_model_unavailable_with_reason(self):
        s = Server(copy_examples=False, models={"flaky": {"implementation": "misbehave.Misbehave"}},
                   files={"flaky/misbehave.so": MISBEHAVE})
        try:
            self._crash_until_unavailable(s)
        finally:
            self.assertEqual(s.stop(), 0)
            s.cleanup()

    def _crash_until_unavailable(self, s):
        # Every crash of a worker holding `flaky` restarts it; a loop of crashes gives up.
        for _ in range(8):
            try:
                s.infer("flaky", X, extra={"parameters": {"action": "crash"}}, timeout=10)
            except requests.RequestException:
                pass
            index = {e["name"]: e for e in s.post("/v2/repository/index", json={}).json()}
            if index["flaky"]["state"] == "UNAVAILABLE":
                break
            deadline = time.time() + 15
            while time.time() < deadline:
                if s.get("/v2/models/flaky/ready").status_code == 200:
                    break
                index = {e["name"]: e for e in s.post("/v2/repository/index", json={}).json()}
                if index["flaky"]["state"] == "UNAVAILABLE":
                    break
                time.sleep(0.05)
        index = {e["name"]: e for e in s.post("/v2/repository/index", json={}).json()}
        self.assertEqual(index["flaky"]["state"], "UNAVAILABLE", index)
        self.assertIn("crashed", index["flaky"]["reason"])
        self.assertRegex(index["flaky"]["reason"], r"killed by signal (11|6 \(SIGABRT\))")



class TimeoutTest(unittest.TestCase):
    def test_request_timeout_gives_504_and_a_hung_worker_is_replaced(self):
        s = Server(copy_examples=False, settings={"request_timeout": 0.5},
                   models={"echo": ECHO, "flaky": {"implementation": "misbehave.Misbehave"}},
                   files={"flaky/misbehave.so": MISBEHAVE})
        try:
            before = worker_pids(s)
            r = s.infer("flaky", X, extra={"parameters": {"action": "sleep", "sleep_ms": 60000}})
            self.assertEqual(r.status_code, 504, r.text)
            self.assertIn("request_timeout", r.json()["error"])
            deadline = time.time() + 10
            while time.time() < deadline and (worker_pids(s) == before or not worker_pids(s)):
                time.sleep(0.02)
            self.assertNotEqual(worker_pids(s), before)
            s.wait_ready(timeout=10)
            self.assertEqual(s.infer("echo", X).status_code, 200)
            # A slow request that finishes in time is not affected.
            r = s.infer("flaky", X, extra={"parameters": {"action": "sleep", "sleep_ms": 50}})
            self.assertEqual(r.status_code, 200, r.text)
        finally:
            self.assertEqual(s.stop(), 0)
            s.cleanup()


class PlacementTest(unittest.TestCase):
    def test_model_parallel_workers_places_it_on_that_many_workers(self):
        s = Server(copy_examples=False, settings={"parallel_workers": 3},
                   models={"everywhere": ECHO, "single": dict(ECHO, parallel_workers=1)})
        try:
            # Ready means served by at least one worker; the other loads may still be under way.
            deadline = time.time() + 10
            while s.read_log().count("model everywhere loaded on worker") < 3 and time.time() < deadline:
                time.sleep(0.02)
            log = s.read_log()
            self.assertEqual(log.count("model everywhere loaded on worker"), 3)
            self.assertEqual(log.count("model single loaded on worker"), 1)

            def burst(i):
                return [s.infer("everywhere" if i % 2 else "single", X).status_code for _ in range(30)]

            self.assertTrue(all(c == 200 for codes in run_threads(6, burst) for c in codes))
        finally:
            self.assertEqual(s.stop(), 0)
            s.cleanup()


class ShutdownTest(unittest.TestCase):
    def test_sigterm_drains_in_flight_requests_and_stops_workers(self):
        s = Server(copy_examples=False, models={"flaky": {"implementation": "misbehave.Misbehave"}},
                   files={"flaky/misbehave.so": MISBEHAVE})
        pids = worker_pids(s)
        result = {}

        def slow():
            result["r"] = s.infer("flaky", X, extra={"parameters": {"action": "sleep", "sleep_ms": 700}})

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.2)
        s.proc.send_signal(signal.SIGTERM)
        t.join()
        self.assertEqual(result["r"].status_code, 200, result["r"].text)
        self.assertEqual(s.proc.wait(30), 0)
        for p in pids:
            self.assertFalse(is_worker(p))
        s.stop()
        s.cleanup()


class FdLimitTest(unittest.TestCase):
    def test_the_soft_descriptor_limit_is_raised_to_the_hard_one(self):
        def low_soft_limit():
            _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))

        s = Server(copy_examples=False, preexec_fn=low_soft_limit)
        try:
            with open(f"/proc/{s.proc.pid}/limits") as f:
                line = next(l for l in f if l.startswith("Max open files"))
            soft, hard = line.split()[3:5]
            self.assertEqual(soft, hard, line)
        finally:
            s.finish()


class EnvironmentSettingsTest(unittest.TestCase):
    def test_env_overrides_with_file_precedence(self):
        # RINGSERVE_ wins over MLSERVER_, and a field in settings.json wins over both.
        s = Server(copy_examples=False, models={"echo": ECHO},
                   settings={"server_name": "from-file"},
                   env={"RINGSERVE_SERVER_NAME": "from-env", "MLSERVER_SERVER_VERSION": "9.9-env",
                        "RINGSERVE_SERVER_VERSION": "1.2-env"})
        try:
            meta = s.get("/v2").json()
            self.assertEqual(meta["name"], "from-file")
            self.assertEqual(meta["version"], "1.2-env")
        finally:
            s.stop()
            s.cleanup()

    def test_structured_logging_is_one_json_object_per_line(self):
        s = Server(copy_examples=False, models={"echo": ECHO, "quote\"d": ECHO},
                   settings={"use_structured_logging": True})
        try:
            self.assertEqual(s.infer("echo", X).status_code, 200)
        finally:
            s.stop()
        lines = [l for l in s.read_log().splitlines() if l.strip()]
        s.cleanup()
        self.assertGreater(len(lines), 5)
        for line in lines:
            record = json.loads(line)  # every line, supervisor's and workers', is valid JSON
            self.assertIn("level", record)
            self.assertIn("message", record)
        self.assertTrue(any(json.loads(l).get("worker") == "default/0" for l in lines))

    def test_default_model_from_environment(self):
        s = Server(copy_examples=False, env={"MLSERVER_MODEL_NAME": "envmodel",
                                             "MLSERVER_MODEL_IMPLEMENTATION": "echo.EchoRuntime"})
        try:
            r = s.infer("envmodel", X)
            self.assertEqual(r.status_code, 200, r.text)
        finally:
            s.stop()
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
