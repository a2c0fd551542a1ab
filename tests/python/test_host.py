"""ringserve_host against the `_ringserve` double: statuses, errors, readiness, inputs as views,
outputs written once, headers, module isolation. numpy cases skip where numpy is absent."""
import json
import os
import shutil
import struct
import tempfile
import unittest

import harness
import _ringserve as fake
import ringserve_host as host

np = harness.numpy
needs_numpy = unittest.skipIf(np is None, "numpy is not installed for this Python")

MODELS = r'''
import asyncio, sys
from typing import List, Optional
from mlserver import MLModel
from mlserver.codecs import decode_args, StringCodec
from mlserver.errors import MLServerError, InferenceError
from mlserver.types import InferenceResponse, ResponseOutput, Parameters

class Echo(MLModel):
    async def predict(self, payload):
        headers = (payload.parameters.headers or {}) if payload.parameters else {}
        return InferenceResponse(model_name=self.name, outputs=[
            ResponseOutput(name=i.name, shape=i.shape, datatype=i.datatype, data=i.data)
            for i in payload.inputs],
            parameters=Parameters(headers={k: v for k, v in headers.items() if k.startswith("x-")}))

class Sync(MLModel):
    def predict(self, payload):
        return InferenceResponse(model_name=self.name, outputs=[
            ResponseOutput(name="n", shape=[2, 2], datatype="INT64", data=[[1, 2], [3, 4]]),
            ResponseOutput(name="f", shape=[2], datatype="FP16", data=[0.5, None]),
            ResponseOutput(name="j", shape=[30], datatype="BYTES", data="{\"a\": 1}")])

class Sleepy(MLModel):
    async def predict(self, payload):
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        return InferenceResponse(model_name=self.name, outputs=[
            StringCodec.encode_output("s", ["slept", "é"])])

class NotReady(MLModel):
    async def load(self):
        return None

class Raises(MLModel):
    async def load(self):
        if self.settings.parameters and self.settings.parameters.load_error:
            raise MLServerError("load went wrong")
        return True
    async def predict(self, payload):
        kind = payload.inputs[0].data[0]
        if kind == b"mlserver": raise MLServerError("something really bad happened")
        if kind == b"404": raise MLServerError("gone", status_code=404)
        if kind == b"422": raise MLServerError("unprocessable", status_code=422)
        if kind == b"inference": raise InferenceError("bad input")
        if kind == b"exit": sys.exit(3)
        if kind == b"interrupt": raise KeyboardInterrupt()
        if kind == b"wrong": return {"not": "a response"}
        raise ValueError("plain\nfailure")

class Strings(MLModel):
    @decode_args
    async def predict(self, questions: List[str], context: Optional[List[str]] = None) -> List[str]:
        return [q.upper() for q in questions] + (context or [])

WHO = "WHO_VALUE"
class Who(MLModel):
    async def predict(self, payload):
        return InferenceResponse(model_name=self.name, outputs=[StringCodec.encode_output("who", [WHO])])
'''

NUMPY_MODELS = r'''
import numpy as np
from mlserver import MLModel
from mlserver.codecs import NumpyCodec, decode_args
from mlserver.types import InferenceResponse

SEEN = {}

class Sum(MLModel):
    async def predict(self, payload):
        x = NumpyCodec.decode_input(payload.inputs[0])
        SEEN["x"] = x
        return InferenceResponse(model_name=self.name, model_version=self.version,
                                 outputs=[NumpyCodec.encode_output("total", x.sum(axis=1, keepdims=True))])

class Simple(MLModel):
    @decode_args
    async def predict(self, foo: np.ndarray, bar: np.ndarray) -> np.ndarray:
        return foo + bar
'''


class HostTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rs-pyhost-")
        self.addCleanup(shutil.rmtree, self.dir)
        fake.logs.clear()
        fake.metrics.clear()

    def model(self, cls, name="m", source=MODELS, folder=None, parameters=None, load=True):
        folder = folder or os.path.join(self.dir, name)
        settings = {"name": name, "implementation": f"models.{cls}"}
        if parameters:
            settings["parameters"] = parameters
        harness.write_model(folder, source, settings)
        status, handle = host.create(f"token-{name}", f"models.{cls}", json.dumps(settings), folder, folder)
        self.assertEqual(status, 0, handle)
        if load:
            self.assertEqual(host.load(handle), (0, True))
        return handle

    def predict(self, handle, inputs, parameters=None, outputs=()):
        call = fake.Call()
        tensors = [harness.tensor(*i)[0] for i in inputs]
        result = host.predict(handle, call, "req-1", json.dumps(parameters) if parameters else "",
                              tensors, list(outputs))
        return result, call

    def test_echo_copies_the_input_buffer_and_returns_headers(self):
        h = self.model("Echo")
        res, call = self.predict(h, [("a", "FP32", [1, 2], [1.0, 2.0]), ("s", "BYTES", [2], [b"hi", b""])],
                                 parameters={"headers": {"x-foo": "bar", "host": "h"}})
        self.assertEqual(res, (0, None))
        dt, shape, buf, _ = call.outputs["a"]
        self.assertEqual((dt, shape, struct.unpack("<2f", buf)), ("FP32", (1, 2), (1.0, 2.0)))
        self.assertEqual(bytes(call.outputs["s"][2]), harness.packed("BYTES", [b"hi", b""]))
        self.assertEqual(call.parameters, {"headers": {"x-foo": "bar"}})

    def test_plain_def_predict_lists_fp16_null_and_bytes_real_shape(self):
        h = self.model("Sync")
        res, call = self.predict(h, [])
        self.assertEqual(res, (0, None))
        self.assertEqual(struct.unpack("<4q", call.outputs["n"][2]), (1, 2, 3, 4))
        half = struct.unpack("<2e", call.outputs["f"][2])
        self.assertEqual(half[0], 0.5)
        self.assertNotEqual(half[1], half[1])  # null -> NaN
        dt, shape, buf, _ = call.outputs["j"]
        self.assertEqual(shape, (1,))  # one element, whatever shape the runtime claimed
        self.assertEqual(bytes(buf), harness.packed("BYTES", [b'{"a": 1}']))

    def test_coroutine_that_suspends_finishes_on_the_loop(self):
        h = self.model("Sleepy")
        for _ in range(2):
            res, call = self.predict(h, [])
            self.assertEqual(res, (0, None))
            self.assertEqual(call.outputs["s"][1], (2, 1))
            self.assertEqual(call.outputs["s"][3], {"content_type": "str"})
            self.assertEqual(bytes(call.outputs["s"][2]), harness.packed("BYTES", ["slept", "é"]))

    def test_falsy_load_leaves_the_model_not_ready(self):
        h = self.model("NotReady", name="nr", load=False)
        self.assertEqual(host.load(h), (0, False))
        self.assertEqual(self.predict(h, [])[0], (2, "Model nr is not ready yet."))
        self.assertEqual(host.unload(h), (0, None))

    def test_load_error_fails_load_with_status_and_log(self):
        h = self.model("Raises", name="le", parameters={"load_error": True}, load=False)
        self.assertEqual(host.load(h), (2, "mlserver.errors.MLServerError: load went wrong"))
        self.assertEqual(self.predict(h, [])[0][0], 2)  # still not ready
        self.assertTrue(any(t == "token-le" and lvl == 3 and "model 'le': load failed" in m
                            for t, lvl, m in fake.logs))

    def test_errors_map_to_abi_statuses_with_mlserver_worker_text(self):
        h = self.model("Raises", name="err")
        cases = {b"mlserver": (2, "mlserver.errors.MLServerError: something really bad happened"),
                 b"inference": (2, "mlserver.errors.InferenceError: bad input"),
                 b"404": (3, "mlserver.errors.MLServerError: gone"),
                 b"422": (2, "mlserver.errors.MLServerError: unprocessable"),
                 b"plain": (1, "builtins.ValueError: plain failure"),
                 b"exit": (1, "builtins.SystemExit: 3"),
                 b"interrupt": (1, "builtins.KeyboardInterrupt: "),
                 b"wrong": (2, "Model 'err' returned no predictions after inference")}
        for kind, expected in cases.items():
            fake.logs.clear()
            res, _ = self.predict(h, [("k", "BYTES", [1], [kind])])
            self.assertEqual((res[0], res[1].rstrip()), (expected[0], expected[1].rstrip()), kind)
            if kind != b"wrong":
                self.assertTrue(any("Traceback" in m and "model 'err': predict failed" in m
                                    for _, lvl, m in fake.logs if lvl == 3), kind)
        # the model keeps serving after SystemExit
        self.assertEqual(self.predict(h, [("k", "BYTES", [1], [b"mlserver"])])[0][0], 2)

    def test_decode_args_strings_optional_and_missing_input(self):
        h = self.model("Strings")
        res, call = self.predict(h, [("questions", "BYTES", [2], [b"a", b"b"])])
        self.assertEqual(res, (0, None))
        self.assertEqual(call.order, ["output-0"])
        self.assertEqual(bytes(call.outputs["output-0"][2]), harness.packed("BYTES", ["A", "B"]))
        res, _ = self.predict(h, [("context", "BYTES", [1], [b"c"])])
        self.assertEqual(res, (2, "mlserver.codecs.errors.MissingInputs: Input 'questions' is required by "
                                  "predict() but missing from the request (received inputs: 'context')."))
        res, _ = self.predict(h, [("questions", "BYTES", [1], [b"q"]), ("other", "BYTES", [1], [b"o"])])
        self.assertEqual(res, (2, "mlserver.codecs.errors.InputsNotFound: Input 'other' was not found. "
                                  "Available inputs are 'questions', 'context'."))

    def test_missing_class_lists_mlmodel_subclasses(self):
        folder = os.path.join(self.dir, "miss")
        harness.write_model(folder, MODELS, {"name": "miss", "implementation": "models.Nope"})
        status, msg = host.create("t", "models.Nope", "{}", folder, folder)
        self.assertEqual(status, 3)
        self.assertIn("has no class 'Nope'", msg)
        self.assertIn("'Echo', 'NotReady', 'Raises', 'Sleepy', 'Strings', 'Sync', 'Who'", msg)

    def test_two_folders_with_models_py_stay_apart_and_edits_reload(self):
        a = self.model("Who", name="a", source=MODELS.replace("WHO_VALUE", "first"))
        b = self.model("Who", name="b", source=MODELS.replace("WHO_VALUE", "second"))
        for handle, expected in ((a, "first"), (b, "second")):
            _, call = self.predict(handle, [])
            self.assertEqual(bytes(call.outputs["who"][2])[4:], expected.encode())
        a2 = self.model("Who", name="a", source=MODELS.replace("WHO_VALUE", "edited"))
        _, call = self.predict(a2, [])
        self.assertEqual(bytes(call.outputs["who"][2])[4:], b"edited")

    def test_same_named_modules_created_on_threads_at_once_stay_apart(self):
        # The worker creates models on one thread per load (worker/control_loop.cpp). A module that
        # takes a while to import (file I/O, a sleep) leaves the GIL to the other thread meanwhile.
        import threading
        slow = "import time\ntime.sleep(0.05)\n" + MODELS
        folders = {}
        for i in range(6):
            name = f"t{i}"
            folders[name] = os.path.join(self.dir, name)
            harness.write_model(folders[name], slow.replace("WHO_VALUE", name),
                                {"name": name, "implementation": "models.Who"})
        handles, barrier = {}, threading.Barrier(len(folders))

        def create(name):
            barrier.wait()
            handles[name] = host.create(f"token-{name}", "models.Who", json.dumps({"name": name}),
                                        folders[name], folders[name])

        threads = [threading.Thread(target=create, args=(n,)) for n in folders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name, (status, handle) in sorted(handles.items()):
            self.assertEqual(status, 0, handle)
            self.assertEqual(host.load(handle), (0, True))
            _, call = self.predict(handle, [])
            self.assertEqual(bytes(call.outputs["who"][2])[4:], name.encode(), f"model {name}")

    def test_metrics_and_logger_reach_the_host_with_the_model(self):
        source = MODELS + r'''
import mlserver
from mlserver.logging import logger
class Metered(MLModel):
    async def load(self):
        mlserver.register("my_custom_metric", "a custom metric")
        return True
    async def predict(self, payload):
        mlserver.log(my_custom_metric=34)
        logger.info("predicting")
        return InferenceResponse(model_name=self.name, outputs=[])
'''
        h = self.model("Metered", name="met", source=source)
        self.assertEqual(self.predict(h, [])[0], (0, None))
        self.assertIn(("token-met", 2, "my_custom_metric", "a custom metric", 34.0),
                      [m[:5] for m in fake.metrics])
        self.assertIn(("token-met", 1, "predicting"), fake.logs)

    def test_arena_full_is_resource_exhausted(self):
        h = self.model("Echo")
        call = fake.Call(limit=4)
        t, _ = harness.tensor("a", "FP64", [2], [1.0, 2.0])
        status, msg = host.predict(h, call, "", "", [t], [])
        self.assertEqual(status, 5)
        self.assertIn("shm_size", msg)

    @needs_numpy
    def test_numpy_input_is_a_read_only_view_and_output_one_copy(self):
        h = self.model("Sum", source=NUMPY_MODELS, parameters={"version": "v1.2.3"})
        t, buf = harness.tensor("input-0", "INT32", [1, 3], [1, 2, 3])
        call = fake.Call()
        self.assertEqual(host.predict(h, call, "r", "", [t], []), (0, None))
        import models
        x = models.SEEN["x"]
        self.assertEqual(x.__array_interface__["data"][0],
                         np.frombuffer(buf, np.uint8).__array_interface__["data"][0])
        self.assertFalse(x.flags.writeable)
        dt, shape, out, params = call.outputs["total"]
        self.assertEqual((dt, shape, params), ("INT64", (1, 1), {"content_type": "np"}))
        self.assertEqual(struct.unpack("<q", out), (6,))

    @needs_numpy
    def test_decode_args_numpy_and_wrong_shape(self):
        h = self.model("Simple", source=NUMPY_MODELS)
        res, call = self.predict(h, [("foo", "FP32", [2], [1.0, 2.0]), ("bar", "FP32", [2], [0.5, 0.5])])
        self.assertEqual(res, (0, None))
        self.assertEqual(call.outputs["output-0"][:2], ("FP32", (2, 1)))
        self.assertEqual(struct.unpack("<2f", call.outputs["output-0"][2]), (1.5, 2.5))
        res, _ = self.predict(h, [("foo", "FP32", [2], [1.0, 2.0]), ("bar", "FP32", [3], [1.0] * 3)])
        self.assertEqual(res[0], 1)
        self.assertIn("builtins.ValueError: operands could not be broadcast", res[1])


if __name__ == "__main__":
    unittest.main()
