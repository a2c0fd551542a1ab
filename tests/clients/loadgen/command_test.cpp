// `bench` and `infer` run as processes (through the CLI11 driver) against the test server, or,
// where the test only needs a working V2 server, against RINGSERVE_TEST_URL (model
// RINGSERVE_TEST_MODEL, input shape [1,4] FP32) when that is set.
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "process_helpers.hpp"

using namespace loadgen_test;

namespace {

const std::string kDriver = LOADGEN_DRIVER_PATH;

struct Counts {
  std::uint64_t sent = 0, ok = 0, errors = 0;
  double rps = 0;
};

// Reads the summary's "N sent, N ok, N errors" and "requests/s" lines (the last run's).
Counts summary(const std::string& out) {
  Counts c;
  std::smatch m;
  std::string::const_iterator from = out.begin();
  const std::regex counts(R"((\d+) sent, (\d+) ok, (\d+) errors)");
  while (std::regex_search(from, out.end(), m, counts)) {
    c.sent = std::stoull(m[1]);
    c.ok = std::stoull(m[2]);
    c.errors = std::stoull(m[3]);
    from = m[0].second;
  }
  const std::regex rps(R"(requests/s\s+([0-9.]+))");
  from = out.begin();
  while (std::regex_search(from, out.end(), m, rps)) {
    c.rps = std::stod(m[1]);
    from = m[0].second;
  }
  return c;
}

// python3 prints what it finds in the CSV: rows, sum of ok, sum of errors, the first column.
std::string csvFacts(const std::string& path, const TempDir& dir) {
  const RunOutput r = run("/usr/bin/python3",
                          {"-c",
                           "import csv,sys\n"
                           "rows=list(csv.DictReader(open(sys.argv[1])))\n"
                           "first=list(rows[0].keys())[0]\n"
                           "print(first, len(rows), sum(int(r['ok']) for r in rows), sum(int(r['errors']) for r in rows),"
                           " ' '.join(r[first] for r in rows))\n"
                           "for r in rows: [float(v) for v in r.values()]\n",
                           path},
                          dir.path());
  EXPECT_EQ(r.exitCode, 0) << r.err;
  return r.out;
}

// python3's XML parser must accept the SVG; prints the root tag, polylines and text count.
std::string svgFacts(const std::string& path, const TempDir& dir) {
  const RunOutput r = run("/usr/bin/python3",
                          {"-c",
                           "import sys, xml.etree.ElementTree as ET\n"
                           "root=ET.parse(sys.argv[1]).getroot()\n"
                           "ns='{http://www.w3.org/2000/svg}'\n"
                           "texts=[t.text for t in root.iter(ns+'text')]\n"
                           "print(root.tag.replace(ns,''), len(list(root.iter(ns+'polyline'))),"
                           " 'requests/s' in texts, 'latency (ms)' in texts, 'p99' in texts)\n",
                           path},
                          dir.path());
  EXPECT_EQ(r.exitCode, 0) << r.err;
  return r.out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream s(text);
  for (std::string l; std::getline(s, l);) out.push_back(l);
  return out;
}

std::string echoLine(int i, int delayMs = 0) {
  std::string params = delayMs ? R"("parameters":{"delay_ms":)" + std::to_string(delayMs) + "}," : "";
  return R"({"id":"line-)" + std::to_string(i) + R"(",)" + params +
         R"("inputs":[{"name":"x","shape":[1,3],"datatype":"INT32","data":[)" + std::to_string(i) + "," +
         std::to_string(i * 2) + "," + std::to_string(-i) + R"(]}]})";
}

}  // namespace

TEST(Bench, ClosedLoopCountsCsvAndSvg) {
  TestServer server({"--mode", "fixed"}, true);
  TempDir dir;
  const RunOutput r = run(kDriver,
                          {"bench", "-u", server.url(), "-m", server.model("tiny"), "--shape", "1,4", "-c", "4", "-n",
                           "3000", "--warmup", "0.2", "--csv", dir.file("out.csv"), "--svg", dir.file("out.svg")},
                          dir.path());
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const Counts c = summary(r.out);
  EXPECT_EQ(c.sent, 3000u) << r.out;
  EXPECT_EQ(c.ok, 3000u);
  EXPECT_EQ(c.errors, 0u);
  EXPECT_GT(c.rps, 0);
  EXPECT_NE(r.out.find("p99.9"), std::string::npos);
  // Per-second rows that add up to the run.
  const std::string csv = csvFacts(dir.file("out.csv"), dir);
  EXPECT_TRUE(csv.starts_with("second ")) << csv;
  std::istringstream facts(csv);
  std::string first;
  std::uint64_t rows = 0, ok = 0, errors = 0;
  facts >> first >> rows >> ok >> errors;
  EXPECT_GE(rows, 1u);
  EXPECT_EQ(ok, 3000u);
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(svgFacts(dir.file("out.svg"), dir), "svg 5 True True True\n");
}

