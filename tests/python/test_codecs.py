"""mlserver.codecs: every codec both ways, the registry, custom codecs, decode_args and MLModel's
content-type precedence. numpy/pandas cases skip where those are absent."""
import asyncio
import sys
import unittest
from datetime import datetime
from typing import List, Optional, Tuple

import harness
from mlserver import MLModel, ModelSettings
from mlserver.codecs import (Base64Codec, CodecError, DatetimeCodec, InputCodec, NumpyCodec,
                             NumpyRequestCodec, PandasCodec, StringCodec, StringRequestCodec,
                             decode_args, register_input_codec)
from mlserver.codecs.base import _CodecRegistry, find_input_codec, find_request_codec
from mlserver.codecs.errors import CodecNotFound
from mlserver.types import InferenceRequest, Parameters, RequestInput, RequestOutput, TensorData

np = harness.numpy
try:
    import pandas as pd
except ImportError:
    pd = None
needs_numpy = unittest.skipIf(np is None, "numpy is not installed for this Python")
needs_pandas = unittest.skipIf(pd is None, "pandas is not installed for this Python")
run = asyncio.new_event_loop().run_until_complete


def inp(name, datatype, shape, data, ct=None):
    return RequestInput(name=name, datatype=datatype, shape=shape, data=data,
                        parameters=Parameters(content_type=ct) if ct else None)


