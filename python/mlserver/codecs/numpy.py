"""NumpyCodec (mlserver/codecs/numpy.py). numpy is imported on first use, not with this module.

ringserve: an input whose data is a memoryview onto the request arena decodes to a read-only
numpy view of it (numpy.frombuffer, no copy); an encoded output keeps the array so the host
copies it once into the response arena (`data` still reads as MLServer's flat list)."""
from typing import Any

from .. import _deps
from ..types import Parameters, RequestInput, ResponseOutput
from ..types.dataplane import TensorData
from .base import InputCodec, register_input_codec, register_request_codec
from .lists import is_list_of
from .utils import SingleInputRequestCodec, inject_batch_dimension

_DatatypeToNumpy = {"BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32",
                    "UINT64": "uint64", "INT8": "int8", "INT16": "int16", "INT32": "int32",
                    "INT64": "int64", "FP16": "float16", "FP32": "float32", "FP64": "float64",
                    "BYTES": "bytes"}
_NumpyToDatatype = {v: k for k, v in _DatatypeToNumpy.items()}
_NumpyToDatatype.update({"O": "BYTES", "S": "BYTES", "U": "BYTES"})


def to_dtype(input_or_output):
    np = _deps.numpy()
    dtype = _DatatypeToNumpy.get(input_or_output.datatype)
    if dtype is None:
        from .errors import CodecError
        raise CodecError(f"datatype {input_or_output.datatype} has no numpy dtype")
    if input_or_output.datatype == "BYTES":
        data = getattr(input_or_output.data, "root", input_or_output.data)
        if is_list_of(data, str):
            return np.dtype(str)
        return np.dtype((dtype, input_or_output.shape[-1]))
    return np.dtype(dtype)


def to_datatype(dtype) -> str:
    as_str = str(dtype)
    if as_str not in _NumpyToDatatype:
        as_str = getattr(dtype, "kind")
    return _NumpyToDatatype[as_str]


def _to_ndarray(input_or_output):
    np = _deps.numpy()
    data = input_or_output.data
    dtype = to_dtype(input_or_output)
    if isinstance(data, TensorData) and data._buffer is not None and input_or_output.datatype != "BYTES":
        return np.frombuffer(data._buffer, dtype)  # a view onto shared memory, read-only
    data = getattr(data, "root", data)
    if input_or_output.datatype == "BYTES" and is_list_of(data, bytes):
        return np.frombuffer(b"".join(data), dtype)
    return np.array(data, dtype)


def convert_nan(val):
    return None if isinstance(val, float) and val != val else val


def _encode_data(data, datatype: str):
    np = _deps.numpy()
    if datatype == "BYTES":
        if np.issubdtype(data.dtype, str):
            return [s.encode() for s in data.flatten().tolist()]
        if np.issubdtype(data.dtype, bytes):
            return [data.tobytes()]
        return data.flatten().tolist()
    return TensorData._from_array(data)


@register_input_codec
class NumpyCodec(InputCodec):
    ContentType = "np"

    @classmethod
    def _type_hint(cls):
        np = _deps.loaded("numpy")
        return np.ndarray if np is not None else _NotImported

    @classmethod
    def can_encode(cls, payload: Any) -> bool:
        np = _deps.loaded("numpy")
        return np is not None and isinstance(payload, np.ndarray)

    @classmethod
    def encode_output(cls, name: str, payload, **kwargs) -> ResponseOutput:
        datatype = to_datatype(payload.dtype)
        return ResponseOutput(name=name, datatype=datatype,
                              shape=inject_batch_dimension(list(payload.shape)),
                              data=_encode_data(payload, datatype),
                              parameters=Parameters(content_type=cls.ContentType))

    @classmethod
    def decode_output(cls, response_output: ResponseOutput):
        return cls.decode_input(response_output)

    @classmethod
    def encode_input(cls, name: str, payload, **kwargs) -> RequestInput:
        output = cls.encode_output(name=name, payload=payload)
        return RequestInput(name=output.name, datatype=output.datatype, shape=output.shape,
                            data=output.data, parameters=Parameters(content_type=cls.ContentType))

    @classmethod
    def decode_input(cls, request_input: RequestInput):
        return _to_ndarray(request_input).reshape(request_input.shape)


class _NotImported:
    """TypeHint stand-in while numpy/pandas are not imported (no user hint can equal it)."""


@register_request_codec
class NumpyRequestCodec(SingleInputRequestCodec):
    InputCodec = NumpyCodec
    ContentType = NumpyCodec.ContentType
