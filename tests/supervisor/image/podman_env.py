"""A private podman for the image tests, set up the way that works on these machines: runc (crun
fails on hybrid cgroups), cgroupfs, host networking, open-file limits from this host, overlay
storage in the build tree, and a local Debian 12 base (tools/debian-base.sh, cached as a tar in
the build tree) imported as localhost/debian:12-local. Nothing outside RINGSERVE_IMAGE_STATE is
touched, and no registry is contacted (builds use --pull=never)."""
import fcntl
import json
import os
import resource
import shutil
import socket
import subprocess
import time

import requests

STATE = os.environ.get("RINGSERVE_IMAGE_STATE", "")
SOURCE_DIR = os.environ.get("RINGSERVE_SOURCE_DIR", "")
BASE_IMAGE = "localhost/debian:12-local"


def missing():
    """Why the podman suite cannot run here, or None."""
    for tool in ("podman", "runc"):
        if not shutil.which(tool):
            return f"{tool} is not installed (tools/setup.sh image installs it)"
    if os.geteuid() != 0:
        return "the podman suite runs as root (rootful podman, overlay storage in the build tree)"
    tar = os.path.join(STATE, "debian-12-minbase.tar")
    if not os.path.exists(tar) and not shutil.which("debootstrap"):
        return "debootstrap is not installed and no cached base tar exists (tools/setup.sh image)"
    return None


def env():
    """os.environ plus the private podman configuration (written on first use)."""
    os.makedirs(STATE, exist_ok=True)
    conf = os.path.join(STATE, "containers.conf")
    storage = os.path.join(STATE, "storage.conf")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with open(conf, "w") as f:
        f.write("[containers]\n"
                f'default_ulimits = ["nofile={hard}:{hard}", "nproc=4096:4096"]\n'
                "[engine]\n"
                'runtime = "runc"\n'
                'cgroup_manager = "cgroupfs"\n'
                'events_logger = "file"\n')
    with open(storage, "w") as f:
        f.write("[storage]\n"
                'driver = "overlay"\n'
                f'graphroot = "{STATE}/storage"\n'
                f'runroot = "{STATE}/run"\n')
    e = dict(os.environ)
    # Build cache mounts (the repository's Dockerfile keeps ccache's files in one) live under
    # $TMPDIR/buildah-cache: in the build tree, so they last as long as the podman storage.
    e["TMPDIR"] = os.path.join(STATE, "tmp")
    os.makedirs(e["TMPDIR"], exist_ok=True)
    e["CONTAINERS_CONF"] = conf
    e["CONTAINERS_STORAGE_CONF"] = storage
    return e


def podman(*args, check=True, timeout=600, **kw):
    return subprocess.run(["podman", *args], env=env(), capture_output=True, text=True, check=check,
                          timeout=timeout, **kw)


