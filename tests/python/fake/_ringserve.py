"""A test double for the `_ringserve` extension module the C++ host defines
(runtimes/python/PROTOCOL.md): it records log lines, metrics, outputs and response parameters."""
import json

logs = []      # (token, level, message)
metrics = []   # (token, kind, name, help, value, buckets)


class Call:
    """Stands in for a call token; `limit` imitates a response arena of that many bytes."""

    def __init__(self, limit=1 << 20):
        self.outputs = {}          # name -> (datatype, shape, bytearray, parameters dict)
        self.order = []
        self.parameters = None
        self.limit = limit

    def array(self, name, np, dtype):
        datatype, shape, buf, _ = self.outputs[name]
        return np.frombuffer(bytes(buf), dtype).reshape(shape)


def log(token, level, message):
    logs.append((token, level, message))


def metric(token, kind, name, help, value, buckets):
    metrics.append((token, kind, name, help, value, buckets))


def allocate_output(call, name, datatype, shape, nbytes, parameters_json):
    if name in call.outputs:
        raise ValueError(f"output '{name}' allocated twice")
    if not isinstance(shape, tuple) or not all(isinstance(d, int) for d in shape):
        raise ValueError("shape must be a tuple of ints")
    used = sum(len(o[2]) for o in call.outputs.values())
    if used + nbytes > call.limit:
        raise MemoryError(f"response arena full ({nbytes} bytes wanted); raise shm_size")
    buf = bytearray(nbytes)
    call.outputs[name] = (datatype, shape, buf, json.loads(parameters_json) if parameters_json else {})
    call.order.append(name)
    return memoryview(buf)


def set_response_parameters(call, parameters_json):
    call.parameters = json.loads(parameters_json)
