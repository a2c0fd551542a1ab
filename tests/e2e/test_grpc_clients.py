"""`ringserve infer --protocol grpc` and `ringserve bench --protocol grpc` against the real server:
the same output as over REST for the same requests, counts and errors reported, and a server that
is not listening (clients/loadgen/README.md)."""
import json
import os
import socket
import subprocess
import tempfile
import unittest

from ringserve_fixture import BIN, Server

LINES = [
    {"id": "a", "inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3, 4.5]]}]},
    {"id": "b", "parameters": {"tag": "t", "n": 3, "flag": True},
     "inputs": [{"name": "s", "shape": [2], "datatype": "BYTES", "data": ["hi", "there"]},
                {"name": "i", "shape": [3], "datatype": "INT8", "data": [1, -2, 3]},
                {"name": "u", "shape": [2], "datatype": "UINT64", "data": [0, 18446744073709551615]},
                {"name": "t", "shape": [2], "datatype": "BOOL", "data": [True, False]}]},
    {"id": "c", "inputs": [{"name": "d", "shape": [1, 3], "datatype": "FP64", "data": [0.1, -2.5, 1e300]}]},
]
FP16_LINE = {"id": "h", "inputs": [{"name": "h", "shape": [2], "datatype": "FP16", "data": [1.5, 2]}]}


def run(*args, timeout=120):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GrpcClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        cls.tmp = tempfile.mkdtemp(prefix="ringserve-grpc-clients-")

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def infer(self, lines, name, *extra):
        src = os.path.join(self.tmp, name + ".in.jsonl")
        out = os.path.join(self.tmp, name + ".out.jsonl")
        with open(src, "w") as f:
            f.writelines(json.dumps(line) + "\n" for line in lines)
        p = run("infer", "-m", "echo", "-i", src, "-o", out, "-q", *extra)
        with open(out) as f:
            return p, [json.loads(line) for line in f]

    def test_infer_over_grpc_writes_what_rest_writes(self):
        rest, rest_lines = self.infer(LINES, "rest", "-u", self.s.url)
        self.assertEqual(rest.returncode, 0, rest.stderr)
        for extra, name in (((), "typed"), (("-b",), "raw")):
            with self.subTest(contents=name):
                p, lines = self.infer(LINES, name, "--protocol", "grpc", "-u", self.s.grpc_target, *extra)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(lines, rest_lines)
                self.assertIn("3 lines, 3 ok, 0 failed", p.stderr)
        # MLServer's spelling of the option, and FP16 (raw only over gRPC) sent raw with -b.
        p, lines = self.infer([FP16_LINE], "fp16", "-t", "grpc", "-b", "-u", self.s.grpc_target)
        self.assertEqual(p.returncode, 0, p.stderr)
        _, rest_fp16 = self.infer([FP16_LINE], "fp16rest", "-u", self.s.url)
        self.assertEqual(lines, rest_fp16)

    def test_infer_over_grpc_reports_failures_per_line(self):
        p, lines = self.infer([FP16_LINE, LINES[0]], "typedfp16", "--protocol", "grpc", "-u", self.s.grpc_target)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(lines[0]["error"]["status"], "preprocessing error")
        self.assertIn("FP16", lines[0]["error"]["msg"])
        self.assertEqual(lines[1]["outputs"][0]["data"], [1, 2, 3, 4.5])
        # An unknown model: the status REST answers (404) and the server's message, not retried.
        src = os.path.join(self.tmp, "one.jsonl")
        out = os.path.join(self.tmp, "one.out.jsonl")
        with open(src, "w") as f:
            f.write(json.dumps(LINES[0]) + "\n")
        p = run("infer", "--protocol", "grpc", "-u", self.s.grpc_target, "-m", "nope", "-i", src, "-o", out, "-q")
        self.assertEqual(p.returncode, 1)
        with open(out) as f:
            line = json.loads(f.readline())
        self.assertEqual(line["error"]["status"], "404")
        self.assertIn("nope", line["error"]["msg"])
        self.assertIn("1 requests, 0 retries", p.stderr)

    def test_bench_over_grpc_counts_a_fixed_number_of_requests(self):
        for extra in ((), ("--typed",)):
            with self.subTest(extra=extra):
                csv = os.path.join(self.tmp, "bench.csv")
                p = run("bench", "--protocol", "grpc", "-u", self.s.grpc_target, "-m", "echo", "--shape", "1,16",
                        "-c", "4", "-n", "300", "--warmup", "0", "-q", "--csv", csv, *extra)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("(gRPC), concurrency 4", p.stdout)
                self.assertIn("300 sent, 300 ok, 0 errors", p.stdout)
                with open(csv) as f:
                    rows = f.read().splitlines()
                self.assertEqual(sum(int(r.split(",")[2]) for r in rows[1:]), 300)

    def test_bench_over_grpc_reports_errors_by_code(self):
        p = run("bench", "--protocol", "grpc", "-u", self.s.grpc_target, "-m", "nope", "--shape", "1,16",
                "-c", "2", "-n", "40", "--warmup", "0", "-q")
        self.assertEqual(p.returncode, 1)
        self.assertIn("warning: a trial request got gRPC NOT_FOUND", p.stderr)
        self.assertIn("40 sent, 0 ok, 40 errors", p.stdout)
        self.assertIn("40 x NOT_FOUND", p.stdout)

    def test_bad_setups_are_one_line_and_exit_2(self):
        port = free_port()  # nothing listens there
        p = run("bench", "--protocol", "grpc", "-u", f"127.0.0.1:{port}", "-m", "echo", "--shape", "1,4", "-n", "5")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn(f"ringserve bench: cannot reach 127.0.0.1:{port}", p.stderr)
        for args, what in (((("--binary",)), "--binary"), (("--connections", "2"), "--connections")):
            p = run("bench", "--protocol", "grpc", "-u", self.s.grpc_target, "-m", "echo", "--shape", "1,4", *args)
            self.assertEqual(p.returncode, 2)
            self.assertIn(what, p.stderr)
        p = run("bench", "-u", self.s.url, "-m", "echo", "--shape", "1,4", "--typed")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--typed is for --protocol grpc", p.stderr)
        p = run("bench", "--protocol", "carrier-pigeon", "-m", "echo", "--shape", "1,4")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)

    def test_infer_with_no_server_fails_each_line_as_a_connection_error(self):
        port = free_port()
        p, lines = self.infer([LINES[0]], "down", "--protocol", "grpc", "-u", f"127.0.0.1:{port}", "-r", "1",
                              "--retry-backoff", "0")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(lines[0]["error"]["status"], "connection error")
        self.assertIn("2 requests, 1 retries", p.stderr)


if __name__ == "__main__":
    unittest.main()
