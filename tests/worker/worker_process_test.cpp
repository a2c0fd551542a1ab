// A real ringserve-worker driven over the real transport by a harness playing the supervisor.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <set>

#include <capnp/message.h>

#include "harness.hpp"
#include "transport/frame.hpp"
#include "worker.capnp.h"
#include "schema/version.hpp"

namespace ringserve::testing {
namespace {

using schema::DataType;
using schema::ErrorCode;

ModelArgs echoModel(std::uint32_t handle = 1, std::string name = "echo") {
  ModelArgs m;
  m.handle = handle;
  m.name = std::move(name);
  m.version = "1";
  m.implementation = "echo.EchoRuntime";
  m.settingsJson = R"({"name":"echo","implementation":"echo.EchoRuntime"})";
  return m;
}

TensorData fp32(std::string name, std::vector<float> v) {
  return {std::move(name), DataType::FP32, {static_cast<std::int64_t>(v.size())}, rawPayload(v), ""};
}

// One tensor of every V2 datatype.
std::vector<TensorData> everyDatatype() {
  std::vector<TensorData> t;
  t.push_back({"bool", DataType::BOOL, {4}, rawPayload(std::vector<std::uint8_t>{1, 0, 1, 1}), ""});
  t.push_back({"u8", DataType::UINT8, {2, 2}, rawPayload(std::vector<std::uint8_t>{0, 1, 254, 255}), ""});
  t.push_back({"u16", DataType::UINT16, {2}, rawPayload(std::vector<std::uint16_t>{1, 65535}), ""});
  t.push_back({"u32", DataType::UINT32, {2}, rawPayload(std::vector<std::uint32_t>{1, 4000000000u}), ""});
  t.push_back({"u64", DataType::UINT64, {1}, rawPayload(std::vector<std::uint64_t>{1ULL << 63}), ""});
  t.push_back({"i8", DataType::INT8, {2}, rawPayload(std::vector<std::int8_t>{-128, 127}), ""});
  t.push_back({"i16", DataType::INT16, {2}, rawPayload(std::vector<std::int16_t>{-32768, 7}), ""});
  t.push_back({"i32", DataType::INT32, {3}, rawPayload(std::vector<std::int32_t>{-1, 0, 1}), ""});
  t.push_back({"i64", DataType::INT64, {1, 2}, rawPayload(std::vector<std::int64_t>{-5, 1LL << 40}), ""});
  t.push_back({"f16", DataType::FP16, {2}, rawPayload(std::vector<std::uint16_t>{0x3c00, 0xc000}), ""});  // 1, -2
  t.push_back({"bf16", DataType::BF16, {2}, rawPayload(std::vector<std::uint16_t>{0x3f80, 0x4049}), ""});
  t.push_back({"f32", DataType::FP32, {2, 1}, rawPayload(std::vector<float>{1.5f, -2.25f}), ""});
  t.push_back({"f64", DataType::FP64, {1}, rawPayload(std::vector<double>{3.141592653589793}), ""});
  t.push_back({"bytes", DataType::BYTES, {3}, bytesPayload({"hello", "", "w\xc3\xb6rld"}),
               R"({"content_type":"str","binary_data_size":23})"});
  t.push_back({"empty", DataType::FP32, {0, 3}, {}, ""});
  return t;
}

std::set<std::string> devShmEntries() {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/dev/shm", ec)) out.insert(e.path().filename().string());
  return out;
}

TEST(WorkerProcess, HelloCarriesEveryVersionAndThePid) {
  WorkerHarness w;
  const auto& h = w.hello();
  EXPECT_EQ(h.getProtocolMajor(), kProtocolMajor);
  EXPECT_EQ(h.getProtocolMinor(), kProtocolMinor);
  EXPECT_EQ(h.getShmLayoutVersion(), kShmLayoutVersion);
  EXPECT_EQ(h.getSchemaId(), kWorkerSchemaId);
  EXPECT_STREQ(h.getWorkerVersion().cStr(), buildVersion());
  EXPECT_EQ(static_cast<pid_t>(h.getPid()), w.pid());
  EXPECT_EQ(h.getSdkAbiMajor(), kSdkAbiMajor);
  EXPECT_EQ(h.getSdkAbiMinor(), kSdkAbiMinor);
  EXPECT_STREQ(h.getRefusal().cStr(), "");
  EXPECT_EQ(w.segment().header().worker_pid, static_cast<std::uint32_t>(w.pid()));
}

TEST(WorkerProcess, RefusesASegmentWhoseHeaderDoesNotMatchAndExits2) {
  HarnessOptions o;
  o.corruptMagic = true;
  WorkerHarness w(o);
  EXPECT_NE(std::string(w.hello().getRefusal().cStr()).find("bad magic"), std::string::npos) << w.hello().getRefusal().cStr();
  const int st = w.waitExit();
  ASSERT_TRUE(WIFEXITED(st)) << WorkerHarness::describe(st);
  EXPECT_EQ(WEXITSTATUS(st), 2);
}

TEST(WorkerProcess, EchoesEveryDatatypeUnchanged) {
  WorkerHarness w;
  const auto loaded = w.load(echoModel());
  ASSERT_TRUE(loaded.ok) << loaded.message;
  const auto inputs = everyDatatype();
  const auto r = w.infer(1, inputs);
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.modelName, "echo");
  EXPECT_EQ(r.modelVersion, "1");
  EXPECT_EQ(r.id, "req");
  ASSERT_EQ(r.outputs.size(), inputs.size());
  for (const auto& in : inputs) {
    const TensorData* out = r.output(in.name);
    ASSERT_NE(out, nullptr) << in.name;
    EXPECT_EQ(out->datatype, in.datatype) << in.name;
    EXPECT_EQ(out->shape, in.shape) << in.name;
    EXPECT_EQ(out->data, in.data) << in.name;
    EXPECT_EQ(out->parametersJson, in.parametersJson.empty() ? "" : R"({"content_type":"str"})") << in.name;
  }
}

TEST(WorkerProcess, EchoReturnsXHeadersOnlyWhenAsked) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(echoModel()).ok);
  const std::string params = R"({"headers":{"x-trace-id":"abc","content-length":"12"},"echo_headers":true})";
  const auto asked = w.infer(1, {fp32("a", {1})}, params);
  ASSERT_TRUE(asked.ok) << asked.message;
  EXPECT_EQ(asked.parametersJson, R"({"headers":{"x-trace-id":"abc"}})");
  const auto notAsked = w.infer(1, {fp32("a", {1})}, R"({"headers":{"x-trace-id":"abc"}})");
  ASSERT_TRUE(notAsked.ok);
  EXPECT_EQ(notAsked.parametersJson, "");
}

