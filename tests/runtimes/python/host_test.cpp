// The Python host's C++ half (runtimes/python) in a real worker process with the system Python,
// driven through the worker harness. The Python half here is the stand-in of standin/ (the
// protocol of runtimes/python/PROTOCOL.md, nothing of mlserver); models/probe.py holds the
// runtimes. The real package is covered by tests/python and tests/e2e/test_python_envs.py.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "harness.hpp"

namespace ringserve::testing {
namespace {

using schema::DataType;
using schema::ErrorCode;

// The workers inherit this: the stand-in Python half comes first on the host's Python path (the
// real one, in the built-in folder, is never imported), and no __pycache__ lands in the sources.
const bool kEnvironment = [] {
  ::setenv("RINGSERVE_PYTHON_BUILTIN", RINGSERVE_TEST_PY_STANDIN, 1);
  ::setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
  return true;
}();

ModelArgs probe(const std::string& cls, std::uint32_t handle = 1, const std::string& name = "probe") {
  ModelArgs m;
  m.handle = handle;
  m.name = name;
  m.version = "v1";
  m.implementation = "probe." + cls;
  m.settingsJson = R"({"name": ")" + name + R"("})";
  m.modelDir = RINGSERVE_TEST_PY_MODELS;
  m.searchPath = {m.modelDir, builtinRuntimeDir()};
  return m;
}

TensorData fp32(const std::string& name, std::vector<std::int64_t> shape, std::vector<float> v) {
  return {name, DataType::FP32, std::move(shape), rawPayload(v), ""};
}

InferOutcome misbehave(WorkerHarness& w, const std::string& what) {
  return w.infer(1, {fp32("x", {1}, {1})}, R"({"do": ")" + what + R"("})");
}

// [start, end) of the worker's mapping of the shared-memory segment (a memfd) holding `address`.
bool segmentMappingOf(pid_t pid, std::uint64_t address, std::uint64_t& start) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.find("/memfd:") == std::string::npos) continue;
    std::uint64_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) == 2 && address >= lo && address < hi) {
      start = lo;
      return true;
    }
  }
  return false;
}

TEST(PythonHost, InputsAreReadOnlyViewsOntoTheRequestArenaAndOutputsComeBack) {
  WorkerHarness w;
  const auto l = w.load(probe("Echo"));
  ASSERT_TRUE(l.ok) << l.message;
  EXPECT_EQ(l.inputNames, std::vector<std::string>{"x"});
  EXPECT_EQ(l.outputNames, std::vector<std::string>{"y"});
  const std::vector<float> values{1.5f, -2, 3, 4, 5, 6};
  const auto r = w.infer(1, {fp32("x", {2, 3}, values)}, R"({"headers":{"x-a":"1"}})");
  ASSERT_TRUE(r.ok) << r.message;
  const TensorData* x = r.output("x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->datatype, DataType::FP32);
  EXPECT_EQ(x->shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(x->data, rawPayload(values));
  EXPECT_EQ(r.parametersJson, R"({"headers":{"x-a":"1"}})");

  const TensorData* addr = r.output("x_address");
  ASSERT_NE(addr, nullptr);
  std::uint64_t address = 0, start = 0;
  std::memcpy(&address, addr->data.data(), sizeof address);
  ASSERT_TRUE(segmentMappingOf(w.pid(), address, start)) << "numpy's buffer 0x" << std::hex << address
                                                          << " is not in the worker's shared-memory segment";
  EXPECT_EQ(address - start, w.lastInputOffsets().at(0)) << "the view is the request arena block itself";

  const auto bytes = w.infer(1, {{"s", DataType::BYTES, {2}, bytesPayload({"ab", ""}), ""}});
  ASSERT_TRUE(bytes.ok) << bytes.message;
  EXPECT_EQ(bytes.output("s")->data, bytesPayload({"ab", ""}));
  const auto empty = w.infer(1, {fp32("e", {0}, {})});
  ASSERT_TRUE(empty.ok) << empty.message;
  EXPECT_TRUE(empty.output("e")->data.empty());
}

TEST(PythonHost, ErrorsKeepTheirStatusAndTheWorkerKeepsServing) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(probe("Misbehave")).ok);
  const auto status = misbehave(w, "status");
  EXPECT_EQ(status.code, ErrorCode::BAD_INPUT);
  EXPECT_EQ(status.message, "StatusError: bad request from python");
  const auto plain = misbehave(w, "raise");
  EXPECT_EQ(plain.code, ErrorCode::INTERNAL);
  EXPECT_EQ(plain.message, "ValueError: plain failure") << "the Python half words it; the worker adds nothing";
  for (const char* what : {"exit", "interrupt"}) {
    const auto r = misbehave(w, what);
    EXPECT_EQ(r.code, ErrorCode::INTERNAL) << what;
    EXPECT_FALSE(r.ok) << what;
  }
  const auto dtype = misbehave(w, "bad_dtype");
  EXPECT_EQ(dtype.code, ErrorCode::INTERNAL);
  EXPECT_NE(dtype.message.find("'FP33' is not a V2 datatype"), std::string::npos) << dtype.message;
  const auto huge = misbehave(w, "huge");
  EXPECT_EQ(huge.code, ErrorCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(huge.message.find("shm_size"), std::string::npos) << huge.message;
  ASSERT_TRUE(misbehave(w, "keep").ok);
  const auto kept = misbehave(w, "use_kept");
  EXPECT_NE(kept.message.find("released memoryview"), std::string::npos) << kept.message;
  const auto fine = misbehave(w, "");
  ASSERT_TRUE(fine.ok) << fine.message;
  EXPECT_EQ(fine.output("y")->data, rawPayload(std::vector<float>{1}));
}

TEST(PythonHost, OsExitEndsTheWorkerLikeAnyCrash) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(probe("Misbehave")).ok);
  w.post(1, {fp32("x", {1}, {1})}, R"({"do": "os_exit"})");
  w.flush();
  const int st = w.waitExit();
  ASSERT_TRUE(WIFEXITED(st)) << WorkerHarness::describe(st);
  EXPECT_EQ(WEXITSTATUS(st), 7);
}

