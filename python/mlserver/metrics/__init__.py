"""mlserver.metrics: register() and log() as MLServer's (see registry.py for where values go)."""
from ..context import model_name_var
from .errors import InvalidModelContext, MetricNotFound
from .registry import REGISTRY, Histogram, MetricsRegistry


def register(name: str, description: str) -> Histogram:
    return REGISTRY.get_or_create(name, description)


def log(**metrics):
    if model_name_var.get(None) is None:
        raise InvalidModelContext()
    for name, value in metrics.items():
        register(name, "TODO: Default description?").observe(value)


class MetricsServer:
    """ringserve's supervisor serves /metrics; this exists so imports keep working."""

    def __init__(self, *args, **kwargs):
        pass


def configure_metrics(settings=None):
    pass
