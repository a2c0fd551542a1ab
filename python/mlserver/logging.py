"""mlserver.logging: the `mlserver` logger. Inside ringserve its records go to the worker log with
the model's name (ringserve_host installs the handler); elsewhere it is a plain logger."""
import logging as _logging

LoggerName = "mlserver"
logger = _logging.getLogger(LoggerName)


def get_logger():
    return logger


def configure_logger(settings=None):
    if not logger.handlers:
        handler = _logging.StreamHandler()
        handler.setFormatter(_logging.Formatter("%(asctime)s [%(name)s] %(levelname)s - %(message)s"))
        logger.addHandler(handler)
    debug = bool(getattr(settings, "debug", False))
    logger.setLevel(_logging.DEBUG if debug else _logging.INFO)
    return logger
