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
    """A copy of examples/models plus a C++ runtime for the image to build against its SDK (the
    SDK's out-of-tree example, model `scaler`), a prebuilt runtime shipped in its model folder
    (model `slow`, tests/e2e's misbehave.so), and a settings.json (the image's defaults)."""
    folder = os.path.join(tmp, "models")
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


