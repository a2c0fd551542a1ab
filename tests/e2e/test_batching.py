"""Adaptive batching end to end (docs/settings.md#adaptive-batching): the real server, the
example `busy.Busy` runtime (examples/runtimes/busy: it echoes its inputs and reports the rows of
the predict call that served them in `rows_in_call`), Python `requests` and gRPC clients on threads.

Requests gather only while their worker is busy (a request that finds it idle is sent at once), so
a test that needs a batch to form first keeps the worker busy with a "blocker": a request with its
own parameters (so it merges with nothing) that spins for seconds. Timing is never asserted: where
a test needs to know that a batch formed it reads `rows_in_call` or the batch metrics, and where a
request must not wait for the window, max_batch_time is set far beyond the client's timeout, so an
answer at all proves it did not."""
import json
import os
import signal
import socket
import sys
import threading
import time
import unittest

import grpc
import requests

sys.path.insert(0, os.environ.get("RINGSERVE_GRPC_STUBS", ""))
import dataplane_pb2 as pb  # noqa: E402
import dataplane_pb2_grpc as pb_grpc  # noqa: E402

from ringserve_fixture import Server, run_threads  # noqa: E402
from test_grpc import metric  # noqa: E402


def busy(max_batch_size, max_batch_time, call_cost_us=0, **extra):
    return {"implementation": "busy.Busy", "max_batch_size": max_batch_size, "max_batch_time": max_batch_time,
            "parameters": {"extra": {"call_cost_us": call_cost_us}}, **extra}


def marker_input(first, rows):
    """One INT64 marker per row, unique across the test: row r of request i carries i*100+r."""
    return {"name": "marker", "shape": [rows, 1], "datatype": "INT64", "data": list(range(first, first + rows))}


def outputs_by_name(body):
    return {o["name"]: o for o in body["outputs"]}


