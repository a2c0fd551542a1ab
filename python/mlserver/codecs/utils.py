"""Helpers shared by the codecs and MLModel (mlserver/codecs/utils.py)."""
from typing import Any, Dict, Optional, Union

from ..types import InferenceRequest, InferenceResponse, MetadataTensor, Parameters, RequestInput, \
    RequestOutput, ResponseOutput
from .base import InputCodec, RequestCodec, find_input_codec, find_input_codec_by_payload, \
    find_request_codec, find_request_codec_by_payload
from .errors import CodecError

DecodedParameterName = "_decoded_payload"
DefaultOutputPrefix = "output-"
DefaultInputPrefix = "input-"


def inject_batch_dimension(shape):
    if len(shape) > 1:
        return shape
    return list(shape) + [1]


def is_single_input(parametrised):
    return isinstance(parametrised, (RequestInput, ResponseOutput))


def has_decoded(parametrised) -> bool:
    return parametrised.parameters is not None and hasattr(parametrised.parameters, DecodedParameterName)


def get_decoded(parametrised) -> Any:
    if has_decoded(parametrised):
        return getattr(parametrised.parameters, DecodedParameterName)


def _save_decoded(parametrised, decoded_payload: Any):
    if not parametrised.parameters:
        parametrised.parameters = Parameters()
    setattr(parametrised.parameters, DecodedParameterName, decoded_payload)


def get_decoded_or_raw(parametrised) -> Any:
    if has_decoded(parametrised):
        return get_decoded(parametrised)
    if isinstance(parametrised, (RequestInput, ResponseOutput)):
        return parametrised.data
    return parametrised


def _get_content_type(request, metadata: Optional[MetadataTensor] = None) -> Optional[str]:
    if request.parameters and request.parameters.content_type:
        return request.parameters.content_type
    if metadata is not None and metadata.parameters and metadata.parameters.content_type:
        return metadata.parameters.content_type
    return None


def encode_response_output(payload, request_output: RequestOutput,
                           metadata_outputs: Dict[str, MetadataTensor] = {}) -> Optional[ResponseOutput]:
    output_metadata = metadata_outputs.get(request_output.name)
    content_type = _get_content_type(request_output, output_metadata)
    codec = find_input_codec(content_type) if content_type else find_input_codec_by_payload(payload)
    if not codec:
        return None
    return codec.encode_output(name=request_output.name, payload=payload)


def encode_inference_response(payload, model_settings) -> Optional[InferenceResponse]:
    codec = find_request_codec_by_payload(payload)
    if not codec:
        return None
    model_version = model_settings.parameters.version if model_settings.parameters else None
    return codec.encode_response(model_settings.name, payload, model_version)


def decode_request_input(request_input: RequestInput,
                         metadata_inputs: Dict[str, MetadataTensor] = {}) -> Optional[Any]:
    content_type = _get_content_type(request_input, metadata_inputs.get(request_input.name))
    if content_type is None:
        return None
    codec = find_input_codec(content_type)
    if codec is None:
        return None
    decoded_payload = codec.decode_input(request_input)
    _save_decoded(request_input, decoded_payload)
    return decoded_payload


def decode_inference_request(inference_request: InferenceRequest, model_settings=None,
                             metadata_inputs: Dict[str, MetadataTensor] = {}) -> Optional[Any]:
    for request_input in inference_request.inputs:
        decode_request_input(request_input, metadata_inputs)
    request_content_type = None
    if inference_request.parameters is not None:
        request_content_type = inference_request.parameters.content_type
    if request_content_type is None and model_settings is not None and model_settings.parameters:
        request_content_type = model_settings.parameters.content_type
    if request_content_type is not None:
        codec = find_request_codec(request_content_type)
        if codec is not None:
            decoded_payload = codec.decode_request(inference_request)
            _save_decoded(inference_request, decoded_payload)
            return decoded_payload
    return inference_request


class SingleInputRequestCodec(RequestCodec):
    InputCodec = None

    @classmethod
    def can_encode(cls, payload: Any) -> bool:
        return cls.InputCodec is not None and cls.InputCodec.can_encode(payload)

    @classmethod
    def encode_response(cls, model_name, payload, model_version=None, **kwargs) -> InferenceResponse:
        if cls.InputCodec is None:
            raise NotImplementedError(f"No input codec found for {type(cls)} request codec")
        output = cls.InputCodec.encode_output(f"{DefaultOutputPrefix}1", payload, **kwargs)
        return InferenceResponse(model_name=model_name, model_version=model_version, outputs=[output])

    @classmethod
    def decode_response(cls, response: InferenceResponse) -> Any:
        if len(response.outputs) != 1:
            raise CodecError(f"The '{cls.ContentType}' codec only supports a single output tensor "
                             f"({len(response.outputs)} were received)")
        first = response.outputs[0]
        if not has_decoded(first) and cls.InputCodec is not None:
            _save_decoded(first, cls.InputCodec.decode_output(first))
        return get_decoded_or_raw(first)

    @classmethod
    def encode_request(cls, payload, **kwargs) -> InferenceRequest:
        if cls.InputCodec is None:
            raise NotImplementedError(f"No input codec found for {type(cls)} request codec")
        inp = cls.InputCodec.encode_input(f"{DefaultInputPrefix}1", payload, **kwargs)
        return InferenceRequest(inputs=[inp])

    @classmethod
    def decode_request(cls, request: InferenceRequest) -> Any:
        if len(request.inputs) != 1:
            raise CodecError(f"The '{cls.ContentType}' codec only supports a single input tensor "
                             f"({len(request.inputs)} were received)")
        first = request.inputs[0]
        if not has_decoded(first) and cls.InputCodec is not None:
            _save_decoded(first, cls.InputCodec.decode_input(first))
        return get_decoded_or_raw(first)


Codec = Union[InputCodec, RequestCodec]
