"""bench/suite/run.sh --dry-run against the binaries of this build: the suite starts the bare
server and ringserve, checks the echo's answers, loads both briefly and prints its table. It asserts
that the suite works and what the table holds, never a timing (figures from a test machine mean
nothing)."""
import os
import shutil
import subprocess
import tempfile
import unittest

from ringserve_fixture import BIN

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.dirname(os.path.dirname(os.path.abspath(BIN))) if os.path.isabs(BIN) else ""
LIMITS = os.path.join(ROOT, "..", "shared", "limits")


class BenchSuiteDryRun(unittest.TestCase):
    def setUp(self):
        missing = [t for t in ("wrk", "taskset", "cmake") if shutil.which(t) is None]
        if missing:
            self.skipTest(f"not installed: {', '.join(missing)}")
        if not BUILD or not os.path.exists(os.path.join(BUILD, "bin", "suite_memcpy_bw")):
            self.skipTest("bench/ is not built in this preset (RINGSERVE_BUILD_BENCH=OFF)")
        if not os.path.exists(os.path.join(LIMITS, "src", "http_server.cpp")):
            self.skipTest("../shared/limits (the bare server's source) is not beside the repository")
        self.tmp = tempfile.mkdtemp(prefix="ringserve-bench-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_dry_run_prints_every_row_of_its_cases(self):
        env = dict(os.environ, BUILD_DIR=BUILD, LIMITS_BUILD_DIR=os.path.join(self.tmp, "limits"))
        p = subprocess.run([os.path.join(ROOT, "bench", "suite", "run.sh"), "--dry-run", "--no-build"], env=env,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        rows = [line for line in p.stdout.splitlines() if line.startswith("| e2e") or line.startswith("| memory")]
        cases = [r.split("|")[2].strip() for r in rows]
        self.assertIn("`[1,16]` FP32 JSON req/s vs bare server, same body", cases)
        self.assertIn("`[1,65536]` FP32 binary req/s vs bare server, same body (256 KiB)", cases)
        self.assertIn("worker VmRSS MiB with the echo model, idle", cases)
        # gRPC beside REST of the same run (issue 13): `ringserve bench --protocol grpc`.
        self.assertIn("gRPC `[1,16]` FP32 typed req/s vs REST `[1,16]` FP32 JSON of this run", cases)
        self.assertIn("gRPC `[1,16]` FP32 raw req/s vs REST `[1,16]` FP32 JSON of this run", cases)
        self.assertIn("gRPC `[1,65536]` FP32 raw req/s vs REST `[1,65536]` FP32 binary of this run", cases)
        for r in rows:  # every measured cell holds a number, every verdict is yes/no/–
            cells = [c.strip() for c in r.strip("|").split("|")]
            self.assertRegex(cells[2], r"^[\d,.]+", r)
            self.assertIn(cells[6], ("**yes**", "**no**", "–"), r)

    def test_unknown_option_is_refused(self):
        p = subprocess.run([os.path.join(ROOT, "bench", "suite", "run.sh"), "--fast"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown option --fast", p.stderr)


if __name__ == "__main__":
    unittest.main()
