"""The seed case of issue 11: an MLServer custom runtime, unchanged, with the simplified
interface. `questions` and `context` are lists of strings; the answer is a numpy array (one
FP32 per question: the share of its words found in the context), encoded by decode_args as
`output-0`. The same toy scoring as the C++ example `qa/`, so both can be compared."""
import re
from typing import List

import numpy as np
from mlserver import MLModel
from mlserver.codecs import decode_args


def _words(text: str) -> List[str]:
    return re.findall(r"[0-9a-z]+", text.lower())


class QuestionAnswering(MLModel):
    async def load(self) -> bool:
        return True

    @decode_args
    async def predict(self, questions: List[str], context: List[str]) -> np.ndarray:
        known = {w for c in context for w in _words(c)}
        scores = []
        for q in questions:
            words = _words(q)
            scores.append(sum(w in known for w in words) / len(words) if words else 0.0)
        return np.array(scores, dtype=np.float32).reshape(-1, 1)
