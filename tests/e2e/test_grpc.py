"""The gRPC front end end to end: real `ringserve start` on loopback, Debian's python3-grpcio with
stubs protoc generated from protocol/grpc at build time, and python3-requests beside it to
check that gRPC and REST give the same answers."""
import json
import os
import re
import socket
import subprocess
import sys
import unittest

import grpc
import requests

sys.path.insert(0, os.environ.get("RINGSERVE_GRPC_STUBS", ""))
import dataplane_pb2 as pb  # noqa: E402
import dataplane_pb2_grpc as pb_grpc  # noqa: E402
import model_repository_pb2 as repo_pb  # noqa: E402
import model_repository_pb2_grpc as repo_grpc  # noqa: E402

from ringserve_fixture import BIN, Server, run_threads  # noqa: E402

BROKEN = {"name": "broken", "implementation": "nosuch.Missing"}


def param_value(p):
    return getattr(p, p.WhichOneof("parameter_choice"))


def params(m):
    return {k: param_value(v) for k, v in m.items()}


def tensors(ts):
    out = []
    for t in ts:
        d = {"name": t.name, "datatype": t.datatype, "shape": list(t.shape)}
        if t.parameters:
            d["parameters"] = params(t.parameters)
        out.append(d)
    return out


def index_rows(resp):
    return [{"name": m.name, "version": m.version, "state": m.state, "reason": m.reason} for m in resp.models]


