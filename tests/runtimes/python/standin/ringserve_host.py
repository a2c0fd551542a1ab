"""A test double of the Python half (python/ringserve_host), for the C++ half's tests only.

It follows runtimes/python/PROTOCOL.md exactly but knows nothing of mlserver: the classes it
loads (tests/runtimes/python/models/*.py) talk to `_ringserve` themselves. An exception with a
`status` attribute answers that ABI status, MemoryError answers 5, everything else 1; like the
real package it lets nothing escape, SystemExit and KeyboardInterrupt included.
"""
import importlib.util
import json
import os
import traceback

import _ringserve


def _guard(token, fn):
    try:
        return fn()
    except BaseException as e:  # noqa: B036 - the protocol: nothing escapes
        _ringserve.log(token, 3, "standin: " + traceback.format_exc())
        status = getattr(e, "status", 5 if isinstance(e, MemoryError) else 1)
        return (status, f"{type(e).__name__}: {e}")


class _Handle:
    def __init__(self, token, obj):
        self.token, self.obj = token, obj


def create(token, implementation, settings_json, model_dir, module_dir):
    def go():
        module, cls = implementation.rsplit(".", 1)
        path = os.path.join(module_dir, *module.split(".")) + ".py"
        spec = importlib.util.spec_from_file_location(f"standin_{id(token)}_{module}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        obj = getattr(mod, cls)(token, json.loads(settings_json), model_dir, module_dir)
        return (0, _Handle(token, obj))
    return _guard(token, go)


def load(h):
    return _guard(h.token, lambda: (0, h.obj.load()))


def metadata(h):
    return _guard(h.token, lambda: (0, h.obj.metadata()))


def predict(h, call, request_id, parameters_json, inputs, requested):
    return _guard(h.token, lambda: (0, h.obj.predict(call, request_id, parameters_json, inputs, requested)))


def unload(h):
    return _guard(h.token, lambda: (0, h.obj.unload()))
