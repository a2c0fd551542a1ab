"""Issue 12's repository, end to end: ONE `ringserve start` serving an scikit-learn model (the iris
example, mlserver_sklearn.SKLearnModel), an XGBoost model (mlserver_xgboost.XGBoostModel, trained
here with /usr/bin/python3 and Debian's python3-xgboost) and two custom runtimes on two pyenv
CPython versions, all four answering together; then the built-in runtimes' errors through the
server: a bad model file names the file, a wrong input shape is a 400 with the library's message,
an output they do not offer is MLServer's 400.

Skips, saying why, without the Python host, Debian's scikit-learn/xgboost, or two pyenv CPythons
with a shared libpython (found as tests/e2e/test_python_envs.py finds them).
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from ringserve_fixture import EXAMPLES, Server, run_threads
from test_python_envs import HOST, VERSION_MODEL, output, pyenv_pythons

SYSTEM_PYTHON = "/usr/bin/python3"
TRAIN_XGBOOST = r'''
import sys
import xgboost
from sklearn.datasets import load_iris
X, y = load_iris(return_X_y=True)
model = xgboost.XGBClassifier(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
model.save_model(sys.argv[1])
'''
IRIS = [{"name": "input-0", "shape": [2, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]}]


def has_modules(*names):
    code = "import " + ", ".join(names)
    return subprocess.run([SYSTEM_PYTHON, "-c", code], capture_output=True).returncode == 0


class PythonRepositoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(HOST):
            raise unittest.SkipTest(f"the Python host is not built ({HOST} is missing)")
        if not has_modules("sklearn", "joblib", "xgboost"):
            raise unittest.SkipTest(f"{SYSTEM_PYTHON} lacks scikit-learn, joblib or xgboost (tools/setup.sh installs them)")
        if not os.path.exists(os.path.join(EXAMPLES, "iris", "model.joblib")):
            raise unittest.SkipTest("examples/models/iris/model.joblib is not trained (tools/prepare_examples.sh)")
        found = pyenv_pythons()
        if len(found) < 2:
            raise unittest.SkipTest(f"needs two pyenv CPython minors with a shared libpython, found {sorted(found)}")
        cls.minors = [m for m in (10, 12) if m in found] or sorted(found)[:2]
        if len(cls.minors) < 2:
            cls.minors = sorted(set(cls.minors) | set(sorted(found)[:2]))[:2]
        cls.tmp = tempfile.mkdtemp(prefix="ringserve-pyrepo-")
        src = os.path.join(cls.tmp, "src")
        os.makedirs(os.path.join(src, "xgb"))
        subprocess.run([SYSTEM_PYTHON, "-c", TRAIN_XGBOOST, os.path.join(src, "xgb", "model.json")],
                       check=True, timeout=300)
        with open(os.path.join(src, "version_model.py"), "w") as f:
            f.write(VERSION_MODEL)
        with open(os.path.join(src, "broken.joblib"), "wb") as f:
            f.write(b"this is not a pickle")
        models = {
            "xgb": {"name": "xgb", "implementation": "mlserver_xgboost.XGBoostModel"},
            "broken": {"name": "broken", "implementation": "mlserver_sklearn.SKLearnModel",
                       "parameters": {"uri": "./model.joblib"}},
        }
        files = {"iris/model-settings.json": os.path.join(EXAMPLES, "iris", "model-settings.json"),
                 "iris/model.joblib": os.path.join(EXAMPLES, "iris", "model.joblib"),
                 "xgb/model.json": os.path.join(src, "xgb", "model.json"),
                 "broken/model.joblib": os.path.join(src, "broken.joblib")}
        for m in cls.minors:
            name = f"custom-py3{m}"
            models[name] = {"name": name, "implementation": "version_model.VersionModel",
                            "parameters": {"environment_path": found[m]}}
            files[f"{name}/version_model.py"] = os.path.join(src, "version_model.py")
        cls.prefix = {m: found[m] for m in cls.minors}
        cls.s = Server(copy_examples=False, wait_ready=False, models=models, files=files,
                       settings={"environments_dir": os.path.join(cls.tmp, "envs")})
        for name in ("iris", "xgb") + tuple(f"custom-py3{m}" for m in cls.minors):
            cls.s.wait_ready(model=name, timeout=60)
        # The broken model never becomes ready: wait for its load to end (its worker may still be
        # importing scikit-learn when the others are ready).
        cls.s.wait_loaded("broken")

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "s"):
            cls.s.finish()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def iris(self, model, outputs=None, inputs=IRIS):
        extra = {"outputs": [{"name": n} for n in outputs]} if outputs else {}
        return self.s.infer(model, inputs, extra=extra)

    def test_all_four_answer_from_one_server_together(self):
        a, b = self.minors

        def one(i):
            kind = i % 4
            if kind == 0:
                r = self.iris("iris")
                self.assertEqual(r.status_code, 200, r.text)
                return "iris", tuple(r.json()["outputs"][0]["data"])
            if kind == 1:
                r = self.iris("xgb")
                self.assertEqual(r.status_code, 200, r.text)
                return "xgb", tuple(r.json()["outputs"][0]["data"])
            minor = (a, b)[kind - 2]
            r = self.s.infer(f"custom-py3{minor}", [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}])
            self.assertEqual(r.status_code, 200, r.text)
            return minor, (output(r, "version").split()[0], output(r, "prefix"))

        seen = {}
        for key, value in run_threads(16, one):
            seen.setdefault(key, set()).add(value)
        # Setosa and virginica, by both classifiers; each custom runtime on its own CPython.
        self.assertEqual(seen["iris"], {(0, 2)})
        self.assertEqual(seen["xgb"], {(0, 2)})
        for minor in (a, b):
            ((version, prefix),) = seen[minor]
            self.assertTrue(version.startswith(f"3.{minor}."), version)
            self.assertEqual(prefix, self.prefix[minor])

    def test_sklearn_predict_proba_and_requested_outputs(self):
        r = self.iris("iris", outputs=["predict", "predict_proba"])
        self.assertEqual(r.status_code, 200, r.text)
        out = {o["name"]: o for o in r.json()["outputs"]}
        self.assertEqual(list(out), ["predict", "predict_proba"])
        self.assertEqual((out["predict"]["shape"], out["predict"]["data"]), ([2, 1], [0, 2]))
        self.assertEqual(out["predict_proba"]["shape"], [2, 3])
        self.assertEqual(out["predict_proba"]["datatype"], "FP64")
        probs = out["predict_proba"]["data"]
        self.assertAlmostEqual(sum(probs[:3]), 1.0, places=6)
        self.assertEqual(max(range(3), key=lambda k: probs[k]), 0)
        self.assertEqual(max(range(3), key=lambda k: probs[3 + k]), 2)
        r = self.iris("iris", outputs=["decision_function"])
        self.assertEqual((r.status_code, r.json()), (400, {
            "error": "mlserver.errors.InferenceError: SKLearnModel only supports 'predict', 'predict_proba' and "
                     "'transform' as outputs (decision_function was received)"}))

    def test_xgboost_predict_and_predict_proba(self):
        r = self.iris("xgb", outputs=["predict_proba"])
        self.assertEqual(r.status_code, 200, r.text)
        (proba,) = r.json()["outputs"]
        self.assertEqual((proba["name"], proba["shape"], proba["datatype"]), ("predict_proba", [2, 3], "FP32"))
        self.assertTrue(all(0 <= p <= 1 for p in proba["data"]), proba)
        r = self.iris("xgb", outputs=["transform"])
        self.assertEqual((r.status_code, r.json()), (400, {
            "error": "mlserver.errors.InferenceError: XGBoostModel only supports 'predict' and 'predict_proba' as "
                     "outputs (transform was received)"}))

    def test_wrong_input_shape_is_a_400_with_the_librarys_message(self):
        three = [{"name": "input-0", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]
        r = self.iris("iris", inputs=three)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertEqual(r.json()["error"], "mlserver.errors.InferenceError: X has 3 features, but LogisticRegression "
                                            "is expecting 4 features as input.")
        r = self.iris("xgb", inputs=three)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertRegex(r.json()["error"], r"^mlserver\.errors\.InferenceError: .*[Ff]eature shape mismatch, "
                                            r"expected: 4, got 3")

    def test_a_bad_model_file_is_a_load_error_naming_the_file(self):
        index = {m["name"]: m for m in self.s.post("/v2/repository/index", json={}).json()}
        self.assertEqual(index["broken"]["state"], "UNAVAILABLE")
        reason = index["broken"]["reason"]
        self.assertIn(os.path.join(self.s.repo, "broken", "model.joblib"), reason)
        self.assertIn("SKLearnModel", reason)
        r = self.iris("broken")
        self.assertEqual((r.status_code, r.json()), (400, {"error": "Model broken is not ready yet."}))


if __name__ == "__main__":
    unittest.main()
