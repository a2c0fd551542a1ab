"""ModelInfer and ModelStreamInfer end to end: real `ringserve start`, Debian's python3-grpcio with
the stubs generated at build time, REST beside it for the same answers and messages."""
import os
import queue
import signal
import sys
import threading
import unittest

import grpc
import numpy as np
import requests

sys.path.insert(0, os.environ.get("RINGSERVE_GRPC_STUBS", ""))
import dataplane_pb2 as pb  # noqa: E402
import dataplane_pb2_grpc as pb_grpc  # noqa: E402

from ringserve_fixture import TEST_RUNTIMES, Server, run_threads  # noqa: E402
from test_grpc import metric  # noqa: E402

MISBEHAVE = os.path.join(TEST_RUNTIMES, "misbehave.so")
MIS = {"name": "mis", "implementation": "misbehave.Misbehave"}

# datatype -> (numpy dtype, typed contents field, sample values)
TYPED = {
    "BOOL": (np.bool_, "bool_contents", [True, False, True, True]),
    "UINT8": (np.uint8, "uint_contents", [0, 1, 200, 255]),
    "UINT16": (np.uint16, "uint_contents", [0, 1, 40000, 65535]),
    "UINT32": (np.uint32, "uint_contents", [0, 1, 3000000000, 4294967295]),
    "UINT64": (np.uint64, "uint64_contents", [0, 1, 2**40, 2**64 - 1]),
    "INT8": (np.int8, "int_contents", [-128, -1, 0, 127]),
    "INT16": (np.int16, "int_contents", [-32768, -1, 0, 32767]),
    "INT32": (np.int32, "int_contents", [-2**31, -1, 0, 2**31 - 1]),
    "INT64": (np.int64, "int64_contents", [-2**63, -1, 0, 2**63 - 1]),
    "FP32": (np.float32, "fp32_contents", [1.5, -2.25, 0.0, 65536.5]),
    "FP64": (np.float64, "fp64_contents", [1.5, -2.25, 1e-300, 1e300]),
}
RAW_ONLY = {"FP16": np.float16, "BF16": np.uint16}


def bytes_blob(elements):
    return b"".join(len(e).to_bytes(4, "little") + e for e in elements)


def typed_input(name, datatype, shape, values):
    t = pb.ModelInferRequest.InferInputTensor(name=name, datatype=datatype, shape=shape)
    getattr(t.contents, TYPED[datatype][1] if datatype != "BYTES" else "bytes_contents").extend(values)
    return t