TEST(Bench, ErrorsAreCountedByStatus) {
  // Every 10th request gets 500. Request 1 is bench's trial request, then 1000 measured ones
  // (no warm-up): requests 2..1001 hold exactly 100 multiples of 10.
  TestServer server({"--mode", "fixed", "--fail-every", "10", "--fail-status", "500"});
  TempDir dir;
  const RunOutput r = run(kDriver,
                          {"bench", "-u", server.url(), "-m", "tiny", "--shape", "1,4", "-c", "3", "-n", "1000",
                           "--warmup", "0", "-q"},
                          dir.path());
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const Counts c = summary(r.out);
  EXPECT_EQ(c.sent, 1000u) << r.out;
  EXPECT_EQ(c.ok + c.errors, c.sent);
  EXPECT_EQ(c.errors, 100u);
  EXPECT_NE(r.out.find("status 500    100"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");  // -q: no progress
}

TEST(Bench, ServerClosingKeepAliveIsNotAnError) {
  TestServer server({"--mode", "fixed", "--close-every", "7"});
  TempDir dir;
  const RunOutput r = run(kDriver,
                          {"bench", "-u", server.url(), "-m", "tiny", "--shape", "1,4", "-c", "4", "-n", "700",
                           "--warmup", "0", "-q"},
                          dir.path());
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const Counts c = summary(r.out);
  EXPECT_EQ(c.sent, 700u);
  EXPECT_EQ(c.ok, 700u) << r.out;
}

TEST(Bench, PipelinesWhenConnectionsAreFewerThanConcurrency) {
  TestServer server({"--mode", "fixed"}, true);
  TempDir dir;
  const RunOutput r = run(kDriver,
                          {"bench", "-u", server.url(), "-m", server.model("tiny"), "--shape", "1,4", "-c", "8",
                           "--connections", "2", "-t", "2", "-n", "2000", "--warmup", "0", "-q"},
                          dir.path());
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const Counts c = summary(r.out);
  EXPECT_EQ(c.sent, 2000u);
  EXPECT_EQ(c.ok, 2000u) << r.out;
}

TEST(Bench, ProgressLineOncePerSecond) {
  TestServer server({"--mode", "fixed"}, true);
  TempDir dir;
  const RunOutput r = run(kDriver,
                          {"bench", "-u", server.url(), "-m", server.model("tiny"), "--shape", "1,4", "-c", "2", "-d",
                           "2.5", "--warmup", "0.5"},
                          dir.path());
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::size_t progress = 0;
  bool warmup = false;
  for (const std::string& l : lines(r.err)) {
    if (l.find("[warm-up") != std::string::npos) warmup = true;
    if (std::regex_search(l, std::regex(R"(^\[\s*[0-9.]+ s\] concurrency 2: \d+ ok, \d+ errors, \d+ req/s$)"))) ++progress;
  }
  EXPECT_GE(progress, 1u) << r.err;
  EXPECT_LE(progress, 4u) << r.err;
  (void)warmup;  // the warm-up line appears only if the first tick lands inside it
}

TEST(Bench, OpenLoopHoldsTheRate) {
  TestServer server({"--mode", "fixed"}, true);
  TempDir dir;
  const RunOutput r = run(kDriver,
                          {"bench", "-u", server.url(), "-m", server.model("tiny"), "--shape", "1,4", "--rate", "2000",
                           "-d", "3", "--warmup", "0.5", "-c", "16", "-q", "--csv", dir.file("rate.csv")},
                          dir.path());
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const Counts c = summary(r.out);
  EXPECT_EQ(c.ok + c.errors, c.sent);
  // An open loop never sends ahead of its schedule: at most rate x duration (plus one tick of
  // rounding), however fast the server is. How close it gets below that depends on the machine's
  // load, which no test asserts (bench/ measures it).
  EXPECT_GT(c.sent, 0u) << r.out;
  EXPECT_LE(double(c.sent), 2000.0 * 3 * 1.02) << r.out;
  EXPECT_LE(c.rps, 2000.0 * 1.02) << r.out;
  EXPECT_TRUE(csvFacts(dir.file("rate.csv"), dir).starts_with("second ")) << r.out;
}

TEST(Bench, SweepOverConcurrency) {
  TestServer server({"--mode", "fixed"}, true);
  TempDir dir;
  const RunOutput r = run(kDriver,
                          {"bench", "-u", server.url(), "-m", server.model("tiny"), "--shape", "1,4",
                           "--sweep-concurrency", "1,2,4", "-n", "300", "--warmup", "0", "-q", "--csv",
                           dir.file("sweep.csv"), "--svg", dir.file("sweep.svg")},
                          dir.path());
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(csvFacts(dir.file("sweep.csv"), dir), "concurrency 3 900 0 1.000 2.000 4.000\n");
  EXPECT_EQ(svgFacts(dir.file("sweep.svg"), dir), "svg 5 True True True\n");
  EXPECT_NE(r.out.find("concurrency   requests/s"), std::string::npos) << r.out;
}

TEST(Bench, SweepOverPayloadSizeWithBinaryTensors) {
  TestServer server({"--mode", "echo"});
  TempDir dir;
  const RunOutput r = run(kDriver,
                          {"bench", "-u", server.url(), "-m", "echo", "--datatype", "INT32", "--binary",
                           "--binary-output", "--sweep-size", "64,4K,64K", "-n", "100", "--warmup", "0", "-q", "--csv",
                           dir.file("size.csv")},
                          dir.path());
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(csvFacts(dir.file("size.csv"), dir), "size_bytes 3 300 0 64.000 4096.000 65536.000\n") << r.out;
}

TEST(Bench, InputFileSentAsWritten) {
  TestServer server({"--mode", "echo"});
  TempDir dir;
  writeAll(dir.file("req.json"), echoLine(7) + "\n");
  for (const char* binary : {"", "--binary"}) {
    std::vector<std::string> args{"bench", "-u", server.url(), "-m", "echo", "-i", dir.file("req.json"), "-n", "50",
                                  "--warmup", "0", "-q"};
    if (*binary) args.emplace_back(binary);
    const RunOutput r = run(kDriver, args, dir.path());
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(summary(r.out).ok, 50u) << r.out;
  }
}

TEST(Bench, ClearErrorsForBadSetups) {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"bench", "-m", "m"}, "say what to send"},
      {{"bench", "-m", "m", "--shape", "1,x"}, "bad shape"},
      {{"bench", "-m", "m", "--shape", "1", "--datatype", "FP8"}, "unknown datatype"},
      {{"bench", "-m", "m", "-i", "/nonexistent.json"}, "cannot read /nonexistent.json"},
      {{"bench", "-m", "m", "--shape", "1", "-u", "https://127.0.0.1:1"}, "TLS is not supported"},
      {{"bench", "-m", "m", "--sweep-concurrency", "1,2", "--sweep-size", "64"}, "one thing at a time"},
      {{"bench", "-m", "m", "--shape", "1", "-u", "http://127.0.0.1:1"}, "cannot reach http://127.0.0.1:1"},
  };
  for (const Case& c : cases) {
    const RunOutput r = run(kDriver, c.args, dir.path());
    EXPECT_EQ(r.exitCode, 2) << c.message;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  // A server that refuses everything: the run completes, nothing succeeded, exit status 1.
  TestServer server({"--mode", "fixed", "--fail-every", "1", "--fail-status", "404"});
  const RunOutput r = run(kDriver, {"bench", "-u", server.url(), "-m", "m", "--shape", "1", "-n", "20", "--warmup", "0", "-q"},
                          dir.path());
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("a trial request got HTTP 404: injected failure 1"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("status 404    20"), std::string::npos) << r.out;
}

