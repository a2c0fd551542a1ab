# The runtimes of MLServer's tests/fixtures.py that its REST tests serve (SumModel, ErrorModel,
# SimpleModel) and the numpyro example's predict signature with numpy only
# (docs/examples/custom/models.py without numpyro), as their authors wrote them.
from typing import List, Optional

import numpy as np

from mlserver import MLModel
from mlserver.codecs import NumpyCodec, decode_args
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse, Parameters


class SumModel(MLModel):
    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        decoded = self.decode(payload.inputs[0])
        total = decoded.sum(axis=1, keepdims=True)

        output = NumpyCodec.encode_output(name="total", payload=total)
        response = InferenceResponse(
            id=payload.id,
            model_name=self.name,
            model_version=self.version,
            outputs=[output],
        )

        if payload.parameters and payload.parameters.headers:
            # "Echo" headers back prefixed by `x-`
            request_headers = payload.parameters.headers
            response_headers = {}
            for header_name, header_value in request_headers.items():
                if header_name.startswith("x-"):
                    response_headers[header_name] = header_value

            response.parameters = Parameters(headers=response_headers)

        return response


class ErrorModel(MLModel):
    error_message = "something really bad happened"

    async def load(self) -> bool:
        if self.settings.parameters:
            load_error = getattr(self.settings.parameters, "load_error", False)
            if load_error:
                raise MLServerError(self.error_message)

        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        raise MLServerError(self.error_message)


class SimpleModel(MLModel):
    @decode_args
    async def predict(self, foo: np.ndarray, bar: List[str]) -> np.ndarray:
        return foo.sum(axis=1, keepdims=True)


class NumpyroStandIn(MLModel):
    @decode_args
    async def predict(
        self,
        marriage: Optional[np.ndarray] = None,
        age: Optional[np.ndarray] = None,
        divorce: Optional[np.ndarray] = None,
    ) -> np.ndarray:
        given = [a for a in (marriage, age, divorce) if a is not None]
        return np.asarray(np.mean([a.mean() for a in given]) if given else 0.0, dtype=np.float32)
