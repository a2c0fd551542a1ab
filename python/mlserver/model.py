"""MLModel (mlserver/model.py): the class custom runtimes subclass."""
from typing import Any, Dict, List, Optional

from .codecs import (InputCodecLike, RequestCodecLike, decode_inference_request, decode_request_input,
                     encode_response_output, find_request_codec_by_payload, get_decoded, has_decoded)
from .codecs.errors import CodecNotFound
from .settings import ModelSettings
from .types import (InferenceRequest, InferenceResponse, MetadataModelResponse, MetadataTensor,
                    Parameters, RequestInput, RequestOutput, ResponseOutput)


def _index(tensors) -> Dict[str, MetadataTensor]:
    return {t.name: t for t in tensors or []}


class MLModel:
    # ringserve's opt-out of adaptive batching (MLServer has no such attribute): a subclass whose
    # predict cannot take merged requests (inputs whose first dimension is the sum of the
    # requests' rows, outputs keeping it) sets False; a model of it whose settings enable
    # batching (max_batch_size > 1 and max_batch_time > 0) then fails to load.
    supports_batching = True

    def __init__(self, settings: ModelSettings):
        self._settings = settings
        self._inputs_index = _index(settings.inputs)
        self._outputs_index = _index(settings.outputs)
        self.ready = False

    async def load(self) -> bool:
        return True

    async def unload(self) -> bool:
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        raise NotImplementedError("predict() method not implemented")

    async def predict_stream(self, payloads):
        payload = None
        async for payload in payloads:
            break
        yield await self.predict(payload)

    @property
    def name(self) -> str:
        return self._settings.name

    @property
    def version(self) -> Optional[str]:
        params = self._settings.parameters
        return params.version if params is not None else None

    @property
    def settings(self) -> ModelSettings:
        return self._settings

    @property
    def inputs(self) -> Optional[List[MetadataTensor]]:
        return self._settings.inputs

    @inputs.setter
    def inputs(self, value: List[MetadataTensor]):
        self._settings.inputs = value
        self._inputs_index = _index(value)

    @property
    def outputs(self) -> Optional[List[MetadataTensor]]:
        return self._settings.outputs

    @outputs.setter
    def outputs(self, value: List[MetadataTensor]):
        self._settings.outputs = value
        self._outputs_index = _index(value)

    async def metadata(self) -> MetadataModelResponse:
        model_metadata = MetadataModelResponse(name=self.name, platform=self._settings.platform,
                                               versions=self._settings.versions,
                                               inputs=self._settings.inputs,
                                               outputs=self._settings.outputs)
        if self._settings.parameters:
            model_metadata.parameters = Parameters(content_type=self._settings.parameters.content_type)
        return model_metadata

    def decode(self, request_input: RequestInput, default_codec: Optional[InputCodecLike] = None) -> Any:
        decode_request_input(request_input, self._inputs_index)
        if has_decoded(request_input):
            return get_decoded(request_input)
        if default_codec:
            return default_codec.decode_input(request_input)
        return request_input.data

    def decode_request(self, inference_request: InferenceRequest,
                       default_codec: Optional[RequestCodecLike] = None) -> Any:
        decode_inference_request(inference_request, self._settings, self._inputs_index)
        if has_decoded(inference_request):
            return get_decoded(inference_request)
        if default_codec:
            return default_codec.decode_request(inference_request)
        return inference_request

    def encode_response(self, payload: Any, default_codec: Optional[RequestCodecLike] = None) -> InferenceResponse:
        codec = find_request_codec_by_payload(payload)
        if codec:
            return codec.encode_response(self.name, payload, self.version)
        if default_codec:
            return default_codec.encode_response(self.name, payload, self.version)
        raise CodecNotFound(payload_type=str(type(payload)), is_input=False, is_request=True)

    def encode(self, payload: Any, request_output: RequestOutput,
               default_codec: Optional[InputCodecLike] = None) -> ResponseOutput:
        encoded = encode_response_output(payload=payload, request_output=request_output,
                                         metadata_outputs=self._outputs_index)
        if encoded:
            return encoded
        if default_codec:
            return default_codec.encode_output(request_output.name, payload)
        raise CodecNotFound(name=request_output.name, is_input=False)