TEST(Infer, PreservesInputOrder) {
  TestServer server({"--mode", "echo"});
  TempDir dir;
  std::string input;
  constexpr int kLines = 40;
  for (int i = 0; i < kLines; ++i) input += echoLine(i, (kLines - i) % 8 * 5) + "\n";  // later lines often finish first
  writeAll(dir.file("in.jsonl"), input);
  const RunOutput r = run(kDriver,
                          {"infer", "-u", server.url(), "-m", "echo", "-i", dir.file("in.jsonl"), "-o",
                           dir.file("out.jsonl"), "-w", "8"},
                          dir.path());
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto out = lines(readAll(dir.file("out.jsonl")));
  ASSERT_EQ(out.size(), std::size_t(kLines));
  for (int i = 0; i < kLines; ++i) {
    const std::string& l = out[std::size_t(i)];
    EXPECT_NE(l.find(R"("id":"line-)" + std::to_string(i) + "\""), std::string::npos) << l;
    EXPECT_NE(l.find(R"("batch_index":)" + std::to_string(i) + ","), std::string::npos) << l;
    EXPECT_NE(l.find(R"("inference_id":"line-)" + std::to_string(i) + "\""), std::string::npos) << l;
    EXPECT_NE(l.find("\"data\":[" + std::to_string(i) + "," + std::to_string(2 * i) + "," + std::to_string(-i) + "]"),
              std::string::npos)
        << l;
  }
  EXPECT_NE(r.err.find("40/40 lines 100%"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("infer: 40 lines, 40 ok, 0 failed"), std::string::npos) << r.err;
}

