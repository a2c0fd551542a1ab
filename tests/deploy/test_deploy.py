"""deploy/: every kustomization rendered with `kubectl kustomize` (offline; no cluster needed),
each object checked against the Kubernetes / KServe field names (k8s_schema.py), and the
container command, ports and probes compared with what the image really runs: the repository's
Dockerfile and the generated one (CMD, EXPOSE, the HEALTHCHECK's path), and a real `ringserve
start` with the ConfigMap's settings answering the probes' paths."""
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

import yaml

import k8s_schema

SOURCE_DIR = os.environ["RINGSERVE_SOURCE_DIR"]
DEPLOY = os.path.join(SOURCE_DIR, "deploy")
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "e2e"))
from ringserve_fixture import Server  # noqa: E402

KUSTOMIZATIONS = sorted(os.path.relpath(root, DEPLOY) for root, _, files in os.walk(DEPLOY) if "kustomization.yaml" in files)


def kustomize_problem():
    """Why `kubectl kustomize` cannot render deploy/ here, or None."""
    if not shutil.which("kubectl"):
        return "kubectl is not installed (Debian 12's kubernetes-client bundles kustomize v2, too old for deploy/)"
    out = subprocess.run(["kubectl", "version", "--client"], capture_output=True, text=True).stdout
    m = re.search(r"Kustomize Version: v(\d+)", out)
    if not m or int(m.group(1)) < 4:
        return f"kubectl's kustomize is older than v4 (needs `patches`, `replicas`, `labels`): {out.strip()}"
    return None


def render(rel):
    r = subprocess.run(["kubectl", "kustomize", os.path.join(DEPLOY, rel)], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"kubectl kustomize {rel}: {r.stderr}")
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def read(path):
    with open(path) as f:
        return f.read()


def unrendered(folder):
    """A kustomization's resources without kustomize: its files and its bases', patches unapplied."""
    k = yaml.safe_load(read(os.path.join(folder, "kustomization.yaml")))
    docs = []
    for r in k.get("resources", []):
        path = os.path.normpath(os.path.join(folder, r))
        docs += unrendered(path) if os.path.isdir(path) else [d for d in yaml.safe_load_all(read(path)) if d]
    return docs


def dockerfile_facts(path):
    """CMD (exec form), EXPOSEd ports and the HEALTHCHECK script of a Dockerfile."""
    text = re.sub(r"\\\n", " ", read(path))
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))
    expose = {int(p) for p in re.search(r"^EXPOSE (.*)$", text, re.M).group(1).split()}
    health = json.loads(re.search(r"^HEALTHCHECK .*CMD (\[.*\])$", text, re.M).group(1))[0]
    return cmd, expose, health


def healthcheck_path():
    """The path the image's HEALTHCHECK script asks for (share/ is installed at that path)."""
    text = read(os.path.join(SOURCE_DIR, "supervisor", "image", "share", "healthcheck.sh"))
    return re.search(r"GET (\S+) HTTP", text).group(1)


def containers(doc):
    spec = doc["spec"]
    return spec["template"]["spec"]["containers"] if doc["kind"] == "Deployment" else spec["containers"]


class DeployTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.problem = kustomize_problem()
        cls.rendered = {}
        if cls.problem:
            print(f"\nnot rendering with kubectl kustomize: {cls.problem}; checking the resource files as "
                  "written instead (overlay patches unapplied)", file=sys.stderr)
            cls.rendered = {rel: unrendered(os.path.join(DEPLOY, rel)) for rel in KUSTOMIZATIONS}
        else:
            cls.rendered = {rel: render(rel) for rel in KUSTOMIZATIONS}
        cls.root_cmd, cls.root_expose, cls.root_health = dockerfile_facts(os.path.join(SOURCE_DIR, "Dockerfile"))
        cls.gen_cmd, cls.gen_expose, cls.gen_health = dockerfile_facts(
            os.path.join(SOURCE_DIR, "tests", "supervisor", "image", "golden", "plain.Dockerfile"))

    def docs(self, kind=None):
        return [(rel, d) for rel, ds in self.rendered.items() for d in ds if kind is None or d["kind"] == kind]

    def test_the_expected_kustomizations_exist(self):
        self.assertEqual(KUSTOMIZATIONS, ["base", "kserve", "overlays/emptydir-init", "overlays/pvc"])

    def test_every_object_matches_the_api_field_names(self):
        self.assertGreater(len(self.docs()), 10)
        for rel, doc in self.docs():
            self.assertEqual(k8s_schema.check(doc), [], rel)

    def test_the_schema_check_rejects_mistakes(self):
        good = self.docs("Deployment")[0][1]
        bad = json.loads(json.dumps(good))
        c = bad["spec"]["template"]["spec"]["containers"][0]
        c["readinesProbe"] = c.pop("readinessProbe")
        c["ports"][0]["containerPort"] = "8080"
        bad["spec"]["selector"]["matchLabels"] = {"app": "other"}
        problems = "\n".join(k8s_schema.check(bad))
        for expected in ("readinesProbe: not a field", "containerPort: must be an integer", "matchLabels must match"):
            self.assertIn(expected, problems)
        sr = json.loads(json.dumps(self.docs("ServingRuntime")[0][1]))
        sr["spec"]["protocolVersions"] = ["v3"]
        self.assertIn("'v3' is not one of", "\n".join(k8s_schema.check(sr)))

    def test_both_dockerfiles_run_the_same_command_ports_and_healthcheck(self):
        self.assertEqual(self.root_cmd, self.gen_cmd)
        self.assertEqual(self.root_expose, {8080, 8081, 8082})
        self.assertEqual(self.root_expose, self.gen_expose)
        self.assertEqual(self.root_health, self.gen_health)
        self.assertTrue(self.root_health.startswith("/opt/ringserve/share/ringserve/"))

    def test_containers_run_the_images_command_ports_and_probe_paths(self):
        ready = healthcheck_path()
        self.assertEqual(ready, "/v2/health/ready")
        checked = 0
        for rel, doc in self.docs():
            if doc["kind"] not in ("Deployment", "ServingRuntime", "ClusterServingRuntime"):
                continue
            c = containers(doc)[0]
            checked += 1
            where = f"{rel} {doc['kind']}/{doc['metadata']['name']}"
            self.assertEqual(c["command"][:2], self.root_cmd[:2], where)  # ringserve start
            if not doc["spec"].get("multiModel"):
                self.assertEqual(c["command"], self.root_cmd, where)
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            if doc["kind"] == "Deployment":
                cm = [d for r, d in self.docs("ConfigMap") if r == rel and d["metadata"]["name"] == "ringserve-settings"]
                env.update(cm[0]["data"])
            ports = {p.get("name", str(p["containerPort"])): p["containerPort"] for p in c.get("ports", [])}
            for port in ports.values():
                self.assertIn(port, self.root_expose, where)
            http = int(env["RINGSERVE_HTTP_PORT"])
            if ports:
                self.assertIn(http, ports.values(), where)
            for probe, path in (("readinessProbe", ready), ("livenessProbe", "/v2/health/live")):
                get = c[probe]["httpGet"]
                self.assertEqual(get["path"], path, where)
                self.assertIn(get["port"], (http, "http") if ports.get("http") == http else (http,), where)
            if doc["kind"] == "Deployment":
                self.assertEqual(int(env["RINGSERVE_METRICS_PORT"]), ports["metrics"], where)
                pod = doc["spec"]["template"]["spec"]
                sleep = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
                # preStop, then draining and the workers' stop (parallel_workers_timeout 5 s).
                self.assertGreater(pod["terminationGracePeriodSeconds"], sleep + 5 + 10, where)
                for v in pod.get("volumes", []):
                    self.assertNotIn("/dev/shm", [m["mountPath"] for m in c.get("volumeMounts", []) if m["name"] == v["name"]])
        self.assertGreaterEqual(checked, 5)

    def test_kserve_runtimes_declare_the_protocols_and_formats(self):
        runtimes = self.docs("ServingRuntime") + self.docs("ClusterServingRuntime")
        self.assertEqual(sorted(d["kind"] + "/" + d["metadata"]["name"] for _, d in runtimes),
                         ["ClusterServingRuntime/ringserve", "ServingRuntime/ringserve", "ServingRuntime/ringserve-modelmesh"])
        for _, d in runtimes:
            formats = {f["name"] for f in d["spec"]["supportedModelFormats"]}
            self.assertTrue({"sklearn", "xgboost", "ringserve"} <= formats)
        single = [d for _, d in runtimes if d["metadata"]["name"] == "ringserve"]
        for d in single:
            self.assertEqual(d["spec"]["protocolVersions"], ["v2", "grpc-v2"])
            self.assertFalse(d["spec"]["multiModel"])
        mm = [d for _, d in runtimes if d["metadata"]["name"] == "ringserve-modelmesh"][0]
        self.assertTrue(mm["spec"]["multiModel"])

    @unittest.skipIf(kustomize_problem(), "overlays are only applied by kubectl kustomize")
    def test_overlays_set_image_replicas_resources_workers_shm_and_storage(self):
        expected = {"overlays/pvc": ("registry.example.com/ml/ringserve-models:2026.12.1", 3, "4", "persistentVolumeClaim"),
                    "overlays/emptydir-init": ("ringserve:0.1.0", 2, "2", "emptyDir")}
        for rel, (image, replicas, workers, volume) in expected.items():
            dep = [d for r, d in self.docs("Deployment") if r == rel][0]
            cm = [d for r, d in self.docs("ConfigMap") if r == rel][0]
            pod = dep["spec"]["template"]["spec"]
            c = pod["containers"][0]
            self.assertEqual(c["image"], image, rel)
            self.assertEqual(dep["spec"]["replicas"], replicas, rel)
            self.assertEqual(cm["data"]["RINGSERVE_PARALLEL_WORKERS"], workers, rel)
            self.assertNotEqual(cm["data"]["RINGSERVE_SHM_SIZE"], "268435456", rel)
            self.assertEqual(cm["data"]["RINGSERVE_HTTP_PORT"], "8080", rel)  # the base's, kept
            self.assertIn(volume, pod["volumes"][0], rel)
            self.assertEqual([m["mountPath"] for m in c["volumeMounts"]], ["/mnt/models"], rel)
            self.assertIn("cpu", c["resources"]["requests"], rel)
            self.assertIn("readinessProbe", c, rel)  # the patch merged into, not replaced, the container
        init = [d for r, d in self.docs("Deployment") if r == "overlays/emptydir-init"][0]["spec"]["template"]["spec"]
        self.assertEqual(init["initContainers"][0]["volumeMounts"][0]["mountPath"], "/mnt/models")

    def test_a_real_server_with_the_configmaps_settings_answers_the_probes(self):
        for rel in ("base", "overlays/pvc"):
            cm = [d for r, d in self.docs("ConfigMap") if r == rel][0]["data"]
            dep = [d for r, d in self.docs("Deployment") if r == rel][0]
            c = dep["spec"]["template"]["spec"]["containers"][0]
            # Ports come from the fixture (free ones); every other setting from the ConfigMap.
            env = {k: v for k, v in cm.items() if not k.endswith("_PORT")}
            s = Server(env=env)
            try:
                for probe in ("readinessProbe", "livenessProbe"):
                    r = s.get(c[probe]["httpGet"]["path"])
                    self.assertEqual(r.status_code, 200, f"{rel} {probe}: {r.text}")
                self.assertEqual(len(s.worker_pids()), int(cm["RINGSERVE_PARALLEL_WORKERS"]), rel)
            finally:
                self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main()
