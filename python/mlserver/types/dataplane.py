"""The V2 dataplane types (mlserver/types/dataplane.py), as light classes.

TensorData has two ringserve-specific sources besides a plain list: a read-only memoryview onto
the request arena (inputs, see ringserve_host) and a numpy array (outputs made by NumpyCodec).
Either is turned into MLServer's flat list only when `root` is read, so codecs and the host can
use the buffer directly (zero copies in, one copy out)."""
import enum
import json as _json
import struct
from typing import Any, Dict, List, Optional

from .base import REQUIRED, BaseModel, ValidationError, list_of, model_of

_DATATYPES = ("BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
              "FP16", "FP32", "FP64", "BYTES")


class Datatype(str, enum.Enum):
    BOOL = "BOOL"
    UINT8 = "UINT8"
    UINT16 = "UINT16"
    UINT32 = "UINT32"
    UINT64 = "UINT64"
    INT8 = "INT8"
    INT16 = "INT16"
    INT32 = "INT32"
    INT64 = "INT64"
    FP16 = "FP16"
    FP32 = "FP32"
    FP64 = "FP64"
    BYTES = "BYTES"


_DATATYPE_SET = frozenset(_DATATYPES + ("BF16",))  # BF16: a ringserve datatype MLServer lacks


def _datatype(v):
    v = v.value if isinstance(v, enum.Enum) else v
    if not (isinstance(v, str) and v in _DATATYPE_SET):
        raise ValidationError("Input should be " + ", ".join(f"'{d}'" for d in _DATATYPES[:-1])
                              + " or 'BYTES'")
    return v


def _shape(v):
    return [int(x) for x in v]


# memoryview.cast formats per datatype (little-endian host); FP16/BF16 go through struct.
CAST_FORMAT = {"BOOL": "?", "UINT8": "B", "UINT16": "H", "UINT32": "I", "UINT64": "Q",
               "INT8": "b", "INT16": "h", "INT32": "i", "INT64": "q", "FP32": "f", "FP64": "d"}


def unpack_bytes(mv) -> List[bytes]:
    """BYTES tensor data (per element: u32 LE length, then the bytes) into a list of bytes."""
    out, pos, size = [], 0, len(mv)
    unpack = struct.unpack_from
    while pos < size:
        (n,) = unpack("<I", mv, pos)
        pos += 4
        out.append(bytes(mv[pos:pos + n]))
        pos += n
    return out


def buffer_to_list(mv, datatype) -> list:
    if datatype == "BYTES":
        return unpack_bytes(mv)
    fmt = CAST_FORMAT.get(datatype)
    if fmt is not None:
        return mv.cast("B").cast(fmt).tolist()
    n = len(mv) // 2
    if datatype == "FP16":
        return list(struct.unpack_from(f"<{n}e", mv))
    halves = struct.unpack_from(f"<{n}H", mv)  # BF16: the high half of an FP32
    return list(struct.unpack(f"<{n}f", struct.pack(f"<{n}I", *(h << 16 for h in halves))))


_UNSET = object()


def _text(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value)
    return value


class TensorData:
    """MLServer's RootModel[Union[List, Any]]: iteration, indexing and len go to `root`."""
    __slots__ = ("_root", "_buffer", "_datatype", "_array")

    def __init__(self, root=_UNSET, **kwargs):
        if root is _UNSET:
            root = kwargs.pop("__root__", None)
        if isinstance(root, TensorData):
            root = root.root
        self._root, self._buffer, self._datatype, self._array = root, None, None, None

    @classmethod
    def _from_buffer(cls, mv, datatype):
        t = cls.__new__(cls)
        t._root, t._buffer, t._datatype, t._array = _UNSET, mv, datatype, None
        return t

    @classmethod
    def _from_array(cls, array):
        t = cls.__new__(cls)
        t._root, t._buffer, t._datatype, t._array = _UNSET, None, None, array
        return t

    @property
    def root(self):
        if self._root is _UNSET:
            if self._buffer is not None:
                self._root = buffer_to_list(self._buffer, self._datatype)
            else:
                self._root = self._array.flatten().tolist()
        return self._root

    @root.setter
    def root(self, value):
        self._root, self._buffer, self._datatype, self._array = value, None, None, None

    __root__ = root

    def _ringserve_dump(self):
        # A BYTES input dumps (dict(), model_dump(), json()) as the str MLServer's REST path has
        # (the JSON strings the client sent), so a runtime can json.dumps its inputs as MLServer's
        # content-type example does; iterating `data` still gives bytes, as MLServer's gRPC path.
        if self._datatype == "BYTES":
            return [_text(v) for v in self.root]
        return self.root

    def model_dump(self, **_):
        return self.root

    dict = model_dump

    def __iter__(self):
        return iter(self.root)

    def __len__(self):
        return len(self.root)

    def __getitem__(self, i):
        return self.root[i]

    def __eq__(self, other):
        if isinstance(other, TensorData):
            other = other.root
        return self.root == other

    def __repr__(self):
        return f"TensorData(root={self.root!r})"

    def __deepcopy__(self, memo):
        return TensorData(root=list(self.root) if isinstance(self.root, list) else self.root)


