"""An MLServer runtime for tests/e2e/test_batching.py: what a batched predict looks like from Python."""
import os
import time

import numpy as np
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.errors import InferenceError
from mlserver.types import InferenceRequest, InferenceResponse


class Doubler(MLModel):
    """`y` = 2 * `x` (any shape [N, ...]); `rows` = the N of the predict call, per row; `pid`.
    A negative x is refused with InferenceError (bad input). Each call sleeps 20 ms, so requests
    sent together meet while it runs."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = NumpyCodec.decode_input(payload.inputs[0])
        if (x < 0).any():
            raise InferenceError("negative x")
        time.sleep(0.02)
        n = x.shape[0]
        return InferenceResponse(model_name=self.name, outputs=[
            NumpyCodec.encode_output("y", x * 2),
            NumpyCodec.encode_output("rows", np.full((n, 1), n, dtype=np.int64)),
            NumpyCodec.encode_output("pid", np.full((n, 1), os.getpid(), dtype=np.int64))])
