"""The Python half of ringserve's Python runtime host (runtimes/python/PROTOCOL.md).

The C++ half calls create/load/metadata/predict/unload; each returns a tuple whose first item is
an ABI status (0 OK, 1 internal, 2 bad input, 3 not found, 4 unavailable, 5 resource exhausted)
and never lets an exception escape, SystemExit and KeyboardInterrupt included. Tracebacks go to
`_ringserve.log` at error level with the model's name; the client gets one line.

How MLServer's HTTP statuses travel: the ABI has no slot for them, so an MLServerError's
status_code maps to the nearest ABI status (status_for); 404 stays 404, 503 stays 503, any other
4xx becomes 400 and any other 5xx 500. The message keeps MLServer's worker-mode text,
"{module}.{Class}: {message}"."""
import contextvars
import json
import logging
import sys
import traceback

import _ringserve as _host

import mlserver
from mlserver import _hostlink
from mlserver.context import model_context, model_name_var, model_token_var, model_version_var
from mlserver.errors import MLServerError, ModelNotReady
from mlserver.settings import ModelSettings
from mlserver.types import InferenceResponse, Parameters
from mlserver.types.dataplane import RequestInput, RequestOutput, TensorData, _new, _new_request

from . import modules, outputs, runner

OK, INTERNAL, BAD_INPUT, NOT_FOUND, UNAVAILABLE, RESOURCE_EXHAUSTED = range(6)
_LOG_ERROR = 3


def status_for(http_status):
    if http_status == 404:
        return NOT_FOUND
    if http_status == 503:
        return UNAVAILABLE
    if http_status == 429:
        return RESOURCE_EXHAUSTED
    if 400 <= http_status < 500:
        return BAD_INPUT
    return INTERNAL


class _Sink:
    """mlserver's logs and metrics into the host (see mlserver/_hostlink.py)."""

    @staticmethod
    def log(token, level, message):
        _host.log(token, level, message)

    @staticmethod
    def metric(token, kind, name, help, value, buckets):
        _host.metric(token, kind, name, help, value, buckets)


class _LogHandler(logging.Handler):
    """The `mlserver` logger's records, to the worker log under the model of the current call
    (or the most recently created model outside any call)."""
    _LEVELS = ((logging.ERROR, 3), (logging.WARNING, 2), (logging.INFO, 1))

    def emit(self, record):
        from mlserver.context import model_token_var
        token = model_token_var.get() or _last_token
        if token is None:
            return
        level = next((abi for py, abi in self._LEVELS if record.levelno >= py), 0)
        try:
            _host.log(token, level, self.format(record))
        except Exception:  # a log line must never fail a call
            pass


_last_token = None
_hostlink.sink = _Sink()
# A runtime's print() goes to the worker's stdout, i.e. the server log: line by line, as a
# terminal would show it, not in 8 KiB blocks at some later time.
for _stream in (sys.stdout, sys.stderr):
    try:
        _stream.reconfigure(line_buffering=True)
    except (AttributeError, ValueError):  # replaced or closed by the embedding process
        pass
mlserver.logger.addHandler(_LogHandler())
mlserver.logger.setLevel(logging.INFO)
mlserver.logger.propagate = False


class Handle:
    """What `create` returns to C++: the model and what the host needs per call.

    `context`: the contextvars.Context every predict of this model runs in, holding
    mlserver.context's variables, made once here. Entering it (Context.run, in C) costs far less
    than setting and resetting three variables per request (`with model_context`, ~0.6 µs).
    Predicts of one model never overlap (PROTOCOL.md), which Context.run requires; tasks a
    predict starts copy it as usual."""
    __slots__ = ("model", "token", "name", "settings", "context")

    def __init__(self, model, token, settings):
        self.model, self.token, self.settings = model, token, settings
        self.name = settings.name
        self.context = contextvars.Context()
        self.context.run(_set_model_vars, settings, token)


def _one_line(text):
    return " ".join(str(text).split()) or "(no message)"


def _failure(exc, token, name, what):
    """(status, message) for an exception, its traceback logged under the model's name."""
    if isinstance(exc, MLServerError):
        status = status_for(getattr(exc, "status_code", 400))
    elif isinstance(exc, outputs.OutputError):
        status = INTERNAL
    elif isinstance(exc, MemoryError) and "shm_size" in str(exc):
        return RESOURCE_EXHAUSTED, _one_line(exc)
    else:
        status = INTERNAL
    kind = type(exc)
    message = _one_line(f"{kind.__module__}.{kind.__qualname__}: {exc}")
    if token is not None:
        try:
            tb = "".join(traceback.format_exception(kind, exc, exc.__traceback__))
            _host.log(token, _LOG_ERROR, f"model '{name}': {what} failed: {tb.rstrip()}")
        except BaseException:
            pass
    return status, message


