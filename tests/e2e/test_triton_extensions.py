"""Triton's model-configuration and statistics extensions end to end (docs/rest-api.md#model-configuration-and-statistics,
docs/grpc-api.md): a real `ringserve start` on loopback, python3-requests for REST and Debian's
python3-grpcio with the build's stubs for gRPC, each answer checked against the other."""
import os
import sys
import time
import unittest

import grpc

sys.path.insert(0, os.environ.get("RINGSERVE_GRPC_STUBS", ""))
import dataplane_pb2 as pb  # noqa: E402
import dataplane_pb2_grpc as pb_grpc  # noqa: E402

from ringserve_fixture import Server  # noqa: E402

# matmul with Triton-style batching declared: dims drop the batch dimension, inference_count
# counts the batch.
BATCHED = {"name": "matmul-b", "implementation": "matmul.MatMul", "max_batch_size": 8,
           "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
           "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],
           "parameters": {"uri": "./weights.txt"}}

ZERO = {"count": 0, "ns": 0}
PHASES = ["queue", "compute_input", "compute_infer", "compute_output"]


def duration(d):
    return {"count": d.count, "ns": d.ns}


def grpc_row(s):
    """A ModelStatistics message as the REST JSON object."""
    i = s.inference_stats
    row = {"name": s.name, "version": s.version, "last_inference": s.last_inference, "inference_count": s.inference_count,
           "execution_count": s.execution_count,
           "inference_stats": {k: duration(getattr(i, k)) for k in
                               ["success", "fail"] + PHASES + ["cache_hit", "cache_miss"]},
           "batch_stats": []}
    return row


