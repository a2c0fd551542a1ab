from typing import Any, Type


def is_list_of(payload: Any, instance_type: Type) -> bool:
    if not isinstance(payload, list):
        return False
    return all(isinstance(x, instance_type) for x in payload)


def as_list(payload: Any) -> list:
    if payload is None:
        return []
    if isinstance(payload, (str, bytes)):
        return [payload]
    if isinstance(payload, list):
        return payload
    try:
        return list(payload)
    except TypeError:
        return [payload]
