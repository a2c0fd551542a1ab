// Is bench fast enough not to be the bottleneck? It runs against the trivial single-threaded
// evhttp server (the HTTP ceiling: no IPC, a fixed reply), then wrk runs against the same server
// with the same body and connection count; with RINGSERVE_TEST_URL (and RINGSERVE_TEST_MODEL, e.g.
// the bundled echo) set, bench also drives that ringserve the same way. The rates and their ratios
// (bench / wrk, trivial server / ringserve) are printed and recorded as test properties, not
// asserted: wall-clock rates on a shared machine belong to bench/ (tests/README.md), and both tools
// share the CPUs with the server, so the figures are lower bounds. What the test asserts is that
// every run completes and gets answers. Label `perf`.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include "process_helpers.hpp"

using namespace loadgen_test;

namespace {

double firstNumberAfter(const std::string& text, const std::string& label) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(label + R"(\s+([0-9.]+))"))) return 0;
  return std::stod(m[1]);
}

}  // namespace

TEST(BenchPerf, KeepsUpWithWrkAgainstTheTrivialServer) {
  if (access("/usr/bin/wrk", X_OK) != 0) GTEST_SKIP() << "wrk is not installed";
  TestServer server({"--mode", "fixed"});
  TempDir dir;
  const std::string body = R"({"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP32","data":[0.25,1.25,2.25,3.25]}]})";
  writeAll(dir.file("req.json"), body);
  writeAll(dir.file("post.lua"), "wrk.method = \"POST\"\nwrk.body = '" + body +
                                     "'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");
  const char* secs = std::getenv("LOADGEN_PERF_SECONDS");
  const std::string duration = secs != nullptr ? secs : "3";

  const RunOutput b = run(LOADGEN_DRIVER_PATH,
                          {"bench", "-u", server.url(), "-m", "tiny", "-i", dir.file("req.json"), "-c", "16", "-d",
                           duration, "--warmup", "0.5", "-q"},
                          dir.path());
  ASSERT_EQ(b.exitCode, 0) << b.err;
  const double benchRps = firstNumberAfter(b.out, "requests/s");

  const RunOutput w = run("/usr/bin/wrk",
                          {"-t1", "-c16", "-d" + duration + "s", "--latency", "-s", dir.file("post.lua"),
                           server.url() + "/v2/models/tiny/infer"},
                          dir.path());
  ASSERT_EQ(w.exitCode, 0) << w.err;
  const double wrkRps = firstNumberAfter(w.out, "Requests/sec:");

  std::printf("bench: %.0f requests/s, wrk: %.0f requests/s (bench/wrk %.2f), same trivial server, 16 connections\n",
              benchRps, wrkRps, wrkRps > 0 ? benchRps / wrkRps : 0.0);
  std::printf("%s\n%s\n", b.out.c_str(), w.out.c_str());
  RecordProperty("bench_rps", std::to_string(benchRps));
  RecordProperty("wrk_rps", std::to_string(wrkRps));
  ASSERT_GT(wrkRps, 0);
  EXPECT_GT(benchRps, 0);

  const char* real = std::getenv("RINGSERVE_TEST_URL");
  if (real == nullptr || *real == '\0') return;
  const char* model = std::getenv("RINGSERVE_TEST_MODEL");
  const RunOutput rs = run(LOADGEN_DRIVER_PATH,
                           {"bench", "-u", real, "-m", model != nullptr ? model : "echo", "-i", dir.file("req.json"),
                            "-c", "16", "-d", duration, "--warmup", "0.5", "-q"},
                           dir.path());
  ASSERT_EQ(rs.exitCode, 0) << rs.err;
  const double ringserveRps = firstNumberAfter(rs.out, "requests/s");
  std::printf("bench against ringserve at %s: %.0f requests/s (trivial server / ringserve %.2f)\n%s\n", real,
              ringserveRps, ringserveRps > 0 ? benchRps / ringserveRps : 0.0, rs.out.c_str());
  RecordProperty("ringserve_rps", std::to_string(ringserveRps));
  EXPECT_GT(ringserveRps, 0);
}
