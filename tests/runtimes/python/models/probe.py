"""Runtimes for tests/runtimes/python/host_test.cpp, written against the stand-in host."""
import json
import os

import _ringserve


class Base:
    def __init__(self, token, settings, model_dir, module_dir):
        self.token, self.settings, self.model_dir, self.module_dir = token, settings, model_dir, module_dir

    def load(self):
        return True

    def metadata(self):
        return [(False, "x", "FP32", (-1,), ""), (True, "y", "FP32", (-1,), "np")]

    def unload(self):
        _ringserve.log(self.token, 1, "probe unloading")


class Echo(Base):
    """Every input back unchanged (one copy, into the response arena); the request parameters
    back as the response parameters; each input's buffer address as output `<name>_address`."""

    def predict(self, call, request_id, parameters_json, inputs, requested):
        for name, datatype, shape, data, params in inputs:
            assert data.readonly, "inputs must be read-only views"
            out = _ringserve.allocate_output(call, name, datatype, shape, data.nbytes, params)
            out[:] = data
            addr = _ringserve.allocate_output(call, name + "_address", "UINT64", (1,), 8, "")
            addr[:] = address_of(data).to_bytes(8, "little")
        _ringserve.set_response_parameters(call, parameters_json or "{}")


def address_of(view):
    import numpy  # the system interpreter has it (python3-numpy)
    return numpy.frombuffer(view, dtype=numpy.uint8).__array_interface__["data"][0] if view.nbytes else 0


class StatusError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Misbehave(Base):
    """Does what the request parameter `do` says."""

    def predict(self, call, request_id, parameters_json, inputs, requested):
        do = json.loads(parameters_json or "{}").get("do", "")
        if do == "status":
            raise StatusError(2, "bad request from python")
        if do == "raise":
            raise ValueError("plain failure")
        if do == "exit":
            raise SystemExit(3)
        if do == "interrupt":
            raise KeyboardInterrupt()
        if do == "os_exit":
            os._exit(7)
        if do == "bad_dtype":
            _ringserve.allocate_output(call, "y", "FP33", (1,), 4, "")
        if do == "huge":
            _ringserve.allocate_output(call, "y", "UINT8", (1 << 30,), 1 << 30, "")
        if do == "keep":
            self.kept = inputs[0][3]
        if do == "use_kept":
            bytes(self.kept)  # released after the previous predict: raises ValueError
        if do == "log":
            _ringserve.log(self.token, 2, "warning from python")
        if do == "metric":
            _ringserve.metric(self.token, 0, "py_calls_total", "Calls.", 2.0, None)
            _ringserve.metric(self.token, 2, "py_latency", "Latency.", 0.5, (0.1, 1.0))
        out = _ringserve.allocate_output(call, "y", "FP32", (1,), 4, "")
        out[:] = b"\0\0\x80\x3f"


class NotReady(Base):
    def load(self):
        return None


class FailsLoad(Base):
    def load(self):
        raise RuntimeError("cannot open weights")