def metric(text, name, **labels):
    """The value of one sample, 0 when absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', line[len(name):line.rindex("}") + 1]))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


class GrpcAgainstRest(unittest.TestCase):
    """One server with the example models (and a broken one): every RPC beside its REST twin."""

    @classmethod
    def setUpClass(cls):
        cls.s = Server(models={"broken": BROKEN}, wait_ready=False)
        cls.s.wait_all_loaded()  # the index test compares two reads: no load may end between them
        cls.channel = grpc.insecure_channel(cls.s.grpc_target)
        cls.stub = pb_grpc.GRPCInferenceServiceStub(cls.channel)
        cls.repo = repo_grpc.ModelRepositoryServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.s.finish()

    def assertCode(self, call, code, message=None):
        with self.assertRaises(grpc.RpcError) as cm:
            call()
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        if message is not None:
            self.assertEqual(cm.exception.details(), message)
        return cm.exception

    def test_port_is_logged_and_not_the_rest_port(self):
        self.assertIsNotNone(self.s.grpc_port)
        self.assertNotEqual(self.s.grpc_port, self.s.port)

    def test_server_live_ready_metadata(self):
        self.assertTrue(self.stub.ServerLive(pb.ServerLiveRequest()).live)
        # The broken model does not make the server not-ready (docs/rest-api.md), on either front end.
        rest_ready = self.s.get("/v2/health/ready").json()["ready"]
        self.assertEqual(self.stub.ServerReady(pb.ServerReadyRequest()).ready, rest_ready)
        md = self.stub.ServerMetadata(pb.ServerMetadataRequest())
        rest = self.s.get("/v2").json()
        self.assertEqual({"name": md.name, "version": md.version, "extensions": list(md.extensions)}, rest)

    def test_model_ready_and_metadata_match_rest_for_every_model(self):
        names = {(m["name"], m["version"]) for m in self.s.post("/v2/repository/index", json={}).json()}
        self.assertIn(("matmul", "2"), names)
        for name, version in sorted(names):
            path = f"/v2/models/{name}" + (f"/versions/{version}" if version else "")
            with self.subTest(model=name, version=version):
                rest = self.s.get(path + "/ready")
                if rest.status_code == 404:  # the broken model is listed, not routed
                    err = self.assertCode(lambda: self.stub.ModelReady(pb.ModelReadyRequest(name=name, version=version)),
                                          grpc.StatusCode.NOT_FOUND)
                    self.assertEqual(err.details(), rest.json()["error"])
                    continue
                r = self.stub.ModelReady(pb.ModelReadyRequest(name=name, version=version))
                self.assertEqual(r.ready, rest.json()["ready"])
                md = self.stub.ModelMetadata(pb.ModelMetadataRequest(name=name, version=version))
                want = self.s.get(path).json()
                got = {"name": md.name, "versions": list(md.versions), "platform": md.platform,
                       "inputs": tensors(md.inputs), "outputs": tensors(md.outputs)}
                if md.parameters or "parameters" in want:
                    got["parameters"] = params(md.parameters)
                want.setdefault("parameters", {}) if md.parameters else None
                self.assertEqual(got, {k: want[k] for k in got})
                self.assertEqual(set(want) - set(got) - {"parameters"}, set())

    def test_unknown_model_and_version_are_not_found_with_rests_message(self):
        for name, version in (("nope", ""), ("matmul", "7")):
            path = f"/v2/models/{name}" + (f"/versions/{version}" if version else "")
            rest = self.s.get(path + "/ready")
            self.assertEqual(rest.status_code, 404)
            for call in (lambda: self.stub.ModelReady(pb.ModelReadyRequest(name=name, version=version)),
                         lambda: self.stub.ModelMetadata(pb.ModelMetadataRequest(name=name, version=version))):
                self.assertCode(call, grpc.StatusCode.NOT_FOUND, rest.json()["error"])

    def test_repository_index_both_spellings(self):
        rest_all = self.s.post("/v2/repository/index", json={}).json()
        rest_ready = self.s.post("/v2/repository/index", json={"ready": True}).json()
        self.assertNotEqual(rest_all, rest_ready)  # the broken model is UNAVAILABLE
        self.assertEqual(index_rows(self.stub.RepositoryIndex(pb.RepositoryIndexRequest())), rest_all)
        self.assertEqual(index_rows(self.repo.RepositoryIndex(repo_pb.RepositoryIndexRequest())), rest_all)
        self.assertEqual(index_rows(self.stub.RepositoryIndex(pb.RepositoryIndexRequest(ready=True))), rest_ready)
        self.assertEqual(index_rows(self.repo.RepositoryIndex(repo_pb.RepositoryIndexRequest(ready=True))),
                         rest_ready)

    def test_load_errors_map_like_rest(self):
        # 404: no such model in the repository; 400: its load fails. Same messages as REST.
        for model, code in (("missing", grpc.StatusCode.NOT_FOUND), ("broken", grpc.StatusCode.INVALID_ARGUMENT)):
            rest = self.s.post(f"/v2/repository/models/{model}/load")
            self.assertEqual(rest.status_code, 404 if code == grpc.StatusCode.NOT_FOUND else 400, rest.text)
            self.assertCode(lambda: self.stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name=model)),
                            code, rest.json()["error"])
            self.assertCode(
                lambda: self.repo.RepositoryModelLoad(repo_pb.RepositoryModelLoadRequest(model_name=model)),
                code, rest.json()["error"])
        rest = self.s.post("/v2/repository/models/missing/unload")
        self.assertEqual(rest.status_code, 404)
        self.assertCode(lambda: self.stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name="missing")),
                        grpc.StatusCode.NOT_FOUND, rest.json()["error"])

    def test_unload_and_load_over_grpc_change_what_rest_sees(self):
        body = {"inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [5]}]}
        for unload, load in ((lambda: self.stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name="echo")),
                              lambda: self.repo.RepositoryModelLoad(repo_pb.RepositoryModelLoadRequest(model_name="echo"))),
                             (lambda: self.repo.RepositoryModelUnload(
                                 repo_pb.RepositoryModelUnloadRequest(model_name="echo")),
                              lambda: self.stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name="echo")))):
            unload()
            self.assertEqual(self.s.get("/v2/models/echo/ready").status_code, 404)
            entry = {m["name"]: m for m in self.s.post("/v2/repository/index", json={}).json()}["echo"]
            self.assertEqual((entry["state"], entry["reason"]), ("UNAVAILABLE", "unloaded"))
            self.assertEqual(self.s.post("/v2/models/echo/infer", json=body).status_code, 404)
            self.assertCode(lambda: self.stub.ModelReady(pb.ModelReadyRequest(name="echo")),
                            grpc.StatusCode.NOT_FOUND)
            load()  # answers once the load is finished, as REST's
            self.assertEqual(self.s.get("/v2/models/echo/ready").json(), {"name": "echo", "ready": True})
            self.assertTrue(self.stub.ModelReady(pb.ModelReadyRequest(name="echo")).ready)
            r = self.s.post("/v2/models/echo/infer", json=body)
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(r.json()["outputs"][0]["data"], [5])

    def test_metrics_count_started_and_handled_per_method_and_code(self):
        before = self.s.metrics()
        for _ in range(3):
            self.stub.ServerLive(pb.ServerLiveRequest())
        for _ in range(2):
            self.assertCode(lambda: self.repo.RepositoryModelUnload(
                repo_pb.RepositoryModelUnloadRequest(model_name="missing")), grpc.StatusCode.NOT_FOUND)
        after = self.s.metrics()
        live = {"grpc_service": "inference.GRPCInferenceService", "grpc_method": "ServerLive", "grpc_type": "UNARY"}
        unload = {"grpc_service": "inference.model_repository.ModelRepositoryService",
                  "grpc_method": "RepositoryModelUnload", "grpc_type": "UNARY"}
        delta = lambda name, **l: metric(after, name, **l) - metric(before, name, **l)  # noqa: E731
        self.assertEqual(delta("grpc_server_started_total", **live), 3)
        self.assertEqual(delta("grpc_server_handled_total", grpc_code="OK", **live), 3)
        self.assertEqual(delta("grpc_server_started_total", **unload), 2)
        self.assertEqual(delta("grpc_server_handled_total", grpc_code="NOT_FOUND", **unload), 2)
        self.assertEqual(delta("grpc_server_handled_total", grpc_code="OK", **unload), 0)

    def test_rest_and_grpc_clients_at_once(self):
        body = {"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1.5, -2]}]}

        def client(i):
            if i % 2 == 0:
                with requests.Session() as http:
                    for _ in range(50):
                        r = http.post(self.s.url + "/v2/models/echo/infer", json=body, timeout=30)
                        assert r.status_code == 200 and r.json()["outputs"][0]["data"] == [1.5, -2], r.text
            else:
                with grpc.insecure_channel(self.s.grpc_target) as ch:
                    stub = pb_grpc.GRPCInferenceServiceStub(ch)
                    for _ in range(50):
                        assert stub.ModelReady(pb.ModelReadyRequest(name="echo")).ready
                        rows = {m["name"]: m for m in index_rows(stub.RepositoryIndex(pb.RepositoryIndexRequest()))}
                        assert rows["echo"]["state"] == "READY", rows
            return i

        self.assertEqual(run_threads(6, client), list(range(6)))


class MessageLimit(unittest.TestCase):
    """grpc_max_message_length both ways: a request over it is refused by gRPC before it reaches a
    handler, a response over it is refused naming the setting; REST is not affected."""

    @classmethod
    def setUpClass(cls):
        # ServerMetadata's answer carries these: about 500 bytes, over the limit.
        cls.s = Server(settings={"grpc_max_message_length": 300, "extensions": ["x" * 95] * 5},
                       copy_examples=False)
        cls.channel = grpc.insecure_channel(cls.s.grpc_target)
        cls.stub = pb_grpc.GRPCInferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.s.finish()

    def test_request_over_the_limit(self):
        self.assertTrue(self.stub.ServerLive(pb.ServerLiveRequest()).live)
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.ModelReady(pb.ModelReadyRequest(name="e" * 400))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED, cm.exception.details())

    def test_response_over_the_limit_names_the_setting(self):
        self.assertEqual(len(self.s.get("/v2").json()["extensions"]), 5)
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.ServerMetadata(pb.ServerMetadataRequest())
        self.assertEqual(cm.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertRegex(cm.exception.details(), r"^response of \d+ bytes exceeds grpc_max_message_length \(300 bytes\)$")


class Ports(unittest.TestCase):
    def test_busy_grpc_port_stops_the_server_naming_the_setting(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            with self.assertRaises(RuntimeError) as cm:
                Server(settings={"grpc_port": port}, copy_examples=False)
            self.assertIn(f"gRPC: cannot listen on 127.0.0.1:{port} (grpc_port)", str(cm.exception))

    def test_ctl_status_shows_the_grpc_port(self):
        s = Server(copy_examples=False)
        try:
            sock = re.search(r"control socket (\S+) \(ringserve ctl\)", s.read_log()).group(1)
            r = subprocess.run([BIN, "ctl", "status", "--json", "--socket", sock], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["grpc_port"], s.grpc_port)
        finally:
            s.finish()


if __name__ == "__main__":
    unittest.main()
