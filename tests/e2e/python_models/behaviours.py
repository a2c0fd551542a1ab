"""MLServer runtimes for tests/e2e/test_python_runtimes.py, written as MLServer users write them."""
import os
from typing import List, Optional, Tuple

import numpy as np
import mlserver
from mlserver import MLModel
from mlserver.codecs import NumpyCodec, StringCodec, decode_args
from mlserver.errors import InferenceError, MLServerError
from mlserver.logging import logger
from mlserver.types import InferenceRequest, InferenceResponse


class Misbehave(MLModel):
    """Does what the request parameter `do` says; otherwise answers `output-0` = [1]."""

    async def load(self) -> bool:
        mlserver.register("py_requests", "Requests seen by Misbehave")
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        do = (payload.parameters.dict().get("do") if payload.parameters else None) or ""
        mlserver.log(py_requests=1)
        if do == "mlserver_error":
            raise MLServerError("teapot trouble", status_code=404)
        if do == "inference_error":
            raise InferenceError("bad input")
        if do == "raise":
            raise ValueError("plain failure")
        if do == "exit":
            raise SystemExit(2)
        if do == "interrupt":
            raise KeyboardInterrupt()
        if do == "os_exit":
            os._exit(9)
        if do == "log":
            logger.warning("warned from python")
        x = NumpyCodec.decode_input(payload.inputs[0])
        return InferenceResponse(model_name=self.name, outputs=[
            NumpyCodec.encode_output("output-0", np.array([int(x.flags.writeable), int(x.flags.owndata)]))])


class NotReady(MLModel):
    async def load(self) -> bool:
        return False


class Args(MLModel):
    """decode_args: a numpy input, an Optional list of strings, a tuple return."""

    @decode_args
    async def predict(self, foo: np.ndarray, bar: Optional[List[str]] = None) -> Tuple[np.ndarray, List[str]]:
        return foo.sum(axis=-1, keepdims=True), [s.upper() for s in (bar or ["none"])]


class Codecs(MLModel):
    """Every input decoded by its content type and encoded back with the same codec."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        from mlserver.codecs import Base64Codec, DatetimeCodec
        codecs = {"np": NumpyCodec, "str": StringCodec, "base64": Base64Codec, "datetime": DatetimeCodec}
        outputs = []
        for inp in payload.inputs:
            ct = inp.parameters.content_type if inp.parameters else "np"
            codec = codecs[ct]
            outputs.append(codec.encode_output(inp.name, codec.decode_input(inp)))
        return InferenceResponse(model_name=self.name, outputs=outputs)


class Where(MLModel):
    """The interpreter the worker embeds: its prefix and whether numpy came from under it."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        import sys
        return InferenceResponse(model_name=self.name, outputs=[
            StringCodec.encode_output("prefix", [sys.prefix]),
            StringCodec.encode_output("numpy", [np.__file__])])


class RequestCodecs(MLModel):
    """The request-level codecs both ways: decode_request by the request's content type (np, str,
    pd), encode_response by what that gave (MLServer's precedence: by payload only)."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        return self.encode_response(self.decode_request(payload))


class WrongReturn(MLModel):
    @decode_args
    async def predict(self, foo: np.ndarray) -> np.ndarray:
        return "not an array"


class Address(MLModel):
    """Where NumpyCodec's array of the first input lives (its buffer's first byte)."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = NumpyCodec.decode_input(payload.inputs[0])
        return InferenceResponse(model_name=self.name, outputs=[
            NumpyCodec.encode_output("address", np.array([x.__array_interface__["data"][0]], dtype=np.uint64))])


class NoBatching(MLModel):
    """Opts out of adaptive batching (ringserve's `supports_batching`); echoes its first input."""
    supports_batching = False

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = NumpyCodec.decode_input(payload.inputs[0])
        return InferenceResponse(model_name=self.name, outputs=[NumpyCodec.encode_output("output-0", x)])