TEST(Infer, RetriesTransient503) {
  TestServer server({"--mode", "echo", "--transient", "2"});
  TempDir dir;
  std::string input;
  for (int i = 0; i < 10; ++i) input += echoLine(i) + "\n";
  writeAll(dir.file("in.jsonl"), input);
  const RunOutput r = run(kDriver,
                          {"infer", "-u", server.url(), "-m", "echo", "-i", dir.file("in.jsonl"), "-o",
                           dir.file("out.jsonl"), "-w", "3", "-r", "3", "--retry-backoff", "0.01", "-v"},
                          dir.path());
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.err.find("infer: 10 lines, 10 ok, 0 failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(30 requests, 20 retries)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("after 503: try again later"), std::string::npos) << r.err;
  const auto out = lines(readAll(dir.file("out.jsonl")));
  ASSERT_EQ(out.size(), 10u);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].find("error"), std::string::npos) << out[i];
}

TEST(Infer, GivesUpAfterRetriesAndExitsNonZero) {
  TestServer server({"--mode", "echo", "--transient", "5"});
  TempDir dir;
  writeAll(dir.file("in.jsonl"), echoLine(0) + "\n" + echoLine(1) + "\n");
  const RunOutput r = run(kDriver,
                          {"infer", "-u", server.url(), "-m", "echo", "-i", dir.file("in.jsonl"), "-o",
                           dir.file("out.jsonl"), "-r", "1", "--retry-backoff", "0"},
                          dir.path());
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("infer: 2 lines, 0 ok, 2 failed"), std::string::npos) << r.err;
  const auto out = lines(readAll(dir.file("out.jsonl")));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0],
            R"({"id":"line-0","parameters":{"batch_index":0},"error":{"status":"503","msg":"try again later"}})");
}

TEST(Infer, BadLinesAndServerErrorsAreReportedPerLine) {
  TestServer server({"--mode", "echo", "--fail-every", "3", "--fail-status", "400"});
  TempDir dir;
  writeAll(dir.file("in.jsonl"), echoLine(0) + "\n{not json\n\n" + echoLine(1) + "\n" + echoLine(2) + "\n" +
                                     echoLine(3) + "\n");
  const RunOutput r = run(kDriver,
                          {"infer", "-u", server.url(), "-m", "echo", "-i", dir.file("in.jsonl"), "-o",
                           dir.file("out.jsonl"), "-w", "1"},
                          dir.path());
  EXPECT_EQ(r.exitCode, 1);
  const auto out = lines(readAll(dir.file("out.jsonl")));
  ASSERT_EQ(out.size(), 5u);  // the blank line gives no output
  EXPECT_NE(out[1].find(R"("batch_index":1},"error":{"status":"preprocessing error","msg":"malformed JSON)"),
            std::string::npos)
      << out[1];
  // Requests reach the server in order with one worker: line 0 -> #1, line 3 -> #2, line 4 -> #3 (fails).
  EXPECT_NE(out[3].find(R"("error":{"status":"400","msg":"injected failure 3"})"), std::string::npos) << out[3];
  EXPECT_NE(out[3].find(R"("batch_index":4)"), std::string::npos) << out[3];
  EXPECT_NE(r.err.find("infer: 5 lines, 3 ok, 2 failed"), std::string::npos) << r.err;
}

TEST(Infer, BatchesLinesAndSplitsResponses) {
  TestServer server({"--mode", "echo"});
  TempDir dir;
  std::string input;
  for (int i = 0; i < 10; ++i) input += echoLine(i) + "\n";
  writeAll(dir.file("in.jsonl"), input);
  for (const char* binary : {"", "-b"}) {
    std::vector<std::string> args{"infer", "-u", server.url(), "-m", "echo", "-i", dir.file("in.jsonl"), "-o",
                                  dir.file("out.jsonl"), "-s", "4", "-w", "2"};
    if (*binary) args.emplace_back(binary);
    const RunOutput r = run(kDriver, args, dir.path());
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.err.find("(3 requests, 0 retries)"), std::string::npos) << r.err;
    const auto out = lines(readAll(dir.file("out.jsonl")));
    ASSERT_EQ(out.size(), 10u);
    std::string batchId;
    for (int i = 0; i < 10; ++i) {
      const std::string& l = out[std::size_t(i)];
      EXPECT_NE(l.find(R"("id":"line-)" + std::to_string(i) + "\""), std::string::npos) << l;
      EXPECT_NE(l.find(R"("shape":[1,3],"datatype":"INT32","data":[)" + std::to_string(i) + "," +
                       std::to_string(2 * i) + "," + std::to_string(-i) + "]"),
                std::string::npos)
          << l;
      const auto at = l.find(R"("inference_id":")");
      ASSERT_NE(at, std::string::npos) << l;
      const std::string id = l.substr(at + 16, 36);
      if (i % 4 == 0) batchId = id;
      EXPECT_EQ(id, batchId) << "lines of one batch share the request id";
    }
  }
}

