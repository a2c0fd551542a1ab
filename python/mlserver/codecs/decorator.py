"""decode_args (mlserver/codecs/decorator.py), with one ringserve change: a parameter without a
default that no request input fills is a 400 naming it (MLServer lets predict() raise a 500
TypeError). The wrapped predict may be a plain function (ringserve extension) or a coroutine."""
import inspect
from functools import partial, wraps
from typing import Any, Callable, Dict, List, Optional, Tuple, Union, get_type_hints

from ..types import InferenceRequest, InferenceResponse
from .base import InputCodec, RequestCodec, find_input_codec, find_request_codec
from .errors import CodecNotFound, InputsNotFound, MissingInputs, OutputNotFound
from .utils import DefaultOutputPrefix

try:
    from typing import get_args, get_origin
except ImportError:  # Python 3.7
    def get_origin(t):
        return getattr(t, "__origin__", None)

    def get_args(t):
        return getattr(t, "__args__", ())


def _as_list(a) -> List[Any]:
    if a is None:
        return []
    if isinstance(a, tuple):
        return list(a)
    if get_origin(a) is tuple:
        return list(get_args(a))
    return [a]


def _is_codec_type(c, t) -> bool:
    return (isinstance(c, type) and issubclass(c, t)) or isinstance(c, t)


_is_input_codec = partial(_is_codec_type, t=InputCodec)
_is_request_codec = partial(_is_codec_type, t=RequestCodec)


def _is_optional(t) -> bool:
    return get_origin(t) is Union and type(None) in get_args(t)


def _unwrap_optional(t):
    return get_args(t)[0]


class SignatureCodec(RequestCodec):
    def __init__(self, predict: Callable):
        self._predict = predict
        self._input_codecs, self._output_codecs = self._get_codecs(predict)
        params = inspect.signature(predict).parameters
        self._required = [n for n, p in params.items()
                          if n in self._input_codecs and p.default is inspect.Parameter.empty]

    def _get_codecs(self, pred):
        self._input_hints = self._get_type_hints(pred)
        self._output_hints = _as_list(self._input_hints.pop("return", None))
        input_codecs = {name: self._find_codec(name, hint, is_input=True)
                        for name, hint in self._input_hints.items()}
        output_codecs = [self._find_codec(None, hint, is_input=False) for hint in self._output_hints]
        return input_codecs, output_codecs

    def _get_type_hints(self, pred) -> Dict[str, Any]:
        type_hints = get_type_hints(pred)
        for name, type_hint in type_hints.items():
            if _is_optional(type_hint):
                type_hints[name] = _unwrap_optional(type_hint)
        return type_hints

    def _find_codec(self, name: Optional[str], type_hint, is_input: bool = False):
        codec = find_input_codec(type_hint=type_hint)
        if codec is not None:
            return codec
        codec = find_request_codec(type_hint=type_hint)
        if codec is not None:
            return codec
        raise CodecNotFound(name=name, payload_type=str(type_hint), is_input=is_input)

    def decode_request(self, request: InferenceRequest) -> Dict[str, Any]:
        inputs = {}
        extra_request_inputs = []
        for request_input in request.inputs:
            input_name = request_input.name
            if input_name not in self._input_codecs:
                extra_request_inputs.append(request_input)
                continue
            codec = self._input_codecs[input_name]
            if not _is_input_codec(codec):
                raise CodecNotFound(name=input_name, is_input=True)
            inputs[input_name] = codec.decode_input(request_input)

        if extra_request_inputs:
            request_codec = self._get_request_codec()
            if not request_codec:
                raise InputsNotFound(extra_request_inputs, self._input_codecs)
            arg_name, codec = next(iter(request_codec.items()))
            extra_request = InferenceRequest(id=request.id, parameters=request.parameters,
                                             outputs=request.outputs, inputs=extra_request_inputs)
            inputs[arg_name] = codec.decode_request(extra_request)

        missing = [n for n in self._required if n not in inputs]
        if missing:
            raise MissingInputs(missing, [i.name for i in request.inputs])
        return inputs

    def _get_request_codec(self):
        for arg_name, codec in self._input_codecs.items():
            if _is_request_codec(codec):
                return {arg_name: codec}
        return {}

    def encode_response(self, model_name: str, payload: Any, model_version: Optional[str] = None):
        outputs = []
        for idx, item in enumerate(_as_list(payload)):
            outputs += self._encode_outputs(item, idx)
        return InferenceResponse(model_name=model_name, model_version=model_version, outputs=outputs)

    def _encode_outputs(self, payload, idx):
        output_type = type(payload)
        if idx >= len(self._output_codecs):
            raise OutputNotFound(idx, output_type, self._output_hints)
        codec = self._output_codecs[idx]
        if not codec.can_encode(payload):
            raise OutputNotFound(idx, output_type, self._output_hints)
        if _is_input_codec(codec):
            return [codec.encode_output(f"{DefaultOutputPrefix}{idx}", payload)]
        if _is_request_codec(codec):
            return codec.encode_response(model_name="", payload=payload).outputs
        return []


def decode_args(predict: Callable):
    codec = SignatureCodec(predict)
    is_coroutine = inspect.iscoroutinefunction(predict)

    @wraps(predict)
    async def _f(self, request: InferenceRequest) -> InferenceResponse:
        inputs = codec.decode_request(request=request)
        outputs = predict(self, **inputs)
        if is_coroutine or inspect.isawaitable(outputs):
            outputs = await outputs
        return codec.encode_response(model_name=self.name, payload=outputs, model_version=self.version)

    return _f