def call_error(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code(), e.details()
    raise AssertionError("the call succeeded")


class Infer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(models={"mis": MIS}, files={"mis/misbehave.so": MISBEHAVE}, wait_ready=False)
        cls.s.wait_ready(model="echo")
        cls.s.wait_ready(model="mis")
        cls.channel = grpc.insecure_channel(cls.s.grpc_target)
        cls.stub = pb_grpc.GRPCInferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.s.finish()

    def test_typed_every_datatype_as_rest(self):
        for dt, (_, field, values) in TYPED.items():
            with self.subTest(dt):
                req = pb.ModelInferRequest(model_name="echo", id="t-" + dt,
                                           inputs=[typed_input("x", dt, [2, 2], values)])
                resp = self.stub.ModelInfer(req)
                self.assertEqual((resp.model_name, resp.id), ("echo", "t-" + dt))
                self.assertEqual(len(resp.raw_output_contents), 0)
                out = resp.outputs[0]
                self.assertEqual((out.name, out.datatype, list(out.shape)), ("x", dt, [2, 2]))
                self.assertEqual(list(getattr(out.contents, field)), values)
                rest = self.s.infer("echo", [{"name": "x", "datatype": dt, "shape": [2, 2], "data": values}])
                self.assertEqual(rest.status_code, 200, rest.text)
                self.assertEqual(rest.json()["outputs"][0]["data"], values)

    def test_raw_every_datatype_raw_out(self):
        cases = {dt: np.array(v, dtype=t).tobytes() for dt, (t, _, v) in TYPED.items()}
        cases["FP16"] = np.array([1.5, -2, 0.25, 65504], dtype=np.float16).tobytes()
        cases["BF16"] = np.array([0x3FC0, 0xC000, 0x0000, 0x7F7F], dtype=np.uint16).tobytes()
        cases["BYTES"] = bytes_blob([b"a", b"", b"\xff\x00 not utf-8", b"dd"])
        for dt, blob in cases.items():
            with self.subTest(dt):
                req = pb.ModelInferRequest(model_name="echo", raw_input_contents=[blob], inputs=[
                    pb.ModelInferRequest.InferInputTensor(name="x", datatype=dt, shape=[4])])
                resp = self.stub.ModelInfer(req)
                self.assertEqual(list(resp.raw_output_contents), [blob])
                self.assertFalse(resp.outputs[0].HasField("contents"))
                self.assertEqual((resp.outputs[0].datatype, list(resp.outputs[0].shape)), (dt, [4]))

    def test_bytes_typed_keep_every_byte(self):
        values = [b"hello", b"", b"\xff\xfe\x00binary"]
        req = pb.ModelInferRequest(model_name="echo", inputs=[typed_input("s", "BYTES", [3], values)])
        resp = self.stub.ModelInfer(req)
        self.assertEqual(list(resp.outputs[0].contents.bytes_contents), values)
        self.assertEqual(len(resp.id), 36)  # generated, as REST does

    def test_requested_outputs_and_tensor_parameters(self):
        a = typed_input("a", "INT32", [1], [1])
        b = typed_input("b", "BYTES", [1], [b"x"])
        b.parameters["content_type"].string_param = "str"
        req = pb.ModelInferRequest(model_name="echo", inputs=[a, b],
                                   outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name="b")])
        resp = self.stub.ModelInfer(req)
        self.assertEqual([o.name for o in resp.outputs], ["b"])
        self.assertEqual(resp.outputs[0].parameters["content_type"].string_param, "str")

    def test_metadata_in_parameters_out_trailing_metadata(self):
        req = pb.ModelInferRequest(model_name="echo", id="m1", inputs=[typed_input("x", "INT32", [1], [7])])
        req.parameters["echo_headers"].bool_param = True
        resp, call = self.stub.ModelInfer.with_call(req, metadata=[("x-trace", "t1"), ("x-other", "o")])
        self.assertEqual(list(resp.outputs[0].contents.int_contents), [7])
        trailers = dict(call.trailing_metadata())
        self.assertEqual(trailers["x-trace"], "t1")
        self.assertEqual(trailers["x-other"], "o")
        self.assertEqual(trailers["ce-id"], "m1")  # MLServer's CloudEvents headers, as over REST

    def test_parameters_reach_the_runtime(self):
        # int64 and string parameters drive misbehave; its error comes back with REST's message.
        req = pb.ModelInferRequest(model_name="mis", inputs=[typed_input("x", "INT32", [1], [1])])
        req.parameters["action"].string_param = "sleep"
        req.parameters["sleep_ms"].int64_param = 1
        self.assertEqual(list(self.stub.ModelInfer(req).outputs[0].contents.int_contents), [1])
        req.parameters["action"].string_param = "bad_input"
        rest = self.s.infer("mis", [{"name": "x", "datatype": "INT32", "shape": [1], "data": [1]}],
                            extra={"parameters": {"action": "bad_input"}})
        self.assertEqual(call_error(lambda: self.stub.ModelInfer(req)),
                         (grpc.StatusCode.INVALID_ARGUMENT, rest.json()["error"]))

    def test_errors_map_like_rest_with_its_messages(self):
        x = {"name": "x", "datatype": "INT32", "shape": [2], "data": [1]}
        cases = [
            ("unknown model", pb.ModelInferRequest(model_name="nosuch", inputs=[typed_input("x", "INT32", [1], [1])]),
             grpc.StatusCode.NOT_FOUND, ("nosuch", [x | {"shape": [1]}], {})),
            ("count mismatch", pb.ModelInferRequest(model_name="echo", inputs=[typed_input("x", "INT32", [2], [1])]),
             grpc.StatusCode.INVALID_ARGUMENT, None),
            ("throws", pb.ModelInferRequest(model_name="mis", parameters={"action": pb.InferParameter(
                string_param="throw")}, inputs=[typed_input("x", "INT32", [1], [1])]),
             grpc.StatusCode.INTERNAL, ("mis", [x | {"shape": [1]}], {"parameters": {"action": "throw"}})),
        ]
        for what, req, code, rest in cases:
            with self.subTest(what):
                got = call_error(lambda: self.stub.ModelInfer(req))
                self.assertEqual(got[0], code, got[1])
                if rest is not None:
                    r = self.s.infer(rest[0], rest[1], extra=rest[2])
                    self.assertEqual(got[1], r.json()["error"])
        self.assertEqual(call_error(lambda: self.stub.ModelInfer(cases[1][1]))[1],
                         "input 'x': shape [2] needs 2 elements but int_contents has 1")

    def test_bad_requests_are_refused_naming_the_problem(self):
        T = pb.ModelInferRequest.InferInputTensor
        cases = {
            "FP16 typed": (pb.ModelInferRequest(model_name="echo", inputs=[T(name="h", datatype="FP16", shape=[1])]),
                           "input 'h': FP16 has no typed contents field; send it in raw_input_contents"),
            "wrong field": (pb.ModelInferRequest(model_name="echo", inputs=[typed_input("x", "FP32", [1], [1.0])]),
                            None),
            "raw count": (pb.ModelInferRequest(model_name="echo", raw_input_contents=[b"1234", b"5678"],
                                               inputs=[T(name="x", datatype="INT32", shape=[1])]),
                          "raw_input_contents has 2 entries but the request has 1 inputs (one blob per input, in "
                          "input order)"),
            "raw size": (pb.ModelInferRequest(model_name="echo", raw_input_contents=[b"123"],
                                              inputs=[T(name="x", datatype="INT32", shape=[1])]),
                         "input 'x': shape [1] of INT32 needs 4 bytes but its raw_input_contents has 3"),
            "raw BYTES": (pb.ModelInferRequest(model_name="echo", raw_input_contents=[b"\x09\x00\x00\x00ab"],
                                               inputs=[T(name="x", datatype="BYTES", shape=[1])]),
                          "input 'x': the raw BYTES data element 0 claims 9 bytes but only 2 remain"),
            "range": (pb.ModelInferRequest(model_name="echo", inputs=[typed_input("x", "INT8", [1], [300])]),
                      "input 'x': element 0 of int_contents (300) is out of range for INT8"),
            "datatype": (pb.ModelInferRequest(model_name="echo", inputs=[T(name="x", datatype="FP33", shape=[1])]),
                         None),
            "no inputs": (pb.ModelInferRequest(model_name="echo"), "the request has no 'inputs'"),
            "duplicate": (pb.ModelInferRequest(model_name="echo", inputs=[typed_input("x", "INT32", [1], [1])] * 2),
                          "input 'x' appears more than once"),
        }
        cases["wrong field"][0].inputs[0].contents.int_contents.append(1)
        for what, (req, message) in cases.items():
            with self.subTest(what):
                code, details = call_error(lambda: self.stub.ModelInfer(req))
                self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT, details)
                if message is not None:
                    self.assertEqual(details, message)
        # The datatype message is REST's.
        r = self.s.infer("echo", [{"name": "x", "datatype": "FP33", "shape": [1], "data": [1]}])
        self.assertEqual(call_error(lambda: self.stub.ModelInfer(cases["datatype"][0]))[1], r.json()["error"])
        # And the server keeps serving.
        self.assertEqual(self.stub.ModelInfer(pb.ModelInferRequest(
            model_name="echo", inputs=[typed_input("x", "INT32", [1], [5])])).outputs[0].contents.int_contents, [5])

    def test_client_deadline(self):
        req = pb.ModelInferRequest(model_name="mis", parameters={
            "action": pb.InferParameter(string_param="sleep"), "sleep_ms": pb.InferParameter(int64_param=3000)},
            inputs=[typed_input("x", "INT32", [1], [1])])
        self.assertEqual(call_error(lambda: self.stub.ModelInfer(req, timeout=0.2))[0],
                         grpc.StatusCode.DEADLINE_EXCEEDED)

    def test_stream_of_1000_answered_in_order(self):
        def requests_():
            for i in range(1000):
                yield pb.ModelInferRequest(model_name="echo", id=f"r{i}", inputs=[typed_input("x", "INT32", [1], [i])])
        got = [(r.id, r.outputs[0].contents.int_contents[0]) for r in self.stub.ModelStreamInfer(requests_())]
        self.assertEqual(got, [(f"r{i}", i) for i in range(1000)])

    def test_stream_ends_at_the_first_failure(self):
        reqs = [pb.ModelInferRequest(model_name="echo", id=f"s{i}", inputs=[typed_input("x", "INT32", [1], [i])])
                for i in range(5)]
        reqs[2].model_name = "nosuch"
        got = []
        with self.assertRaises(grpc.RpcError) as cm:
            for r in self.stub.ModelStreamInfer(iter(reqs)):
                got.append(r.id)
        self.assertEqual(got, ["s0", "s1"])
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_metrics_for_grpc_inference(self):
        before = self.s.metrics()
        ok = pb.ModelInferRequest(model_name="echo", inputs=[typed_input("x", "INT32", [1], [1])])
        bad = pb.ModelInferRequest(model_name="echo", inputs=[typed_input("x", "INT32", [2], [1])])
        for _ in range(3):
            self.stub.ModelInfer(ok)
        call_error(lambda: self.stub.ModelInfer(bad))
        list(self.stub.ModelStreamInfer(iter([ok, ok])))
        after = self.s.metrics()
        delta = lambda name, **l: metric(after, name, **l) - metric(before, name, **l)  # noqa: E731
        unary = {"grpc_method": "ModelInfer", "grpc_type": "UNARY"}
        stream = {"grpc_method": "ModelStreamInfer", "grpc_type": "BIDI_STREAMING"}
        self.assertEqual(delta("grpc_server_started_total", **unary), 4)
        self.assertEqual(delta("grpc_server_handled_total", grpc_code="OK", **unary), 3)
        self.assertEqual(delta("grpc_server_handled_total", grpc_code="INVALID_ARGUMENT", **unary), 1)
        self.assertEqual(delta("grpc_server_started_total", **stream), 1)
        self.assertEqual(delta("grpc_server_handled_total", grpc_code="OK", **stream), 1)
        self.assertEqual(delta("model_infer_request_success_total", model_name="echo"), 5)
        self.assertEqual(delta("model_infer_request_failure_total", model_name="echo"), 1)

    def test_rest_and_grpc_inference_at_once(self):
        body = {"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1.5, -2]}]}

        def client(i):
            if i % 2 == 0:
                with requests.Session() as http:
                    for _ in range(100):
                        r = http.post(self.s.url + "/v2/models/echo/infer", json=body, timeout=30)
                        assert r.status_code == 200 and r.json()["outputs"][0]["data"] == [1.5, -2], r.text
            else:
                with grpc.insecure_channel(self.s.grpc_target) as ch:
                    stub = pb_grpc.GRPCInferenceServiceStub(ch)
                    for k in range(100):
                        req = pb.ModelInferRequest(model_name="echo", inputs=[typed_input("x", "FP32", [2],
                                                                                          [k, -2])])
                        assert list(stub.ModelInfer(req).outputs[0].contents.fp32_contents) == [k, -2]
            return i

        self.assertEqual(run_threads(6, client), list(range(6)))


class Limits(unittest.TestCase):
    """grpc_max_message_length on inference both ways."""

    LIMIT = 4096

    @classmethod
    def setUpClass(cls):
        cls.s = Server(settings={"grpc_max_message_length": cls.LIMIT}, wait_ready=False)
        cls.s.wait_ready(model="echo")
        cls.channel = grpc.insecure_channel(cls.s.grpc_target)
        cls.stub = pb_grpc.GRPCInferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.s.finish()

    def request_of(self, size):
        """An echo request without an id of exactly `size` bytes: its answer adds a generated id."""
        req = pb.ModelInferRequest(model_name="echo", raw_input_contents=[b""], inputs=[
            pb.ModelInferRequest.InferInputTensor(name="x", datatype="UINT8", shape=[0])])
        n = size - req.ByteSize()
        while True:
            req.raw_input_contents[0] = b"\x01" * n
            req.inputs[0].shape[0] = n
            if req.ByteSize() <= size:
                return req
            n -= 1

    def test_request_over_the_limit(self):
        code, details = call_error(lambda: self.stub.ModelInfer(self.request_of(self.LIMIT + 100)))
        self.assertEqual(code, grpc.StatusCode.RESOURCE_EXHAUSTED, details)

    def test_response_over_the_limit_names_the_setting(self):
        small = self.request_of(self.LIMIT - 100)
        self.assertEqual(len(self.stub.ModelInfer(small).raw_output_contents[0]), small.inputs[0].shape[0])
        code, details = call_error(lambda: self.stub.ModelInfer(self.request_of(self.LIMIT - 10)))
        self.assertEqual(code, grpc.StatusCode.RESOURCE_EXHAUSTED, details)
        self.assertRegex(details, r"^response of \d+ bytes exceeds grpc_max_message_length \(4096 bytes\)$")

class RequestTimeout(unittest.TestCase):
    def test_request_timeout_is_deadline_exceeded_with_rests_message(self):
        s = Server(settings={"request_timeout": 1}, models={"mis": MIS}, files={"mis/misbehave.so": MISBEHAVE},
                   copy_examples=False)
        try:
            with grpc.insecure_channel(s.grpc_target) as ch:
                self.stub = pb_grpc.GRPCInferenceServiceStub(ch)
                self.request_timeout()
        finally:
            s.finish()

    def request_timeout(self):
        req = pb.ModelInferRequest(model_name="mis", parameters={
            "action": pb.InferParameter(string_param="sleep"), "sleep_ms": pb.InferParameter(int64_param=3000)},
            inputs=[typed_input("x", "INT32", [1], [1])])
        code, details = call_error(lambda: self.stub.ModelInfer(req, timeout=60))
        self.assertEqual(code, grpc.StatusCode.DEADLINE_EXCEEDED, details)
        self.assertIn("did not answer within request_timeout", details)



class AccessLog(unittest.TestCase):
    def test_debug_logs_each_grpc_request_as_rest_does(self):
        s = Server(settings={"debug": True}, models={"mis": MIS}, files={"mis/misbehave.so": MISBEHAVE},
                   copy_examples=False)
        try:
            with grpc.insecure_channel(s.grpc_target) as ch:
                stub = pb_grpc.GRPCInferenceServiceStub(ch)
                ok = pb.ModelInferRequest(model_name="mis", inputs=[typed_input("x", "INT32", [1], [1])])
                stub.ModelInfer(ok)
                call_error(lambda: stub.ModelInfer(pb.ModelInferRequest(model_name="nosuch")))
                list(stub.ModelStreamInfer(iter([ok])))
            log = s.read_log()
            self.assertRegex(log, r"gRPC ModelInfer mis OK \d+\.\d{3} ms")
            self.assertRegex(log, r"gRPC ModelInfer nosuch NOT_FOUND \d+\.\d{3} ms")
            self.assertRegex(log, r"gRPC ModelStreamInfer mis OK \d+\.\d{3} ms")
        finally:
            s.finish()


class WorkerKilledDuringStream(unittest.TestCase):
    def test_only_in_flight_requests_fail_and_the_next_work(self):
        s = Server(models={"mis": MIS}, files={"mis/misbehave.so": MISBEHAVE}, copy_examples=False,
                   settings={"parallel_workers": 1})
        try:
            with grpc.insecure_channel(s.grpc_target) as ch:
                stub = pb_grpc.GRPCInferenceServiceStub(ch)
                sent = queue.Queue()

                def gen():
                    while True:
                        r = sent.get()
                        if r is None:
                            return
                        yield r

                def req(i, sleep_ms=0):
                    r = pb.ModelInferRequest(model_name="mis", id=f"k{i}", inputs=[typed_input("x", "INT32", [1], [i])])
                    if sleep_ms:
                        r.parameters["action"].string_param = "sleep"
                        r.parameters["sleep_ms"].int64_param = sleep_ms
                    return r

                responses = stub.ModelStreamInfer(gen())
                sent.put(req(0))
                self.assertEqual(next(responses).id, "k0")
                sent.put(req(1, sleep_ms=60000))
                # The slow request is on the worker once the worker counts it in flight.
                while metric(s.metrics(), "ringserve_worker_in_flight") < 1:
                    threading.Event().wait(0.01)
                pids = s.worker_pids()
                self.assertEqual(len(pids), 1)
                os.kill(pids[0], signal.SIGKILL)
                with self.assertRaises(grpc.RpcError) as cm:
                    next(responses)
                sent.put(None)
                self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE, cm.exception.details())
                # After the restart, a new stream and a unary call work. The replacement's pid shows
                # the death was handled (until then the model may still read as ready).
                while s.worker_pids() in ([], pids):
                    threading.Event().wait(0.01)
                s.wait_ready(model="mis")
                got = [r.id for r in stub.ModelStreamInfer(iter([req(2), req(3)]))]
                self.assertEqual(got, ["k2", "k3"])
                self.assertEqual(stub.ModelInfer(req(4)).id, "k4")
        finally:
            s.finish()


if __name__ == "__main__":
    unittest.main()
