import base64 as _b64
import binascii
from typing import Any, List

from ..types import Parameters, RequestInput, ResponseOutput
from .base import InputCodec, register_input_codec
from .lists import as_list, is_list_of


def _decode_base64(elem) -> bytes:
    as_bytes = elem.encode() if isinstance(elem, str) else elem
    try:
        return _b64.b64decode(as_bytes, validate=True)
    except binascii.Error:
        return as_bytes  # MLServer returns the raw value when it is not base64


def _encode_base64(elem: bytes, use_bytes: bool):
    as_bytes = _b64.b64encode(elem)
    return as_bytes if use_bytes else as_bytes.decode()


@register_input_codec
class Base64Codec(InputCodec):
    ContentType = "base64"
    TypeHint = List[bytes]

    @classmethod
    def can_encode(cls, payload: Any) -> bool:
        return is_list_of(payload, bytes)

    @classmethod
    def encode_output(cls, name: str, payload: List[bytes], use_bytes: bool = True, **kwargs) -> ResponseOutput:
        return ResponseOutput(name=name, datatype="BYTES", shape=[len(payload), 1],
                              data=[_encode_base64(e, use_bytes) for e in payload],
                              parameters=Parameters(content_type=cls.ContentType))

    @classmethod
    def decode_output(cls, response_output: ResponseOutput) -> List[bytes]:
        return cls.decode_input(response_output)

    @classmethod
    def encode_input(cls, name: str, payload: List[bytes], use_bytes: bool = True, **kwargs) -> RequestInput:
        output = cls.encode_output(name, payload, use_bytes)
        return RequestInput(name=output.name, datatype=output.datatype, shape=output.shape,
                            data=output.data, parameters=Parameters(content_type=cls.ContentType))

    @classmethod
    def decode_input(cls, request_input: RequestInput) -> List[bytes]:
        return [_decode_base64(e) for e in as_list(request_input.data.root)]
