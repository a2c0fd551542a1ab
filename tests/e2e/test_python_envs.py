"""Python environments (issue 12), end to end: two custom runtimes on two CPython versions (pyenv's
builds with a shared libpython, found at test time) served by one `ringserve start` under load
together, each answering with its `sys.version`; the same model from a tarball made by
`ringserve pack-env --python`; a mismatched environment refused with both versions named while the
others serve; an MLServer-layout tarball (lib/python3.11/site-packages only) whose runtime imports a
package only the tarball has, on the worker's own Python.

Needs the Python host (libringserve_python.so in the built-in runtime folder) and skips, saying
so, without it or with fewer than two pyenv CPython minors.
"""
import glob
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ringserve_fixture import BIN, Server, run_threads  # noqa: E402

HOST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(BIN))), "lib", "ringserve", "runtimes",
                    "libringserve_python.so")

VERSION_MODEL = '''
import sys
from mlserver import MLModel
from mlserver.types import InferenceResponse, ResponseOutput


class VersionModel(MLModel):
    async def load(self):
        return True

    async def predict(self, payload):
        return InferenceResponse(model_name=self.name, outputs=[
            ResponseOutput(name="version", shape=[1], datatype="BYTES", data=[sys.version]),
            ResponseOutput(name="prefix", shape=[1], datatype="BYTES", data=[sys.prefix])])
'''

ONLYHERE_MODEL = '''
import onlyhere_pkg
import sys
import yaml
from mlserver import MLModel
from mlserver.types import InferenceResponse, ResponseOutput


class OnlyHere(MLModel):
    async def load(self):
        return True

    async def predict(self, payload):
        return InferenceResponse(model_name=self.name, outputs=[
            ResponseOutput(name="where", shape=[1], datatype="BYTES", data=[onlyhere_pkg.WHERE + " " + onlyhere_pkg.__file__]),
            ResponseOutput(name="version", shape=[1], datatype="BYTES", data=[sys.version]),
            ResponseOutput(name="yaml", shape=[1], datatype="BYTES", data=[getattr(yaml, "WHERE", yaml.__file__)])])
'''


def pyenv_pythons():
    """minor -> prefix of each pyenv CPython 3.8+ that has a shared libpython."""
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        root = os.path.expanduser("~/.pyenv")
    out = {}
    for prefix in sorted(glob.glob(os.path.join(root or os.path.expanduser("~/.pyenv"), "versions", "3.*.*"))):
        m = re.fullmatch(r"3\.(\d+)\.\d+", os.path.basename(prefix))
        if m and int(m.group(1)) >= 8 and os.path.exists(os.path.join(prefix, "lib", f"libpython3.{m.group(1)}.so.1.0")):
            out[int(m.group(1))] = prefix
    return out


def output(resp, name):
    body = resp.json()
    for o in body.get("outputs", []):
        if o["name"] == name:
            return o["data"][0]
    raise AssertionError(f"no output {name} in {body}")


def version_model(name, **params):
    return {"name": name, "implementation": "version_model.VersionModel", "parameters": params}


class PythonEnvironmentsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(HOST):
            raise unittest.SkipTest(f"the Python host is not built ({HOST} is missing)")
        found = pyenv_pythons()
        if len(found) < 2:
            raise unittest.SkipTest(f"needs two pyenv CPython minors with a shared libpython, found {sorted(found)}")
        # Two minors far apart, preferring 3.10 and 3.12 (neither is the worker's own 3.11).
        picks = [m for m in (10, 12) if m in found] or sorted(found)[:2]
        if len(picks) < 2:
            picks = sorted(set(picks) | set(sorted(found)[:2]))[:2]
        cls.minors = picks
        cls.prefix = {m: found[m] for m in picks}
        cls.tmp = tempfile.mkdtemp(prefix="ringserve-pyenv-")
        cls.model_py = os.path.join(cls.tmp, "version_model.py")
        with open(cls.model_py, "w") as f:
            f.write(VERSION_MODEL)

    def files_for(self, *names):
        return {f"{n}/version_model.py": self.model_py for n in names}

    def test_two_pythons_side_by_side_under_load_then_one_from_a_packed_tarball(self):
        a, b = self.minors
        models = {f"py{a}": version_model(f"py{a}", environment_path=self.prefix[a]),
                  f"py{b}": version_model(f"py{b}", environment_path=self.prefix[b])}
        s = Server(models=models, copy_examples=False, files=self.files_for(*models),
                   settings={"parallel_workers": 1, "environments_dir": os.path.join(self.tmp, "envs1")})
        try:
            def hammer(i):
                minor = (a, b)[i % 2]
                seen = set()
                for _ in range(40):
                    r = s.infer(f"py{minor}", [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}])
                    self.assertEqual(r.status_code, 200, r.text)
                    seen.add((output(r, "version").split()[0], output(r, "prefix")))
                return minor, seen

            for minor, seen in run_threads(8, hammer):
                self.assertEqual(len(seen), 1, seen)
                version, prefix = seen.pop()
                self.assertTrue(version.startswith(f"3.{minor}."), version)
                self.assertEqual(prefix, self.prefix[minor])
        finally:
            s.stop()
            s.cleanup()

        tarball = os.path.join(self.tmp, f"py{b}.tar.gz")
        r = subprocess.run([BIN, "pack-env", "--python", self.prefix[b], "-o", tarball], capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"pack-env: Python 3.{b} (cp3{b}): interpreter", r.stderr)
        envs = os.path.join(self.tmp, "envs2")
        s = Server(models={"packed": version_model("packed", environment_tarball=tarball)}, copy_examples=False,
                   files=self.files_for("packed"), settings={"environments_dir": envs})
        try:
            r = s.infer("packed", [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}])
            self.assertEqual(r.status_code, 200, r.text)
            self.assertTrue(output(r, "version").startswith(f"3.{b}."), r.text)
            self.assertTrue(output(r, "prefix").startswith(os.path.realpath(envs)), r.text)
        finally:
            s.stop()
            s.cleanup()

    def test_a_mismatched_environment_is_refused_naming_both_versions_while_the_others_serve(self):
        a, b = self.minors
        bad = os.path.join(self.tmp, "mismatch")
        lib = os.path.join(bad, "lib")
        os.makedirs(os.path.join(lib, f"python3.{b}", "site-packages", "fast"), exist_ok=True)
        if not os.path.exists(os.path.join(lib, f"libpython3.{b}.so.1.0")):
            os.symlink(os.path.join(self.prefix[b], "lib", f"libpython3.{b}.so.1.0"),
                       os.path.join(lib, f"libpython3.{b}.so.1.0"))
        open(os.path.join(lib, f"python3.{b}", "os.py"), "w").close()
        # An extension module built for the other Python.
        open(os.path.join(lib, f"python3.{b}", "site-packages", "fast", f"_c.cpython-3{a}-x86_64-linux-gnu.so"),
             "w").close()
        models = {"good": version_model("good", environment_path=self.prefix[a]),
                  "bad": version_model("bad", environment_path=bad)}
        s = Server(models=models, copy_examples=False, files=self.files_for(*models), wait_ready=False,
                   settings={"environments_dir": os.path.join(self.tmp, "envs3")})
        try:
            s.wait_ready(model="good")
            index = {m["name"]: m for m in s.post("/v2/repository/index", json={}).json()}
            self.assertEqual(index["bad"]["state"], "UNAVAILABLE", index["bad"])
            reason = index["bad"]["reason"]
            self.assertIn(f"runs on Python 3.{b}", reason)
            self.assertIn(f"for CPython 3.{a}", reason)
            self.assertNotIn("\n", reason)
            r = s.infer("good", [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}])
            self.assertEqual(r.status_code, 200, r.text)
            self.assertTrue(output(r, "version").startswith(f"3.{a}."))
            r = s.infer("bad", [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}])
            self.assertIn(r.status_code, (400, 503), r.text)
            self.assertIn("error", r.json())
        finally:
            s.stop()
            s.cleanup()

    def test_an_mlserver_layout_tarball_brings_a_package_only_it_has(self):
        tarball = os.path.join(self.tmp, "pkgs.tar.gz")
        with tarfile.open(tarball, "w:gz") as t:
            src = os.path.join(self.tmp, "onlyhere_pkg.py")
            with open(src, "w") as f:
                f.write("WHERE = 'from the tarball'\n")
            t.add(src, arcname="lib/python3.11/site-packages/onlyhere_pkg/__init__.py")
            # A package the system has too (Debian's python3-yaml): the tarball's comes first.
            yaml_src = os.path.join(self.tmp, "yaml_pkg.py")
            with open(yaml_src, "w") as f:
                f.write("WHERE = 'the tarball yaml'\n")
            t.add(yaml_src, arcname="lib/python3.11/site-packages/yaml/__init__.py")
            # MLServer's own mlserver inside the tarball: ringserve's compatible one shadows it.
            mls_src = os.path.join(self.tmp, "mlserver_pkg.py")
            with open(mls_src, "w") as f:
                f.write("raise ImportError('the environment\\'s own mlserver was imported')\n")
            t.add(mls_src, arcname="lib/python3.11/site-packages/mlserver/__init__.py")
        model_py = os.path.join(self.tmp, "onlyhere_model.py")
        with open(model_py, "w") as f:
            f.write(ONLYHERE_MODEL)
        envs = os.path.join(self.tmp, "envs4")
        s = Server(models={"mls": {"name": "mls", "implementation": "onlyhere_model.OnlyHere",
                                   "parameters": {"environment_tarball": tarball}}},
                   copy_examples=False, files={"mls/onlyhere_model.py": model_py}, settings={"environments_dir": envs})
        try:
            r = s.infer("mls", [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}])
            self.assertEqual(r.status_code, 200, r.text)
            where = output(r, "where")
            self.assertTrue(where.startswith("from the tarball " + os.path.realpath(envs)), where)
            self.assertTrue(output(r, "version").startswith("3.11."))
            self.assertEqual(output(r, "yaml"), "the tarball yaml")
        finally:
            s.stop()
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
