from ..errors import MLServerError


class InvalidModelContext(MLServerError):
    def __init__(self):
        super().__init__("Contextual method (e.g. mlserver.log() or mlserver.register()) was called "
                         "outside of a model context. ", status_code=500)


class MetricNotFound(MLServerError):
    def __init__(self, metric_name: str):
        super().__init__(f"No metric found with name '{metric_name}'", status_code=500)
