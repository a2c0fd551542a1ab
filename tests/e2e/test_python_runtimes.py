"""Python runtimes (issue 11) end to end: the real server, real workers with the system Python,
the real mlserver package from python/, and `requests`. The runtimes are in python_models/ and
examples/models/*-py."""
import json
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
        log = cls.s.read_log()
        cls.s.cleanup()
        assert code == 0, code
        # Under the asan preset a leak makes the worker exit 1 (tests/sanitizers/lsan.supp holds
        # only what an interpreter that is never finalised keeps).
        assert "LeakSanitizer" not in log, log[log.find("LeakSanitizer") - 200:][:4000]
        assert re.search(r"worker default/0 \(default\): stopped: exited with status 0\n", log), log[-3000:]

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
                               "where": py_model("where", "Where"), "rc": py_model("rc", "RequestCodecs"),
                               "wr": py_model("wr", "WrongReturn"), "ad": py_model("ad", "Address"),
                               "hint": py_model("hint", "IntHint", "bad_hints"),
                               "a": py_model("a", "Who", "models"), "b": py_model("b", "Who", "models")},
                       files={**files("bad"), **files("args"), **files("codecs"), **files("notready"), **files("where"),
                              **files("rc"), **files("wr"), **files("ad"), **files("hint", "bad_hints"),
                              "a/models.py": os.path.join(MODELS, "same_a", "models.py"),
                              "b/models.py": os.path.join(MODELS, "same_b", "models.py")})
        for m in ("bad", "args", "codecs", "a", "b", "where", "rc", "wr", "ad"):
            cls.s.wait_ready(model=m)

    @classmethod
    def tearDownClass(cls):
        cls.s.finish()

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

    def test_numpy_input_lies_in_the_workers_shared_memory(self):
        r = self.s.infer("ad", [{"name": "foo", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}])
        self.assertEqual(r.status_code, 200, r.text)
        address = r.json()["outputs"][0]["data"][0]
        (pid,) = self.s.worker_pids()
        segments = []
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                if "/memfd:ringserve" in line:
                    lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                    segments.append((lo, hi))
        self.assertTrue(segments, "the worker maps no ringserve shared memory")
        self.assertTrue(any(lo <= address < hi for lo, hi in segments),
                        f"numpy's buffer {address:#x} is outside the shared memory {segments}")

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

    def test_decode_args_wrong_return_type_and_a_hint_no_codec_has(self):
        r = self.s.infer("wr", [{"name": "foo", "shape": [2], "datatype": "FP32", "data": [1, 2]}])
        self.assertEqual((r.status_code, r.json()), (400, {
            "error": "mlserver.codecs.errors.OutputNotFound: Unexpected output value at position '0' "
                     "(<class 'str'>). Expected outputs are '<class 'numpy.ndarray'>' outputs."}))
        # MLServer raises when the decorator runs, i.e. when the module is imported.
        index = {m["name"]: m for m in self.s.post("/v2/repository/index", json={}).json()}
        self.assertEqual(index["hint"]["state"], "UNAVAILABLE")
        self.assertIn("mlserver.codecs.errors.CodecNotFound: Codec not found for input field with name 'x' "
                      "and type <class 'int'>", index["hint"]["reason"])
        r = self.s.infer("hint", [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1]}])
        self.assertEqual((r.status_code, r.json()), (400, {"error": "Model hint is not ready yet."}))

    def test_request_codecs_both_ways(self):
        r = self.s.infer("rc", [{"name": "a", "shape": [2], "datatype": "INT32", "data": [1, 2]},
                                {"name": "s", "shape": [2], "datatype": "BYTES", "data": ["x", "y"],
                                 "parameters": {"content_type": "str"}}], extra={"parameters": {"content_type": "pd"}})
        self.assertEqual(r.status_code, 200, r.text)
        body = r.json()
        self.assertEqual(body["parameters"], {"content_type": "pd"})
        # PandasCodec: a column per input named after it, [N,1]; numeric columns carry no parameters.
        self.assertEqual(body["outputs"], [
            {"name": "a", "datatype": "INT64", "shape": [2, 1], "data": [1, 2]},
            {"name": "s", "datatype": "BYTES", "shape": [2, 1], "parameters": {"content_type": "str"}, "data": ["x", "y"]}])
        r = self.s.infer("rc", [{"name": "a", "shape": [2], "datatype": "FP32", "data": [1, 2]}],
                         extra={"parameters": {"content_type": "np"}})
        self.assertEqual(r.json()["outputs"], [{"name": "output-1", "datatype": "FP32", "shape": [2, 1],
                                                "parameters": {"content_type": "np"}, "data": [1, 2]}])
        r = self.s.infer("rc", [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]},
                                {"name": "b", "shape": [1], "datatype": "FP32", "data": [1]}],
                         extra={"parameters": {"content_type": "np"}})
        self.assertEqual((r.status_code, r.json()), (400, {
            "error": "mlserver.codecs.errors.CodecError: There was an error encoding / decoding the payload: "
                     "The 'np' codec only supports a single input tensor (2 were received)"}))
        r = self.s.infer("rc", [{"name": "a", "shape": [2], "datatype": "BYTES", "data": ["p", "q"]}],
                         extra={"parameters": {"content_type": "str"}})
        self.assertEqual(r.json()["outputs"], [{"name": "output-1", "datatype": "BYTES", "shape": [2, 1],
                                                "parameters": {"content_type": "str"}, "data": ["p", "q"]}])
        r = self.s.infer("rc", [{"name": "a", "shape": [1], "datatype": "BYTES", "data": ["p"]}])
        self.assertEqual((r.status_code, r.json()), (400, {
            "error": "mlserver.codecs.errors.CodecNotFound: Codec not found for output response with type "
                     "<class 'mlserver.types.dataplane.InferenceRequest'>"}))

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

