"""mlserver.context: which model the current call belongs to (per thread / asyncio task)."""
from contextlib import contextmanager
from contextvars import ContextVar

model_name_var = ContextVar("model_name")
model_version_var = ContextVar("model_version")
# ringserve: the host's token for the model (log and metric calls need it); None outside ringserve.
model_token_var = ContextVar("ringserve_model_token", default=None)


@contextmanager
def model_context(model_settings, token=None):
    version = model_settings.version or ""
    t1 = model_name_var.set(model_settings.name)
    t2 = model_version_var.set(version)
    t3 = model_token_var.set(token)
    try:
        yield
    finally:
        model_token_var.reset(t3)
        model_version_var.reset(t2)
        model_name_var.reset(t1)