TEST(WorkerProcess, OnlyRequestedOutputsAreReturned) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(echoModel()).ok);
  const auto r = w.infer(1, {fp32("a", {1}), fp32("b", {2})}, "", {"b"});
  ASSERT_TRUE(r.ok) << r.message;
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].name, "b");
}

TEST(WorkerProcess, UnloadThenReloadUnderANewHandle) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(echoModel(1)).ok);
  ASSERT_TRUE(w.infer(1, {fp32("a", {1})}).ok);
  const auto u = w.unload(1);
  ASSERT_TRUE(u.ok) << u.message;
  const auto gone = w.infer(1, {fp32("a", {1})});
  EXPECT_FALSE(gone.ok);
  EXPECT_EQ(gone.code, ErrorCode::NOT_FOUND);
  EXPECT_NE(gone.message.find("model handle 1 is not loaded"), std::string::npos) << gone.message;
  ASSERT_TRUE(w.load(echoModel(2)).ok);
  EXPECT_TRUE(w.infer(2, {fp32("a", {1})}).ok);
  const auto again = w.unload(1);
  EXPECT_FALSE(again.ok);
  EXPECT_EQ(again.code, ErrorCode::NOT_FOUND);
}

TEST(WorkerProcess, SeveralModelsAndADuplicateHandle) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(echoModel(1, "first")).ok);
  ASSERT_TRUE(w.load(echoModel(2, "second")).ok);
  const auto dup = w.load(echoModel(2, "third"));
  EXPECT_FALSE(dup.ok);
  EXPECT_NE(dup.message.find("already loaded"), std::string::npos);
  EXPECT_EQ(w.infer(1, {fp32("a", {1})}).modelName, "first");
  EXPECT_EQ(w.infer(2, {fp32("a", {1})}).modelName, "second");
}