DOCS = os.path.join(MODELS, "mlserver_docs")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# MLServer's tests/testdata/model-settings.json, with the implementation in the folder.
SUM_MODEL = {"name": "sum-model", "implementation": "fixtures.SumModel", "max_batch_size": 10, "max_batch_time": 0.4,
             "versions": ["sum-model/v1.2.3"], "platform": "mlserver",
             "inputs": [{"datatype": "FP32", "name": "input-0", "shape": [128], "parameters": {"content_type": "np"}}],
             "outputs": [{"datatype": "FP32", "name": "output-0", "shape": [1]}],
             "parameters": {"version": "v1.2.3"}, "cache_enabled": True}
DOCS_MODELS = {
    "json-hello-world": {"name": "json-hello-world", "implementation": "jsonmodels.JsonHelloWorldModel"},
    "content-type-example": {"name": "content-type-example", "implementation": "runtime.EchoRuntime"},
    "content-type-metadata": {"name": "content-type-metadata", "implementation": "runtime.EchoRuntime", "inputs": [
        {"name": "metadata-np", "datatype": "INT32", "shape": [2, 2], "parameters": {"content_type": "np"}},
        {"name": "metadata-str", "datatype": "BYTES", "shape": [11], "parameters": {"content_type": "str"}}]},
    "sum-model": SUM_MODEL,
    "error-model": {"name": "error-model", "implementation": "fixtures.ErrorModel"},
    "error-load": {"name": "error-load", "implementation": "fixtures.ErrorModel", "parameters": {"load_error": True}},
    "simple-model": {"name": "simple-model", "implementation": "fixtures.SimpleModel"},
    "numpyro-divorce": {"name": "numpyro-divorce", "implementation": "fixtures.NumpyroStandIn",
                        "parameters": {"uri": "./numpyro-divorce.json"}},
}


def mlserver_says(text):
    """A response body as MLServer's docs print it (mlserver-python-api reference, §1.5, §5, §6), as
    ringserve answers it: ringserve sends no empty top-level "parameters" (MLServer: always {},
    emptied when the CloudEvents headers move to HTTP headers) and the id checked separately."""
    body = json.loads(text)
    if body.get("parameters") == {}:
        del body["parameters"]
    body.pop("id", None)
    return body


