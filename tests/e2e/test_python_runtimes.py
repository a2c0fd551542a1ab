"""Python runtimes (issue 11) end to end: the real server, real workers with the system Python,
the real mlserver package from python/, and `requests`. The runtimes are in python_models/ and
examples/models/*-py."""
import os
import re
import shutil
import subprocess
import time
import unittest

from ringserve_fixture import Server
from test_python_envs import pyenv_pythons

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "python_models")
X = [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]


def py_model(name, cls, module="behaviours"):
    return {"name": name, "implementation": f"{module}.{cls}"}


def files(folder, module="behaviours", src=None):
    return {f"{folder}/{module}.py": src or os.path.join(MODELS, f"{module}.py")}


class ExamplesTest(unittest.TestCase):
    """The bundled Python examples, as their README shows them."""

    @classmethod
    def setUpClass(cls):
        cls.s = Server()

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        cls.s.cleanup()
        assert code == 0, code

    def test_qa_py_decode_args_strings_to_numpy(self):
        r = self.s.infer("qa-py", [
            {"name": "questions", "shape": [2], "datatype": "BYTES", "data": ["what is the capital of france", "zebra?"]},
            {"name": "context", "shape": [1], "datatype": "BYTES", "data": ["Paris is the capital of France"]}])
        self.assertEqual(r.status_code, 200, r.text)
        out = r.json()["outputs"]
        self.assertEqual([o["name"] for o in out], ["output-0"])
        self.assertEqual(out[0]["datatype"], "FP32")
        self.assertEqual(out[0]["shape"], [2, 1])
        self.assertAlmostEqual(out[0]["data"][0], 5 / 6, places=5)
        self.assertEqual(out[0]["data"][1], 0)
        self.assertEqual(out[0]["parameters"], {"content_type": "np"})

    def test_qa_py_missing_input_is_a_400_naming_it(self):
        r = self.s.infer("qa-py", [{"name": "questions", "shape": [1], "datatype": "BYTES", "data": ["why"]}])
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("context", r.json()["error"])

    def test_headers_py_reads_and_returns_headers(self):
        r = self.s.infer("headers-py", [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1]}],
                         headers={"x-foo": "bar", "X-Trace": "t1"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.headers.get("x-served-by"), "headers-py")
        self.assertEqual(r.headers.get("x-header-count"), "2")
        self.assertEqual(sorted(s.lower() for s in r.json()["outputs"][0]["data"]), ["x-foo=bar", "x-trace=t1"])

    def test_echo_py_returns_its_input(self):
        data = [0.5, -1.25, 3.0, 4.0]
        r = self.s.infer("echo-py", [{"name": "input0", "shape": [1, 4], "datatype": "FP32", "data": data}])
        self.assertEqual(r.status_code, 200, r.text)
        out = r.json()["outputs"][0]
        self.assertEqual((out["shape"], out["datatype"], out["data"]), ([1, 4], "FP32", data))


def path_with_another_python3_first():
    """PATH with another installation's python3 in front, when the machine has one: a pyenv CPython
    of the system's minor version (its lib/python3.X/os.py is the landmark CPython looks for, so
    an embedded interpreter that takes its prefix from PATH would take that installation's
    standard library and site-packages)."""
    import sys
    same = pyenv_pythons().get(sys.version_info.minor) if sys.executable == "/usr/bin/python3" else None
    front = [os.path.join(same, "bin")] if same and os.path.exists(os.path.join(same, "bin", "python3")) else []
    return os.pathsep.join(front + [os.environ.get("PATH", "")])


class BehaviourTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(copy_examples=False, wait_ready=False, env={"PATH": path_with_another_python3_first()},
                       models={"bad": dict(py_model("bad", "Misbehave"), parameters={"version": "v1"}),
                               "args": py_model("args", "Args"),
                               "codecs": py_model("codecs", "Codecs"), "notready": py_model("notready", "NotReady"),
                               "where": py_model("where", "Where"),
                               "a": py_model("a", "Who", "models"), "b": py_model("b", "Who", "models")},
                       files={**files("bad"), **files("args"), **files("codecs"), **files("notready"), **files("where"),
                              "a/models.py": os.path.join(MODELS, "same_a", "models.py"),
                              "b/models.py": os.path.join(MODELS, "same_b", "models.py")})
        for m in ("bad", "args", "codecs", "a", "b", "where"):
            cls.s.wait_ready(model=m)

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        cls.s.cleanup()
        assert code == 0, code

    def do(self, what):
        return self.s.infer("bad", X, extra={"parameters": {"do": what}})

    def test_default_interpreter_is_the_systems_whatever_python3_path_finds_first(self):
        prefix = subprocess.run(["/usr/bin/python3", "-c", "import sys; print(sys.prefix)"],
                                capture_output=True, text=True, check=True).stdout.strip()
        r = self.s.infer("where", X)
        self.assertEqual(r.status_code, 200, r.text)
        out = {o["name"]: o["data"][0] for o in r.json()["outputs"]}
        self.assertEqual(out["prefix"], prefix)
        self.assertFalse(out["numpy"].startswith(os.path.expanduser("~/.pyenv")), out["numpy"])

    def test_inputs_are_read_only_views(self):
        r = self.do("")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["outputs"][0]["data"], [0, 0], "NumpyCodec.decode_input: not writeable, not owned")

    def test_mlserver_errors_keep_their_status_and_text(self):
        r = self.do("inference_error")
        self.assertEqual((r.status_code, r.json()), (400, {"error": "mlserver.errors.InferenceError: bad input"}))
        r = self.do("mlserver_error")
        self.assertEqual((r.status_code, r.json()), (404, {"error": "mlserver.errors.MLServerError: teapot trouble"}))

    def test_plain_exception_is_500_with_mlserver_text_and_traceback_in_log(self):
        r = self.do("raise")
        self.assertEqual((r.status_code, r.json()), (500, {"error": "builtins.ValueError: plain failure"}))
        log = self.s.read_log()
        self.assertRegex(log, r"\[model bad:v1\].*(?s:.*)Traceback(?s:.*)ValueError: plain failure")

    def test_system_exit_and_keyboard_interrupt_fail_only_that_request(self):
        for what in ("exit", "interrupt"):
            r = self.do(what)
            self.assertEqual(r.status_code, 500, r.text)
            self.assertEqual(self.do("").status_code, 200, f"the worker survived {what}")

    def test_logger_goes_to_the_worker_log_with_the_model(self):
        self.assertEqual(self.do("log").status_code, 200)
        deadline = time.time() + 10
        while "warned from python" not in self.s.read_log() and time.time() < deadline:
            time.sleep(0.05)
        self.assertRegex(self.s.read_log(), r"\[model bad:v1\][^\n]*warned from python")

    def test_custom_metrics_on_the_metrics_endpoint(self):
        # mlserver.register makes a Histogram labelled model_name/model_version (MLServer's
        # mlserver/metrics/registry.py); each mlserver.log(py_requests=1) is one observation of 1.
        # The worker sends its metrics with its heartbeat: wait until the endpoint has all three.
        labels = r'\{model_name="bad",model_version="v1",worker="default/\d+"\}'
        count = re.compile(r'^py_requests_count' + labels + r' (\d+)$', re.M)

        def seen():
            m = count.search(self.s.metrics())
            return int(m.group(1)) if m else 0

        before = seen()
        for _ in range(3):
            self.assertEqual(self.do("").status_code, 200)
        deadline = time.time() + 10
        while seen() < before + 3 and time.time() < deadline:
            time.sleep(0.1)
        text = self.s.metrics()
        self.assertEqual(seen(), before + 3, text)
        self.assertIn("# HELP py_requests Requests seen by Misbehave\n# TYPE py_requests histogram\n", text)
        self.assertRegex(text, r'(?m)^py_requests_sum' + labels + r' ' + str(before + 3) + r'$')
        self.assertRegex(text, r'(?m)^py_requests_bucket\{model_name="bad",model_version="v1",worker="default/\d+",'
                               r'le="1"\} ' + str(before + 3) + r'$')
        self.assertRegex(text, r'(?m)^py_requests_bucket\{model_name="bad",model_version="v1",worker="default/\d+",'
                               r'le="0\.75"\} 0$')

    def test_decode_args_optional_and_tuple_return(self):
        r = self.s.infer("args", [{"name": "foo", "shape": [1, 2], "datatype": "INT32", "data": [1, 2]}])
        self.assertEqual(r.status_code, 200, r.text)
        out = r.json()["outputs"]
        self.assertEqual([o["name"] for o in out], ["output-0", "output-1"])
        self.assertEqual(out[0]["data"], [3])
        self.assertEqual(out[1]["data"], ["NONE"])
        r = self.s.infer("args", [{"name": "foo", "shape": [1, 1], "datatype": "INT32", "data": [1]},
                                  {"name": "bar", "shape": [1], "datatype": "BYTES", "data": ["x"]}])
        self.assertEqual(r.json()["outputs"][1]["data"], ["X"])

    def test_decode_args_unknown_and_missing_inputs(self):
        r = self.s.infer("args", [{"name": "nope", "shape": [1], "datatype": "INT32", "data": [1]}])
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("nope", r.json()["error"])
        r = self.s.infer("args", [{"name": "bar", "shape": [1], "datatype": "BYTES", "data": ["x"]}])
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("foo", r.json()["error"])

    def test_codecs_both_ways(self):
        r = self.s.infer("codecs", [
            {"name": "n", "shape": [2], "datatype": "FP64", "data": [1.5, 2.5], "parameters": {"content_type": "np"}},
            {"name": "s", "shape": [2], "datatype": "BYTES", "data": ["hé", ""], "parameters": {"content_type": "str"}},
            {"name": "b", "shape": [1], "datatype": "BYTES", "data": ["aGk="], "parameters": {"content_type": "base64"}},
            {"name": "d", "shape": [1], "datatype": "BYTES", "data": ["2024-01-02T03:04:05"],
             "parameters": {"content_type": "datetime"}}])
        self.assertEqual(r.status_code, 200, r.text)
        out = {o["name"]: o for o in r.json()["outputs"]}
        self.assertEqual((out["n"]["datatype"], out["n"]["data"]), ("FP64", [1.5, 2.5]))
        self.assertEqual(out["s"]["data"], ["hé", ""])
        self.assertEqual(out["b"]["data"], ["aGk="])
        self.assertEqual(out["d"]["data"], ["2024-01-02T03:04:05"])

    def test_falsy_load_is_not_ready(self):
        self.assertNotEqual(self.s.get("/v2/models/notready/ready").status_code, 200)
        r = self.s.infer("notready", X)
        self.assertEqual((r.status_code, r.json()), (400, {"error": "Model notready is not ready yet."}))

    def test_same_named_modules_in_one_worker_stay_apart(self):
        for name in ("a", "b", "a"):
            r = self.s.infer(name, X)
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(r.json()["outputs"][0]["data"], [name])


