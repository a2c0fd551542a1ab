from typing import Any, List

from ..types import Parameters, RequestInput, ResponseOutput
from .base import InputCodec, register_input_codec, register_request_codec
from .lists import as_list, is_list_of
from .utils import SingleInputRequestCodec

_DefaultStrCodec = "utf-8"


def encode_str(elem: str) -> bytes:
    return elem.encode(_DefaultStrCodec)


def decode_str(encoded, str_codec=_DefaultStrCodec):
    if encoded is None:
        return None
    if isinstance(encoded, bytes):
        return encoded.decode(str_codec)
    if isinstance(encoded, str):
        return encoded
    return ""


@register_input_codec
class StringCodec(InputCodec):
    ContentType = "str"
    TypeHint = List[str]

    @classmethod
    def can_encode(cls, payload: Any) -> bool:
        return is_list_of(payload, str)

    @classmethod
    def encode_output(cls, name: str, payload: List[str], use_bytes: bool = True, **kwargs) -> ResponseOutput:
        packed = [encode_str(p) for p in payload] if use_bytes else list(payload)
        return ResponseOutput(name=name, datatype="BYTES", shape=[len(payload), 1], data=packed,
                              parameters=Parameters(content_type=cls.ContentType))

    @classmethod
    def decode_output(cls, response_output: ResponseOutput) -> List[str]:
        return cls.decode_input(response_output)

    @classmethod
    def encode_input(cls, name: str, payload: List[str], use_bytes: bool = True, **kwargs) -> RequestInput:
        output = cls.encode_output(name, payload, use_bytes)
        return RequestInput(name=output.name, datatype=output.datatype, shape=output.shape,
                            data=output.data, parameters=Parameters(content_type=cls.ContentType))

    @classmethod
    def decode_input(cls, request_input: RequestInput) -> List[str]:
        return [decode_str(e) for e in as_list(request_input.data.root)]


@register_request_codec
class StringRequestCodec(SingleInputRequestCodec):
    InputCodec = StringCodec
    ContentType = StringCodec.ContentType
