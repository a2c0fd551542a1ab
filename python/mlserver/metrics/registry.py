"""Custom metrics without prometheus_client: histograms that observe into ringserve's metrics
endpoint (labelled model_name/model_version by the worker) when running inside ringserve, and
keep a local count/sum otherwise."""
import threading

from .. import _hostlink
from ..context import model_token_var
from .errors import MetricNotFound

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_KIND_HISTOGRAM = 2


class Histogram:
    def __init__(self, name, documentation, buckets=DEFAULT_BUCKETS):
        self._name, self._documentation, self._buckets = name, documentation, tuple(buckets)
        self.count, self.sum = 0, 0.0
        self._lock = threading.Lock()

    def observe(self, value, token=None):
        with self._lock:
            self.count += 1
            self.sum += float(value)
        sink = _hostlink.sink
        token = token if token is not None else model_token_var.get()
        if sink is not None and token is not None:
            sink.metric(token, _KIND_HISTOGRAM, self._name, self._documentation, float(value),
                        self._buckets)

    def labels(self, *args, **kwargs):
        return self  # the worker adds model_name/model_version itself


class MetricsRegistry:
    def __init__(self):
        self._metrics = {}
        self._lock = threading.Lock()

    def exists(self, name):
        return name in self._metrics

    def get(self, name):
        return self._metrics.get(name)

    def __getitem__(self, name):
        if name not in self._metrics:
            raise MetricNotFound(name)
        return self._metrics[name]

    def __contains__(self, name):
        return name in self._metrics

    def get_or_create(self, name, description):
        with self._lock:
            if name not in self._metrics:
                self._metrics[name] = Histogram(name, description)
            return self._metrics[name]


REGISTRY = MetricsRegistry()
