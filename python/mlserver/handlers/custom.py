"""@custom_handler marks a method as MLServer does. ringserve does not mount custom REST routes
(python/README.md lists this difference); the mark is kept so such runtimes still import."""
import inspect

CUSTOM_HANDLER_ATTR = "__custom_handler__"


class CustomHandler:
    def __init__(self, rest_path, rest_method="POST"):
        self.rest_path, self.rest_method = rest_path, rest_method


def custom_handler(rest_path: str, rest_method: str = "POST"):
    def _mark(f):
        setattr(f, CUSTOM_HANDLER_ATTR, CustomHandler(rest_path, rest_method))
        return f
    return _mark


def get_custom_handlers(model):
    return [(getattr(f, CUSTOM_HANDLER_ATTR), f) for _, f in inspect.getmembers(model)
            if hasattr(f, CUSTOM_HANDLER_ATTR)]
