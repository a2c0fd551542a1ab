"""A runtime that does not support batching (issue 15): C++ `supportsBatching()` false or a Python
class with `supports_batching = False`. A model of it whose settings enable batching
(max_batch_size > 1 and max_batch_time > 0, MLServer's rule) is UNAVAILABLE with a reason naming
the settings to remove; without them, or with max_batch_size 1, it is READY and infers."""
import os
import unittest

from ringserve_fixture import TEST_RUNTIMES, Server

HERE = os.path.dirname(os.path.abspath(__file__))
MISBEHAVE = os.path.join(TEST_RUNTIMES, "misbehave.so")
BEHAVIOURS = os.path.join(HERE, "python_models", "behaviours.py")
BATCHING = {"max_batch_size": 4, "max_batch_time": 0.01}
X = [{"name": "x", "shape": [2, 1], "datatype": "FP32", "data": [1.5, -2]}]


def reason(name, impl):
    return (f"model {name}: runtime {impl} does not support batching; "
            "remove max_batch_size/max_batch_time from its model-settings.json")


def model(name, impl, **extra):
    return {"name": name, "implementation": impl, **extra}


CPP = {"cpp-batched": model("cpp-batched", "misbehave.NoBatching", **BATCHING),
       "cpp-plain": model("cpp-plain", "misbehave.NoBatching"),
       "cpp-one": model("cpp-one", "misbehave.NoBatching", max_batch_size=1, max_batch_time=0.01),
       "cpp-supports": model("cpp-supports", "misbehave.Misbehave", **BATCHING)}
PY = {"py-batched": model("py-batched", "behaviours.NoBatching", **BATCHING),
      "py-plain": model("py-plain", "behaviours.NoBatching"),
      "py-one": model("py-one", "behaviours.NoBatching", max_batch_size=1, max_batch_time=0.01),
      # An MLServer model folder as it is: no supports_batching attribute, batching settings.
      "py-supports": model("py-supports", "behaviours.Args", **BATCHING)}


class BatchingOptOutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        files = {f"{n}/misbehave.so": MISBEHAVE for n in CPP}
        files.update({f"{n}/behaviours.py": BEHAVIOURS for n in PY})
        cls.s = Server(models={**CPP, **PY}, files=files, copy_examples=False, wait_ready=False)
        cls.index = {n: cls.s.wait_loaded(n) for n in [*CPP, *PY]}

    @classmethod
    def tearDownClass(cls):
        cls.s.finish()

    def expect_refused(self, name, impl):
        self.assertEqual((self.index[name]["state"], self.index[name]["reason"]), ("UNAVAILABLE", reason(name, impl)))
        r = self.s.get(f"/v2/models/{name}/ready")
        self.assertNotEqual(r.status_code, 200, r.text)
        # The worker's log line names the worker and the model.
        log = self.s.read_log()
        line = next((l for l in log.splitlines() if reason(name, impl) in l and "load failed" in l), None)
        self.assertIsNotNone(line, log[-3000:])
        self.assertIn("default/0", line)
        self.assertIn(name, line.split("load failed")[0])

    def expect_echo(self, name):
        self.assertEqual(self.index[name]["state"], "READY", self.index[name])
        r = self.s.infer(name, X)
        self.assertEqual(r.status_code, 200, r.text)
        out = r.json()["outputs"][0]
        self.assertEqual((out["shape"], out["data"]), ([2, 1], [1.5, -2]))

    def test_cpp_runtime_refuses_batching_settings(self):
        self.expect_refused("cpp-batched", "misbehave.NoBatching")

    def test_cpp_runtime_loads_without_batching_settings(self):
        self.expect_echo("cpp-plain")
        self.expect_echo("cpp-one")

    def test_cpp_runtime_supporting_batching_loads_with_them(self):
        self.expect_echo("cpp-supports")

    def test_python_class_refuses_batching_settings(self):
        self.expect_refused("py-batched", "behaviours.NoBatching")

    def test_python_class_loads_without_batching_settings(self):
        self.expect_echo("py-plain")
        self.expect_echo("py-one")

    def test_mlserver_model_without_the_attribute_loads_with_them(self):
        self.assertEqual(self.index["py-supports"]["state"], "READY", self.index["py-supports"])
        r = self.s.infer("py-supports", [{"name": "foo", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}])
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["outputs"][0]["data"], [3, 7])


if __name__ == "__main__":
    unittest.main()
