from .custom import custom_handler, get_custom_handlers

__all__ = ["custom_handler", "get_custom_handlers"]
