"""The repository's Dockerfile (label `image-root`, run once by .ci/run): builds ringserve from
source into ringserve:<version> on the local Debian base, then `ringserve build` of the examples
on that default base (no staging: the image already holds ringserve, its SDK and the Python
host) serves them, the Python examples included, as user 1000 and under an arbitrary UID. Prints the cold and cached build times and the sizes.
Skips (exit 77) where podman cannot run."""
import os
import subprocess
import sys
import tempfile
import shutil
import time
import unittest

import requests

import podman_env

BIN = os.environ.get("RINGSERVE_BIN", "")
SOURCE_DIR = os.environ.get("RINGSERVE_SOURCE_DIR", "")
TEST_RUNTIMES = os.environ.get("RINGSERVE_TEST_RUNTIMES", "")
EXAMPLES_TAG = "localhost/ringserve-root-examples:test"


def version():
    return subprocess.run([BIN, "--version"], capture_output=True, text=True, check=True).stdout.split()[1]


class RootDockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ringserve-root-image-")
        cls.base = podman_env.ensure_base()
        cls.tag = f"localhost/ringserve:{version()}"

        def build_root(tag=cls.tag, *args):
            start = time.monotonic()
            r = podman_env.podman("build", "--format", "docker", "--pull=never", "--network", "host",
                                  "--build-arg", f"DEBIAN_IMAGE={cls.base}", *args, "-t", tag,
                                  "-f", os.path.join(SOURCE_DIR, "Dockerfile"), SOURCE_DIR, check=False, timeout=3600)
            assert r.returncode == 0, f"podman build of the repository failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
            return time.monotonic() - start

        first, cached = build_root(), build_root()
        # The full variant (deploy/kserve's image): only the last layers differ.
        cls.full_tag = cls.tag + "-full"
        full = build_root(cls.full_tag, "--build-arg", "PYTHON_RUNTIMES=sklearn xgboost")
        cls.folder = podman_env.examples_folder(cls.tmp, TEST_RUNTIMES)
        start = time.monotonic()
        r = subprocess.run([BIN, "build", cls.folder, "-t", EXAMPLES_TAG, "--builder", "podman", "--network", "host"],
                           env=podman_env.env(), capture_output=True, text=True, timeout=1800)
        examples = time.monotonic() - start
        assert r.returncode == 0, f"ringserve build failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
        print(f"\nrepository Dockerfile: {first:.0f} s (cold when the layer cache is empty, as in CI), "
              f"{cached:.1f} s cached; {cls.tag} {podman_env.image_size(cls.tag) / 1e6:.0f} MB beside "
              f"{cls.base} {podman_env.image_size(cls.base) / 1e6:.0f} MB; ringserve build of the examples on it "
              f"{examples:.1f} s, {podman_env.image_size(EXAMPLES_TAG) / 1e6:.0f} MB; {cls.full_tag} {full:.1f} s, "
              f"{podman_env.image_size(cls.full_tag) / 1e6:.0f} MB", file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def serve(self, *args, **kw):
        c = podman_env.Container(EXAMPLES_TAG, *args, **kw)
        self.addCleanup(c.close)
        c.wait_ready()
        return c

    def check_models(self, c):
        r = c.infer("matmul", {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["outputs"][0]["data"], [-1, 7])  # version 2 is the default
        r = c.infer("scaler", {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [2]}]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["outputs"][0]["data"], [6])

    def test_the_image_serves_the_examples_as_user_1000(self):
        c = self.serve()
        self.assertEqual(podman_env.podman("exec", c.name, "id", "-u").stdout.strip(), "1000")
        self.check_models(c)
        # The Python host the build stage compiled (python3-dev), on the image's Python; iris's
        # scikit-learn was added by the examples' own image.
        podman_env.check_python_examples(self, c, self.folder)
        self.assertEqual(requests.get(c.url + "/v2", timeout=5).json()["name"], "from-folder")

    def test_the_image_serves_under_an_arbitrary_uid(self):
        c = self.serve("--user", "4242:0")
        self.check_models(c)
        r = podman_env.podman("exec", c.name, "ringserve", "ctl", "list", check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_the_image_holds_the_sdk_and_no_build_tools(self):
        files = ["/opt/ringserve/include/ringserve/ringserve.hpp", "/opt/ringserve/lib/cmake/ringserve/ringserveConfig.cmake",
                 "/opt/ringserve/lib/ringserve/runtimes/echo.so", "/opt/ringserve/lib/ringserve/runtimes/libringserve_python.so",
                 "/opt/ringserve/lib/ringserve/runtimes/libringserve_python_core.so",
                 "/opt/ringserve/lib/ringserve/python/mlserver/__init__.py",
                 "/opt/ringserve/lib/ringserve/python/ringserve_host/runner.py"]
        # The Python runtime packages but neither the headers nor scikit-learn (images of folders
        # that use mlserver_sklearn add it).
        r = podman_env.podman("run", "--rm", "--network", "host", "--entrypoint", "sh", self.tag, "-c",
                              "ls " + " ".join(files) + " && ! command -v c++ && ! command -v cmake"
                              " && python3 -c 'import numpy' && ! ls /usr/include/python3.11/Python.h"
                              " && ! python3 -c 'import sklearn'")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


    def test_the_full_image_has_the_builtin_python_runtimes_libraries(self):
        r = podman_env.podman("run", "--rm", "--network", "host", "--entrypoint", "python3", self.full_tag, "-c",
                              "import sklearn, joblib, xgboost, shutil; print(shutil.which('g++'))", check=False)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "None"), r.stderr)

    def test_image_setup_refuses_an_unknown_python_runtime(self):
        r = podman_env.podman("run", "--rm", "--network", "host", "--user", "0", "--entrypoint",
                              "/opt/ringserve/share/ringserve/image-setup.sh", self.tag, "torch", check=False)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("no built-in Python runtime 'torch'", r.stderr)


if __name__ == "__main__":
    reason = podman_env.missing()
    if reason:
        print(f"SKIP: {reason}")
        sys.exit(77)
    unittest.main()