class PureCodecsTest(unittest.TestCase):
    def test_string_codec_both_ways(self):
        out = StringCodec.encode_output("s", ["a", "é"])
        self.assertEqual((out.datatype, out.shape, list(out.data)), ("BYTES", [2, 1], [b"a", "é".encode()]))
        self.assertEqual(out.parameters.content_type, "str")
        for data in (b"hello world", "hello world", ["hello world"], [b"hello world"]):
            self.assertEqual(StringCodec.decode_input(inp("s", "BYTES", [1], data)), ["hello world"])
        self.assertEqual(StringCodec.decode_input(inp("s", "BYTES", [1], [["a"]])), [""])
        self.assertEqual(StringCodec.encode_output("s", ["x"], use_bytes=False).data.root, ["x"])
        self.assertTrue(StringCodec.can_encode([]))
        self.assertFalse(StringCodec.can_encode("abc"))

    def test_base64_and_datetime_both_ways(self):
        out = Base64Codec.encode_output("b", [b"\x01\x02"])
        self.assertEqual(list(out.data), [b"AQI="])
        self.assertEqual(Base64Codec.decode_input(inp("b", "BYTES", [1], ["AQI="])), [b"\x01\x02"])
        self.assertEqual(Base64Codec.decode_input(inp("b", "BYTES", [1], [b"not base64!"])), [b"not base64!"])
        when = datetime(2021, 8, 24, 15, 1, 19)
        out = DatetimeCodec.encode_output("d", [when])
        self.assertEqual((list(out.data), out.shape), ([b"2021-08-24T15:01:19"], [1, 1]))
        self.assertEqual(DatetimeCodec.decode_input(inp("d", "BYTES", [1], ["2021-08-24T15:01:19"])), [when])

    def test_request_codecs_and_single_input_rule(self):
        req = StringRequestCodec.encode_request(["x"])
        self.assertEqual(req.inputs[0].name, "input-1")
        self.assertEqual(StringRequestCodec.decode_request(req), ["x"])
        self.assertEqual(StringRequestCodec.encode_response("m", ["y"]).outputs[0].name, "output-1")
        two = InferenceRequest(inputs=[inp("a", "BYTES", [1], ["x"]), inp("b", "BYTES", [1], ["y"])])
        with self.assertRaises(CodecError) as e:
            NumpyRequestCodec.decode_request(two)
        self.assertEqual(str(e.exception), "There was an error encoding / decoding the payload: The 'np' "
                                           "codec only supports a single input tensor (2 were received)")

    def test_registry_shared_state_and_custom_codec(self):
        self.assertIs(find_input_codec("str"), StringCodec)
        self.assertIs(find_request_codec("pd"), PandasCodec)
        self.assertIsNone(find_input_codec("unknown"))
        self.assertIs(find_input_codec(payload=[b"x"]), Base64Codec)

        @register_input_codec
        class Upper(InputCodec):
            ContentType = "upper"
            TypeHint = List[int]

            @classmethod
            def decode_input(cls, request_input):
                return [s.upper() for s in StringCodec.decode_input(request_input)]

        self.assertIs(_CodecRegistry().find_input_codec("upper"), Upper)
        self.assertIs(find_input_codec(type_hint=List[int]), Upper)
        m = MLModel(ModelSettings(name="m", implementation="a.B"))
        self.assertEqual(m.decode(inp("x", "BYTES", [1], ["abc"], ct="upper")), ["ABC"])

    def test_decode_precedence_input_then_metadata_then_default_then_raw(self):
        s = ModelSettings(name="m", implementation="a.B",
                          inputs=[{"name": "meta", "datatype": "BYTES", "shape": [1],
                                   "parameters": {"content_type": "str"}}])
        m = MLModel(s)
        self.assertEqual(m.decode(inp("meta", "BYTES", [1], [b"x"])), ["x"])
        self.assertEqual(m.decode(inp("meta", "BYTES", [1], ["QQ=="], ct="base64")), [b"A"])
        raw = inp("other", "BYTES", [1], [b"x"])
        self.assertIsInstance(m.decode(raw), TensorData)
        self.assertEqual(m.decode(raw, default_codec=StringCodec), ["x"])
        req = InferenceRequest(inputs=[inp("a", "BYTES", [1], [b"q"])], parameters={"content_type": "str"})
        self.assertEqual(m.decode_request(req), ["q"])
        plain = InferenceRequest(inputs=[inp("a", "BYTES", [1], [b"q"])])
        self.assertIs(m.decode_request(plain), plain)

    def test_encode_precedence_and_codec_not_found(self):
        m = MLModel(ModelSettings(name="m", implementation="a.B"))
        self.assertEqual(m.encode(["a"], RequestOutput(name="o")).parameters.content_type, "str")
        self.assertEqual(m.encode_response(["a"]).outputs[0].name, "output-1")
        with self.assertRaisesRegex(CodecNotFound, "^Codec not found for output response with type <class 'dict'>$"):
            m.encode_response({})
        with self.assertRaisesRegex(CodecNotFound, "^Codec not found for output field with name 'o'$"):
            m.encode({}, RequestOutput(name="o"))

    def test_decode_args_errors_and_tuples(self):
        with self.assertRaisesRegex(CodecNotFound, "Codec not found for input field with name 'x' and type <class 'int'>"):
            async def bad(self, x: int) -> List[str]: ...
            decode_args(bad)
        if sys.version_info >= (3, 9):  # `list[str]` is no List[str] for the registry
            async def lower(self, x) -> List[str]: ...
            lower.__annotations__["x"] = eval("list[str]")
            with self.assertRaisesRegex(CodecNotFound, "with name 'x' and type list\\[str\\]"):
                decode_args(lower)

        class Tup(MLModel):
            @decode_args
            async def predict(self, a: List[str], b: Optional[List[bytes]] = None) -> Tuple[List[str], List[bytes]]:
                return a, b or [b"none"]

            @decode_args
            async def wrong(self, a: List[str]) -> List[bytes]:
                return a

        t = Tup(ModelSettings(name="t", implementation="a.B"))
        resp = run(t.predict(InferenceRequest(inputs=[inp("a", "BYTES", [1], [b"x"])])))
        self.assertEqual([o.name for o in resp.outputs], ["output-0", "output-1"])
        self.assertEqual([o.parameters.content_type for o in resp.outputs], ["str", "base64"])
        self.assertIsNone(resp.parameters)
        with self.assertRaisesRegex(Exception, "Unexpected output value at position '0' \\(<class 'list'>\\). "
                                               "Expected outputs are 'typing.List\\[bytes\\]' outputs."):
            run(t.wrong(InferenceRequest(inputs=[inp("a", "BYTES", [1], [b"x"])])))
        # no type checking: List[str] over INT data gives ""
        resp = run(t.predict(InferenceRequest(inputs=[inp("a", "INT32", [1], [5])])))
        self.assertEqual(list(resp.outputs[0].data), [b""])


