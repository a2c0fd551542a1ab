"""The suite's V2 request bodies: one FP32 input `input-0` of shape [1, N] for the echo model,
as JSON or with the binary tensor extension (Triton's: JSON header, then the raw little-endian
tensor; the header's length goes in Inference-Header-Content-Length)."""
import json
import os
import random
import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class Body:
    name: str          # file stem and case label, e.g. "1x16-json"
    path: str
    content_type: str
    header_len: int    # Inference-Header-Content-Length; 0 for plain JSON
    tensor_bytes: int  # payload bytes of the tensor (4 × elements)

    @property
    def size(self):
        return os.path.getsize(self.path)


def _values(n, seed):
    # Values with the digits a float32 printed by a client typically has (not all "0.0"), fixed seed
    # so every run sends the same bytes.
    rng = random.Random(seed)
    return [round(rng.uniform(-1.0, 1.0), 6) for _ in range(n)]


def json_body(folder, elements):
    name = f"1x{elements}-json"
    doc = {"inputs": [{"name": "input-0", "shape": [1, elements], "datatype": "FP32", "data": _values(elements, 1)}]}
    path = os.path.join(folder, name + ".body")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    return Body(name, path, "application/json", 0, 4 * elements)


def binary_body(folder, elements):
    name = f"1x{elements}-binary"
    raw = struct.pack(f"<{elements}f", *_values(elements, 2))
    header = json.dumps({
        "inputs": [{"name": "input-0", "shape": [1, elements], "datatype": "FP32",
                    "parameters": {"binary_data_size": len(raw)}}],
        # The echo answers with the same tensor: ask for it in binary too, as a binary client would.
        "outputs": [{"name": "input-0", "parameters": {"binary_data": True}}],
    }, separators=(",", ":")).encode()
    path = os.path.join(folder, name + ".body")
    with open(path, "wb") as f:
        f.write(header)
        f.write(raw)
    return Body(name, path, "application/octet-stream", len(header), len(raw))


def standard_bodies(folder):
    """small [1,16] JSON, [1,65536] JSON, [1,65536] binary, [1,1048576] binary, keyed by name."""
    os.makedirs(folder, exist_ok=True)
    bodies = [json_body(folder, 16), json_body(folder, 65536), binary_body(folder, 65536),
              binary_body(folder, 1048576)]
    return {b.name: b for b in bodies}
