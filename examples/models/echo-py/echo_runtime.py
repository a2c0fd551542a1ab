"""The echo runtime MLServer 1.3.5 was measured with: `predict` returns the input's data as output,
unchanged. bench/python/run.py measures it beside the C++ echo."""
from mlserver import MLModel
from mlserver.types import InferenceRequest, InferenceResponse, ResponseOutput


class EchoModel(MLModel):
    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        inp = payload.inputs[0]
        return InferenceResponse(
            model_name=self.name,
            outputs=[ResponseOutput(name="echo", shape=inp.shape, datatype=inp.datatype, data=inp.data)],
        )
