"""PandasCodec (mlserver/codecs/pandas.py). pandas is imported when a `pd` request is decoded or
a DataFrame is encoded, never when this module loads."""
import json
from typing import Any

from .. import _deps
from ..types import InferenceRequest, InferenceResponse, Parameters, RequestInput, ResponseOutput
from .base import RequestCodec, register_request_codec
from .lists import is_list_of
from .numpy import _NotImported, to_datatype
from .string import encode_str
from .utils import get_decoded_or_raw


def _to_series(input_or_output):
    pd = _deps.pandas()
    payload = get_decoded_or_raw(input_or_output)
    payload = getattr(payload, "root", payload)
    params = input_or_output.parameters
    if params is not None and params.content_type == PandasCodec.JsonContentType:
        payload = [json.loads(e) for e in payload]
    if input_or_output.datatype == "BYTES":
        return pd.Series(payload)
    np = _deps.loaded("numpy")
    if np is not None and isinstance(payload, np.ndarray):
        payload = list(payload)
    return pd.Series(payload)


def _to_response_output(series, use_bytes: bool = True) -> ResponseOutput:
    datatype = to_datatype(series.dtype)
    data = series.tolist()
    data = [None if isinstance(v, float) and v != v else v for v in data]
    content_type = None
    if datatype == "BYTES":
        if is_list_of(data, str):
            content_type = "str"
            if use_bytes:
                data = [encode_str(e) for e in data]
        elif is_list_of(data, bytes):
            content_type = "str"
        else:
            content_type = PandasCodec.JsonContentType
            data = [json.dumps(e, default=str).encode() if use_bytes else json.dumps(e, default=str)
                    for e in data]
    return ResponseOutput(name=str(series.name), shape=[len(series), 1], data=data, datatype=datatype,
                          parameters=Parameters(content_type=content_type) if content_type else None)


@register_request_codec
class PandasCodec(RequestCodec):
    ContentType = "pd"
    JsonContentType = "pd_json"

    @classmethod
    def _type_hint(cls):
        pd = _deps.loaded("pandas")
        return pd.DataFrame if pd is not None else _NotImported

    @classmethod
    def can_encode(cls, payload: Any) -> bool:
        pd = _deps.loaded("pandas")
        return pd is not None and isinstance(payload, pd.DataFrame)

    @classmethod
    def encode_response(cls, model_name: str, payload, model_version=None, use_bytes: bool = True,
                        **kwargs) -> InferenceResponse:
        return InferenceResponse(model_name=model_name, model_version=model_version,
                                 parameters=Parameters(content_type=cls.ContentType),
                                 outputs=cls.encode_outputs(payload, use_bytes=use_bytes))

    @classmethod
    def encode_outputs(cls, payload, use_bytes: bool = True):
        return [_to_response_output(payload[col], use_bytes=use_bytes) for col in payload.columns]

    @classmethod
    def decode_response(cls, response: InferenceResponse):
        pd = _deps.pandas()
        return pd.DataFrame({o.name: _to_series(o) for o in response.outputs})

    @classmethod
    def encode_request(cls, payload, use_bytes: bool = True, **kwargs) -> InferenceRequest:
        inputs = [RequestInput(name=o.name, datatype=o.datatype, shape=o.shape, data=o.data,
                               parameters=o.parameters)
                  for o in cls.encode_outputs(payload, use_bytes=use_bytes)]
        return InferenceRequest(parameters=Parameters(content_type=cls.ContentType), inputs=inputs)

    @classmethod
    def decode_request(cls, request: InferenceRequest):
        pd = _deps.pandas()
        return pd.DataFrame({inp.name: _to_series(inp) for inp in request.inputs})
