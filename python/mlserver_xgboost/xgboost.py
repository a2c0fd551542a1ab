"""mlserver_xgboost.XGBoostModel, as MLServer's runtime (runtimes/xgboost): model.bst / .json /
.ubj loaded into an XGBRegressor, falling back to XGBClassifier; outputs predict and
predict_proba. xgboost comes from the model's Python (Debian: python3-xgboost)."""
from mlserver import MLModel
from mlserver.codecs import NumpyCodec, NumpyRequestCodec
from mlserver.errors import InferenceError, MLServerError
from mlserver.types import InferenceRequest, InferenceResponse, RequestOutput
from mlserver.utils import get_model_uri

PREDICT_OUTPUT = "predict"
PREDICT_PROBA_OUTPUT = "predict_proba"
VALID_OUTPUTS = [PREDICT_OUTPUT, PREDICT_PROBA_OUTPUT]
WELLKNOWN_MODEL_FILENAMES = ["model.bst", "model.json", "model.ubj"]


def _load_sklearn_interface(model_uri: str):
    import xgboost as xgb
    try:
        regressor = xgb.XGBRegressor()
        regressor.load_model(model_uri)
        return regressor
    except TypeError:
        # The saved model is a classifier: XGBRegressor refuses it with a TypeError.
        classifier = xgb.XGBClassifier()
        classifier.load_model(model_uri)
        return classifier


class XGBoostModel(MLModel):
    async def load(self) -> bool:
        model_uri = await get_model_uri(self._settings, wellknown_filenames=WELLKNOWN_MODEL_FILENAMES)
        try:
            self._model = _load_sklearn_interface(model_uri)
        except Exception as e:
            raise MLServerError(f"XGBoostModel could not load '{model_uri}': {type(e).__name__}: {e}",
                                status_code=500) from e
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        payload = self._check_request(payload)
        decoded = self.decode_request(payload, default_codec=NumpyRequestCodec)
        outputs = []
        for request_output in payload.outputs:
            predict_fn = getattr(self._model, request_output.name)
            try:
                y = predict_fn(decoded)
            except ValueError as e:
                raise InferenceError(str(e)) from e
            outputs.append(self.encode(y, request_output, default_codec=NumpyCodec))
        return InferenceResponse(model_name=self.name, model_version=self.version, outputs=outputs)

    def _check_request(self, payload):
        if not payload.outputs:
            payload.outputs = [RequestOutput(name=PREDICT_OUTPUT)]
        for request_output in payload.outputs:
            if request_output.name not in VALID_OUTPUTS:
                raise InferenceError("XGBoostModel only supports 'predict' and 'predict_proba' as "
                                     f"outputs ({request_output.name} was received)")
            if request_output.name == PREDICT_PROBA_OUTPUT and not hasattr(self._model, PREDICT_PROBA_OUTPUT):
                raise InferenceError(f"{type(self._model).__name__} models do not support 'predict_proba")
        return payload
