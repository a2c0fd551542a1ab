"""`ringserve build` end to end with podman: the bundled examples plus a C++ runtime built in the
image against the SDK, a prebuilt runtime in a model folder, and the Python examples (a custom
runtime each and iris on the built-in mlserver_sklearn); then `podman run --network host` serving V2 requests with the ports
from environment variables, SIGTERM draining a request in flight, an arbitrary UID, and the bad
cases that need a real podman. Skips (exit 77) where podman cannot run. Prints the build time and
image sizes beside the base image's."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import requests

import podman_env

BUILD_DIR = os.environ.get("RINGSERVE_BUILD_DIR", "")
SOURCE_DIR = os.environ.get("RINGSERVE_SOURCE_DIR", "")
TEST_RUNTIMES = os.environ.get("RINGSERVE_TEST_RUNTIMES", "")
TAG = "localhost/ringserve-e2e-examples:test"


class ImageEndToEndTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ringserve-image-e2e-")
        cls.base = podman_env.ensure_base()
        # The running installation `ringserve build` stages: this build tree, installed.
        cls.prefix = os.path.join(podman_env.STATE, "prefix")
        shutil.rmtree(cls.prefix, ignore_errors=True)
        subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", cls.prefix, "--strip"], check=True,
                       capture_output=True)
        cls.bin = os.path.join(cls.prefix, "bin", "ringserve")
        cls.folder = podman_env.examples_folder(cls.tmp, TEST_RUNTIMES)
        cls.python_models = podman_env.python_models(cls.folder)
        podman_env.podman("rmi", "-f", TAG, check=False)
        # The first build is cold when the podman storage in the build tree is new (as in CI); the
        # second finds every layer cached.
        start = time.monotonic()
        r = subprocess.run([cls.bin, "build", cls.folder, "-t", TAG, "--base-image", cls.base, "--builder", "podman",
                            "--network", "host"], env=podman_env.env(), capture_output=True, text=True, timeout=1800)
        cls.build_seconds = time.monotonic() - start
        if r.returncode != 0:
            raise AssertionError(f"ringserve build failed ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
        start = time.monotonic()
        r = subprocess.run([cls.bin, "build", cls.folder, "-t", TAG, "--base-image", cls.base, "--builder", "podman",
                            "--network", "host"], env=podman_env.env(), capture_output=True, text=True, timeout=1800)
        cls.rebuild_seconds = time.monotonic() - start
        assert r.returncode == 0, r.stderr
        print(f"\nringserve build {os.path.basename(cls.folder)}: {cls.build_seconds:.1f} s first (cold on new storage), "
              f"{cls.rebuild_seconds:.1f} s cached; image {podman_env.image_size(TAG) / 1e6:.0f} MB beside the base "
              f"{cls.base} {podman_env.image_size(cls.base) / 1e6:.0f} MB; python models: {cls.python_models or 'none'}",
              file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def container(self, *args, **kw):
        c = podman_env.Container(TAG, *args, **kw)
        self.addCleanup(c.close)
        c.wait_ready()
        return c

    def test_serves_the_examples_on_ports_from_the_environment(self):
        c = self.container()
        r = c.infer("matmul", {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}, version="1")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["outputs"][0]["data"], [4, 5])
        r = c.infer("qa", {"inputs": [
            {"name": "questions", "shape": [1], "datatype": "BYTES", "data": ["what is the capital of france"]},
            {"name": "context", "shape": [1], "datatype": "BYTES", "data": ["Paris is the capital of France"]}]})
        self.assertEqual(r.status_code, 200, r.text)
        # The runtime the image compiled against its SDK.
        r = c.infer("scaler", {"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, 2.5]}]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["outputs"][0]["data"], [3, 7.5])
        self.assertEqual(requests.get(c.url + "/v2", timeout=5).json()["name"], "from-folder")
        metrics = requests.get(f"http://127.0.0.1:{c.metrics}/metrics", timeout=5).text
        self.assertIn("model_infer_request_success_total", metrics)
        # The image's HEALTHCHECK command, run as podman would.
        self.assertEqual(podman_env.podman("exec", c.name, "/opt/ringserve/share/ringserve/healthcheck.sh", check=False).returncode, 0)
        # A bad request is still the server's JSON error, from inside the image.
        r = c.infer("nope", {"inputs": []})
        self.assertEqual(r.status_code, 404)
        self.assertIn("error", r.json())

    def test_python_runtimes_serve(self):
        self.assertEqual(self.python_models, ["echo-py", "headers-py", "iris", "qa-py"])
        c = self.container()
        index = requests.post(c.url + "/v2/repository/index", json={}, timeout=10).json()
        states = {m["name"]: m.get("state") for m in index}
        for folder in self.python_models:
            with open(os.path.join(self.folder, folder, "model-settings.json")) as f:
                name = json.load(f).get("name", folder)
            self.assertEqual(states.get(name), "READY", f"{name}: {index}\n{c.logs()[-3000:]}")
        podman_env.check_python_examples(self, c, self.folder)
        r = c.infer("headers-py", {"inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1]}]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.headers.get("x-served-by"), "headers-py")
        # A custom Python runtime's bad request is still MLServer's 400, from the image's Python.
        r = c.infer("qa-py", {"inputs": [{"name": "questions", "shape": [1], "datatype": "BYTES", "data": ["why"]}]})
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("context", r.json()["error"])

    def test_only_the_builtin_runtimes_the_folder_names_bring_their_libraries(self):
        # iris names mlserver_sklearn, nothing names mlserver_xgboost; scipy's build-time compiler
        # (python3-pythran and its toolchain) is an empty stand-in.
        r = podman_env.podman("run", "--rm", "--network", "host", "--entrypoint", "python3", TAG, "-c",
                              "import sklearn, joblib, numpy, scipy.optimize, shutil, importlib.util as u; "
                              "print(u.find_spec('xgboost') is None, u.find_spec('pythran') is None, shutil.which('g++'))",
                              check=False)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "True True None"), r.stderr)

    def test_sigterm_drains_a_request_in_flight(self):
        c = self.container()
        result = {}

        def slow():
            result["r"] = c.infer("slow", {"parameters": {"action": "sleep", "sleep_ms": 1500},
                                           "inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [7]}]})

        t = threading.Thread(target=slow)
        t.start()
        # SIGTERM once the request has been dispatched to the worker (parallel_request_queue
        # observes each dispatch; no other inference request reaches this container).
        dispatched = False
        deadline = time.monotonic() + 10
        while not dispatched and time.monotonic() < deadline:
            m = requests.get(f"http://127.0.0.1:{c.metrics}/metrics", timeout=5).text
            dispatched = any(l.startswith("parallel_request_queue_count") and float(l.split()[-1]) >= 1
                             for l in m.splitlines())
            time.sleep(0.02)
        self.assertTrue(dispatched, "the slow request was never dispatched")
        podman_env.podman("kill", "--signal", "TERM", c.name)
        t.join(30)
        self.assertEqual(result["r"].status_code, 200, result["r"].text)
        self.assertEqual(result["r"].json()["outputs"][0]["data"], [7])
        code = podman_env.podman("wait", c.name, timeout=60).stdout.strip()
        self.assertEqual(code, "0", c.logs())
        self.assertIn("draining", c.logs())

    def test_an_arbitrary_uid_with_group_0_serves_and_env_overrides_settings(self):
        c = self.container("--user", "12345:0", env={"MLSERVER_SERVER_NAME": "from-env"})
        self.assertEqual(podman_env.podman("exec", c.name, "id", "-u").stdout.strip(), "12345")
        r = c.infer("echo", {"inputs": [{"name": "a", "shape": [2], "datatype": "INT64", "data": [1, 2]}]})
        self.assertEqual(r.status_code, 200, r.text)
        # The Python host too (its interpreter and the built-in packages, read-only to this UID).
        podman_env.check_python_examples(self, c, self.folder)
        self.assertEqual(requests.get(c.url + "/v2", timeout=5).json()["name"], "from-env")
        # The control socket lives in a folder that UID could create.
        r = podman_env.podman("exec", c.name, "ringserve", "ctl", "list", check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("echo", r.stdout)

    def test_a_missing_base_image_is_one_line_within_seconds(self):
        start = time.monotonic()
        r = subprocess.run([self.bin, "build", self.folder, "-t", "localhost/x:1", "--base-image", "localhost/nope:1",
                            "--builder", "podman"], env=podman_env.env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("base image 'localhost/nope:1' is not in podman's local images", podman_env.one_line(r.stderr))
        print(f"\nmissing base image reported after {time.monotonic() - start:.1f} s", file=sys.stderr)

    def test_a_folder_without_models_is_one_line(self):
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty, exist_ok=True)
        r = subprocess.run([self.bin, "build", empty, "-t", "localhost/x:1", "--builder", "podman"],
                           env=podman_env.env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("holds no model-settings.json", podman_env.one_line(r.stderr))

    def python_folder(self, name, requirements, environment=None):
        d = os.path.join(self.tmp, name)
        shutil.copytree(os.path.join(self.folder, "echo"), os.path.join(d, "echo"))
        with open(os.path.join(d, "requirements.txt"), "w") as f:
            f.write(requirements)
        if environment:
            with open(os.path.join(d, "environment.yaml"), "w") as f:
                f.write(environment)
        return d

    def test_requirements_and_a_conda_environment_are_installed_with_pip(self):
        # Offline: pip is satisfied by what python3-pip brings (setuptools, wheel) without an index.
        d = self.python_folder("py-ok", "setuptools\n", "dependencies:\n  - python=3.11\n  - pip:\n      - wheel\n")
        tag = "localhost/ringserve-e2e-pip:test"
        r = subprocess.run([self.bin, "build", d, "-t", tag, "--base-image", self.base, "--builder", "podman",
                            "--network", "host"], env=podman_env.env(), capture_output=True, text=True, timeout=1800)
        self.addCleanup(podman_env.podman, "rmi", "-f", tag, check=False)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        self.assertIn("Requirement already satisfied: setuptools", r.stdout + r.stderr)
        self.assertIn("Requirement already satisfied: wheel", r.stdout + r.stderr)

    def test_a_requirement_no_index_has_fails_with_pips_message(self):
        d = self.python_folder("py-missing", "ringserve-no-such-package==1.0\n")
        r = subprocess.run([self.bin, "build", d, "-t", "localhost/x:1", "--base-image", self.base, "--builder", "podman",
                            "--network", "host"], env=podman_env.env(), capture_output=True, text=True, timeout=1800)
        self.assertEqual(r.returncode, 1)
        self.assertIn("ERROR: ", r.stdout + r.stderr)  # pip's own
        self.assertIn("ringserve-no-such-package", r.stdout + r.stderr)
        self.assertTrue(r.stderr.rstrip().endswith("its output is above"), r.stderr[-500:])

    def test_a_failing_build_step_is_reported_after_the_builders_output(self):
        broken = os.path.join(self.tmp, "broken")
        shutil.copytree(os.path.join(self.folder, "echo"), os.path.join(broken, "echo"))
        os.makedirs(os.path.join(broken, "runtimes", "bad"))
        with open(os.path.join(broken, "runtimes", "bad", "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.25)\nproject(bad CXX)\nmessage(FATAL_ERROR \"deliberately broken\")\n")
        r = subprocess.run([self.bin, "build", broken, "-t", "localhost/x:1", "--base-image", self.base, "--builder",
                            "podman", "--network", "host"], env=podman_env.env(), capture_output=True, text=True,
                           timeout=1800)
        self.assertEqual(r.returncode, 1)
        self.assertIn("deliberately broken", r.stdout + r.stderr)
        self.assertTrue(r.stderr.rstrip().endswith("its output is above"), r.stderr[-500:])


if __name__ == "__main__":
    reason = podman_env.missing()
    if reason:
        print(f"SKIP: {reason}")
        sys.exit(77)
    unittest.main()