TEST(PythonHost, LoadFailuresAndFalsyLoadLeaveNoModel) {
  WorkerHarness w;
  const auto notReady = w.load(probe("NotReady"));
  EXPECT_FALSE(notReady.ok);
  EXPECT_NE(notReady.message.find("load() returned a falsy value; the model is not ready"), std::string::npos)
      << notReady.message;
  const auto fails = w.load(probe("FailsLoad", 2));
  EXPECT_FALSE(fails.ok);
  EXPECT_NE(fails.message.find("RuntimeError: cannot open weights"), std::string::npos) << fails.message;
  const auto noClass = w.load(probe("Nope", 3));
  EXPECT_FALSE(noClass.ok);
  EXPECT_NE(noClass.message.find("Nope"), std::string::npos) << noClass.message;
  ModelArgs missing = probe("X", 4);
  missing.implementation = "nomodule.X";
  const auto miss = w.load(missing);
  EXPECT_EQ(miss.code, ErrorCode::NOT_FOUND);
  for (const std::string f : {"/nomodule.so", "/nomodule.py", "/nomodule/__init__.py"})
    EXPECT_NE(miss.message.find(std::string(RINGSERVE_TEST_PY_MODELS) + f), std::string::npos) << miss.message;
  EXPECT_EQ(w.infer(1, {fp32("x", {1}, {1})}).code, ErrorCode::NOT_FOUND) << "the not-ready model is not loaded";
  ASSERT_TRUE(w.load(probe("Echo", 5)).ok) << "the interpreter still serves after failed loads";
  EXPECT_TRUE(w.infer(5, {fp32("x", {1}, {1})}).ok);
}

TEST(PythonHost, MetricsReachTheHeartbeatWithTheModelsLabels) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(probe("Misbehave", 1, "metered")).ok);
  ASSERT_TRUE(misbehave(w, "metric").ok);
  ASSERT_TRUE(misbehave(w, "log").ok);
  auto f = w.awaitReply(w.sendHeartbeat());
  ASSERT_TRUE(f);
  auto hb = f->root<schema::FromWorker>().value().getHeartbeat();
  bool counter = false, histogram = false;
  for (auto m : hb.getMetrics()) {
    const std::string name = m.getName().cStr();
    if (name != "py_calls_total" && name != "py_latency") continue;
    EXPECT_STREQ(m.getModelName().cStr(), "metered");
    EXPECT_STREQ(m.getModelVersion().cStr(), "v1");
    if (name == "py_calls_total") {
      counter = true;
      EXPECT_EQ(m.getKind(), schema::MetricSample::Kind::COUNTER);
      EXPECT_EQ(m.getValue(), 2.0);
    } else {
      histogram = true;
      EXPECT_EQ(m.getKind(), schema::MetricSample::Kind::HISTOGRAM);
    }
  }
  EXPECT_TRUE(counter);
  EXPECT_TRUE(histogram);
}

TEST(PythonHost, ModelsShareTheInterpreterAndUnloadRunsPython) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(probe("Echo", 1, "a")).ok);
  ASSERT_TRUE(w.load(probe("Echo", 2, "b")).ok);
  EXPECT_TRUE(w.infer(1, {fp32("x", {1}, {1})}).ok);
  EXPECT_TRUE(w.infer(2, {fp32("x", {1}, {2})}).ok);
  EXPECT_TRUE(w.unload(1).ok);
  EXPECT_TRUE(w.infer(2, {fp32("x", {1}, {3})}).ok);
  EXPECT_TRUE(w.unload(2).ok);
  ASSERT_TRUE(w.load(probe("Echo", 3, "c")).ok) << "the host comes back after its last model went";
  EXPECT_TRUE(w.infer(3, {fp32("x", {1}, {4})}).ok);
}

// A clean exit with the interpreter still alive (it is never finalised): under ASan this is where
// LeakSanitizer judges the process (tests/sanitizers/lsan.supp holds CPython's own leaks).
TEST(PythonHost, ShutdownWithPythonModelsExitsZero) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(probe("Echo")).ok);
  ASSERT_TRUE(w.load(probe("Misbehave", 2, "other")).ok);
  EXPECT_TRUE(w.infer(1, {fp32("x", {1}, {1})}).ok);
  EXPECT_FALSE(w.infer(2, {fp32("x", {1}, {1})}, R"({"do": "raise"})").ok);
  w.sendShutdown();
  const int st = w.waitExit();
  ASSERT_TRUE(WIFEXITED(st)) << WorkerHarness::describe(st);
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

}  // namespace
}  // namespace ringserve::testing
