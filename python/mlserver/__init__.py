"""ringserve's MLServer-compatible package: the runtime API of MLServer 1.7.1 (MLModel, codecs,
types, settings, errors, metrics, logging) without the server. Importing it needs only the
standard library and starts nothing; see python/README.md for what differs from MLServer."""
from .version import __version__
from .model import MLModel
from .settings import ModelSettings, ModelParameters, Settings
from .metrics import register, log
from .logging import logger

__all__ = ["__version__", "MLModel", "ModelSettings", "ModelParameters", "Settings", "register",
           "log", "logger"]