TEST(WorkerProcess, MalformedInputsAreBadInput) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(echoModel()).ok);
  TensorData shortData = fp32("a", {1, 2});
  shortData.shape = {3};
  auto r = w.infer(1, {shortData});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::BAD_INPUT);
  EXPECT_NE(r.message.find("input 'a': shape [3] of FP32 needs 12 bytes, got 8"), std::string::npos) << r.message;

  TensorData bytes{"s", DataType::BYTES, {3}, bytesPayload({"a", "b"}), ""};
  r = w.infer(1, {bytes});
  EXPECT_EQ(r.code, ErrorCode::BAD_INPUT);
  EXPECT_NE(r.message.find("needs 3 elements, got 2"), std::string::npos) << r.message;

  TensorData truncated{"s", DataType::BYTES, {1}, bytesPayload({"abc"}), ""};
  truncated.data.pop_back();
  r = w.infer(1, {truncated});
  EXPECT_EQ(r.code, ErrorCode::BAD_INPUT);
  EXPECT_NE(r.message.find("runs past the tensor"), std::string::npos) << r.message;

  TensorData negative = fp32("a", {1});
  negative.shape = {-1};
  r = w.infer(1, {negative});
  EXPECT_EQ(r.code, ErrorCode::BAD_INPUT);
  EXPECT_TRUE(w.infer(1, {fp32("a", {1})}).ok) << "the worker keeps serving";
}

// Posts a hand-made `infer` descriptor for `frame` (copied into the lane's request arena), or
// for an offset outside the arena when `frame` is empty, and returns the worker's answer.
InferOutcome postFrame(WorkerHarness& w, const std::vector<std::byte>& frame, std::uint32_t kind = 0) {
  auto& lane = w.lane(0);
  transport::Descriptor d{};
  d.kind = kind != 0 ? kind : static_cast<std::uint32_t>(transport::DescriptorKind::infer);
  d.tag = 1000 + frame.size();
  if (frame.empty()) {
    d.frame_offset = w.segment().size() + 64;
    d.frame_size = 64;
  } else {
    auto block = lane.allocate(frame.size());
    EXPECT_TRUE(block.ok());
    std::memcpy(lane.at(block.value()), frame.data(), frame.size());
    d.frame_offset = block.value();
    d.frame_size = frame.size();
  }
  EXPECT_TRUE(lane.post(d));
  lane.flush();
  return w.awaitResponse();
}

// A request frame for handle 1 whose pointer section (id, parameters, inputs, ...) points far
// outside the message: the root opens, the model is found, and reading the inputs fails.
std::vector<std::byte> frameWithLyingPointers() {
  capnp::MallocMessageBuilder b;
  auto req = b.initRoot<schema::InferRequest>();
  req.setModelHandle(1);
  req.setId("lying");
  req.initInputs(1)[0].setName("a");
  std::vector<std::byte> bytes(transport::frameSize(b));
  transport::writeFrame(b, bytes);
  std::uint64_t root = 0;
  std::memcpy(&root, bytes.data() + 8, 8);  // after the one-segment table
  const auto offset = static_cast<std::int32_t>(static_cast<std::uint32_t>(root) & ~3u) >> 2;
  const std::uint64_t dataWords = (root >> 32) & 0xffff, pointers = root >> 48;
  const std::size_t first = 8 + 8 * static_cast<std::size_t>(1 + offset + static_cast<std::int64_t>(dataWords));
  const std::uint64_t outOfBounds = std::uint64_t{0x1fffff00} << 2;  // a struct pointer 512M words on
  for (std::uint64_t k = 0; k < pointers; ++k) std::memcpy(bytes.data() + first + 8 * k, &outOfBounds, 8);
  return bytes;
}

