"""MLServer's error classes (mlserver/errors.py): same names, statuses and messages."""
from typing import Optional


class MLServerError(Exception):
    def __init__(self, msg: str, status_code: int = 400):
        super().__init__(msg)
        self.status_code = status_code


class InvalidModelURI(MLServerError):
    def __init__(self, name: str, model_uri: Optional[str] = None):
        msg = f"Invalid URI specified for model {name}"
        if model_uri:
            msg += f" ({model_uri})"
        super().__init__(msg, status_code=422)


class ModelNotFound(MLServerError):
    def __init__(self, name: str, version: Optional[str] = None):
        msg = f"Model {name} not found"
        if version is not None:
            msg = f"Model {name} with version {version} not found"
        super().__init__(msg, status_code=404)


class ModelNotReady(MLServerError):
    def __init__(self, name: str, version: Optional[str] = None):
        msg = f"Model {name} is not ready yet."
        if version is not None:
            msg = f"Model {name} with version {version} is not ready yet."
        super().__init__(msg, status_code=400)


class InferenceError(MLServerError):
    def __init__(self, msg: str):
        super().__init__(msg, status_code=400)


class ModelParametersMissing(MLServerError):
    def __init__(self, model_name: str):
        super().__init__(f"Parameters missing for model {model_name}", status_code=400)