class Batching(unittest.TestCase):
    """One server, one HTTP loop (so every request of a test can meet every other in one batcher),
    and models with batch windows long enough that concurrent requests do meet."""

    @classmethod
    def setUpClass(cls):
        cls.s = Server(copy_examples=False, settings={"http_threads": 1}, models={
            "wide": busy(8, 0.05, call_cost_us=2000),
            "full": busy(4, 30),      # a batch must fill up: its window outlasts every client timeout
            "lone": busy(8, 0.3),
            "poison": busy(16, 5),
            "metered": busy(8, 0.05, call_cost_us=1000),
            "plain": {"implementation": "busy.Busy"},  # no batching: every predict is one request
        })

    @classmethod
    def tearDownClass(cls):
        cls.s.finish()

    def infer(self, model, inputs, timeout=30, **extra):
        return self.s.infer(model, inputs, timeout=timeout, extra=extra)

    def block(self, model, seconds):
        """Keeps `model`'s worker busy for `seconds` from when this returns (the blocker has left
        the batcher: it is counted in ringserve_batch_size); join() the returned thread."""
        before = metric(self.s.metrics(), "ringserve_batch_size_count", model_name=model)
        t = threading.Thread(target=lambda: self.infer(
            model, [marker_input(999, 1)], timeout=60, parameters={"extra_cost_us": seconds * 1e6}))
        t.start()
        deadline = time.monotonic() + 30
        while metric(self.s.metrics(), "ringserve_batch_size_count", model_name=model) == before:
            self.assertLess(time.monotonic(), deadline, "the blocker never left the batcher")
            time.sleep(0.01)
        return t

    def test_every_member_gets_its_own_rows_in_order(self):
        def one(i):
            rows = 1 + i % 3
            r = self.infer("wide", [marker_input(i * 100, rows),
                                    {"name": "x", "shape": [rows, 2], "datatype": "FP32",
                                     "data": [float(i)] * (2 * rows)}], id=f"req-{i}")
            self.assertEqual(r.status_code, 200, r.text)
            body = r.json()
            self.assertEqual(body["id"], f"req-{i}")
            out = outputs_by_name(body)
            self.assertEqual(out["marker"]["shape"], [rows, 1])
            self.assertEqual(out["marker"]["data"], list(range(i * 100, i * 100 + rows)))
            self.assertEqual(out["x"]["data"], [float(i)] * (2 * rows))
            self.assertEqual(out["rows_in_call"]["shape"], [rows, 1])
            return out["rows_in_call"]["data"][0], rows

        results = run_threads(32, one)
        self.assertTrue(all(call >= own for call, own in results))
        self.assertTrue(any(call > own for call, own in results), "no request shared a predict: " + str(results))
        self.assertTrue(all(call <= 8 for call, _ in results), "a predict exceeded max_batch_size")

    def test_mixed_shapes_and_datatypes_each_come_back_whole(self):
        kinds = [("FP32", [3], [1.5, 2.5, 3.5]), ("FP32", [2], [4.5, 5.5]), ("INT32", [3], [1, 2, 3]),
                 ("FP64", [3], [0.25, 0.5, 0.75])]

        def one(i):
            datatype, trailing, values = kinds[i % len(kinds)]
            r = self.infer("wide", [marker_input(i * 100, 2),
                                    {"name": "x", "shape": [2] + trailing, "datatype": datatype, "data": values * 2}])
            self.assertEqual(r.status_code, 200, r.text)
            out = outputs_by_name(r.json())
            self.assertEqual(out["x"]["datatype"], datatype)
            self.assertEqual(out["x"]["shape"], [2] + trailing)
            self.assertEqual(out["x"]["data"], values * 2)
            self.assertEqual(out["marker"]["data"], [i * 100, i * 100 + 1])

        run_threads(24, one)

    def test_bytes_rows_of_different_lengths(self):
        def one(i):
            rows = 1 + i % 4
            words = [("w%d-" % i) + "z" * (i * 7 % 13) + str(r) for r in range(rows)]
            r = self.infer("wide", [marker_input(i * 100, rows),
                                    {"name": "s", "shape": [rows], "datatype": "BYTES", "data": words}])
            self.assertEqual(r.status_code, 200, r.text)
            out = outputs_by_name(r.json())
            self.assertEqual(out["s"]["data"], words)
            self.assertEqual(out["marker"]["data"], list(range(i * 100, i * 100 + rows)))
            return out["rows_in_call"]["data"][0] > rows

        self.assertTrue(any(run_threads(16, one)), "no BYTES request shared a predict")

    def test_requested_output_subsets(self):
        subsets = [None, ["marker"], ["rows_in_call"], ["marker", "rows_in_call"]]

        def one(i):
            wanted = subsets[i % len(subsets)]
            extra = {"outputs": [{"name": n} for n in wanted]} if wanted else {}
            r = self.infer("wide", [marker_input(i * 100, 1)], **extra)
            self.assertEqual(r.status_code, 200, r.text)
            got = sorted(outputs_by_name(r.json()))
            self.assertEqual(got, sorted(wanted or ["marker", "pid", "rows_in_call"]))
            if "marker" in got:
                self.assertEqual(outputs_by_name(r.json())["marker"]["data"], [i * 100])

        run_threads(24, one)

    def test_a_full_batch_leaves_at_once(self):
        # max_batch_time is 30 s and the clients give up after 20: the batches left when they
        # reached max_batch_size rows (or when the worker became free), never by the window.
        blocker = self.block("full", 2)

        def one(i):
            r = self.infer("full", [marker_input(i * 100, 1)], timeout=20)
            self.assertEqual(r.status_code, 200, r.text)
            return outputs_by_name(r.json())["rows_in_call"]["data"][0]

        self.assertEqual(run_threads(8, one), [4] * 8)
        blocker.join()

    def test_a_request_larger_than_max_batch_size_goes_alone(self):
        blocker = self.block("full", 1)
        r = self.infer("full", [marker_input(0, 5)], timeout=20)  # 5 rows > 4: not held for 30 s
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(outputs_by_name(r.json())["rows_in_call"]["data"], [5] * 5)
        blocker.join()

    def test_a_request_to_an_idle_worker_does_not_wait(self):
        r = self.infer("full", [marker_input(7, 1)], timeout=20)  # the window is 30 s
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(outputs_by_name(r.json())["rows_in_call"]["data"], [1])

    def test_a_lone_request_leaves_when_the_window_closes(self):
        # The worker is busy for 5 s; the lone request's batch leaves when its 0.3 s window closes
        # (its wait is then under a second), not when the worker becomes free.
        labels = {"model_name": "lone", "le": "1"}
        before = metric(self.s.metrics(), "ringserve_batch_wait_seconds_bucket", **labels)
        blocker = self.block("lone", 5)
        r = self.infer("lone", [marker_input(7, 1)])
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(outputs_by_name(r.json())["rows_in_call"]["data"], [1])
        blocker.join()
        # The blocker (wait 0) and the lone request both waited less than a second.
        self.assertEqual(metric(self.s.metrics(), "ringserve_batch_wait_seconds_bucket", **labels), before + 2)

    def test_one_poisoned_member_fails_alone(self):
        blocker = self.block("poison", 1)
        barrier = threading.Barrier(16)

        def one(i):
            barrier.wait()
            value = -1 if i == 5 else i
            return self.infer("poison", [{"name": "marker", "shape": [1, 1], "datatype": "INT64", "data": [value]}])

        responses = run_threads(16, one)
        codes = [r.status_code for r in responses]
        self.assertEqual(codes.count(200), 15, codes)
        self.assertEqual(codes[5], 400)
        self.assertIn("marker -1 is negative", responses[5].json()["error"])
        for i, r in enumerate(responses):
            if i != 5:
                self.assertEqual(outputs_by_name(r.json())["marker"]["data"], [i])
        blocker.join()
        self.assertRegex(self.s.read_log(), r"model poison: a batch of \d+ failed with bad input on worker \S+; "
                                            r"retrying its requests one by one")

    def test_a_client_that_disconnects_does_not_break_its_batch(self):
        labels = {"model_name": "full"}
        joined = metric(self.s.metrics(), "batch_request_queue_count", **labels)
        blocker = self.block("full", 1)
        body = json.dumps({"inputs": [marker_input(500, 1)]}).encode()
        gone = socket.create_connection(("127.0.0.1", self.s.port))
        gone.sendall(b"POST /v2/models/full/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        deadline = time.monotonic() + 30
        # Wait until it has joined a batch (after the blocker), then leave without reading the answer.
        while metric(self.s.metrics(), "batch_request_queue_count", **labels) < joined + 2:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        gone.close()

        def one(i):
            r = self.infer("full", [marker_input(i * 100, 1)], timeout=20)
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(outputs_by_name(r.json())["marker"]["data"], [i * 100])
            return outputs_by_name(r.json())["rows_in_call"]["data"][0]

        self.assertEqual(run_threads(3, one), [4, 4, 4])  # the three and the one that left
        blocker.join()
        self.assertIsNone(self.s.proc.poll())

    def test_metrics_and_statistics_count_batches(self):
        def one(i):
            r = self.infer("metered", [marker_input(i * 100, 2)])
            self.assertEqual(r.status_code, 200, r.text)
            return outputs_by_name(r.json())["rows_in_call"]["data"][0]

        calls = run_threads(20, one)
        text = self.s.metrics()
        labels = {"model_name": "metered", "model_version": ""}
        self.assertEqual(metric(text, "batch_request_queue_count", **labels), 20)
        self.assertEqual(metric(text, "ringserve_batch_wait_seconds_count", **labels), 20)
        self.assertEqual(metric(text, "ringserve_batch_size_sum", **labels), 40)  # every row, once
        predicts = metric(text, "ringserve_batch_size_count", **labels)
        # Each predict of k rows was reported by each of its k/2 requests.
        self.assertAlmostEqual(predicts, sum(2 / c for c in calls))
        self.assertLess(predicts, 20)
        [row] = self.s.get("/v2/models/metered/stats").json()["model_stats"]
        self.assertEqual(row["inference_count"], 40)
        self.assertEqual(row["execution_count"], predicts)
        self.assertEqual(metric(text, "batch_request_queue_count", model_name="plain"), 0)
        self.assertNotIn('ringserve_batch_size_count{model_name="plain"', text)

    def test_triton_config_shows_the_window(self):
        config = self.s.get("/v2/models/wide/config").json()
        self.assertEqual(config["max_batch_size"], 8)
        self.assertEqual(config["dynamic_batching"], {"max_queue_delay_microseconds": 50000})
        self.assertNotIn("dynamic_batching", self.s.get("/v2/models/plain/config").json())
        channel = grpc.insecure_channel(self.s.grpc_target)
        try:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            c = stub.ModelConfig(pb.ModelConfigRequest(name="wide")).config
            self.assertEqual((c.max_batch_size, c.dynamic_batching.max_queue_delay_microseconds), (8, 50000))
            self.assertFalse(stub.ModelConfig(pb.ModelConfigRequest(name="plain")).config.HasField("dynamic_batching"))
        finally:
            channel.close()

    def test_grpc_and_rest_requests_share_batches(self):
        channel = grpc.insecure_channel(self.s.grpc_target)
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        try:
            def one(i):
                if i % 2:
                    t = pb.ModelInferRequest.InferInputTensor(name="marker", datatype="INT64", shape=[1, 1])
                    t.contents.int64_contents.append(i * 100)
                    resp = stub.ModelInfer(pb.ModelInferRequest(model_name="wide", id=f"g{i}", inputs=[t]), timeout=30)
                    self.assertEqual(resp.id, f"g{i}")
                    out = {o.name: o for o in resp.outputs}
                    self.assertEqual(list(out["marker"].contents.int64_contents), [i * 100])
                    return out["rows_in_call"].contents.int64_contents[0]
                r = self.infer("wide", [marker_input(i * 100, 1)], id=f"r{i}")
                self.assertEqual(r.status_code, 200, r.text)
                self.assertEqual(outputs_by_name(r.json())["marker"]["data"], [i * 100])
                return outputs_by_name(r.json())["rows_in_call"]["data"][0]

            self.assertTrue(any(c > 1 for c in run_threads(16, one)))
        finally:
            channel.close()

    def test_a_deadline_applies_per_member(self):
        # The worker is busy and the window is 30 s: a gRPC call with a 0.3 s deadline runs out
        # while it waits in the batcher, is answered then, and its batch leaves without it.
        blocker = self.block("full", 2)
        channel = grpc.insecure_channel(self.s.grpc_target)
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        try:
            t = pb.ModelInferRequest.InferInputTensor(name="marker", datatype="INT64", shape=[1, 1])
            t.contents.int64_contents.append(1)
            with self.assertRaises(grpc.RpcError) as e:
                stub.ModelInfer(pb.ModelInferRequest(model_name="full", inputs=[t]), timeout=0.3)
            self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        finally:
            channel.close()
        blocker.join()
        r = self.infer("full", [marker_input(3, 1)], timeout=20)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(outputs_by_name(r.json())["rows_in_call"]["data"], [1])


class PythonBatching(unittest.TestCase):
    """MLServer runtimes, unchanged, with batching on: a custom MLModel and the scikit-learn one."""

    @classmethod
    def setUpClass(cls):
        here = os.path.dirname(os.path.abspath(__file__))
        cls.s = Server(settings={"http_threads": 1}, models={
            "doubler": {"implementation": "batching.Doubler", "max_batch_size": 16, "max_batch_time": 0.05},
            "iris-batched": {"implementation": "mlserver_sklearn.SKLearnModel", "max_batch_size": 16,
                             "max_batch_time": 0.01, "parameters": {"uri": "../iris/model.joblib"}}},
            files={"doubler/batching.py": os.path.join(here, "python_models", "batching.py")}, wait_ready=False)
        cls.s.wait_ready(model="doubler")
        cls.s.wait_ready(model="iris-batched")
        cls.s.wait_ready(model="iris")

    @classmethod
    def tearDownClass(cls):
        cls.s.finish()

    def test_a_python_model_sees_one_merged_array(self):
        def one(i):
            rows = 1 + i % 3
            x = [[float(i), float(-r)] for r in range(rows)]
            x = [[abs(v) for v in row] for row in x]
            r = self.s.infer("doubler", [{"name": "x", "shape": [rows, 2], "datatype": "FP64", "data": x}])
            self.assertEqual(r.status_code, 200, r.text)
            out = outputs_by_name(r.json())
            self.assertEqual(out["y"]["shape"], [rows, 2])
            self.assertEqual(out["y"]["data"], [2 * v for row in x for v in row])
            return out["rows"]["data"][0] > rows

        self.assertTrue(any(run_threads(24, one)), "no Python predict received a merged array")

    def test_a_bad_row_fails_only_its_request(self):
        def one(i):
            return self.s.infer("doubler", [{"name": "x", "shape": [1, 1], "datatype": "FP64",
                                             "data": [-1.0 if i == 3 else float(i)]}])

        responses = run_threads(12, one)
        self.assertEqual([r.status_code for r in responses].count(200), 11)
        self.assertEqual(responses[3].status_code, 400)
        self.assertIn("negative x", responses[3].json()["error"])

    def test_sklearn_answers_as_unbatched(self):
        rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5], [6.3, 2.5, 5.0, 1.9]]

        def body(i):
            return [{"name": "input-0", "shape": [1 + i % 2, 4], "datatype": "FP64",
                     "data": [rows[(i + k) % 4] for k in range(1 + i % 2)]}]

        def one(i):
            r = self.s.infer("iris-batched", body(i))
            self.assertEqual(r.status_code, 200, r.text)
            return r.json()["outputs"][0]["data"]

        batched = run_threads(24, one)
        for i, got in enumerate(batched):
            alone = self.s.infer("iris", body(i))
            self.assertEqual(got, alone.json()["outputs"][0]["data"], i)