TEST(WorkerProcess, FramesThatLieAreBadInputAndTheWorkerKeepsServing) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(echoModel()).ok);
  auto r = postFrame(w, {});
  EXPECT_EQ(r.code, ErrorCode::BAD_INPUT);
  EXPECT_NE(r.message.find("malformed request frame"), std::string::npos) << r.message;

  r = postFrame(w, std::vector<std::byte>(64, std::byte{0xff}));
  EXPECT_EQ(r.code, ErrorCode::BAD_INPUT);
  EXPECT_NE(r.message.find("malformed request frame"), std::string::npos) << r.message;

  r = postFrame(w, frameWithLyingPointers());
  EXPECT_EQ(r.code, ErrorCode::BAD_INPUT);
  EXPECT_NE(r.message.find("malformed frame"), std::string::npos) << r.message;

  r = postFrame(w, std::vector<std::byte>(16), 99);
  EXPECT_EQ(r.code, ErrorCode::BAD_INPUT);
  EXPECT_NE(r.message.find("unknown descriptor kind 99"), std::string::npos) << r.message;

  EXPECT_TRUE(w.infer(1, {fp32("a", {1})}).ok) << "the worker keeps serving";
}

TEST(WorkerProcess, PipelinedRequestsOnTwoLanesAllComeBack) {
  HarnessOptions o;
  o.lanes = 2;
  WorkerHarness w(o);
  ASSERT_TRUE(w.load(echoModel()).ok);
  constexpr int kPerLane = 16;
  for (std::uint32_t lane = 0; lane < 2; ++lane) {
    for (int i = 0; i < kPerLane; ++i) w.post(1, {fp32("x", {static_cast<float>(lane * 100 + i)})}, "", {}, lane);
    w.flush(lane);
  }
  for (std::uint32_t lane = 0; lane < 2; ++lane) {
    std::set<float> seen;
    for (int i = 0; i < kPerLane; ++i) {
      const auto r = w.awaitResponse(lane);
      ASSERT_TRUE(r.ok) << r.message;
      float v = 0;
      std::memcpy(&v, r.outputs.at(0).data.data(), 4);
      seen.insert(v);
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kPerLane));
    EXPECT_EQ(*seen.begin(), static_cast<float>(lane * 100));
  }
}

TEST(WorkerProcess, ResponseArenaFullIsAClearErrorAndReleaseFreesIt) {
  HarnessOptions o;
  o.shmSize = 256 << 10;  // 128 KiB of responses
  WorkerHarness w(o);
  ASSERT_TRUE(w.load(echoModel()).ok);
  const TensorData big{"big", DataType::UINT8, {80 << 10}, std::vector<std::byte>(80 << 10), ""};
  std::uint64_t firstTag = 0;
  w.post(1, {big});
  w.flush();
  const auto first = w.awaitResponse(0, /*release=*/false, &firstTag);
  ASSERT_TRUE(first.ok) << first.message;
  const auto second = w.infer(1, {big});
  EXPECT_FALSE(second.ok);
  EXPECT_EQ(second.code, ErrorCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(second.message.find("shm_size"), std::string::npos) << second.message;
  w.releaseTag(firstTag);
  EXPECT_TRUE(w.infer(1, {big}).ok) << "released blocks are reused";
}

TEST(WorkerProcess, HeartbeatReportsServedAndCustomMetrics) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(echoModel()).ok);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(w.infer(1, {fp32("a", {1})}).ok);
  auto f = w.awaitReply(w.sendHeartbeat());
  ASSERT_TRUE(f);
  auto root = f->root<schema::FromWorker>().value();
  ASSERT_TRUE(root.isHeartbeat());
  auto hb = root.getHeartbeat();
  EXPECT_EQ(hb.getServed(), 3u);
  EXPECT_GT(hb.getRssBytes(), 0u);
  bool found = false;
  for (auto m : hb.getMetrics()) {
    if (std::string(m.getName().cStr()) != "echo_requests_total") continue;
    found = true;
    EXPECT_EQ(m.getKind(), schema::MetricSample::Kind::COUNTER);
    EXPECT_STREQ(m.getModelName().cStr(), "echo");
    EXPECT_STREQ(m.getModelVersion().cStr(), "1");
    EXPECT_EQ(m.getValue(), 3.0);
  }
  EXPECT_TRUE(found);
}

