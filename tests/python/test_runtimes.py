"""mlserver_sklearn and mlserver_xgboost through ringserve_host, with real models trained here
(Debian's python3-sklearn / python3-xgboost); skipped where the Python lacks them."""
import json
import os
import shutil
import struct
import tempfile
import unittest

import harness
import _ringserve as fake
import ringserve_host as host

try:
    import numpy as np
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
except ImportError:
    joblib = None
try:
    import xgboost
except ImportError:
    xgboost = None


class RuntimeCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rs-pyrt-")
        self.addCleanup(shutil.rmtree, self.dir)

    def serve(self, implementation, name, filename=None, writer=None, expect_load=(0, True)):
        folder = os.path.join(self.dir, name)
        os.makedirs(folder)
        if writer:
            writer(os.path.join(folder, filename))
        settings = {"name": name, "implementation": implementation, "parameters": {"uri": folder}}
        status, handle = host.create("tok", implementation, json.dumps(settings), folder,
                                     os.path.join(harness.ROOT, "python"))
        self.assertEqual(status, 0, handle)
        load = host.load(handle)
        self.assertEqual(load[:len(expect_load)] if expect_load[0] == 0 else load[0], expect_load
                         if expect_load[0] == 0 else expect_load[0], load)
        return handle, load

    def infer(self, handle, values, shape, outputs=()):
        t, _ = harness.tensor("input-0", "FP64", shape, values)
        call = fake.Call()
        res = host.predict(handle, call, "r", "", [t], [(o, "") for o in outputs])
        return res, call


@unittest.skipIf(joblib is None, "scikit-learn/joblib are not installed for this Python")
class SKLearnTest(RuntimeCase):
    def train(self, path):
        x, y = load_iris(return_X_y=True)
        joblib.dump(LogisticRegression(max_iter=500).fit(x, y), path)

    def test_predict_default_and_requested_outputs(self):
        h, _ = self.serve("mlserver_sklearn.SKLearnModel", "iris", "model.joblib", self.train)
        res, call = self.infer(h, [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3], [2, 4])
        self.assertEqual(res, (0, None))
        dt, shape, buf, params = call.outputs["predict"]
        self.assertEqual((shape, params), ((2, 1), {"content_type": "np"}))
        self.assertEqual(list(np.frombuffer(bytes(buf), dt == "INT64" and "<i8" or "<i4")), [0, 2])
        res, call = self.infer(h, [5.1, 3.5, 1.4, 0.2], [1, 4], outputs=["predict", "predict_proba"])
        self.assertEqual(res, (0, None))
        self.assertEqual(call.order, ["predict", "predict_proba"])
        proba = np.frombuffer(bytes(call.outputs["predict_proba"][2]), "<f8")
        self.assertEqual(call.outputs["predict_proba"][1], (1, 3))
        self.assertAlmostEqual(float(proba.sum()), 1.0, places=6)

    def test_transform_bad_output_no_proba_and_wrong_shape(self):
        x, _ = load_iris(return_X_y=True)
        h, _ = self.serve("mlserver_sklearn.SKLearnModel", "scaler", "model.pkl",
                          lambda p: joblib.dump(StandardScaler().fit(x), p))
        res, call = self.infer(h, [5.1, 3.5, 1.4, 0.2], [1, 4], outputs=["transform"])
        self.assertEqual((res, call.outputs["transform"][1]), ((0, None), (1, 4)))
        res, _ = self.infer(h, [1.0] * 4, [1, 4], outputs=["decision"])
        self.assertEqual(res, (2, "mlserver.errors.InferenceError: SKLearnModel only supports 'predict', "
                                  "'predict_proba' and 'transform' as outputs (decision was received)"))
        res, _ = self.infer(h, [1.0] * 4, [1, 4], outputs=["predict_proba"])
        self.assertEqual(res[0], 2)
        self.assertIn("models do not support 'predict_proba", res[1])
        iris, _ = self.serve("mlserver_sklearn.SKLearnModel", "iris3", "model.joblib", self.train)
        res, _ = self.infer(iris, [1.0, 2.0, 3.0], [1, 3])
        self.assertEqual(res[0], 2)
        self.assertIn("features", res[1])  # scikit-learn's own words about the feature count

    def test_bad_model_file_names_the_file(self):
        def garbage(p):
            with open(p, "w") as f:
                f.write("not a pickle")
        _, load = self.serve("mlserver_sklearn.SKLearnModel", "bad", "model.joblib", garbage,
                             expect_load=(1,))
        self.assertIn("could not load '", load[1])
        self.assertIn(os.path.join(self.dir, "bad", "model.joblib"), load[1])


@unittest.skipIf(xgboost is None or joblib is None, "xgboost is not installed for this Python")
class XGBoostTest(RuntimeCase):
    def test_classifier_predict_proba_and_regressor_refusal(self):
        x, y = load_iris(return_X_y=True)
        for ext in ("json", "ubj"):
            h, _ = self.serve("mlserver_xgboost.XGBoostModel", f"xgb-{ext}", f"model.{ext}",
                              lambda p: xgboost.XGBClassifier(n_estimators=5).fit(x, y).save_model(p))
            res, call = self.infer(h, [5.1, 3.5, 1.4, 0.2], [1, 4], outputs=["predict", "predict_proba"])
            self.assertEqual(res, (0, None))
            proba = np.frombuffer(bytes(call.outputs["predict_proba"][2]), "<f4")
            self.assertTrue(0 <= proba[0] <= 1)
            self.assertEqual(call.outputs["predict_proba"][1], (1, 3))
        h, _ = self.serve("mlserver_xgboost.XGBoostModel", "reg", "model.json",
                          lambda p: xgboost.XGBRegressor(n_estimators=3).fit(x, y).save_model(p))
        res, _ = self.infer(h, [5.1, 3.5, 1.4, 0.2], [1, 4], outputs=["predict_proba"])
        self.assertEqual(res, (2, "mlserver.errors.InferenceError: XGBRegressor models do not support 'predict_proba"))
        res, _ = self.infer(h, [5.1, 3.5, 1.4, 0.2], [1, 4], outputs=["leaf"])
        self.assertIn("XGBoostModel only supports 'predict' and 'predict_proba' as outputs (leaf was received)", res[1])
        res, _ = self.infer(h, [1.0, 2.0], [1, 2])
        self.assertEqual(res[0], 2)
        self.assertIn("Feature shape mismatch", res[1])

    def test_bad_model_file_names_the_file(self):
        def garbage(p):
            with open(p, "w") as f:
                f.write("{broken")
        _, load = self.serve("mlserver_xgboost.XGBoostModel", "badx", "model.json", garbage, expect_load=(1,))
        self.assertIn(os.path.join(self.dir, "badx", "model.json"), load[1])


if __name__ == "__main__":
    unittest.main()
