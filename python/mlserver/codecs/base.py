"""Codec interfaces and the registry (mlserver/codecs/base.py), same behaviour and quirks."""
import logging
from typing import Any, ClassVar, Dict, Optional, Type, Union

from ..types import InferenceRequest, InferenceResponse, RequestInput, ResponseOutput

logger = logging.getLogger("mlserver")


class _LazyHintMeta(type):
    """Lets NumpyCodec/PandasCodec name np.ndarray / pd.DataFrame as TypeHint without importing
    numpy or pandas: their `_type_hint()` answers from sys.modules (a model whose hints use them
    has imported them already). A `TypeHint = X` in a class body (custom codecs) wins."""

    @property
    def TypeHint(cls):
        for klass in cls.__mro__:
            if "TypeHint" in klass.__dict__:
                return klass.__dict__["TypeHint"]
            if "_type_hint" in klass.__dict__:
                return klass.__dict__["_type_hint"].__func__(cls)
        return type(None)


class _Codec(metaclass=_LazyHintMeta):
    ContentType: ClassVar[str] = ""


class InputCodec(_Codec):
    @classmethod
    def can_encode(cls, payload: Any) -> bool:
        return False

    @classmethod
    def encode(cls, name: str, payload: Any, **kwargs) -> ResponseOutput:
        logger.warning("DEPRECATED! The encode() method is now deprecated. Use encode_output() instead.")
        return cls.encode_output(name, payload, **kwargs)

    @classmethod
    def encode_output(cls, name: str, payload: Any, **kwargs) -> ResponseOutput:
        raise NotImplementedError()

    @classmethod
    def decode_output(cls, response_output: ResponseOutput) -> Any:
        raise NotImplementedError()

    @classmethod
    def encode_input(cls, name: str, payload: Any, **kwargs) -> RequestInput:
        raise NotImplementedError()

    @classmethod
    def decode(cls, request_input: RequestInput) -> Any:
        logger.warning("DEPRECATED! The decode() method is now deprecated. Use decode_input() instead.")
        return cls.decode_input(request_input)

    @classmethod
    def decode_input(cls, request_input: RequestInput) -> Any:
        raise NotImplementedError()


class RequestCodec(_Codec):
    @classmethod
    def can_encode(cls, payload: Any) -> bool:
        return False

    @classmethod
    def encode(cls, model_name: str, payload: Any, model_version: Optional[str] = None, **kwargs):
        logger.warning("DEPRECATED! The encode() method is now deprecated. Use encode_response() instead.")
        return cls.encode_response(model_name, payload, model_version, **kwargs)

    @classmethod
    def encode_response(cls, model_name: str, payload: Any, model_version: Optional[str] = None,
                        **kwargs) -> InferenceResponse:
        raise NotImplementedError()

    @classmethod
    def decode_response(cls, response: InferenceResponse) -> Any:
        raise NotImplementedError()

    @classmethod
    def encode_request(cls, payload: Any, **kwargs) -> InferenceRequest:
        raise NotImplementedError()

    @classmethod
    def decode(cls, request: InferenceRequest) -> Any:
        logger.warning("DEPRECATED! The decode() method is now deprecated. Use decode_request() instead.")
        return cls.decode_request(request)

    @classmethod
    def decode_request(cls, request: InferenceRequest) -> Any:
        raise NotImplementedError()


InputCodecLike = Union[Type[InputCodec], InputCodec]
RequestCodecLike = Union[Type[RequestCodec], RequestCodec]


class _CodecRegistry:
    # The mutable defaults are MLServer's: every _CodecRegistry() shares the global state.
    def __init__(self, input_codecs: Dict[str, InputCodecLike] = {},
                 request_codecs: Dict[str, RequestCodecLike] = {}):
        self._input_codecs = input_codecs
        self._request_codecs = request_codecs

    def register_input_codec(self, content_type: str, codec: InputCodecLike):
        self._input_codecs[content_type] = codec

    def find_input_codec(self, content_type=None, payload=None, type_hint=None):
        if content_type:
            return self._input_codecs.get(content_type)
        elif payload:
            return self.find_input_codec_by_payload(payload)
        elif type_hint:
            return self.find_input_codec_by_type_hint(type_hint)
        return None

    def find_input_codec_by_payload(self, payload):
        return self._find_codec_by_payload(payload, self._input_codecs)

    def find_input_codec_by_type_hint(self, type_hint):
        return self._find_codec_by_type_hint(type_hint, self._input_codecs)

    def register_request_codec(self, content_type: str, codec: RequestCodecLike):
        self._request_codecs[content_type] = codec

    def find_request_codec(self, content_type=None, payload=None, type_hint=None):
        if content_type:
            return self._request_codecs.get(content_type)
        elif payload:
            return self.find_request_codec_by_payload(payload)
        elif type_hint:
            return self.find_request_codec_by_type_hint(type_hint)
        return None

    def find_request_codec_by_payload(self, payload):
        return self._find_codec_by_payload(payload, self._request_codecs)

    def find_request_codec_by_type_hint(self, type_hint):
        return self._find_codec_by_type_hint(type_hint, self._request_codecs)

    def _find_codec_by_payload(self, payload, codecs):
        for codec in codecs.values():
            if codec.can_encode(payload):
                return codec
        return None

    def _find_codec_by_type_hint(self, type_hint, codecs):
        for codec in codecs.values():
            if codec.TypeHint == type_hint:
                return codec
        return None


_codec_registry = _CodecRegistry()
find_input_codec = _codec_registry.find_input_codec
find_input_codec_by_payload = _codec_registry.find_input_codec_by_payload
find_request_codec = _codec_registry.find_request_codec
find_request_codec_by_payload = _codec_registry.find_request_codec_by_payload


def register_input_codec(CodecKlass: InputCodecLike):
    _codec_registry.register_input_codec(CodecKlass.ContentType, CodecKlass)
    return CodecKlass


def register_request_codec(CodecKlass: RequestCodecLike):
    _codec_registry.register_request_codec(CodecKlass.ContentType, CodecKlass)
    return CodecKlass
