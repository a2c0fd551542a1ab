"""The Python echo runtime of python_env_bench: answers each input as an output of the same name.
Standard library and ringserve's mlserver package only, so it runs on any environment's Python."""
from mlserver import MLModel
from mlserver.types import InferenceResponse, ResponseOutput


class EchoModel(MLModel):
    async def load(self):
        return True

    async def predict(self, payload):
        return InferenceResponse(model_name=self.name, outputs=[
            ResponseOutput(name=i.name, shape=i.shape, datatype=i.datatype, data=i.data) for i in payload.inputs])