class BatchingFailures(unittest.TestCase):
    """Workers dying under a batch, two workers, settings the server refuses."""

    def test_a_worker_killed_mid_batch_fails_only_that_batch(self):
        s = Server(copy_examples=False, settings={"http_threads": 1},
                   models={"slow": busy(4, 0.05, call_cost_us=3_000_000), "other": busy(4, 0.01)})
        try:
            results = []

            def one(i):
                results.append(s.infer("slow", [marker_input(i * 100, 1)], timeout=60))

            threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 30
            # The batch was sent (the batcher observed its size) and the predict is spinning.
            while metric(s.metrics(), "ringserve_batch_size_count", model_name="slow") < 1:
                self.assertLess(time.monotonic(), deadline, "the batch never left")
                time.sleep(0.02)
            (pid,) = s.worker_pids()
            os.kill(pid, signal.SIGKILL)
            for t in threads:
                t.join()
            self.assertEqual([r.status_code for r in results], [503] * 4, [r.text for r in results])
            # The model on the same worker is back once the replacement worker has loaded it (503
            # "retry" until then).
            deadline = time.monotonic() + 60
            while True:
                r = s.infer("other", [marker_input(0, 1)])
                if r.status_code == 200 or time.monotonic() > deadline:
                    break
                self.assertEqual(r.status_code, 503, r.text)
                time.sleep(0.05)
            self.assertEqual(r.status_code, 200, r.text)
            self.assertNotIn(pid, s.worker_pids())
            self.assertIsNone(s.proc.poll())
        finally:
            s.finish()

    def test_two_workers_share_the_batches(self):
        s = Server(copy_examples=False, settings={"parallel_workers": 2, "http_threads": 2},
                   models={"pair": busy(8, 0.05, call_cost_us=2000)})
        try:
            s.config_with_instances("pair", 2)

            def one(i):
                rows = 1 + i % 2
                r = s.infer("pair", [marker_input(i * 100, rows)])
                self.assertEqual(r.status_code, 200, r.text)
                out = outputs_by_name(r.json())
                self.assertEqual(out["marker"]["data"], list(range(i * 100, i * 100 + rows)))
                return out["rows_in_call"]["data"][0] > rows, out["pid"]["data"][0]

            results = run_threads(48, one)
            self.assertTrue(any(batched for batched, _ in results))
            # Both workers served batches (the least loaded one takes each new batch).
            self.assertEqual(len({pid for _, pid in results}), 2, results)
        finally:
            s.finish()

    def test_settings_the_server_refuses(self):
        s = Server(copy_examples=False, wait_ready=False, models={
            "neg": {"implementation": "busy.Busy", "max_batch_size": -1, "max_batch_time": 0.01}})
        try:
            entry = s.wait_loaded("neg")
            self.assertEqual(entry["state"], "UNAVAILABLE")
            self.assertIn("max_batch_size", entry["reason"])
        finally:
            s.finish()


if __name__ == "__main__":
    unittest.main()