@needs_numpy
class NumpyCodecsTest(unittest.TestCase):
    def test_numpy_codec_both_ways_every_datatype(self):
        for datatype, dtype in (("BOOL", "bool"), ("UINT8", "uint8"), ("INT16", "int16"), ("UINT32", "uint32"),
                                ("INT64", "int64"), ("FP16", "float16"), ("FP32", "float32"), ("FP64", "float64")):
            arr = np.array([[1, 0, 1]], dtype=dtype)
            out = NumpyCodec.encode_output("x", arr)
            self.assertEqual((out.datatype, out.shape), (datatype, [1, 3]))
            self.assertEqual(out.data.root, arr.flatten().tolist())
            back = NumpyCodec.decode_input(inp("x", datatype, [1, 3], out.data.root))
            self.assertEqual(back.dtype, np.dtype(dtype))
            np.testing.assert_array_equal(back, arr)
            view = TensorData._from_buffer(memoryview(arr.tobytes()), datatype)
            np.testing.assert_array_equal(NumpyCodec.decode_input(inp("x", datatype, [1, 3], view)), arr)
        self.assertEqual(NumpyCodec.encode_output("x", np.array([2])).shape, [1, 1])
        self.assertEqual(NumpyCodec.encode_output("x", np.array(2.0)).shape, [1])

    def test_numpy_bytes_and_strings(self):
        out = NumpyCodec.encode_output("s", np.array(["a", "bc"]))
        self.assertEqual((out.datatype, list(out.data)), ("BYTES", [b"a", b"bc"]))
        d = NumpyCodec.decode_input(inp("b", "BYTES", [2, 1], [b"\x01\x02"]))
        self.assertEqual(d.tolist(), [[b"\x01"], [b"\x02"]])
        with self.assertRaises(ValueError):
            NumpyCodec.decode_input(inp("x", "INT32", [2, 2], [1, 2, 3]))

    def test_decode_args_numpy_output_matches_mlserver(self):
        class Simple(MLModel):
            @decode_args
            async def predict(self, foo: np.ndarray, bar: List[str]) -> np.ndarray:
                return np.array([2])

        r = run(Simple(ModelSettings(name="s", implementation="a.B")).predict(
            InferenceRequest(inputs=[inp("foo", "INT32", [1, 2], [1, 2]), inp("bar", "BYTES", [1], ["x"])])))
        self.assertEqual(r.outputs[0].model_dump(), {"name": "output-0", "datatype": "INT64", "shape": [1, 1],
                                                     "data": [2], "parameters": {"content_type": "np"}})


@needs_pandas
class PandasCodecTest(unittest.TestCase):
    def test_pandas_both_ways(self):
        df = pd.DataFrame({"a": [1, 2], "s": ["x", "y"], "m": [1, "z"]})
        resp = PandasCodec.encode_response("m", df)
        self.assertEqual(resp.parameters.content_type, "pd")
        a, s, m = resp.outputs
        self.assertEqual((a.name, a.datatype, a.shape, a.parameters), ("a", "INT64", [2, 1], None))
        self.assertEqual((s.parameters.content_type, list(s.data)), ("str", [b"x", b"y"]))
        self.assertEqual(m.parameters.content_type, "pd_json")
        req = InferenceRequest(parameters={"content_type": "pd"}, inputs=[
            inp("a", "INT32", [1], [10]), inp("op", "BYTES", [1], ["-"], ct="str")])
        decoded = MLModel(ModelSettings(name="m", implementation="a.B")).decode_request(req)
        self.assertEqual(list(decoded.columns), ["a", "op"])
        self.assertEqual(decoded["op"].tolist(), ["-"])

    def test_decode_args_dataframe_takes_leftover_inputs(self):
        class Frame(MLModel):
            @decode_args
            async def predict(self, foo: List[str], rest: pd.DataFrame) -> Tuple[pd.DataFrame, List[str]]:
                return rest, foo

        r = run(Frame(ModelSettings(name="f", implementation="a.B")).predict(InferenceRequest(inputs=[
            inp("foo", "BYTES", [1], ["x"]), inp("c1", "INT32", [2], [1, 2])])))
        self.assertEqual([o.name for o in r.outputs], ["c1", "output-1"])


if __name__ == "__main__":
    unittest.main()