class TritonExtensions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(models={"matmul-b": BATCHED}, settings={"parallel_workers": 2},
                       files={"matmul-b/weights.txt": os.path.join(os.environ["RINGSERVE_EXAMPLES"],
                                                                   "matmul-v1", "weights.txt")})
        cls.channel = grpc.insecure_channel(cls.s.grpc_target)
        cls.stub = pb_grpc.GRPCInferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.s.finish()

    def config_with_instances(self, model, n, timeout=60, version=None):
        return self.s.config_with_instances(model, n, timeout, version)

    def stats(self, path):
        r = self.s.get(path)
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()["model_stats"]

    def assertGrpcError(self, call, code, message):
        with self.assertRaises(grpc.RpcError) as cm:
            call()
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        self.assertEqual(cm.exception.details(), message)

    # --- configuration

    def test_config_of_a_cpp_model_with_versions(self):
        c = self.config_with_instances("matmul", 2)
        self.assertEqual(c, {
            "name": "matmul", "platform": "", "backend": "matmul.MatMul", "max_batch_size": 0,
            "input": [{"name": "x", "data_type": "TYPE_FP32", "format": "FORMAT_NONE", "dims": [-1, 3]}],
            "output": [{"name": "y", "data_type": "TYPE_FP32", "dims": [-1, 2]}],
            "instance_group": [{"name": "matmul_0", "kind": "KIND_CPU", "count": 2}]})
        self.assertEqual(self.config_with_instances("matmul", 2, version="1"), c)
        g = self.stub.ModelConfig(pb.ModelConfigRequest(name="matmul", version="2")).config
        self.assertEqual((g.name, g.backend, g.max_batch_size), ("matmul", "matmul.MatMul", 0))
        self.assertEqual([(t.name, pb.DataType.Name(t.data_type), list(t.dims)) for t in g.input],
                         [("x", "TYPE_FP32", [-1, 3])])
        self.assertEqual([(t.name, t.data_type, list(t.dims)) for t in g.output], [("y", pb.TYPE_FP32, [-1, 2])])
        self.assertEqual([(i.name, i.kind, i.count) for i in g.instance_group],
                         [("matmul_0", pb.ModelInstanceGroup.KIND_CPU, 2)])

    def test_config_of_python_models(self):
        # An MLServer model-settings.json with declared BYTES inputs: Triton calls them TYPE_STRING.
        c = self.s.get("/v2/models/qa-py/config").json()
        self.assertEqual(c["backend"], "models.QuestionAnswering")
        self.assertEqual(c["input"], [
            {"name": "questions", "data_type": "TYPE_STRING", "format": "FORMAT_NONE", "dims": [-1]},
            {"name": "context", "data_type": "TYPE_STRING", "format": "FORMAT_NONE", "dims": [-1]}])
        self.assertEqual(c["output"], [{"name": "output-0", "data_type": "TYPE_FP32", "dims": [-1, 1]}])
        # A Python runtime that declares nothing: no tensors, as GET /v2/models/echo-py has none.
        e = self.config_with_instances("echo-py", 2)
        self.assertEqual((e["backend"], e["input"], e["output"]), ("echo_runtime.EchoModel", [], []))
        self.assertEqual(e["instance_group"][0]["count"], 2)
        # MLServer's built-in scikit-learn runtime and the example's platform field.
        self.assertEqual(self.s.get("/v2/models/iris/config").json()["backend"], "mlserver_sklearn.SKLearnModel")
        self.assertEqual(self.s.get("/v2/models/echo/config").json()["platform"], "ringserve-example")
        g = self.stub.ModelConfig(pb.ModelConfigRequest(name="qa-py")).config
        self.assertEqual([pb.DataType.Name(t.data_type) for t in g.input], ["TYPE_STRING", "TYPE_STRING"])

    def test_config_of_a_batching_model_drops_the_batch_dimension(self):
        c = self.s.get("/v2/models/matmul-b/config").json()
        self.assertEqual(c["max_batch_size"], 8)
        self.assertEqual(c["input"][0]["dims"], [3])
        self.assertEqual(c["output"][0]["dims"], [2])

    def test_config_errors(self):
        r = self.s.get("/v2/models/nosuch/config")
        self.assertEqual((r.status_code, r.json()), (404, {"error": "Model nosuch not found"}))
        r = self.s.get("/v2/models/matmul/versions/7/config")
        self.assertEqual((r.status_code, r.json()), (404, {"error": "Model matmul with version 7 not found"}))
        r = self.s.post("/v2/models/matmul/config")
        self.assertEqual(r.status_code, 405)
        self.assertGrpcError(lambda: self.stub.ModelConfig(pb.ModelConfigRequest(name="nosuch")),
                             grpc.StatusCode.NOT_FOUND, "Model nosuch not found")
        self.assertGrpcError(lambda: self.stub.ModelConfig(pb.ModelConfigRequest(name="matmul", version="7")),
                             grpc.StatusCode.NOT_FOUND, "Model matmul with version 7 not found")

    # --- statistics

    def test_statistics_count_successes_and_failures_exactly(self):
        before = self.stats("/v2/models/checksum/stats")
        self.assertEqual(len(before), 1)
        self.assertEqual(before[0]["inference_stats"]["success"], ZERO)
        ok = {"name": "data", "shape": [1], "datatype": "BYTES", "data": ["abc"]}
        walls = []
        for _ in range(5):
            t0 = time.monotonic_ns()
            r = self.s.infer("checksum", [ok])
            walls.append(time.monotonic_ns() - t0)
            self.assertEqual(r.status_code, 200, r.text)
        bad = self.s.infer("checksum", [{"name": "data", "shape": [1], "datatype": "FP32", "data": [1]}])
        self.assertEqual(bad.status_code, 400, bad.text)
        self.assertEqual(self.s.infer("checksum-nosuch", [ok]).status_code, 404)  # counted nowhere
        [row] = self.stats("/v2/models/checksum/stats")
        self.assertEqual(row["name"], "checksum")
        self.assertEqual(row["version"], "")
        self.assertEqual((row["inference_count"], row["execution_count"]), (5, 5))
        st = row["inference_stats"]
        self.assertEqual(st["success"]["count"], 5)
        self.assertEqual(st["fail"]["count"], 1)
        self.assertGreater(st["fail"]["ns"], 0)
        for phase in PHASES:
            self.assertEqual(st[phase]["count"], 5, phase)
        for phase in ["compute_input", "compute_infer", "compute_output"]:
            self.assertGreater(st[phase]["ns"], 0, phase)
        # Phases do not overlap and lie within each request: their sum is at most the server's
        # total, which is at most what the client saw.
        self.assertLessEqual(sum(st[p]["ns"] for p in PHASES), st["success"]["ns"])
        self.assertLessEqual(st["success"]["ns"], sum(walls))
        self.assertEqual((st["cache_hit"], st["cache_miss"]), (ZERO, ZERO))
        self.assertEqual(row["batch_stats"], [])
        now_ms = time.time() * 1000
        self.assertLessEqual(row["last_inference"], now_ms)
        self.assertGreater(row["last_inference"], now_ms - 600_000)
        # gRPC reports the same numbers.
        [g] = self.stub.ModelStatistics(pb.ModelStatisticsRequest(name="checksum")).model_stats
        self.assertEqual(grpc_row(g), row)

    def test_grpc_inference_is_counted_too(self):
        Input = pb.ModelInferRequest.InferInputTensor
        typed = pb.ModelInferRequest(model_name="qa", inputs=[
            Input(name="questions", datatype="BYTES", shape=[1], contents=pb.InferTensorContents(bytes_contents=[b"a?"])),
            Input(name="context", datatype="BYTES", shape=[1], contents=pb.InferTensorContents(bytes_contents=[b"a"]))])
        for _ in range(3):
            self.stub.ModelInfer(typed)
        with self.assertRaises(grpc.RpcError):
            self.stub.ModelInfer(pb.ModelInferRequest(model_name="qa", inputs=[
                Input(name="questions", datatype="FP32", shape=[1], contents=pb.InferTensorContents(fp32_contents=[1]))]))
        [g] = self.stub.ModelStatistics(pb.ModelStatisticsRequest(name="qa")).model_stats
        st = g.inference_stats
        self.assertEqual((st.success.count, st.fail.count, g.inference_count), (3, 1, 3))
        for phase in ["compute_input", "compute_infer", "compute_output"]:
            self.assertGreater(getattr(st, phase).ns, 0, phase)
        self.assertLessEqual(sum(getattr(st, p).ns for p in PHASES), st.success.ns)

    def test_statistics_per_version(self):
        x = {"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}
        for _ in range(3):
            self.assertEqual(self.s.infer("matmul", [x], version="1").status_code, 200)
        self.assertEqual(self.s.infer("matmul", [x], version="2").status_code, 200)
        rows = self.stats("/v2/models/matmul/stats")  # every version, as Triton
        self.assertEqual([(r["name"], r["version"]) for r in rows], [("matmul", "1"), ("matmul", "2")])
        self.assertEqual([r["inference_stats"]["success"]["count"] for r in rows], [3, 1])
        [v1] = self.stats("/v2/models/matmul/versions/1/stats")
        self.assertEqual(v1, rows[0])
        r = self.s.get("/v2/models/matmul/versions/9/stats")
        self.assertEqual((r.status_code, r.json()), (404, {"error": "Model matmul with version 9 not found"}))
        g = self.stub.ModelStatistics(pb.ModelStatisticsRequest(name="matmul", version="2")).model_stats
        self.assertEqual([(s.name, s.version, s.inference_stats.success.count) for s in g], [("matmul", "2", 1)])
        self.assertGrpcError(lambda: self.stub.ModelStatistics(pb.ModelStatisticsRequest(name="matmul", version="9")),
                             grpc.StatusCode.NOT_FOUND, "Model matmul with version 9 not found")

    def test_inference_count_counts_the_batch_of_a_batching_model(self):
        x = {"name": "x", "shape": [4, 3], "datatype": "FP32", "data": list(range(12))}
        self.assertEqual(self.s.infer("matmul-b", [x]).status_code, 200)
        [row] = self.stats("/v2/models/matmul-b/stats")
        self.assertEqual((row["inference_count"], row["execution_count"]), (4, 1))

    def test_all_models(self):
        rows = self.stats("/v2/models/stats")
        keys = [(r["name"], r["version"]) for r in rows]
        self.assertEqual(keys, sorted(keys))
        for want in [("echo", ""), ("matmul", "1"), ("matmul", "2"), ("qa-py", ""), ("iris", "")]:
            self.assertIn(want, keys)
        g = self.stub.ModelStatistics(pb.ModelStatisticsRequest()).model_stats
        self.assertEqual([(s.name, s.version) for s in g], keys)

    def test_unknown_model(self):
        r = self.s.get("/v2/models/nosuch/stats")
        self.assertEqual((r.status_code, r.json()), (404, {"error": "Model nosuch not found"}))
        self.assertEqual(self.s.post("/v2/models/stats").status_code, 405)
        self.assertGrpcError(lambda: self.stub.ModelStatistics(pb.ModelStatisticsRequest(name="nosuch")),
                             grpc.StatusCode.NOT_FOUND, "Model nosuch not found")


if __name__ == "__main__":
    unittest.main()
