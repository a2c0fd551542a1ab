from datetime import datetime
from typing import Any, List, Union

from ..types import Parameters, RequestInput, ResponseOutput
from .base import InputCodec, register_input_codec
from .lists import as_list, is_list_of

_DatetimeStrCodec = "ascii"


def _encode_datetime(elem: datetime, use_bytes: bool):
    as_str = elem.isoformat()
    return as_str.encode(_DatetimeStrCodec) if use_bytes else as_str


def _decode_datetime(elem) -> datetime:
    as_str = elem if isinstance(elem, str) else elem.decode(_DatetimeStrCodec)
    return datetime.fromisoformat(as_str)


@register_input_codec
class DatetimeCodec(InputCodec):
    ContentType = "datetime"
    TypeHint = List[Union[str, datetime]]

    @classmethod
    def can_encode(cls, payload: Any) -> bool:
        return is_list_of(payload, datetime)

    @classmethod
    def encode_output(cls, name: str, payload: List[datetime], use_bytes: bool = True, **kwargs) -> ResponseOutput:
        return ResponseOutput(name=name, datatype="BYTES", shape=[len(payload), 1],
                              data=[_encode_datetime(e, use_bytes) for e in payload],
                              parameters=Parameters(content_type=cls.ContentType))

    @classmethod
    def decode_output(cls, response_output: ResponseOutput) -> List[datetime]:
        return cls.decode_input(response_output)

    @classmethod
    def encode_input(cls, name: str, payload: List[datetime], use_bytes: bool = True, **kwargs) -> RequestInput:
        output = cls.encode_output(name, payload, use_bytes)
        return RequestInput(name=output.name, datatype=output.datatype, shape=output.shape,
                            data=output.data, parameters=Parameters(content_type=cls.ContentType))

    @classmethod
    def decode_input(cls, request_input: RequestInput) -> List[datetime]:
        return [_decode_datetime(e) for e in as_list(request_input.data.root)]
