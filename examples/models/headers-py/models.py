"""The advanced interface with headers both ways, as MLServer runtimes do it: request headers
arrive in `payload.parameters.headers`; `response.parameters.headers` become HTTP headers. Returns
the `x-*` headers it saw as a BYTES output `seen` ("name=value" each) and sets `x-served-by`."""
from mlserver import MLModel
from mlserver.codecs import StringCodec
from mlserver.types import InferenceRequest, InferenceResponse, Parameters


class HeaderEcho(MLModel):
    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        headers = {}
        if payload.parameters is not None and payload.parameters.headers:
            headers = payload.parameters.headers
        seen = sorted(f"{k}={v}" for k, v in headers.items() if k.lower().startswith("x-"))
        return InferenceResponse(
            model_name=self.name,
            outputs=[StringCodec.encode_output("seen", seen)],
            parameters=Parameters(headers={"x-served-by": self.name, "x-header-count": str(len(seen))}),
        )