TEST(WorkerProcess, UnsolicitedHeartbeatsArrive) {
  HarnessOptions o;
  o.heartbeatMs = 20;
  WorkerHarness w(o);
  auto f = w.awaitReply(0);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->root<schema::FromWorker>().value().isHeartbeat());
}

TEST(WorkerProcess, ShutdownAnswersQueuedRequestsThenExits0) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(echoModel()).ok);
  for (int i = 0; i < 4; ++i) w.post(1, {fp32("a", {static_cast<float>(i)})});
  w.flush();
  w.sendShutdown();
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(w.awaitResponse(0, false).ok);
  const int st = w.waitExit();
  ASSERT_TRUE(WIFEXITED(st)) << WorkerHarness::describe(st);
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

TEST(WorkerProcess, ExitsWhenTheControlChannelCloses) {
  HarnessOptions o;
  o.seqpacket = false;  // and the SOCK_STREAM flavour of the channel works too
  WorkerHarness w(o);
  ASSERT_TRUE(w.load(echoModel()).ok);
  ASSERT_TRUE(w.infer(1, {fp32("a", {1})}).ok);
  w.closeControl();  // what the supervisor's death looks like on the channel
  const int st = w.waitExit();
  ASSERT_TRUE(WIFEXITED(st)) << WorkerHarness::describe(st);
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

// Base address of the worker's mapping of the segment, from /proc/<pid>/maps.
std::uint64_t segmentBaseIn(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.find("memfd:rs-test") != std::string::npos) return std::stoull(line.substr(0, line.find('-')), nullptr, 16);
  return 0;
}

TEST(WorkerProcess, TensorsReachPredictAndComeBackWithoutACopy) {
  WorkerHarness w;
  ModelArgs m;
  m.implementation = "faulty.AddressProbe";
  ASSERT_TRUE(w.load(m).ok);
  const std::uint64_t base = segmentBaseIn(w.pid());
  ASSERT_NE(base, 0u);
  const auto r = w.infer(1, {fp32("x", {1, 2, 3})});
  ASSERT_TRUE(r.ok) << r.message;
  std::uint64_t addr[2];
  std::memcpy(addr, r.output("addresses")->data.data(), sizeof addr);
  // The runtime read the input where the supervisor wrote it, and wrote its output where the
  // supervisor reads it: zero copies in the worker.
  EXPECT_EQ(addr[0], base + w.lastInputOffsets().at(0));
  EXPECT_EQ(addr[1], base + r.output("addresses")->offset);
}

TEST(WorkerProcess, ARebuiltPluginIsPickedUpAfterItsModelsAreUnloaded) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / ("swap-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(fs::path(testRuntimeDir()) / "faulty.so", dir / "swap.so", fs::copy_options::overwrite_existing);
  WorkerHarness w;
  ModelArgs m;
  m.implementation = "swap.ThrowsInPredict";
  m.searchPath = {dir.string()};
  ASSERT_TRUE(w.load(m).ok);
  EXPECT_FALSE(w.infer(1, {fp32("a", {1})}).ok);
  ASSERT_TRUE(w.unload(1).ok);
  // "Rebuild": a new file at the same path (as a compiler's output replaces the old one).
  fs::remove(dir / "swap.so");
  fs::copy_file(fs::path(builtinRuntimeDir()) / "echo.so", dir / "swap.so");
  m.handle = 2;
  m.implementation = "swap.EchoRuntime";
  const auto l = w.load(m);
  ASSERT_TRUE(l.ok) << l.message;
  EXPECT_TRUE(w.infer(2, {fp32("a", {1})}).ok);
  fs::remove_all(dir);
}

