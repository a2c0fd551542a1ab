"""`ringserve dockerfile`: the real binary on fixture folders (files written, staged installation,
bad cases as one line and exit 1), and every Dockerfile the project ships or writes through the
syntax check. Needs no image builder."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import dockerfile_syntax

BIN = os.environ["RINGSERVE_BIN"]
BUILD_DIR = os.environ["RINGSERVE_BUILD_DIR"]
SOURCE_DIR = os.environ["RINGSERVE_SOURCE_DIR"]
HERE = os.path.dirname(os.path.abspath(__file__))
FOLDERS = os.path.join(HERE, "folders")
GOLDEN = os.path.join(HERE, "golden")


def version():
    out = subprocess.run([BIN, "--version"], capture_output=True, text=True, check=True).stdout
    return out.split()[1]


def run(bin_path, *args):
    return subprocess.run([bin_path, *args], capture_output=True, text=True, timeout=120)


class DockerfileSyntaxCheckerTest(unittest.TestCase):
    """The checker itself: it must reject what the reference rejects, or it proves nothing."""

    GOOD = "# syntax=docker/dockerfile:1\nARG B=x\nFROM ${B} AS a\nRUN true\nFROM a\nCOPY --from=a /x /y\nCMD [\"x\"]\n"

    def test_accepts_a_valid_file(self):
        self.assertEqual(dockerfile_syntax.check(self.GOOD), [])

    def test_rejects_each_kind_of_mistake(self):
        bad = {
            "FORM debian\n": "unknown instruction",
            "RUN true\nFROM debian\n": "before the first FROM",
            "FROM ${NOPE}\n": "not an ARG declared",
            "FROM debian\nCOPY --from=nostage /a /b\n": "names no earlier stage",
            "FROM debian\nCOPY --own=1 /a /b\n": "has no flag --own",
            "FROM debian\nCMD [\"a\",]\n": "not valid JSON",
            "FROM debian\nEXPOSE http\n": "not a port",
            "FROM debian\nHEALTHCHECK --interval=ten CMD true\n": "not a duration",
            "FROM debian\nHEALTHCHECK --interval=10s\n": "HEALTHCHECK takes",
            "FROM debian AS x\nFROM debian AS x\n": "used twice",
            "FROM debian\nUSER a b\n": "takes one argument",
            "FROM debian\nCOPY onlyone\n": "source and a destination",
            "ARG X\n": "no FROM",
        }
        for text, expected in bad.items():
            problems = dockerfile_syntax.check(text)
            self.assertTrue(any(expected in p for p in problems), f"{text!r}: {problems}")


class DockerfileCommandTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ringserve-dockerfile-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def folder(self, name):
        dst = os.path.join(self.tmp, name)
        shutil.copytree(os.path.join(FOLDERS, name), dst)
        return dst

    def golden(self, name):
        with open(os.path.join(GOLDEN, name)) as f:
            return f.read().replace("@VERSION@", version())

    def read(self, *parts):
        with open(os.path.join(*parts)) as f:
            return f.read()

    def test_writes_the_dockerfile_and_with_i_the_dockerignore(self):
        d = self.folder("cpp")
        r = run(BIN, "dockerfile", d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.read(d, "Dockerfile"), self.golden("cpp.Dockerfile"))
        self.assertFalse(os.path.exists(os.path.join(d, ".dockerignore")))
        r = run(BIN, "dockerfile", d, "-i")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.read(d, ".dockerignore"), self.golden("dockerignore"))
        self.assertIn("wrote", r.stdout)

    def test_a_ringserve_base_image_is_used_as_is(self):
        d = self.folder("python")
        r = run(BIN, "dockerfile", d, "--base-image", "registry.example/team/ringserve:9")
        self.assertEqual(r.returncode, 0, r.stderr)
        text = self.read(d, "Dockerfile")
        self.assertIn("ARG BASE_IMAGE=registry.example/team/ringserve:9\n", text)
        self.assertNotIn(".ringserve/", text.replace("/models/.ringserve", ""))
        self.assertFalse(os.path.exists(os.path.join(d, ".ringserve")))

    def test_a_folder_without_models_is_one_line_and_exit_1(self):
        d = self.folder("empty")
        r = run(BIN, "dockerfile", d)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("holds no model-settings.json", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "Dockerfile")))

    def test_a_broken_model_settings_is_one_line_and_exit_1(self):
        d = self.folder("plain")
        with open(os.path.join(d, "echo", "model-settings.json"), "w") as f:
            f.write('{"name": "echo", "implementation": ')
        r = run(BIN, "dockerfile", d)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("echo/model-settings.json: not valid JSON", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "Dockerfile")))

    def test_the_builtin_python_runtimes_libraries_are_installed_only_when_named(self):
        d = self.folder("builtin-python")
        r = run(BIN, "dockerfile", d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("/opt/ringserve/share/ringserve/apt-install.sh \\\n    /opt/ringserve/share/ringserve/python-sklearn-packages.txt \\\n"
                      "    /opt/ringserve/share/ringserve/python-xgboost-packages.txt\n", self.read(d, "Dockerfile"))
        d = self.folder("plain")
        self.assertEqual(run(BIN, "dockerfile", d).returncode, 0)
        self.assertNotIn("python-", self.read(d, "Dockerfile"))

    def test_a_missing_folder_is_one_line_and_exit_1(self):
        r = run(BIN, "dockerfile", os.path.join(self.tmp, "nope"))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("is not a folder", r.stderr)

    def test_a_debian_base_from_a_build_tree_says_to_install_first(self):
        d = self.folder("plain")
        r = run(BIN, "dockerfile", d, "--base-image", "debian:12-slim")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("is not a ringserve installation", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "Dockerfile")))

    def test_a_debian_base_stages_the_running_installation(self):
        prefix = os.path.join(self.tmp, "prefix")
        subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", prefix], check=True, capture_output=True)
        d = self.folder("plain")
        r = run(os.path.join(prefix, "bin", "ringserve"), "dockerfile", d, "--base-image", "localhost/debian:12-local")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.read(d, "Dockerfile"), self.golden("plain-debian.Dockerfile"))
        stage = os.path.join(d, ".ringserve")
        for part in ("bin/ringserve", "bin/ringserve-worker", "share/ringserve/image-setup.sh",
                     "lib/cmake/ringserve/ringserveConfig.cmake", "include/ringserve/ringserve.hpp",
                     "lib/ringserve/runtimes/echo.so"):
            self.assertTrue(os.path.exists(os.path.join(stage, part)), part)
        if os.path.exists(os.path.join(BUILD_DIR, "lib", "ringserve", "runtimes", "libringserve_python.so")):
            # The Python host and its packages travel with the installation (image-setup.sh then
            # installs python-runtime-packages.txt).
            for part in ("lib/ringserve/runtimes/libringserve_python.so", "lib/ringserve/runtimes/libringserve_python_core.so",
                         "lib/ringserve/python/mlserver/__init__.py", "lib/ringserve/python/ringserve_host/runner.py",
                         "lib/ringserve/python/mlserver_sklearn/sklearn.py", "share/ringserve/python-runtime-packages.txt"):
                self.assertTrue(os.path.exists(os.path.join(stage, part)), part)
        for exe in ("bin/ringserve", "bin/ringserve-worker", "share/ringserve/image-setup.sh"):
            self.assertTrue(os.access(os.path.join(stage, exe), os.X_OK), exe)
        # Writing it again replaces the staged copy rather than nesting or failing.
        r = run(os.path.join(prefix, "bin", "ringserve"), "dockerfile", d, "--base-image", "localhost/debian:12-local")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(stage, ".ringserve")))


class CondaToRequirementsTest(unittest.TestCase):
    """share/conda-to-requirements.py, which images run on a conda-style environment file."""

    SCRIPT = os.path.join(SOURCE_DIR, "supervisor", "image", "share", "conda-to-requirements.py")

    def convert(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
        try:
            return subprocess.run(["/usr/bin/python3", self.SCRIPT, f.name], capture_output=True, text=True, timeout=60)
        finally:
            os.unlink(f.name)

    def test_conda_specs_become_pip_specs(self):
        with open(os.path.join(FOLDERS, "python", "environment.yaml")) as f:
            r = self.convert(f.read())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), ["numpy==1.24.*", "joblib==1.2.0"])
        r = self.convert("dependencies:\n  - conda-forge::scipy>=1.10\n  - pandas==2.0.1\n  - requests\n  - pip\n")
        self.assertEqual(r.stdout.splitlines(), ["scipy>=1.10", "pandas==2.0.1", "requests"])

    def test_bad_files_are_one_line_errors(self):
        for text, expected in (("- a\n- b\n", "is not a mapping"), ("dependencies:\n  - 'x y z'\n", "cannot read dependency")):
            r = self.convert(text)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(expected, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class RootDockerfileCopiesTest(unittest.TestCase):
    def test_every_folder_the_top_level_cmakelists_adds_is_copied_into_the_build_stage(self):
        with open(os.path.join(SOURCE_DIR, "CMakeLists.txt")) as f:
            cmake = f.read()
        with open(os.path.join(SOURCE_DIR, "Dockerfile")) as f:
            dockerfile = f.read()
        folders = set(re.findall(r"^add_subdirectory\((\w+)\)", cmake, re.M))
        for listed in re.findall(r"^foreach\(dir ([\w ]+)\)", cmake, re.M):
            folders |= set(listed.split())
        folders -= {"tests", "bench"}  # not built in the image (RINGSERVE_BUILD_TESTS/BENCH=OFF)
        self.assertIn("supervisor", folders)
        copied = set(re.findall(r"^COPY (\w+) /src/\1$", dockerfile, re.M))
        for folder in folders:
            if os.path.isdir(os.path.join(SOURCE_DIR, folder)):
                self.assertIn(folder, copied, f"the Dockerfile's build stage does not copy {folder}/")


class ShippedScriptsTest(unittest.TestCase):
    def test_every_share_file_a_golden_dockerfile_names_is_shipped(self):
        share = os.path.join(SOURCE_DIR, "supervisor", "image", "share")
        named = set()
        for f in os.listdir(GOLDEN):
            with open(os.path.join(GOLDEN, f)) as g:
                named |= set(re.findall(r"/opt/ringserve/share/ringserve/([\w.-]+)", g.read()))
        self.assertIn("python-sklearn-packages.txt", named)
        for name in named:
            self.assertTrue(os.path.isfile(os.path.join(share, name)), name)

    def test_package_lists_name_debian_packages_only(self):
        share = os.path.join(SOURCE_DIR, "supervisor", "image", "share")
        for name in sorted(os.listdir(share)):
            if not name.endswith("packages.txt"):
                continue
            with open(os.path.join(share, name)) as f:
                lines = [l.strip() for l in f if l.strip() and not l.startswith("#")]
            self.assertTrue(lines, name)
            for line in lines:
                self.assertRegex(line, r"^(stub )?[a-z0-9][a-z0-9.+-]+$", name)


class ShippedDockerfilesParseTest(unittest.TestCase):
    def test_golden_files_and_the_repository_dockerfile_are_valid(self):
        files = [os.path.join(GOLDEN, f) for f in sorted(os.listdir(GOLDEN)) if f.endswith(".Dockerfile")]
        root = os.path.join(SOURCE_DIR, "Dockerfile")
        if os.path.exists(root):
            files.append(root)
        self.assertGreaterEqual(len(files), 5)
        for path in files:
            with open(path) as f:
                self.assertEqual(dockerfile_syntax.check(f.read()), [], path)


if __name__ == "__main__":
    unittest.main()
