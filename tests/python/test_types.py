"""mlserver.types, settings, errors, utils, metrics and logging: standard library only."""
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import unittest

import harness  # noqa: F401  (sys.path)
from mlserver import MLModel, ModelSettings, ModelParameters
from mlserver.errors import InferenceError, InvalidModelURI, MLServerError, ModelNotReady
from mlserver.types import (InferenceRequest, InferenceResponse, Parameters, RequestInput,
                            ResponseOutput, TensorData, ValidationError)
from mlserver.utils import get_model_uri


class TypesTest(unittest.TestCase):
    def test_import_needs_only_the_standard_library(self):
        code = ("import sys, mlserver, mlserver.codecs, mlserver.types, mlserver.utils;"
                "print('numpy' in sys.modules, 'pandas' in sys.modules, 'pydantic' in sys.modules)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=os.path.join(harness.ROOT, "python")))
        self.assertEqual(out.stdout.strip(), "False False False", out.stderr)

    def test_keyword_construction_nested_dicts_and_attribute_access(self):
        req = InferenceRequest(inputs=[{"name": "a", "shape": [2], "datatype": "INT32",
                                        "data": [1, 2], "parameters": {"content_type": "np"}}])
        self.assertIsInstance(req.inputs[0], RequestInput)
        self.assertEqual(req.inputs[0].parameters.content_type, "np")
        self.assertEqual(list(req.inputs[0].data), [1, 2])
        self.assertEqual(req.inputs[0].data[1], 2)
        self.assertEqual(len(req.inputs[0].data), 2)
        self.assertIsNone(req.id)

    def test_model_dump_drops_unset_and_none_dict_keeps_them(self):
        out = ResponseOutput(name="o", shape=[1], datatype="FP32", data=[1.5])
        self.assertEqual(out.model_dump(), {"name": "o", "shape": [1], "datatype": "FP32", "data": [1.5]})
        self.assertIn("parameters", out.dict())
        self.assertIsNone(out.dict()["parameters"])
        self.assertEqual(json.loads(out.json())["parameters"], None)
        self.assertEqual(json.loads(out.model_dump_json())["data"], [1.5])

    def test_parse_obj_and_model_validate_round_trip(self):
        body = {"model_name": "m", "outputs": [{"name": "o", "shape": [1], "datatype": "BYTES",
                                                "data": [b"x"]}]}
        resp = InferenceResponse.parse_obj(body)
        self.assertEqual(resp, InferenceResponse.model_validate(body))
        self.assertEqual(json.loads(resp.model_dump_json())["outputs"][0]["data"], ["x"])

    def test_missing_required_field_and_bad_datatype(self):
        with self.assertRaisesRegex(ValidationError, "field 'outputs' is required"):
            InferenceResponse(model_name="m")
        with self.assertRaises(ValidationError) as e:
            RequestInput(name="a", shape=[1], datatype="FLOAT", data=[1])
        self.assertIn("Input should be 'BOOL', 'UINT8'", str(e.exception))
        self.assertTrue(str(e.exception).endswith("'FP64' or 'BYTES'"))

    def test_parameters_allow_extra_keys_and_hide_decoded_payload(self):
        p = Parameters(content_type="str", foo=1, _decoded_payload=["abc"])
        self.assertEqual(p.foo, 1)
        self.assertEqual(p._decoded_payload, ["abc"])
        self.assertEqual(p.model_dump(), {"content_type": "str", "foo": 1})

    def test_tensor_data_from_a_buffer_reads_as_a_flat_list(self):
        td = TensorData._from_buffer(memoryview(harness.packed("FP32", [1.0, 2.5])), "FP32")
        self.assertEqual(td, [1.0, 2.5])
        self.assertEqual(TensorData(root=[1]), TensorData([1]))
        td = TensorData._from_buffer(memoryview(harness.packed("BYTES", [b"ab", b""])), "BYTES")
        self.assertEqual(list(td), [b"ab", b""])
        td = TensorData._from_buffer(memoryview(harness.packed("FP16", [0.5])), "FP16")
        self.assertEqual(td.root, [0.5])

    def test_bytes_inputs_iterate_as_bytes_and_dump_as_the_strings_rest_sent(self):
        data = TensorData._from_buffer(memoryview(harness.packed("BYTES", ["hé", b"\xff"])), "BYTES")
        inp = RequestInput(name="s", shape=[2], datatype="BYTES", data=data)
        self.assertEqual(list(inp.data), ["hé".encode(), b"\xff"])
        self.assertEqual(inp.dict()["data"], ["hé", b"\xff"])  # not UTF-8: left as bytes
        inp.data.root = [b"set"]
        self.assertEqual(inp.dict()["data"], [b"set"])  # a runtime's own value is its own

    def test_dump_exclude_as_pydantic(self):
        # MLServer's docs/examples/content-type/runtime.py dumps its inputs this way.
        inp = RequestInput(name="a", shape=[1], datatype="INT32", data=[1],
                           parameters=Parameters(content_type="np", headers={"x": "1"}, _decoded_payload=[1]))
        self.assertEqual(inp.dict(exclude={"parameters": {"_decoded_payload", "headers"}}),
                         {"name": "a", "shape": [1], "datatype": "INT32", "data": [1],
                          "parameters": {"content_type": "np"}})
        req = InferenceRequest(inputs=[inp, RequestInput(name="b", shape=[1], datatype="INT32", data=[2])])
        dumped = req.model_dump(exclude={"inputs": {"__all__": {"parameters": {"headers"}}, 1: True}})
        self.assertEqual(dumped, {"inputs": [{"name": "a", "shape": [1], "datatype": "INT32", "data": [1],
                                              "parameters": {"content_type": "np"}}]})
        self.assertEqual(json.loads(req.json(exclude={"inputs"})), {"id": None, "parameters": None, "outputs": None})

    def test_generated_init_behaves_as_the_general_one(self):
        # types/base.py writes an __init__ per class; a subclass with other fields falls back.
        out = ResponseOutput(name="o", shape=("2",), datatype="FP32", data=[1, 2], _private=3, unknown=4)
        self.assertEqual(out.model_dump(), {"name": "o", "shape": [2], "datatype": "FP32", "data": [1, 2]})
        self.assertEqual(out._private, 3)
        self.assertFalse(hasattr(out, "unknown"))
        self.assertEqual(out.model_fields_set, {"name", "shape", "datatype", "data"})
        with self.assertRaisesRegex(ValidationError, "ResponseOutput.shape: "):
            ResponseOutput(name="o", shape=["x"], datatype="FP32", data=[1])
        with self.assertRaisesRegex(ValidationError, "InferenceResponse: field 'model_name' is required"):
            InferenceResponse(outputs=[])
        extra = Parameters(content_type="np", custom=1)
        self.assertEqual(extra.model_dump(), {"content_type": "np", "custom": 1})

        class Narrow(ResponseOutput):
            _fields = {"name": (None, str)}

            def __init__(self, **kwargs):
                super().__init__(**kwargs)   # ResponseOutput's generated __init__ sees other fields

        self.assertEqual(Narrow(name="n").model_dump(), {"name": "n"})

    def test_host_built_request_parses_parameters_on_first_read(self):
        from mlserver.types.dataplane import _new_request
        text = '{"headers": {"x-a": "1"}, "content_type": "np"}'
        req = _new_request("id1", text, [], None)
        self.assertNotIn("parameters", req.__dict__)
        self.assertEqual(req.parameters.headers, {"x-a": "1"})
        self.assertEqual(req.parameters.content_type, "np")
        self.assertIs(req.parameters, req.parameters)
        dumped = _new_request("id1", text, [], None).model_dump()
        self.assertEqual(dumped, {"id": "id1", "parameters": {"headers": {"x-a": "1"}, "content_type": "np"},
                                  "inputs": []})
        assigned = _new_request(None, text, [], None)
        assigned.parameters = Parameters(content_type="str")
        self.assertEqual(assigned.model_dump(), {"parameters": {"content_type": "str"}, "inputs": []})
        self.assertIsNone(_new_request(None, "", [], None).parameters)
        self.assertEqual(_new_request(None, "", [], None).dict(), {"id": None, "parameters": None,
                                                                   "inputs": [], "outputs": None})


class SettingsTest(unittest.TestCase):
    def test_fields_defaults_and_version(self):
        s = ModelSettings(name="m", implementation="models.X", unknown=1,
                          parameters={"uri": "./m.bin", "version": "v2", "extra": {"k": 1}, "load_error": True})
        self.assertEqual(s.version, "v2")
        self.assertEqual(s.parameters.extra, {"k": 1})
        self.assertTrue(s.parameters.load_error)      # ModelParameters keeps extra keys
        self.assertFalse(hasattr(s, "unknown"))        # ModelSettings drops them
        self.assertEqual(s.implementation_, "models.X")
        self.assertEqual(s.max_batch_size, 0)
        self.assertIsNone(ModelSettings(implementation="a.B").parameters)

    def test_environment_variables_fill_unset_fields(self):
        os.environ["MLSERVER_MODEL_VERSION"] = "from-env"
        try:
            self.assertEqual(ModelParameters().version, "from-env")
            self.assertEqual(ModelParameters(version="given").version, "given")
        finally:
            del os.environ["MLSERVER_MODEL_VERSION"]

    def test_get_model_uri(self):
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "model.pkl"), "w").close()
            s = ModelSettings(name="m", implementation="a.B", parameters={"uri": d},
                              _source=os.path.join(d, "model-settings.json"))
            run = asyncio.new_event_loop().run_until_complete
            self.assertEqual(run(get_model_uri(s, ["model.joblib", "model.pkl"])), os.path.join(d, "model.pkl"))
            self.assertEqual(run(get_model_uri(s)), d)
            rel = ModelSettings(name="m", implementation="a.B", parameters={"uri": "./model.pkl"},
                                _source=os.path.join(d, "model-settings.json"))
            self.assertEqual(run(get_model_uri(rel)), os.path.join(d, "model.pkl"))
            s3 = ModelSettings(name="m", implementation="a.B", parameters={"uri": "s3://b/k"})
            self.assertEqual(run(get_model_uri(s3)), "s3://b/k")
            missing = ModelSettings(name="m", implementation="a.B", parameters={"uri": d + "/nope"})
            with self.assertRaises(InvalidModelURI) as e:
                run(get_model_uri(missing))
            self.assertEqual(e.exception.status_code, 422)
            self.assertEqual(str(e.exception), f"Invalid URI specified for model m ({d}/nope)")
            with self.assertRaisesRegex(InvalidModelURI, "^Invalid URI specified for model m$"):
                run(get_model_uri(ModelSettings(name="m", implementation="a.B")))


