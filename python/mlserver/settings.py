"""ModelSettings and ModelParameters (mlserver/settings.py) without pydantic-settings.

As MLServer's BaseSettings, construction fills fields not given from MLSERVER_MODEL_* environment
variables (JSON-decoded when they parse as JSON), then from a `.env` file in the working
directory. ModelParameters keeps unknown keys; ModelSettings drops them."""
import importlib
import json
import os

from .types.base import REQUIRED, BaseModel, list_of, model_of
from .types.dataplane import MetadataTensor

ENV_PREFIX_MODEL = "MLSERVER_MODEL_"


def _dotenv():
    values = {}
    try:
        with open(".env", encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    k, v = line.split("=", 1)
                    values[k.strip()] = v.strip().strip("'\"")
    except OSError:
        pass
    return values


def _from_env(fields, kwargs, aliases=None):
    env = None
    for name in fields:
        key = (aliases or {}).get(name, name)
        if key in kwargs or name in kwargs:
            continue
        var = ENV_PREFIX_MODEL + key.upper()
        if env is None:
            env = dict(_dotenv(), **os.environ)
        if var in env:
            raw = env[var]
            try:
                kwargs[key] = json.loads(raw)
            except ValueError:
                kwargs[key] = raw


class ModelParameters(BaseModel):
    _extra_allowed = True
    _fields = {"uri": (None, str), "version": (None, str), "environment_tarball": (None, str),
               "environment_path": (None, str), "inference_pool_gid": (None, str),
               "autogenerate_inference_pool_gid": (False, bool), "format": (None, str),
               "content_type": (None, str), "extra": ({}, dict)}

    def __init__(self, **kwargs):
        _from_env(self._fields, kwargs)
        super().__init__(**kwargs)


class ModelSettings(BaseModel):
    _fields = {"name": ("", str), "implementation_": (REQUIRED, None), "platform": ("", str),
               "versions": ([], list), "inputs": ([], list_of(MetadataTensor)),
               "outputs": ([], list_of(MetadataTensor)), "parallel_workers": (None, int),
               "warm_workers": (False, bool), "max_batch_size": (0, int), "max_batch_time": (0.0, float),
               "parameters": (None, model_of(ModelParameters)), "cache_enabled": (False, bool)}

    def __init__(self, **kwargs):
        impl = kwargs.pop("implementation", None)
        if impl is not None and "implementation_" not in kwargs:
            kwargs["implementation_"] = impl
        source = kwargs.pop("_source", None)
        _from_env(self._fields, kwargs, {"implementation_": "implementation"})
        if "implementation" in kwargs:
            kwargs["implementation_"] = kwargs.pop("implementation")
        impl = kwargs.get("implementation_")
        if isinstance(impl, type):  # ModelSettings(implementation=Cls) keeps "module.Class"
            kwargs["implementation_"] = f"{impl.__module__}.{impl.__name__}"
            self.__dict__["_implementation_cls"] = impl
        super().__init__(**kwargs)
        self.__dict__["_source"] = source

    @classmethod
    def parse_file(cls, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        data["_source"] = os.path.abspath(path)
        return cls(**data)

    @classmethod
    def model_validate(cls, obj):
        if isinstance(obj, cls):
            return obj
        return cls(**dict(obj))

    parse_obj = model_validate

    @property
    def implementation(self):
        cls = self.__dict__.get("_implementation_cls")
        if cls is None:
            module, _, name = self.implementation_.replace(":", ".").rpartition(".")
            cls = getattr(importlib.import_module(module), name)
        return cls

    @property
    def version(self):
        return self.parameters.version if self.parameters is not None else None

    def model_dump(self, exclude_unset=True, exclude_none=True, **kw):
        out = super().model_dump(exclude_unset, exclude_none, **kw)
        if "implementation_" in out:
            out["implementation"] = out.pop("implementation_")
        return out


class Settings(BaseModel):
    """Server settings: kept for runtimes that read them; ringserve's supervisor owns the server."""
    _extra_allowed = True
    _fields = {"debug": (False, bool), "parallel_workers": (1, int), "server_name": ("mlserver", str),
               "http_port": (8080, int), "grpc_port": (8081, int), "metrics_port": (8082, int)}
