"""numpy and pandas, imported only when a codec needs them (importing mlserver needs neither)."""
import sys


def numpy():
    """The numpy module, or an error that says this interpreter lacks it."""
    try:
        import numpy as np
    except ImportError as e:
        from .errors import MLServerError
        raise MLServerError(
            f"this needs numpy, which the Python running the model "
            f"({sys.executable or 'embedded'}, {sys.version.split()[0]}) cannot import: {e}",
            status_code=500) from None
    return np


def pandas():
    try:
        import pandas as pd
    except ImportError as e:
        from .errors import MLServerError
        raise MLServerError(
            f"the 'pd' codec needs pandas, which the Python running the model "
            f"({sys.version.split()[0]}) cannot import: {e}", status_code=500) from None
    return pd


def loaded(name):
    """The module if something already imported it, else None (never imports)."""
    return sys.modules.get(name)