def _tensor_data(v):
    return v if isinstance(v, TensorData) else TensorData(root=v)


class Parameters(BaseModel):
    """extra="allow": any key is kept; `_decoded_payload` is a hidden attribute (as in 1.7.1)."""
    _extra_allowed = True
    _fields = {"content_type": (None, None), "headers": (None, dict)}


_params = model_of(Parameters)


class MetadataTensor(BaseModel):
    _fields = {"name": (REQUIRED, str), "datatype": (REQUIRED, _datatype), "shape": (REQUIRED, _shape),
               "parameters": (None, _params)}


class RequestInput(BaseModel):
    _fields = {"name": (REQUIRED, str), "shape": (REQUIRED, _shape), "datatype": (REQUIRED, _datatype),
               "parameters": (None, _params), "data": (REQUIRED, _tensor_data)}


class ResponseOutput(BaseModel):
    _fields = RequestInput._fields


class RequestOutput(BaseModel):
    _fields = {"name": (REQUIRED, str), "parameters": (None, _params)}


class _PendingParameters:
    """`parameters` of a request the host built (ringserve_host): kept as the JSON text the
    supervisor sent (it always carries the HTTP headers) and parsed on first read, so a runtime
    that never looks pays nothing. A non-data descriptor: once parsed, or once a runtime assigns
    `parameters`, the instance's own attribute wins and this is not consulted again."""
    __slots__ = ()

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        d = obj.__dict__
        text = d.pop("_parameters_json", None)
        value = Parameters(**_json.loads(text)) if text else None
        d["parameters"] = value
        return value


class InferenceRequest(BaseModel):
    _fields = {"id": (None, str), "parameters": (None, _params),
               "inputs": (REQUIRED, list_of(RequestInput)), "outputs": (None, list_of(RequestOutput))}
    parameters = _PendingParameters()

    def _public(self):
        if "parameters" not in self.__dict__:
            self.parameters  # parse pending parameters before a dump/repr lists the fields
        return super()._public()


class InferenceResponse(BaseModel):
    _fields = {"model_name": (REQUIRED, str), "model_version": (None, str), "id": (None, str),
               "parameters": (None, _params), "outputs": (REQUIRED, list_of(ResponseOutput))}


class MetadataModelResponse(BaseModel):
    _fields = {"name": (REQUIRED, str), "versions": (None, list), "platform": (REQUIRED, str),
               "inputs": (None, list_of(MetadataTensor)), "outputs": (None, list_of(MetadataTensor)),
               "parameters": (None, _params)}


class MetadataServerResponse(BaseModel):
    _fields = {"name": (REQUIRED, str), "version": (REQUIRED, str), "extensions": (REQUIRED, list)}


class MetadataServerErrorResponse(BaseModel):
    _fields = {"error": (REQUIRED, str)}


class MetadataModelErrorResponse(MetadataServerErrorResponse):
    pass


class InferenceErrorResponse(BaseModel):
    _fields = {"error": (None, str)}


class State(str, enum.Enum):
    UNKNOWN = "UNKNOWN"
    READY = "READY"
    UNAVAILABLE = "UNAVAILABLE"
    LOADING = "LOADING"
    UNLOADING = "UNLOADING"


class RepositoryIndexRequest(BaseModel):
    _fields = {"ready": (None, bool)}


class RepositoryIndexResponseItem(BaseModel):
    _fields = {"name": (REQUIRED, str), "version": (None, str), "state": (REQUIRED, State),
               "reason": (REQUIRED, str)}


class RepositoryLoadErrorResponse(InferenceErrorResponse):
    pass


class RepositoryUnloadErrorResponse(InferenceErrorResponse):
    pass


def _new(cls, **fields):
    """Fast construction for the host's hot path (fields already valid)."""
    obj = cls.__new__(cls)
    fields["_fields_set"] = set(fields)
    obj.__dict__.update(fields)
    return obj


def _new_request(request_id, parameters_json, inputs, outputs):
    """The host's InferenceRequest: as `_new`, with `parameters` parsed only when read."""
    obj = InferenceRequest.__new__(InferenceRequest)
    d = obj.__dict__
    d["_fields_set"] = {"id", "parameters", "inputs", "outputs"}
    d["id"], d["inputs"], d["outputs"] = request_id, inputs, outputs
    if parameters_json:
        d["_parameters_json"] = parameters_json
    else:
        d["parameters"] = None
    return obj
