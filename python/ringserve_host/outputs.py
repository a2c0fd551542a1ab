"""Writing a ResponseOutput into the response arena: one copy, no JSON.

numpy arrays are copied with numpy.copyto into a view of the memoryview `_ringserve.allocate_output`
returns; a request input echoed back is one memoryview slice assignment; lists are packed by
array/struct (C loops); BYTES are laid out as u32 LE length + bytes per element."""
import array
import json
import struct
import sys

from mlserver.types.base import json_default
from mlserver.types.dataplane import _UNSET, TensorData

_ARRAY_CODE = {"BOOL": "B", "UINT8": "B", "UINT16": "H", "UINT32": "I", "UINT64": "Q", "INT8": "b",
               "INT16": "h", "INT32": "i", "INT64": "q", "FP32": "f", "FP64": "d"}
_SIZE = {"BOOL": 1, "UINT8": 1, "INT8": 1, "UINT16": 2, "INT16": 2, "FP16": 2, "BF16": 2,
         "UINT32": 4, "INT32": 4, "FP32": 4, "UINT64": 8, "INT64": 8, "FP64": 8}
_NUMPY = {"BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32",
          "UINT64": "uint64", "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64",
          "FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}


class OutputError(Exception):
    """A response the runtime built that cannot be written (its fault: 500)."""


def _count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _flatten(data):
    if not isinstance(data, (list, tuple)):
        return [data]
    if data and isinstance(data[0], (list, tuple)):
        out = []
        for item in data:
            out.extend(_flatten(item))
        return out
    return data


def _params_json(output):
    if output.parameters is None:
        return ""
    dumped = output.parameters.model_dump()
    return json.dumps(dumped, default=json_default) if dumped else ""


def _as_bytes(e):
    if isinstance(e, bytes):
        return e
    if isinstance(e, str):
        return e.encode("utf-8")
    if isinstance(e, (bytearray, memoryview)):
        return bytes(e)
    return str(e).encode("utf-8")  # as MLServer's JSON would print it


def _bytes_elements(data):
    if isinstance(data, TensorData):
        if data._buffer is not None and data._datatype == "BYTES":
            return None  # echo: copy the buffer as it is
        data = data.root
    if isinstance(data, (str, bytes)):
        return [_as_bytes(data)]
    tolist = getattr(data, "tolist", None)
    if tolist is not None and not isinstance(data, list):
        data = data.reshape(-1).tolist() if hasattr(data, "reshape") else tolist()
    return [_as_bytes(e) for e in _flatten(list(data))]


def write(host, call, output):
    datatype = output.datatype
    datatype = getattr(datatype, "value", datatype)
    shape = [int(d) for d in output.shape]
    name = output.name
    params = _params_json(output)
    data = output.data
    if datatype == "BYTES":
        return _write_bytes(host, call, name, shape, params, data)
    size = _SIZE.get(datatype)
    if size is None:
        raise OutputError(f"output '{name}': unknown datatype {datatype}")
    count = _count(shape)
    if isinstance(data, TensorData):
        if data._buffer is not None and data._root is not _UNSET:
            data = data._root
        elif data._buffer is not None:
            src = data._buffer
            if data._datatype != datatype or len(src) != count * size:
                data = data.root
            else:
                host.allocate_output(call, name, datatype, tuple(shape), len(src), params)[:] = src
                return
        elif data._array is not None and data._root is _UNSET:
            data = data._array
        else:
            data = data.root
    np = sys.modules.get("numpy")
    if np is not None and isinstance(data, np.ndarray):
        if data.size != count:
            raise OutputError(f"output '{name}': shape {shape} holds {count} elements, the array "
                              f"has {data.size}")
        mv = host.allocate_output(call, name, datatype, tuple(shape), count * size, params)
        if datatype == "BF16":
            f32 = np.ascontiguousarray(data, dtype="<f4").reshape(-1)
            np.copyto(np.frombuffer(mv, "<u2"), (f32.view("<u4") >> 16).astype("<u2"))
        else:
            np.copyto(np.frombuffer(mv, _NUMPY[datatype]).reshape(data.shape), data, casting="unsafe")
        return
    flat = _flatten(data)
    if len(flat) != count:
        raise OutputError(f"output '{name}': shape {shape} holds {count} elements, the data has "
                          f"{len(flat)}")
    packed = _pack(datatype, flat, name)
    host.allocate_output(call, name, datatype, tuple(shape), len(packed), params)[:] = packed


def _pack(datatype, flat, name):
    if any(v is None for v in flat):  # MLServer's null for NaN
        flat = [float("nan") if v is None else v for v in flat]
    try:
        code = _ARRAY_CODE.get(datatype)
        if code is not None:
            if datatype == "BOOL":
                flat = [1 if v else 0 for v in flat]
            return memoryview(array.array(code, flat)).cast("B")
        if datatype == "FP16":
            return struct.pack(f"<{len(flat)}e", *flat)
        bits = struct.unpack(f"<{len(flat)}I", struct.pack(f"<{len(flat)}f", *flat))
        return struct.pack(f"<{len(flat)}H", *(b >> 16 for b in bits))
    except (TypeError, OverflowError, struct.error) as e:
        raise OutputError(f"output '{name}': {datatype} data cannot be packed: {e}") from None


def _write_bytes(host, call, name, shape, params, data):
    elements = _bytes_elements(data)
    if elements is None:
        src = data._buffer
        count = _count_bytes(src)
        if _count(shape) != count:
            shape = [count]
        host.allocate_output(call, name, "BYTES", tuple(shape), len(src), params)[:] = src
        return
    # The ABI needs the real element count: a runtime saying shape [153] for one 153-byte string
    # (MLServer's custom-json example) is sent with shape [1].
    if _count(shape) != len(elements):
        shape = [len(elements)]
    nbytes = sum(len(e) for e in elements) + 4 * len(elements)
    mv = host.allocate_output(call, name, "BYTES", tuple(shape), nbytes, params)
    pos = 0
    pack = struct.pack_into
    for e in elements:
        pack("<I", mv, pos, len(e))
        pos += 4
        mv[pos:pos + len(e)] = e
        pos += len(e)


def _count_bytes(mv):
    pos, n, size = 0, 0, len(mv)
    while pos < size:
        (length,) = struct.unpack_from("<I", mv, pos)
        pos += 4 + length
        n += 1
    return n