TEST(Infer, TimeoutFailsTheLine) {
  TestServer server({"--mode", "echo"});
  TempDir dir;
  writeAll(dir.file("in.jsonl"), echoLine(0, 2000) + "\n" + echoLine(1) + "\n");
  const RunOutput r = run(kDriver,
                          {"infer", "-u", server.url(), "-m", "echo", "-i", dir.file("in.jsonl"), "-o",
                           dir.file("out.jsonl"), "--timeout", "0.2", "-r", "0", "-w", "2"},
                          dir.path());
  EXPECT_EQ(r.exitCode, 1);
  const auto out = lines(readAll(dir.file("out.jsonl")));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NE(out[0].find(R"("error":{"status":"timeout","msg":"timeout"})"), std::string::npos) << out[0];
  EXPECT_EQ(out[1].find("error"), std::string::npos) << out[1];
}

TEST(Infer, ClearErrorsForBadSetups) {
  TempDir dir;
  writeAll(dir.file("in.jsonl"), echoLine(0) + "\n");
  const std::string in = dir.file("in.jsonl");
  const std::string out = dir.file("out.jsonl");
  struct Case {
    std::vector<std::string> args;
    int exitCode;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"infer", "-m", "m", "-i", "/nonexistent", "-o", out}, 2, "cannot read /nonexistent"},
      {{"infer", "-m", "m", "-i", in, "-o", "/nonexistent/dir/out"}, 2, "cannot write /nonexistent/dir/out"},
      // grpc is a transport now (tests/e2e/test_grpc_clients.py); anything else is still refused.
      {{"infer", "-m", "m", "-i", in, "-o", out, "-t", "carrier-pigeon"}, 2, "'carrier-pigeon' is not supported"},
      {{"infer", "-m", "m", "-i", in, "-o", out, "--use-ssl"}, 2, "TLS is not supported"},
      {{"infer", "-m", "m", "-i", in, "-o", out, "-w", "0"}, 2, "--workers must be at least 1"},
      {{"infer", "-m", "m", "-i", in, "-o", out, "-H", "nonsense"}, 2, "bad header 'nonsense'"},
      {{"infer", "-i", in, "-o", out}, 106, "--model-name is required"},  // CLI11's own check
      {{"infer", "-u", "http://127.0.0.1:1", "-m", "m", "-i", in, "-o", out, "-r", "0"}, 1, "1 failed"},
  };
  for (const Case& c : cases) {
    const RunOutput r = run(kDriver, c.args, dir.path());
    EXPECT_EQ(r.exitCode, c.exitCode) << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
}

TEST(Infer, TakesOptionsFromTheEnvironmentLikeMLServer) {
  TestServer server({"--mode", "echo"});
  TempDir dir;
  writeAll(dir.file("in.jsonl"), echoLine(0) + "\n");
  // MLSERVER_INFER_* supplies defaults; RINGSERVE_INFER_* overrides them; flags override both.
  setenv("MLSERVER_INFER_URL", "http://127.0.0.1:1", 1);
  setenv("RINGSERVE_INFER_URL", server.url().c_str(), 1);
  setenv("MLSERVER_INFER_MODEL_NAME", "echo", 1);
  setenv("MLSERVER_INFER_INPUT_DATA_PATH", dir.file("in.jsonl").c_str(), 1);
  const RunOutput r = run(kDriver, {"infer", "-o", dir.file("out.jsonl"), "-q"}, dir.path());
  unsetenv("MLSERVER_INFER_URL");
  unsetenv("RINGSERVE_INFER_URL");
  unsetenv("MLSERVER_INFER_MODEL_NAME");
  unsetenv("MLSERVER_INFER_INPUT_DATA_PATH");
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(readAll(dir.file("out.jsonl")).find(R"("id":"line-0")"), std::string::npos);
}
