"""decode_args with a type hint no codec has: MLServer fails when the decorator runs (import)."""
from mlserver import MLModel
from mlserver.codecs import decode_args


class IntHint(MLModel):
    @decode_args
    async def predict(self, x: int) -> int:
        return x
