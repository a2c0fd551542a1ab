"""mlserver.codecs: MLServer's codecs and registry. Importing this needs neither numpy nor pandas;
the codecs that need them import them on first use (and fail with a message saying so)."""
from .base import (InputCodec, InputCodecLike, RequestCodec, RequestCodecLike, find_input_codec,
                   find_input_codec_by_payload, find_request_codec, find_request_codec_by_payload,
                   register_input_codec, register_request_codec)
from .errors import CodecError, CodecNotFound, InputsNotFound, OutputNotFound
# Registration order is MLServer's: input codecs str, np, base64, datetime; request str, np, pd.
from .string import StringCodec, StringRequestCodec
from .numpy import NumpyCodec, NumpyRequestCodec
from .base64 import Base64Codec
from .datetime import DatetimeCodec
from .pandas import PandasCodec
from .utils import (DecodedParameterName, SingleInputRequestCodec, decode_inference_request,
                    decode_request_input, encode_inference_response, encode_response_output,
                    get_decoded, get_decoded_or_raw, has_decoded)
from .decorator import decode_args

__all__ = ["CodecError", "NumpyCodec", "NumpyRequestCodec", "StringCodec", "StringRequestCodec",
           "Base64Codec", "DatetimeCodec", "PandasCodec", "InputCodec", "InputCodecLike",
           "RequestCodec", "RequestCodecLike", "DecodedParameterName", "register_input_codec",
           "register_request_codec", "has_decoded", "get_decoded", "get_decoded_or_raw",
           "encode_inference_response", "encode_response_output", "decode_request_input",
           "decode_inference_request", "decode_args"]