class MLServerDocumentedModelsTest(unittest.TestCase):
    """MLServer's documented runtimes (docs/examples/custom-json, content-type, tests/fixtures.py,
    the numpyro example's signature), their folders unchanged, against the bodies and statuses
    MLServer documents. Where MLServer validates less (element counts, datatypes against the
    metadata), the documented request gets ringserve's 400 and a valid twin gets MLServer's body."""

    @classmethod
    def setUpClass(cls):
        files = {f"{n}/{m['implementation'].split('.')[0]}.py": os.path.join(DOCS, m["implementation"].split(".")[0] + ".py")
                 for n, m in DOCS_MODELS.items()}
        env = {"PYTHONUNBUFFERED": ""}  # print() in a runtime reaches the log line by line anyway
        cls.s = Server(copy_examples=False, wait_ready=False, models=DOCS_MODELS, files=files, env=env)
        for n in DOCS_MODELS:
            if n != "error-load":
                cls.s.wait_ready(model=n)

    @classmethod
    def tearDownClass(cls):
        cls.s.finish()

    def answer(self, model, body, **kw):
        r = self.s.post(f"/v2/models/{model}/infer", json=body, **kw)
        self.assertEqual(r.status_code, 200, r.text)
        got = r.json()
        self.assertRegex(got.pop("id"), UUID)
        return got, r

    def test_custom_json_hello_world(self):
        doc = {"inputs": [{"name": "echo_request", "shape": [59], "datatype": "BYTES",
                           "data": ["{\"name\": \"Foo Bar\", \"message\": \"Hello from Client (REST)!\"}"]}]}
        r = self.s.post("/v2/models/json-hello-world/infer", json=doc)
        self.assertEqual((r.status_code, r.json()),
                         (400, {"error": "input 'echo_request': shape [59] needs 59 elements but 'data' has 1"}))
        doc["inputs"][0]["shape"] = [1]
        got, _ = self.answer("json-hello-world", doc)
        expected = mlserver_says(
            '{"model_name":"json-hello-world","id":"<uuid>","parameters":{},"outputs":[{"name":"echo_response",'
            '"shape":[153],"datatype":"BYTES","parameters":{"content_type":"str"},"data":["{\\"request\\": '
            '{\\"echo_request\\": {\\"name\\": \\"Foo Bar\\", \\"message\\": \\"Hello from Client (REST)!\\"}}, '
            '\\"server_response\\": \\"Got your request. Hello from the server.\\"}"]}]}')
        expected["outputs"][0]["shape"] = [1]  # ringserve: a BYTES output's shape is its element count
        self.assertEqual(got, expected)

    def test_content_type_from_the_request_and_from_the_metadata(self):
        a = {"inputs": [{"name": "parameters-np", "datatype": "INT32", "shape": [2, 2], "data": [1, 2, 3, 4],
                         "parameters": {"content_type": "np"}},
                        {"name": "parameters-str", "datatype": "BYTES", "shape": [1], "data": "hello world 😁",
                         "parameters": {"content_type": "str"}}]}
        expected = mlserver_says(
            '{"model_name":"content-type-example","id":"…","parameters":{},"outputs":[{"name":"parameters-np",'
            '"shape":[2,2],"datatype":"INT32","data":[1,2,3,4]},{"name":"parameters-str","shape":[1],'
            '"datatype":"BYTES","data":"hello world 😁"}]}')
        expected["outputs"][1]["data"] = ["hello world 😁"]  # ringserve: data is always a list
        got, _ = self.answer("content-type-example", a)
        self.assertEqual(got, expected)
        b = {"inputs": [{"name": "metadata-np", "datatype": "INT32", "shape": [2, 2], "data": [1, 2, 3, 4]},
                        {"name": "metadata-str", "datatype": "BYTES", "shape": [11], "data": "hello world 😁"}]}
        r = self.s.post("/v2/models/content-type-metadata/infer", json=b)
        self.assertEqual((r.status_code, r.json()),
                         (400, {"error": "input 'metadata-str': shape [11] needs 11 elements but 'data' has 1"}))
        b["inputs"][1]["shape"] = [1]
        got, _ = self.answer("content-type-metadata", b)
        for o, name in zip(expected["outputs"], ("metadata-np", "metadata-str")):
            o["name"] = name
        expected["model_name"] = "content-type-metadata"
        self.assertEqual(got, expected)
        # The example prints what self.decode gave (MLServer's docs: int32 [[1 2] [3 4]], ['hello world 😁']).
        printed = "------ Decoded input (metadata-np) ------\n[[1 2]\n [3 4]]\n"
        deadline = time.time() + 10
        while printed not in self.s.read_log() and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn(printed, self.s.read_log())
        self.assertIn("------ Decoded input (metadata-str) ------\n['hello world 😁']\n", self.s.read_log())

    def test_sum_model_with_its_settings_and_header_echo(self):
        doc = {"inputs": [{"name": "input-0", "shape": [1, 3], "datatype": "INT32", "data": [1, 2, 3]}]}
        r = self.s.post("/v2/models/sum-model/infer", json=doc)
        self.assertEqual((r.status_code, r.json()),
                         (400, {"error": "input 'input-0' has datatype INT32 but model 'sum-model' expects FP32"}))
        doc["inputs"][0]["datatype"] = "FP32"
        got, r = self.answer("sum-model", doc, headers={"x-foo": "bar"})
        self.assertEqual(got, {"model_name": "sum-model", "model_version": "v1.2.3", "outputs": [
            {"name": "total", "shape": [1, 1], "datatype": "FP32", "parameters": {"content_type": "np"}, "data": [6]}]})
        self.assertEqual(r.headers["x-foo"], "bar")
        self.assertEqual(r.headers["Ce-Specversion"], "0.3")
        r = self.s.post("/v2/models/sum-model/infer", json=dict(doc, id="my-id"))
        self.assertEqual(r.json()["id"], "my-id")

    def test_error_model_and_one_that_fails_to_load(self):
        r = self.s.post("/v2/models/error-model/infer", json={"inputs": X})
        self.assertEqual((r.status_code, r.json()),
                         (400, {"error": "mlserver.errors.MLServerError: something really bad happened"}))
        # MLServer removes a model whose load() raises (then 404); ringserve keeps it, not ready.
        r = self.s.post("/v2/repository/models/error-load/load")
        self.assertEqual((r.status_code, r.json()), (400, {"error": "Model error-load failed to load: fixtures.ErrorModel: "
                                                                    "load() failed: mlserver.errors.MLServerError: "
                                                                    "something really bad happened"}))
        r = self.s.post("/v2/models/error-load/infer", json={"inputs": X})
        self.assertEqual((r.status_code, r.json()), (400, {"error": "Model error-load is not ready yet."}))

    def test_unknown_model_and_version(self):
        r = self.s.post("/v2/models/my-model/versions/v0/infer", json={"inputs": X})
        self.assertEqual((r.status_code, r.json()), (404, {"error": "Model my-model with version v0 not found"}))
        r = self.s.post("/v2/models/sum-model/versions/v0/infer", json={"inputs": X})
        self.assertEqual((r.status_code, r.json()), (404, {"error": "Model sum-model with version v0 not found"}))
        r = self.s.post("/v2/models/my-model/infer", json={"inputs": X})
        self.assertEqual((r.status_code, r.json()), (404, {"error": "Model my-model not found"}))

    def test_decode_args_simple_model_and_numpyro(self):
        got, _ = self.answer("simple-model", {"inputs": [
            {"name": "foo", "shape": [1, 2], "datatype": "INT32", "data": [1, 2]},
            {"name": "bar", "shape": [1], "datatype": "BYTES", "data": ["x"]}]})
        self.assertEqual(got, {"model_name": "simple-model", "outputs": [mlserver_says(
            '{"name":"output-0","datatype":"INT64","shape":[1,1],"data":[3],"parameters":{"content_type":"np"}}')]})
        r = self.s.post("/v2/models/simple-model/infer", json={"inputs": [
            {"name": "not-foo", "shape": [1], "datatype": "INT32", "data": [1]}]})
        self.assertEqual((r.status_code, r.json()), (400, {
            "error": "mlserver.codecs.errors.InputsNotFound: Input 'not-foo' was not found. "
                     "Available inputs are 'foo', 'bar'."}))
        got, _ = self.answer("numpyro-divorce", {"inputs": [
            {"name": "marriage", "shape": [1, 1], "datatype": "FP64", "data": [28.0], "parameters": {"content_type": "np"}}]})
        self.assertEqual(got, {"model_name": "numpyro-divorce", "outputs": [
            {"name": "output-0", "shape": [1], "datatype": "FP32", "parameters": {"content_type": "np"}, "data": [28.0]}]})


class CrashAndReloadTest(unittest.TestCase):
    def setUp(self):
        # Bytecode caching on, as a deployment has it (CTest turns it off for the source tree), so
        # the reload below also proves a stale .pyc is not what runs.
        self.s = Server(copy_examples=False, models={"bad": py_model("bad", "Misbehave"),
                                                     "a": py_model("a", "Who", "models")},
                        files={**files("bad"), "a/models.py": os.path.join(MODELS, "same_a", "models.py")},
                        env={"PYTHONDONTWRITEBYTECODE": ""})

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
        # The same size again, within the same second as likely as not: the .pyc's size and mtime
        # check alone could miss it; the reload must still run the new source.
        with open(path, "w") as f:
            f.write(src.replace('WHO = "a"', 'WHO = "EDITED"'))
        self.assertEqual(self.s.post("/v2/repository/models/a/load").status_code, 200)
        self.assertEqual(self.s.infer("a", X).json()["outputs"][0]["data"], ["EDITED"])
        self.assertFalse(os.path.exists(os.path.join(self.s.repo, "a", "__pycache__")), "no .pyc beside models.py")


if __name__ == "__main__":
    unittest.main()
