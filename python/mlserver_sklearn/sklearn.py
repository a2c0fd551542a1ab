"""mlserver_sklearn.SKLearnModel, as MLServer's runtime (runtimes/sklearn): joblib-loaded model,
outputs predict / predict_proba / transform, NumpyRequestCodec by default, `pd` requests as
DataFrames. scikit-learn and joblib come from the model's Python (Debian: python3-sklearn)."""
from mlserver import MLModel
from mlserver.codecs import NumpyCodec, NumpyRequestCodec
from mlserver.errors import InferenceError, MLServerError
from mlserver.types import InferenceRequest, InferenceResponse, RequestOutput
from mlserver.utils import get_model_uri

PREDICT_OUTPUT = "predict"
PREDICT_PROBA_OUTPUT = "predict_proba"
PREDICT_TRANSFORM = "transform"
VALID_OUTPUTS = [PREDICT_OUTPUT, PREDICT_PROBA_OUTPUT, PREDICT_TRANSFORM]
WELLKNOWN_MODEL_FILENAMES = ["model.joblib", "model.pickle", "model.pkl"]


def _is_dataframe(value):
    return type(value).__name__ == "DataFrame" and type(value).__module__.startswith("pandas")


class SKLearnModel(MLModel):
    async def load(self) -> bool:
        import joblib
        model_uri = await get_model_uri(self._settings, wellknown_filenames=WELLKNOWN_MODEL_FILENAMES)
        try:
            self._model = joblib.load(model_uri)
        except Exception as e:
            raise MLServerError(f"SKLearnModel could not load '{model_uri}': {type(e).__name__}: {e}",
                                status_code=500) from e
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        payload = self._check_request(payload)
        return InferenceResponse(model_name=self.name, model_version=self.version,
                                 outputs=self._get_model_outputs(payload))

    def _check_request(self, payload):
        if not payload.outputs:
            extra = self._settings.parameters.extra if self._settings.parameters else None
            predict_fn = (extra or {}).get("predict_fn", PREDICT_OUTPUT)
            payload.outputs = [RequestOutput(name=predict_fn)]
        for request_output in payload.outputs:
            if request_output.name not in VALID_OUTPUTS:
                raise InferenceError("SKLearnModel only supports 'predict', 'predict_proba' and "
                                     f"'transform' as outputs ({request_output.name} was received)")
        if any(o.name == PREDICT_PROBA_OUTPUT for o in payload.outputs) and \
                not hasattr(self._model, PREDICT_PROBA_OUTPUT):
            raise InferenceError(f"{type(self._model)} models do not support '{PREDICT_PROBA_OUTPUT}")
        return payload

    def _get_model_outputs(self, payload):
        decoded = self.decode_request(payload, default_codec=NumpyRequestCodec)
        outputs = []
        for request_output in payload.outputs:
            predict_fn = getattr(self._model, request_output.name)
            try:
                y = predict_fn(decoded)
            except ValueError as e:  # wrong shape and the like: the client's fault, the library's words
                raise InferenceError(str(e)) from e
            if _is_dataframe(y):
                if len(payload.outputs) > 1:
                    raise InferenceError("SKLearnModel only supports a single output when the model "
                                         "returns a DataFrame")
                return self.encode_response(y, default_codec=NumpyRequestCodec).outputs
            outputs.append(self.encode(y, request_output, default_codec=NumpyCodec))
        return outputs
