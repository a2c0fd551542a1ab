"""Puts python/ and the `_ringserve` double on sys.path and builds host-style inputs."""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, "python"), os.path.join(HERE, "fake")]

try:
    import numpy
except ImportError:
    numpy = None

_FMT = {"FP32": "f", "FP64": "d", "INT32": "i", "INT64": "q", "UINT8": "B", "BOOL": "?",
        "INT8": "b", "INT16": "h", "UINT16": "H", "UINT32": "I", "UINT64": "Q", "FP16": "e"}


def packed(datatype, values):
    """Tensor bytes as the ABI lays them out (BYTES: u32 LE length + bytes per element)."""
    if datatype == "BYTES":
        out = bytearray()
        for v in values:
            v = v.encode() if isinstance(v, str) else v
            out += struct.pack("<I", len(v)) + v
        return out
    return bytearray(struct.pack(f"<{len(values)}{_FMT[datatype]}", *values))


def tensor(name, datatype, shape, values, parameters_json=""):
    """One `inputs` item of ringserve_host.predict: data is a read-only memoryview."""
    buf = packed(datatype, values)
    return (name, datatype, tuple(shape), memoryview(buf).toreadonly(), parameters_json), buf


def write_model(folder, source, settings):
    import json
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "models.py"), "w") as f:
        f.write(source)
    with open(os.path.join(folder, "model-settings.json"), "w") as f:
        json.dump(settings, f)
