from typing import Dict, List, Optional, Type

from ..errors import MLServerError


class CodecNotFound(MLServerError):
    def __init__(self, name: Optional[str] = None, payload_type: Optional[str] = None,
                 is_input: bool = False, is_request: bool = False):
        kind = ("request" if is_input else "response") if is_request else "field"
        msg = f"Codec not found for {'input' if is_input else 'output'} {kind}"
        if name:
            msg += f" with name '{name}'"
        if payload_type:
            msg += f" and type {payload_type}" if name else f" with type {payload_type}"
        super().__init__(msg, status_code=400)


class CodecError(MLServerError):
    def __init__(self, msg: str):
        super().__init__(f"There was an error encoding / decoding the payload: {msg}", status_code=400)


class InputsNotFound(MLServerError):
    def __init__(self, inputs: List, input_codecs: Dict):
        input_names = ", ".join(f"'{inp.name}'" for inp in inputs)
        available = ", ".join(f"'{name}'" for name in input_codecs)
        super().__init__(f"Input {input_names} was not found. Available inputs are {available}.",
                         status_code=400)


class OutputNotFound(MLServerError):
    def __init__(self, output_idx: int, output_type: Type, output_hints: List[Type]):
        hints = ", ".join(f"'{hint}'" for hint in output_hints)
        super().__init__(f"Unexpected output value at position '{output_idx}' ({output_type}). "
                         f"Expected outputs are {hints} outputs.", status_code=400)


class MissingInputs(MLServerError):
    """ringserve: a decode_args parameter without a default that the request does not carry
    (MLServer lets predict() raise TypeError, a 500)."""

    def __init__(self, missing: List[str], received: List[str]):
        names = ", ".join(f"'{n}'" for n in missing)
        got = ", ".join(f"'{n}'" for n in received) or "none"
        super().__init__(f"Input {names} is required by predict() but missing from the request "
                         f"(received inputs: {got}).", status_code=400)