class CrashAndReloadTest(unittest.TestCase):
    def setUp(self):
        self.s = Server(copy_examples=False, models={"bad": py_model("bad", "Misbehave"),
                                                     "a": py_model("a", "Who", "models")},
                        files={**files("bad"), "a/models.py": os.path.join(MODELS, "same_a", "models.py")})

    def tearDown(self):
        code = self.s.stop()
        self.s.cleanup()
        self.assertEqual(code, 0)

    def test_os_exit_is_a_worker_crash_503_then_restart(self):
        (old,) = self.s.worker_pids()
        r = self.s.infer("bad", X, extra={"parameters": {"do": "os_exit"}})
        self.assertEqual(r.status_code, 503, r.text)
        self.assertRegex(r.json()["error"], r"^worker default/0 of pool default died \(exited with status 9\) "
                                            r"while serving this request; retry$")
        # The 503 can reach the client before the supervisor has marked the model not ready, so
        # wait for the new worker first, then for the model to be ready on it.
        deadline = time.time() + 20
        while self.s.worker_pids() in ([], [old]) and time.time() < deadline:
            time.sleep(0.02)
        self.assertNotIn(old, self.s.worker_pids())
        self.s.wait_ready(model="bad", timeout=20)
        self.assertEqual(self.s.infer("bad", X).status_code, 200)

    def test_reload_after_editing_models_py_runs_the_new_code(self):
        self.assertEqual(self.s.infer("a", X).json()["outputs"][0]["data"], ["a"])
        path = os.path.join(self.s.repo, "a", "models.py")
        with open(path) as f:
            src = f.read()
        with open(path, "w") as f:
            f.write(src.replace('WHO = "a"', 'WHO = "edited"'))
        self.assertEqual(self.s.post("/v2/repository/models/a/load").status_code, 200)
        self.assertEqual(self.s.infer("a", X).json()["outputs"][0]["data"], ["edited"])


if __name__ == "__main__":
    unittest.main()
