"""mlserver.utils: get_model_uri and the small helpers runtimes import."""
import os
import uuid
from typing import List
from urllib.parse import urlparse

from .errors import InvalidModelURI
from .settings import ModelSettings


def _resolve(settings: ModelSettings, uri: str) -> str:
    if os.path.isabs(uri):
        return uri
    source = settings.__dict__.get("_source")
    base = os.path.dirname(source) if source else os.getcwd()
    return os.path.normpath(os.path.join(base, uri))


async def get_model_uri(settings: ModelSettings, wellknown_filenames: List[str] = []) -> str:
    if not settings.parameters or not settings.parameters.uri:
        raise InvalidModelURI(settings.name)
    uri = settings.parameters.uri
    parsed = urlparse(uri)
    if parsed.scheme and parsed.scheme != "file":
        return uri
    path = _resolve(settings, parsed.path if parsed.scheme == "file" else uri)
    if os.path.isfile(path):
        return path
    if os.path.isdir(path):
        for name in wellknown_filenames:
            candidate = os.path.join(path, name)
            if os.path.isfile(candidate):
                return candidate
        return path
    raise InvalidModelURI(settings.name, path)


def generate_uuid() -> str:
    return str(uuid.uuid4())


def get_wrapped_method(f):
    while hasattr(f, "__wrapped__"):
        f = f.__wrapped__
    return f


def insert_headers(inference_request, headers):
    from .types import Parameters
    if inference_request.parameters is None:
        inference_request.parameters = Parameters()
    inference_request.parameters.headers = dict(headers)
    return inference_request


def extract_headers(inference_response):
    if inference_response.parameters is None or inference_response.parameters.headers is None:
        return None
    headers = inference_response.parameters.headers
    inference_response.parameters.headers = None
    return headers


def install_uvloop_event_loop():
    """No-op: ringserve_host owns the worker's event loop."""