class ErrorsMetricsLoggingTest(unittest.TestCase):
    def test_errors_keep_status_and_message(self):
        self.assertEqual(MLServerError("x").status_code, 400)
        self.assertEqual(MLServerError("x", 503).status_code, 503)
        self.assertEqual(str(InferenceError("bad input")), "bad input")
        self.assertEqual(str(ModelNotReady("m", "v1")), "Model m with version v1 is not ready yet.")

    def test_log_outside_a_model_context_raises_500(self):
        import mlserver
        from mlserver.metrics.errors import InvalidModelContext
        hist = mlserver.register("my_metric", "help")
        self.assertIs(hist, mlserver.register("my_metric", "other"))
        with self.assertRaises(InvalidModelContext) as e:
            mlserver.log(my_metric=1)
        self.assertEqual(e.exception.status_code, 500)

    def test_logger_is_the_mlserver_logger(self):
        import logging
        from mlserver.logging import logger
        self.assertIs(logger, logging.getLogger("mlserver"))

    def test_mlmodel_members(self):
        s = ModelSettings(name="m", implementation="a.B", parameters={"version": "v1"},
                          inputs=[{"name": "x", "datatype": "FP32", "shape": [1]}])
        m = MLModel(s)
        self.assertEqual((m.name, m.version, m.settings, m.ready), ("m", "v1", s, False))
        self.assertIn("x", m._inputs_index)
        run = asyncio.new_event_loop().run_until_complete
        self.assertTrue(run(m.load()))
        with self.assertRaisesRegex(NotImplementedError, "predict\\(\\) method not implemented"):
            run(m.predict(InferenceRequest(inputs=[])))
        meta = run(m.metadata())
        self.assertEqual(meta.inputs[0].name, "x")


if __name__ == "__main__":
    unittest.main()