def ensure_base():
    """The local Debian base image, made once and cached (the tar survives `podman system reset`)."""
    os.makedirs(STATE, exist_ok=True)
    with open(os.path.join(STATE, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if podman("image", "exists", BASE_IMAGE, check=False).returncode == 0:
            return BASE_IMAGE
        tar = os.path.join(STATE, "debian-12-minbase.tar")
        if not os.path.exists(tar):
            subprocess.run(["bash", os.path.join(SOURCE_DIR, "tools", "debian-base.sh"), tar], check=True, timeout=900)
        podman("import", tar, BASE_IMAGE)
    return BASE_IMAGE


def image_size(image):
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())


def examples_folder(tmp, test_runtimes):
    """A copy of examples/models (its Python examples included) plus a C++ runtime for the image to build against its SDK (the
    SDK's out-of-tree example, model `scaler`), a prebuilt runtime shipped in its model folder
    (model `slow`, tests/e2e's misbehave.so), and a settings.json (the image's defaults)."""
    folder = os.path.join(tmp, "models")
    # iris/model.joblib is trained, not committed; tools/test.sh makes it, as this does (when up to date, nothing).
    subprocess.run(["bash", os.path.join(SOURCE_DIR, "tools", "prepare_examples.sh")], check=True, timeout=300)
    shutil.copytree(os.path.join(SOURCE_DIR, "examples", "models"), folder)
    shutil.copytree(os.path.join(SOURCE_DIR, "tests", "sdk", "out_of_tree"), os.path.join(folder, "runtimes", "scaler"))
    os.makedirs(os.path.join(folder, "scaler"))
    with open(os.path.join(folder, "scaler", "model-settings.json"), "w") as f:
        json.dump({"name": "scaler", "implementation": "models.MyCustomRuntime", "parameters": {"uri": "./scale.txt"}}, f)
    with open(os.path.join(folder, "scaler", "scale.txt"), "w") as f:
        f.write("3\n")
    os.makedirs(os.path.join(folder, "slow"))
    shutil.copy(os.path.join(test_runtimes, "misbehave.so"), os.path.join(folder, "slow"))
    with open(os.path.join(folder, "slow", "model-settings.json"), "w") as f:
        json.dump({"name": "slow", "implementation": "misbehave.Misbehave"}, f)
    with open(os.path.join(folder, "settings.json"), "w") as f:
        json.dump({"server_name": "from-folder", "parallel_workers": 1}, f)
    return folder


def check_python_examples(test, c, folder):
    """echo-py, qa-py and iris answer in container `c` as they do on this machine: qa-py scores
    like the C++ qa example of the same image, and iris predicts what its model file predicts
    with this machine's scikit-learn (the same Debian package the image installs)."""
    data = [0.5, -1.25, 3.0, 4.0]
    r = c.infer("echo-py", {"inputs": [{"name": "input0", "shape": [1, 4], "datatype": "FP32", "data": data}]})
    test.assertEqual(r.status_code, 200, r.text)
    out = r.json()["outputs"][0]
    test.assertEqual((out["shape"], out["datatype"], out["data"]), ([1, 4], "FP32", data))

    qa = [{"name": "questions", "shape": [2], "datatype": "BYTES",
           "data": ["what is the capital of france", "zebra?"]},
          {"name": "context", "shape": [1], "datatype": "BYTES", "data": ["Paris is the capital of France"]}]
    py, cpp = c.infer("qa-py", {"inputs": qa}), c.infer("qa", {"inputs": qa})
    test.assertEqual(py.status_code, 200, py.text)
    test.assertEqual(cpp.status_code, 200, cpp.text)
    py_out, cpp_out = py.json()["outputs"][0], cpp.json()["outputs"][0]
    test.assertEqual((py_out["name"], py_out["datatype"], py_out["shape"]), ("output-0", "FP32", [2, 1]))
    test.assertEqual(len(py_out["data"]), len(cpp_out["data"]))
    for a, b in zip(py_out["data"], cpp_out["data"]):
        test.assertAlmostEqual(a, b, places=5)
    test.assertGreater(py_out["data"][0], 0)

    import joblib  # this machine's scikit-learn (tools/setup.sh python)
    from sklearn.datasets import load_iris
    X, _ = load_iris(return_X_y=True)
    rows = X[::30]
    model = joblib.load(os.path.join(folder, "iris", "model.joblib"))
    body = {"inputs": [{"name": "x", "shape": list(rows.shape), "datatype": "FP64", "data": rows.ravel().tolist()}],
            "outputs": [{"name": "predict"}, {"name": "predict_proba"}]}
    r = c.infer("iris", body)
    test.assertEqual(r.status_code, 200, r.text)
    outs = {o["name"]: o for o in r.json()["outputs"]}
    test.assertEqual(outs["predict"]["data"], model.predict(rows).tolist())
    test.assertEqual(outs["predict_proba"]["shape"], [len(rows), 3])
    for a, b in zip(outs["predict_proba"]["data"], model.predict_proba(rows).ravel().tolist()):
        test.assertAlmostEqual(a, b, places=9)
    # A wrong feature count is scikit-learn's own 400.
    r = c.infer("iris", {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]})
    test.assertEqual(r.status_code, 400, r.text)
    test.assertIn("features", r.json()["error"])


def python_models(folder):
    """The Python example models of examples/models (folders named *-py, and iris)."""
    return sorted(d for d in os.listdir(folder) if d.endswith("-py") or d == "iris")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_line(stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    return lines[-1] if len(lines) == 1 else f"<{len(lines)} lines>: {stderr}"


class Container:
    """A `podman run -d --network host` of the test image on free ports; removed on close()."""

    def __init__(self, image, *run_args, env=None):
        self.http, self.metrics, self.grpc = free_port(), free_port(), free_port()
        self.name = f"ringserve-e2e-{os.getpid()}-{self.http}"
        envs = {"RINGSERVE_HTTP_PORT": self.http, "RINGSERVE_METRICS_PORT": self.metrics,
                "MLSERVER_GRPC_PORT": self.grpc, **(env or {})}
        args = ["run", "-d", "--name", self.name, "--network", "host", "--no-healthcheck", *run_args]
        for k, v in envs.items():
            args += ["-e", f"{k}={v}"]
        podman(*args, image)
        self.url = f"http://127.0.0.1:{self.http}"

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/v2/health/ready", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            state = podman("inspect", "--format", "{{.State.Status}}", self.name).stdout.strip()
            if state not in ("running", "created", "configured"):
                raise AssertionError(f"container {state}: {self.logs()}")
            time.sleep(0.2)
        raise AssertionError(f"not ready within {timeout} s: {self.logs()}")

    def infer(self, model, body, version=None):
        path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"
        return requests.post(self.url + path, json=body, timeout=30)

    def logs(self):
        return podman("logs", self.name, check=False).stdout + podman(
            "logs", self.name, check=False).stderr

    def close(self):
        podman("rm", "-f", "-t", "0", self.name, check=False)


