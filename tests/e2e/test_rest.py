"""The V2 REST API end to end: real ringserve, real workers, python3-requests and curl."""
import gzip
import json
import os
import struct
import subprocess
import unittest

import requests

from ringserve_fixture import Server, TEST_RUNTIMES, memfd_count, run_threads

ECHO = {"implementation": "echo.EchoRuntime"}


def misbehave_model(name="flaky", **extra):
    ms = {"name": name, "implementation": "misbehave.Misbehave"}
    ms.update(extra)
    return ms


# (datatype, struct format, sample values)
TYPES = [
    ("BOOL", "?", [True, False, True]),
    ("UINT8", "B", [0, 255, 7]),
    ("UINT16", "H", [0, 65535, 7]),
    ("UINT32", "I", [0, 4294967295, 7]),
    ("UINT64", "Q", [0, 18446744073709551615, 7]),
    ("INT8", "b", [-128, 127, 0]),
    ("INT16", "h", [-32768, 32767, 0]),
    ("INT32", "i", [-2147483648, 2147483647, 0]),
    ("INT64", "q", [-9223372036854775808, 9223372036854775807, 0]),
    ("FP16", "e", [1.5, -2.0, 65504.0]),
    ("FP32", "f", [1.5, -2.25, 3.0e38]),
    ("FP64", "d", [1.5, -2.25, 1e300]),
]


def pack(fmt, values):
    return struct.pack("<%d%s" % (len(values), fmt), *values)


def binary_request(inputs, outputs=None, binary_outputs=True, extra=None):
    """Triton's binary extension: JSON header, then raw tensors. inputs: (name, dtype, shape, bytes)."""
    header = {"inputs": [{"name": n, "datatype": dt, "shape": shape, "parameters": {"binary_data_size": len(b)}}
                         for n, dt, shape, b in inputs]}
    if outputs is not None:
        header["outputs"] = [{"name": o, "parameters": {"binary_data": binary_outputs}} for o in outputs]
    elif binary_outputs:
        header["parameters"] = {"binary_data_output": True}
    header.update(extra or {})
    h = json.dumps(header).encode()
    return h + b"".join(b for _, _, _, b in inputs), len(h)


def split_binary_response(resp):
    n = int(resp.headers["Inference-Header-Content-Length"])
    header = json.loads(resp.content[:n])
    raw = resp.content[n:]
    out, pos = {}, 0
    for o in header["outputs"]:
        size = o["parameters"]["binary_data_size"]
        out[o["name"]] = raw[pos:pos + size]
        pos += size
    return header, out


class RestApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(copy_examples=False, models={
            "echo": ECHO,
            "echo-v1": {"name": "versioned", "implementation": "echo.EchoRuntime", "parameters": {"version": "1"}},
            "echo-v2": {"name": "versioned", "implementation": "echo.EchoRuntime", "parameters": {"version": "2"}},
            "declared": {"name": "declared", "implementation": "echo.EchoRuntime", "platform": "ringserve-test",
                          "versions": ["echo/1.0"],
                          "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}],
                          "outputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}]},
            "flaky": misbehave_model(),
            "broken": "{ this is not json",
            "missing-impl": {"name": "missing-impl", "implementation": "nosuchmodule.Nothing"},
        }, settings={"max_request_size": 1 << 20}, wait_ready=False,
            files={"flaky/misbehave.so": os.path.join(TEST_RUNTIMES, "misbehave.so")})
        for m in ["echo", "versioned", "declared", "flaky"]:
            cls.s.wait_ready(model=m)

    @classmethod
    def tearDownClass(cls):
        cls.s.finish()

    def load_flaky(self):
        r = self.s.post("/v2/repository/models/flaky/load")
        self.assertEqual(r.status_code, 200, r.text)

    # --- health, metadata, readiness -------------------------------------------------------

    def test_live(self):
        r = self.s.get("/v2/health/live")
        self.assertEqual((r.status_code, r.json()), (200, {"live": True}))

    def test_server_ready_is_false_while_a_model_is_unavailable(self):
        r = self.s.get("/v2/health/ready")
        # missing-impl can never load, so not every model is ready.
        self.assertEqual((r.status_code, r.json()), (400, {"ready": False}))

    def test_server_metadata(self):
        r = self.s.get("/v2")
        self.assertEqual(r.status_code, 200)
        body = r.json()
        self.assertEqual(body["name"], "ringserve")
        self.assertTrue(body["version"])
        self.assertIn("binary_tensor_data", body["extensions"])

    def test_model_metadata_from_settings(self):
        r = self.s.get("/v2/models/declared")
        self.assertEqual(r.status_code, 200)
        m = r.json()
        self.assertEqual(m["name"], "declared")
        self.assertEqual(m["platform"], "ringserve-test")
        self.assertEqual(m["versions"], ["echo/1.0"])
        self.assertEqual(m["inputs"], [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}])

    def test_model_ready_and_unknown(self):
        self.assertEqual(self.s.get("/v2/models/echo/ready").json(), {"name": "echo", "ready": True})
        r = self.s.get("/v2/models/nope/ready")
        self.assertEqual((r.status_code, r.json()), (404, {"error": "Model nope not found"}))
        r = self.s.get("/v2/models/nope")
        self.assertEqual((r.status_code, r.json()), (404, {"error": "Model nope not found"}))

    def test_a_nul_in_a_name_is_part_of_the_name(self):
        # %00 must not cut the name short: "echo%00junk" is not echo, for infer and for unload.
        x = [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1]}]
        self.assertError(self.s.infer("echo%00junk", x), 404, "Model echo\u0000junk not found")
        self.assertError(self.s.post("/v2/repository/models/echo%00x/unload"), 404, "Model echo\u0000x not found")
        self.assertEqual(self.s.get("/v2/models/echo/ready").json(), {"name": "echo", "ready": True})

    def test_unavailable_model_is_not_ready_with_a_reason(self):
        r = self.s.get("/v2/models/missing-impl/ready")
        self.assertEqual(r.status_code, 400)
        r = self.s.infer("missing-impl", [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}])
        self.assertEqual(r.status_code, 400)
        self.assertIn("not ready", r.json()["error"])
        index = self.s.post("/v2/repository/index", json={}).json()
        entry = [e for e in index if e["name"] == "missing-impl"][0]
        self.assertEqual(entry["state"], "UNAVAILABLE")
        self.assertIn("nosuchmodule", entry["reason"])

    def test_broken_settings_file_is_reported_and_others_serve(self):
        index = self.s.post("/v2/repository/index", json={}).json()
        broken = [e for e in index if e["name"] == "broken"]
        self.assertEqual(len(broken), 1, index)
        self.assertEqual(broken[0]["state"], "UNAVAILABLE")
        self.assertIn("model-settings.json", broken[0]["reason"])
        self.assertEqual(self.s.infer("echo", [{"name": "x", "shape": [1], "datatype": "INT32", "data": [3]}])
                         .status_code, 200)

    # --- versions ---------------------------------------------------------------------------

    def test_versions(self):
        x = [{"name": "x", "shape": [1], "datatype": "INT32", "data": [5]}]
        r = self.s.infer("versioned", x)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["model_version"], "2")  # default: highest integer version
        r = self.s.infer("versioned", x, version="1")
        self.assertEqual((r.status_code, r.json()["model_version"]), (200, "1"))
        r = self.s.infer("versioned", x, version="7")
        self.assertEqual((r.status_code, r.json()), (404, {"error": "Model versioned with version 7 not found"}))
        r = self.s.get("/v2/models/versioned/versions/1/ready")
        self.assertEqual(r.status_code, 200)

    # --- inference, JSON ----------------------------------------------------------------------

    def test_every_datatype_round_trips_through_json(self):
        for dt, fmt, values in TYPES + [("BYTES", None, ["héllo", "", "wörld"])]:
            with self.subTest(dt=dt):
                r = self.s.infer("echo", [{"name": "t", "shape": [3], "datatype": dt, "data": values}])
                self.assertEqual(r.status_code, 200, r.text)
                out = r.json()["outputs"][0]
                self.assertEqual((out["name"], out["datatype"], out["shape"]), ("t", dt, [3]))
                self.assertEqual(out["data"], values)

    def test_nested_and_flat_data_are_the_same_tensor(self):
        nested = self.s.infer("echo", [{"name": "m", "shape": [2, 3], "datatype": "INT32",
                                        "data": [[1, 2, 3], [4, 5, 6]]}]).json()
        flat = self.s.infer("echo", [{"name": "m", "shape": [2, 3], "datatype": "INT32",
                                      "data": [1, 2, 3, 4, 5, 6]}]).json()
        self.assertEqual(nested["outputs"], flat["outputs"])
        self.assertEqual(flat["outputs"][0]["data"], [1, 2, 3, 4, 5, 6])

    def test_request_id_is_echoed_or_generated(self):
        x = [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1]}]
        self.assertEqual(self.s.infer("echo", x, extra={"id": "my-id-42"}).json()["id"], "my-id-42")
        generated = self.s.infer("echo", x).json()["id"]
        self.assertRegex(generated, r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

    def test_generate_alias(self):
        r = self.s.post("/v2/models/echo/generate",
                        json={"inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [9]}]})
        self.assertEqual((r.status_code, r.json()["outputs"][0]["data"]), (200, [9]))

    def test_requested_outputs_only(self):
        r = self.s.infer("echo", [{"name": "a", "shape": [1], "datatype": "INT32", "data": [1]},
                                  {"name": "b", "shape": [1], "datatype": "INT32", "data": [2]}],
                         extra={"outputs": [{"name": "b"}]})
        self.assertEqual([o["name"] for o in r.json()["outputs"]], ["b"])

    def test_headers_both_ways_and_cloudevents(self):
        r = self.s.infer("echo", [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1]}],
                         headers={"X-Trace": "abc123"},
                         extra={"id": "rid-1", "parameters": {"echo_headers": True,
                                                              "headers": {"x-forged": "client-set"}}})
        self.assertEqual(r.status_code, 200, r.text)
        # Request headers reach the runtime (which echoes x-* back as response headers) ...
        self.assertEqual(r.headers.get("x-trace"), "abc123")
        # ... and a client-set parameters.headers is overwritten by the real HTTP headers.
        self.assertNotIn("x-forged", r.headers)
        # Response headers are moved out of the body.
        self.assertNotIn("headers", r.json().get("parameters", {}))
        self.assertEqual(r.headers["Ce-Specversion"], "0.3")
        self.assertEqual(r.headers["Ce-Id"], "rid-1")
        self.assertEqual(r.headers["Ce-Modelid"], "echo")
        self.assertIn("replaced by the HTTP headers", self.s.read_log())

    def test_gzip_request_and_response(self):
        body = json.dumps({"inputs": [{"name": "x", "shape": [1000], "datatype": "INT32",
                                       "data": list(range(1000))}]}).encode()
        r = requests.post(self.s.url + "/v2/models/echo/infer", data=gzip.compress(body),
                          headers={"Content-Encoding": "gzip", "Content-Type": "application/json",
                                   "Accept-Encoding": "gzip"}, timeout=30)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.headers.get("Content-Encoding"), "gzip")  # requests inflated it for us
        self.assertEqual(r.json()["outputs"][0]["data"], list(range(1000)))

    def test_curl(self):
        out = subprocess.run(
            ["curl", "-s", "-S", "-X", "POST", self.s.url + "/v2/models/echo/infer", "-H",
             "Content-Type: application/json", "-d",
             '{"inputs":[{"name":"x","shape":[2],"datatype":"FP64","data":[0.1,2e-300]}]}'],
            capture_output=True, check=True, text=True).stdout
        self.assertEqual(json.loads(out)["outputs"][0]["data"], [0.1, 2e-300])

    # --- inference, binary extension --------------------------------------------------------

    def test_every_datatype_round_trips_through_binary_bit_for_bit(self):
        for dt, fmt, values in TYPES:
            with self.subTest(dt=dt):
                raw = pack(fmt, values)
                body, n = binary_request([("t", dt, [3], raw)])
                r = self.s.post("/v2/models/echo/infer", data=body,
                                headers={"Inference-Header-Content-Length": str(n)})
                self.assertEqual(r.status_code, 200, r.text)
                header, outs = split_binary_response(r)
                self.assertEqual(outs["t"], raw)
                self.assertEqual(header["outputs"][0]["datatype"], dt)

    def test_binary_bytes_and_bf16(self):
        elems = [b"abc", b"", b"\x00\xffraw"]
        raw = b"".join(struct.pack("<I", len(e)) + e for e in elems)
        bf16 = struct.pack("<3H", 0x3FC0, 0xC010, 0x0000)  # 1.5, -2.25, 0
        body, n = binary_request([("s", "BYTES", [3], raw), ("h", "BF16", [3], bf16)])
        r = self.s.post("/v2/models/echo/infer", data=body, headers={"Inference-Header-Content-Length": str(n)})
        self.assertEqual(r.status_code, 200, r.text)
        _, outs = split_binary_response(r)
        self.assertEqual((outs["s"], outs["h"]), (raw, bf16))

    def test_json_in_binary_out_and_binary_in_json_out_agree(self):
        values = [1.25, -3.5, 1e-3]
        r1 = self.s.infer("echo", [{"name": "x", "shape": [3], "datatype": "FP64", "data": values}],
                          extra={"outputs": [{"name": "x", "parameters": {"binary_data": True}}]})
        _, outs = split_binary_response(r1)
        self.assertEqual(outs["x"], pack("d", values))
        body, n = binary_request([("x", "FP64", [3], pack("d", values))], binary_outputs=False)
        r2 = self.s.post("/v2/models/echo/infer", data=body, headers={"Inference-Header-Content-Length": str(n)})
        self.assertEqual(r2.json()["outputs"][0]["data"], values)

    def test_raw_single_input_request(self):
        raw = pack("f", [1.0, 2.0, 3.0, 4.0])
        r = self.s.post("/v2/models/declared/infer", data=raw, headers={"Inference-Header-Content-Length": "0"})
        self.assertEqual(r.status_code, 200, r.text)
        header, outs = split_binary_response(r)
        self.assertEqual(header["outputs"][0]["shape"], [2, 2])
        self.assertEqual(outs["x"], raw)

    # --- bad input ----------------------------------------------------------------------------

    def assertError(self, r, status, fragment):
        self.assertEqual(r.status_code, status, r.text)
        self.assertIn(fragment, r.json()["error"])

    def test_malformed_and_truncated_json(self):
        for body in [b"{bad", b'{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1',
                     b"", b"[]", b'{"inputs": "nope"}']:
            with self.subTest(body=body):
                r = self.s.post("/v2/models/echo/infer", data=body)
                self.assertEqual(r.status_code, 400, r.text)
                self.assertIn("error", r.json())

    def test_invalid_utf8_in_a_json_string(self):
        body = b'{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["\xff\xfe"]}]}'
        r = self.s.post("/v2/models/echo/infer", data=body)
        self.assertEqual(r.status_code, 400, r.text)

    def test_invalid_utf8_bytes_output_as_json(self):
        raw = struct.pack("<I", 2) + b"\xff\xfe"
        body, n = binary_request([("s", "BYTES", [1], raw)], binary_outputs=False)
        r = self.s.post("/v2/models/echo/infer", data=body, headers={"Inference-Header-Content-Length": str(n)})
        self.assertIn(r.status_code, (400, 500))
        self.assertIn("UTF-8", r.json()["error"])

    def test_wrong_datatype_and_counts(self):
        cases = [
            ({"name": "x", "shape": [2], "datatype": "FP33", "data": [1, 2]}, "FP33"),
            ({"name": "x", "shape": [3], "datatype": "FP32", "data": [1, 2]}, "x"),
            ({"name": "x", "shape": [2, 2], "datatype": "INT32", "data": [1, 2, 3]}, "x"),
            ({"name": "x", "shape": [1], "datatype": "UINT8", "data": [256]}, "x"),
            ({"name": "x", "shape": [1], "datatype": "INT32", "data": [1.5]}, "x"),
            ({"name": "x", "shape": [1], "datatype": "BOOL", "data": ["yes"]}, "x"),
        ]
        for inp, fragment in cases:
            with self.subTest(inp=inp):
                self.assertError(self.s.infer("echo", [inp]), 400, fragment)

    def test_unknown_input_of_a_declared_model(self):
        r = self.s.infer("declared", [{"name": "y", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}])
        self.assertError(r, 400, "y")

    def test_wrong_inference_header_content_length(self):
        raw = pack("f", [1.0, 2.0])
        body, n = binary_request([("x", "FP32", [2], raw)])
        for bad in [str(n + 5), str(len(body) + 10), "-1", "abc"]:
            with self.subTest(bad=bad):
                r = self.s.post("/v2/models/echo/infer", data=body, headers={"Inference-Header-Content-Length": bad})
                self.assertEqual(r.status_code, 400, r.text)
        # Sizes that do not add up to the body.
        body2, n2 = binary_request([("x", "FP32", [2], raw)])
        r = self.s.post("/v2/models/echo/infer", data=body2 + b"xx", headers={"Inference-Header-Content-Length": str(n2)})
        self.assertEqual(r.status_code, 400, r.text)

    def test_oversize_body_gets_413(self):
        big = b'{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["' + b"a" * (2 << 20) + b'"]}]}'
        r = self.s.post("/v2/models/echo/infer", data=big)
        self.assertEqual(r.status_code, 413)
        # A gzip body that inflates past the limit is refused too.
        r = self.s.post("/v2/models/echo/infer", data=gzip.compress(big), headers={"Content-Encoding": "gzip"})
        self.assertEqual(r.status_code, 413)
        self.assertIn("max_request_size", r.json()["error"])

    def test_runtime_errors(self):
        self.load_flaky()
        x = [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1]}]
        self.assertError(self.s.infer("flaky", x, extra={"parameters": {"action": "throw"}}), 500, "asked to fail")
        self.assertError(self.s.infer("flaky", x, extra={"parameters": {"action": "bad_input"}}), 400,
                         "asked to reject the input")
        self.assertEqual(self.s.infer("flaky", x).status_code, 200)
        self.assertEqual(self.s.infer("echo", x).status_code, 200)

    def test_wrong_method_and_path(self):
        self.assertEqual(self.s.get("/v2/models/echo/infer").status_code, 405)
        self.assertEqual(self.s.get("/v3/whatever").status_code, 404)
        # Methods evhttp would answer itself (HTML 501) reach the router and get a JSON 405.
        for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
            r = requests.request(method, self.s.url + "/v2/models/echo/infer", timeout=30)
            self.assertEqual(r.status_code, 405, method)
            self.assertIn("not allowed", r.json()["error"])

    # --- concurrency ------------------------------------------------------------------------

    def test_concurrent_clients_on_several_models(self):
        self.load_flaky()

        def client(i):
            sess = requests.Session()
            model = ["echo", "versioned", "flaky"][i % 3]
            bad = 0
            for j in range(60):
                v = i * 1000 + j
                r = sess.post(f"{self.s.url}/v2/models/{model}/infer", timeout=30,
                              json={"id": f"{i}-{j}", "inputs": [{"name": "x", "shape": [2], "datatype": "INT64",
                                                                   "data": [v, -v]}]})
                if j % 7 == 3:
                    sess.post(f"{self.s.url}/v2/models/echo/infer", data=b"{broken", timeout=30)
                body = r.json()
                if r.status_code != 200 or body["outputs"][0]["data"] != [v, -v] or body["id"] != f"{i}-{j}":
                    bad += 1
            sess.close()
            return bad

        self.assertEqual(run_threads(9, client), [0] * 9)

    # --- repository and metrics ---------------------------------------------------------------

    def test_repository_unload_and_load(self):
        x = [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1]}]
        self.assertEqual(self.s.post("/v2/repository/models/declared/unload").status_code, 200)
        self.assertError(self.s.infer("declared", x), 404, "Model declared not found")
        index = self.s.post("/v2/repository/index", json={}).json()
        self.assertIn({"name": "declared", "version": "", "state": "UNAVAILABLE", "reason": "unloaded"}, index)
        r = self.s.post("/v2/repository/models/declared/load")
        self.assertEqual((r.status_code, r.text), (200, ""))
        self.assertEqual(self.s.infer("declared", [{"name": "x", "shape": [1, 2], "datatype": "FP32",
                                                    "data": [1, 2]}]).status_code, 200)
        self.assertError(self.s.post("/v2/repository/models/nothere/load"), 404, "Model nothere not found")
        self.assertError(self.s.post("/v2/repository/models/nothere/unload"), 404, "Model nothere not found")
        ready = self.s.post("/v2/repository/index", json={"ready": True}).json()
        self.assertTrue(all(e["state"] == "READY" for e in ready))
        self.assertTrue(any(e["name"] == "declared" for e in ready))

    def test_metrics(self):
        self.s.infer("echo", [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1]}])
        text = self.s.metrics()
        for name in ["model_infer_request_success_total", "model_infer_request_failure_total",
                     "model_infer_request_duration_bucket", "rest_server_requests_total",
                     "rest_server_request_duration_seconds", "ringserve_worker_restarts_total",
                     "ringserve_shm_segment_bytes", "ringserve_ring_occupancy", "ringserve_model_load_seconds"]:
            self.assertIn(name, text)
        self.assertRegex(text, r'model_infer_request_success_total\{model_name="echo",model_version=""\} [1-9]')
        # Every dispatched request is one observation of MLServer's parallel_request_queue.
        self.assertRegex(text, r'(?m)^parallel_request_queue_count [1-9]')
        self.assertRegex(text, r'(?m)^parallel_request_queue_bucket\{le="0"\} 0$')
        # The tests before this one (hostile clients among them) used this server: no bug so far.
        self.assertRegex(text, r'(?m)^ringserve_bugs_total 0$')


if __name__ == "__main__":
    unittest.main()