def create(model_token, implementation, settings_json, model_dir, module_dir):
    global _last_token
    name = "?"
    try:
        raw = json.loads(settings_json) if settings_json else {}
        if not raw.get("name"):
            raw["name"] = modules.folder_name(model_dir)
        raw.setdefault("implementation", implementation)
        raw["_source"] = modules.settings_path(model_dir)
        name = raw["name"]
        cls = modules.load_class(implementation, module_dir)
        settings = ModelSettings(**raw)
        settings.__dict__["_implementation_cls"] = cls
        _last_token = model_token
        with model_context(settings, model_token):
            model = cls(settings)
        return OK, Handle(model, model_token, settings)
    except modules.ClassNotFound as e:
        return NOT_FOUND, _one_line(e)
    except BaseException as e:
        return _failure(e, model_token, name, "create")


def load(handle):
    try:
        with model_context(handle.settings, handle.token):
            ready = bool(runner.run(handle.model.load()))
        handle.model.ready = ready
        return OK, ready
    except BaseException as e:
        handle.model.ready = False
        return _failure(e, handle.token, handle.name, "load")


def unload(handle):
    try:
        with model_context(handle.settings, handle.token):
            unloaded = runner.run(handle.model.unload())
        handle.model.ready = not unloaded
        return OK, None
    except BaseException as e:
        return _failure(e, handle.token, handle.name, "unload")


def supports_batching(handle):
    """(0, bool): False when the model's class sets `supports_batching = False` (ringserve's
    opt-out; MLServer has no such attribute, so its models support batching)."""
    try:
        return OK, bool(getattr(handle.model, "supports_batching", True))
    except BaseException as e:
        return _failure(e, handle.token, handle.name, "supports_batching")


def _tensors(meta, is_output):
    out = []
    for t in meta or []:
        ct = t.parameters.content_type if t.parameters is not None else None
        dt = getattr(t.datatype, "value", t.datatype)
        out.append((is_output, t.name, dt, tuple(int(d) for d in t.shape), ct or ""))
    return out


def metadata(handle):
    try:
        with model_context(handle.settings, handle.token):
            meta = runner.run(handle.model.metadata())
        return OK, _tensors(meta.inputs, False) + _tensors(meta.outputs, True)
    except BaseException as e:
        return _failure(e, handle.token, handle.name, "metadata")


def _parameters(text):
    return Parameters(**json.loads(text)) if text else None


def _request(request_id, parameters_json, inputs, requested_outputs):
    req_inputs = [_new(RequestInput, name=name, shape=list(shape), datatype=datatype,
                       parameters=_parameters(params),
                       data=TensorData._from_buffer(data, datatype))
                  for name, datatype, shape, data, params in inputs]
    req_outputs = [_new(RequestOutput, name=name, parameters=_parameters(params))
                   for name, params in requested_outputs] or None
    return _new_request(request_id or None, parameters_json, req_inputs, req_outputs)


def _set_model_vars(settings, token):
    model_name_var.set(settings.name)
    model_version_var.set(settings.version or "")
    model_token_var.set(token)


def _predict_in_context(model, payload):
    return runner.run(model.predict(payload), fast=True)


def predict(handle, call_token, request_id, parameters_json, inputs, requested_outputs):
    model = handle.model
    try:
        if not model.ready:
            return BAD_INPUT, str(ModelNotReady(handle.name))
        payload = _request(request_id, parameters_json, inputs, requested_outputs)
        response = handle.context.run(_predict_in_context, model, payload)
        if not isinstance(response, InferenceResponse):
            return BAD_INPUT, f"Model '{handle.name}' returned no predictions after inference"
        for output in response.outputs:
            outputs.write(_host, call_token, output)
        if response.parameters is not None:
            dumped = response.parameters.model_dump()
            if dumped:
                _host.set_response_parameters(call_token, json.dumps(dumped, default=_json_default))
        return OK, None
    except BaseException as e:
        return _failure(e, handle.token, handle.name, "predict")


def _json_default(value):
    from mlserver.types.base import json_default
    return json_default(value)