TEST(WorkerProcess, DiesWithItsParent) {
  // An intermediate process plays the supervisor, starts a worker, reports its pid and dies
  // without any clean-up; PR_SET_PDEATHSIG must take the worker down with it.
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  const pid_t middle = ::fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    ::close(pipefd[0]);
    auto* w = new WorkerHarness();  // never destroyed: the process just vanishes
    const pid_t worker = w->pid();
    if (::write(pipefd[1], &worker, sizeof worker) != sizeof worker) ::_exit(1);
    ::_exit(0);
  }
  ::close(pipefd[1]);
  pid_t worker = 0;
  ASSERT_EQ(::read(pipefd[0], &worker, sizeof worker), static_cast<ssize_t>(sizeof worker));
  ::close(pipefd[0]);
  int st = 0;
  ASSERT_EQ(::waitpid(middle, &st, 0), middle);
  // Dead = gone, or a zombie nobody reaps (an orphan's new parent may not be a reaping init).
  auto dead = [worker] {
    if (::kill(worker, 0) != 0 && errno == ESRCH) return true;
    std::ifstream stat("/proc/" + std::to_string(worker) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && (line[close + 2] == 'Z' || line[close + 2] == 'X');
  };
  bool gone = false;
  for (int i = 0; i < 6000 && !gone; ++i) {  // bounded wait, no timing expectation
    gone = dead();
    if (!gone) ::usleep(10000);
  }
  EXPECT_TRUE(gone) << "worker " << worker << " outlived its parent";
}

TEST(WorkerProcess, LoadOfOneModelDoesNotStallInferenceOfAnother) {
  WorkerHarness w;
  ASSERT_TRUE(w.load(echoModel(1)).ok);
  const std::string release = ::testing::TempDir() + "release-" + std::to_string(::getpid());
  std::remove(release.c_str());
  ModelArgs slow;
  slow.handle = 2;
  slow.name = "slow";
  slow.implementation = "faulty.WaitsInLoad";
  slow.settingsJson = R"({"parameters":{"extra":{"release_file":")" + release + R"("}}})";
  const auto loadId = w.sendLoad(slow);
  // The load is blocked until the file exists; inference on model 1 still answers.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(w.infer(1, {fp32("a", {1})}).ok);
  // ... and so do heartbeats on the control channel.
  EXPECT_TRUE(w.awaitReply(w.sendHeartbeat()));
  std::ofstream(release) << "go";
  auto f = w.awaitReply(loadId);
  ASSERT_TRUE(f);
  EXPECT_TRUE(WorkerHarness::outcomeOf(*f).ok);
  std::remove(release.c_str());
}

TEST(WorkerProcess, ASegfaultingRuntimeKillsOnlyItsWorkerAndTheHarnessSeesHow) {
  const auto before = devShmEntries();
  {
    WorkerHarness w;
    ModelArgs m;
    m.implementation = "faulty.Segfaults";
    ASSERT_TRUE(w.load(m).ok);
    w.post(1, {fp32("a", {1})});
    w.flush();
    const int st = w.waitExit();
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // The sanitizers catch SEGV, report, then abort or exit non-zero.
    EXPECT_FALSE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << WorkerHarness::describe(st);
#else
    ASSERT_TRUE(WIFSIGNALED(st)) << WorkerHarness::describe(st);
    EXPECT_EQ(WTERMSIG(st), SIGSEGV);
    EXPECT_EQ(WorkerHarness::describe(st), "killed by signal 11 (Segmentation fault)");
#endif
  }
  // The segment is an anonymous memfd: nothing named is left in /dev/shm.
  EXPECT_EQ(devShmEntries(), before);
  WorkerHarness next;  // another worker starts fine
  EXPECT_STREQ(next.hello().getRefusal().cStr(), "");
}

}  // namespace
}  // namespace ringserve::testing
