// WorkerProcess against the fake worker: spawn, handshake checks, control requests, death
// detection, stop, and what the child inherits.
#include "supervisor/process/worker_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include "../fd_exhaustion.hpp"
#include "worker_harness.hpp"

namespace ringserve::supervisor::test {
namespace {

using namespace std::chrono_literals;

struct Spawned {
  Loop loop;
  Recorder rec;
  std::unique_ptr<WorkerProcess> worker;
};

std::unique_ptr<Spawned> start(WorkerLaunch launch) {
  auto s = std::make_unique<Spawned>();
  auto w = WorkerProcess::spawn(s->loop.base(), std::move(launch), s->rec.events());
  EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error().message);
  if (w.ok()) s->worker = std::move(w.value());
  return s;
}

std::unique_ptr<Spawned> startReady(WorkerLaunch launch) {
  auto s = start(std::move(launch));
  if (s->worker) {
    EXPECT_TRUE(s->loop.runUntil([&] { return s->rec.ready || s->rec.exit; }));
    EXPECT_TRUE(s->rec.ready.has_value()) << (s->rec.exit ? s->rec.exit->reason : "");
  }
  return s;
}

// Sends a load request and runs the loop until it is answered.
Expected<LoadedModel> load(Spawned& s, const std::string& name, std::uint32_t handle = 1) {
  std::optional<Expected<LoadedModel>> result;
  ModelLoadSpec spec;
  spec.handle = handle;
  spec.name = name;
  spec.implementation = "echo.Echo";
  spec.runtimeSearchPath = {"/nowhere"};
  s.worker->loadModel(spec, [&](Expected<LoadedModel> r) { result = std::move(r); });
  EXPECT_TRUE(s.loop.runUntil([&] { return result.has_value(); }));
  if (!result) return internalError("no answer");
  return std::move(*result);
}

// The fake answers "query:..." loads with an error whose message is the answer.
std::string query(Spawned& s, const std::string& what) {
  auto r = load(s, "query:" + what);
  return r.ok() ? "<loaded?>" : r.error().message;
}

TEST(WorkerProcess, HandshakeMakesTheWorkerReady) {
  auto s = startReady(fakeLaunch("ok"));
  ASSERT_TRUE(s->worker);
  EXPECT_EQ(s->worker->state(), WorkerState::ready);
  EXPECT_EQ(s->rec.ready->protocol, kProtocolVersion);
  EXPECT_EQ(s->rec.ready->compatibility, Compatibility::supported);
  EXPECT_EQ(static_cast<int>(s->rec.ready->pid), s->worker->pid());
  EXPECT_EQ(s->rec.ready->workerVersion, std::string("fake-") + buildVersion());
  EXPECT_EQ(s->worker->id(), "default/0");
  EXPECT_EQ(s->worker->shm()->laneCount(), 2u);
  EXPECT_EQ(s->rec.exitCalls, 0);
}

TEST(WorkerProcess, LoadReturnsTheRuntimesMetadata) {
  auto s = startReady(fakeLaunch("ok"));
  ASSERT_TRUE(s->worker);
  auto r = load(*s, "mnist", 42);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->handle, 42u);
  ASSERT_EQ(r->inputs.size(), 1u);
  EXPECT_EQ(r->inputs[0].name, "mnist_in");
  EXPECT_EQ(r->inputs[0].datatype, "FP32");
  EXPECT_EQ(r->inputs[0].shape, (std::vector<std::int64_t>{-1, 4}));
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(r->outputs[0].name, "echo.Echo");
  EXPECT_EQ(s->worker->pendingControlRequests(), 0u);
}

TEST(WorkerProcess, LoadErrorKeepsTheWorkersMessageAndMapsItsCode) {
  auto s = startReady(fakeLaunch("ok"));
  ASSERT_TRUE(s->worker);
  auto r = load(*s, "fail");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::badInput);
  EXPECT_EQ(r.error().message, "cannot load model fail");
}

TEST(WorkerProcess, UnloadAnswersWithTheHandle) {
  auto s = startReady(fakeLaunch("ok"));
  ASSERT_TRUE(s->worker);
  std::optional<Expected<std::uint32_t>> r;
  s->worker->unloadModel(9, [&](Expected<std::uint32_t> x) { r = std::move(x); });
  ASSERT_TRUE(s->loop.runUntil([&] { return r.has_value(); }));
  ASSERT_TRUE(r->ok());
  EXPECT_EQ(r->value(), 9u);
}

TEST(WorkerProcess, ConcurrentRequestsAreMatchedById) {
  auto s = startReady(fakeLaunch("ok"));
  ASSERT_TRUE(s->worker);
  std::vector<std::uint32_t> handles;
  for (std::uint32_t h = 1; h <= 5; ++h) {
    ModelLoadSpec spec;
    spec.handle = h;
    spec.name = "m" + std::to_string(h);
    s->worker->loadModel(spec, [&handles, h](Expected<LoadedModel> r) {
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->handle, h);
      EXPECT_EQ(r->inputs.at(0).name, "m" + std::to_string(h) + "_in");
      handles.push_back(h);
    });
  }
  EXPECT_EQ(s->worker->pendingControlRequests(), 5u);
  ASSERT_TRUE(s->loop.runUntil([&] { return handles.size() == 5; }));
}

TEST(WorkerProcess, RequestsBeforeReadyFailAtOnceWith503) {
  auto s = start(fakeLaunch("silent"));
  ASSERT_TRUE(s->worker);
  std::optional<Expected<LoadedModel>> r;
  s->worker->loadModel(ModelLoadSpec{}, [&](Expected<LoadedModel> x) { r = std::move(x); });
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->error().kind, ErrorKind::unavailable);
  EXPECT_NE(r->error().message.find("worker default/0 (environment sha256:ab12) is starting"), std::string::npos)
      << r->error().message;
}

TEST(WorkerProcess, TheChildInheritsExactlyTheContractsFds) {
  // 0-2, then shm, control, and one eventfd per lane renumbered from 3: nothing else leaks in,
  // not even the fds this test process holds (its own event loop, other workers' segments).
  auto other = startReady(fakeLaunch("ok", 1));
  auto s = startReady(fakeLaunch("ok", 3));
  ASSERT_TRUE(s->worker);
  EXPECT_EQ(query(*s, "fds"), "0,1,2,3,4,5,6,7");
}

TEST(WorkerProcess, IgnoredSignalsAreNotPassedOn) {
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old);
  auto s = startReady(fakeLaunch("ok"));
  ::sigaction(SIGPIPE, &old, nullptr);
  ASSERT_TRUE(s->worker);
  EXPECT_EQ(query(*s, "sigpipe"), "default");
}

TEST(WorkerProcess, ExtraEnvironmentReachesTheWorker) {
  ::setenv("RINGSERVE_TEST_INHERITED", "from-parent", 1);
  ::setenv("RINGSERVE_TEST_REPLACED", "old", 1);
  auto launch = fakeLaunch("ok");
  launch.extraEnv = {{"LD_LIBRARY_PATH", "/env/lib"}, {"RINGSERVE_TEST_REPLACED", "new"}};
  auto s = startReady(launch);
  ASSERT_TRUE(s->worker);
  EXPECT_EQ(query(*s, "env:LD_LIBRARY_PATH"), "/env/lib");
  EXPECT_EQ(query(*s, "env:RINGSERVE_TEST_REPLACED"), "new");
  EXPECT_EQ(query(*s, "env:RINGSERVE_TEST_INHERITED"), "from-parent");
}

TEST(WorkerProcess, CpuPinningAppliesInTheChild) {
  cpu_set_t mine;
  ASSERT_EQ(::sched_getaffinity(0, sizeof mine, &mine), 0);
  int last = -1;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &mine)) last = c;
  auto launch = fakeLaunch("ok");
  launch.cpu = last;
  auto s = startReady(launch);
  ASSERT_TRUE(s->worker);
  EXPECT_EQ(query(*s, "cpus"), std::to_string(last));
}

TEST(WorkerProcess, PinningToAMissingCpuIsASpawnError) {
  Loop loop;
  auto launch = fakeLaunch("ok");
  launch.cpu = CPU_SETSIZE + 5;
  auto w = WorkerProcess::spawn(loop.base(), launch, {});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find("does not exist"), std::string::npos) << w.error().message;
}

TEST(WorkerProcess, SpawningWithoutFreeDescriptorsIsTheSupervisorsOwnResources) {
  const int before = countSegmentFds();
  Loop loop;
  auto launch = fakeLaunch("ok");
  {
    testing::FdExhaustion exhausted;
    auto w = WorkerProcess::spawn(loop.base(), launch, {});
    ASSERT_FALSE(w.ok());
    EXPECT_TRUE(w.error().ownResources) << w.error().message;
    EXPECT_NE(w.error().message.find("Too many open files"), std::string::npos) << w.error().message;
  }
  EXPECT_EQ(countSegmentFds(), before) << "nothing half-made is left open";
  auto w = WorkerProcess::spawn(loop.base(), launch, {});
  EXPECT_TRUE(w.ok()) << "descriptors are back: the same launch starts";
}

TEST(WorkerProcess, AMissingExecutableIsASpawnErrorNamingIt) {
  const int before = countSegmentFds();
  Loop loop;
  auto launch = fakeLaunch("ok");
  launch.executable = "/nonexistent/ringserve-worker";
  auto w = WorkerProcess::spawn(loop.base(), launch, {});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().message,
            "cannot start worker default/0 (environment sha256:ab12): exec /nonexistent/ringserve-worker: "
            "No such file or directory");
  EXPECT_FALSE(w.error().ownResources) << "a missing binary is the launch's fault";
  EXPECT_EQ(countSegmentFds(), before);
}

TEST(WorkerProcess, ALaunchWithoutExecutableIsRefused) {
  Loop loop;
  auto launch = fakeLaunch("ok");
  launch.executable.clear();
  auto w = WorkerProcess::spawn(loop.base(), launch, {});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().message, "cannot start worker default/0 (environment sha256:ab12): no worker executable given");
}

TEST(WorkerProcess, ALaunchWithoutLanesIsRefused) {
  const int before = countSegmentFds();
  Loop loop;
  auto launch = fakeLaunch("ok");
  launch.segment.lane_count = 0;
  auto w = WorkerProcess::spawn(loop.base(), launch, {});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().message,
            "cannot start worker default/0 (environment sha256:ab12): shared memory: lane count must be 1..256, not 0");
  EXPECT_EQ(countSegmentFds(), before);
}

TEST(WorkerProcess, ExitBeforeHelloIsAStartupFailureWithItsStatus) {
  auto s = start(fakeLaunch("exit1"));
  ASSERT_TRUE(s->worker);
  ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
  EXPECT_EQ(s->rec.exit->reason, "exited with status 1 before its handshake");
  EXPECT_EQ(s->rec.exit->exitStatus, 1);
  EXPECT_TRUE(s->rec.exit->beforeReady);
  EXPECT_FALSE(s->rec.exit->requested);
  EXPECT_FALSE(s->rec.ready.has_value());
  EXPECT_EQ(s->worker->state(), WorkerState::exited);
  EXPECT_TRUE(fullyReaped(s->worker->pid()));
}

TEST(WorkerProcess, DeathBySignalBeforeHelloNamesTheSignal) {
  auto s = start(fakeLaunch("sigkill"));
  ASSERT_TRUE(s->worker);
  ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
  EXPECT_EQ(s->rec.exit->reason, "killed by signal 9 (SIGKILL) before its handshake");
  EXPECT_EQ(s->rec.exit->signal, 9);
}

void expectRefused(const std::string& mode, const std::string& reason) {
  auto s = start(fakeLaunch(mode));
  ASSERT_TRUE(s->worker);
  ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
  EXPECT_EQ(s->rec.exit->reason, reason);
  EXPECT_TRUE(s->rec.exit->incompatible);
  EXPECT_TRUE(s->rec.exit->beforeReady);
  EXPECT_FALSE(s->rec.ready.has_value());
  EXPECT_EQ(s->rec.exitCalls, 1);
  EXPECT_TRUE(fullyReaped(s->worker->pid()));
}

TEST(WorkerProcess, AnotherProtocolMajorIsRefusedNamingBothVersions) {
  expectRefused("protocol2",
                "environment sha256:ab12 runs a worker speaking protocol " +
                    toString(ProtocolVersion{static_cast<std::uint16_t>(kProtocolMajor + 1), kProtocolMinor}) +
                    "; this server speaks " + supportedProtocolRange());
}

TEST(WorkerProcess, AnotherShmLayoutIsRefused) {
  expectRefused("layout", "environment sha256:ab12 runs a worker using shared-memory layout " +
                              std::to_string(kShmLayoutVersion + 1) + "; this server uses layout " +
                              std::to_string(kShmLayoutVersion));
}

TEST(WorkerProcess, AnotherSchemaIsRefused) {
  expectRefused("schema",
                "environment sha256:ab12 runs a worker built from another worker schema "
                "(schema id 0x0000000000001234; this server's is 0xe27029301ee85ef1)");
}

TEST(WorkerProcess, AWorkersOwnRefusalIsReported) {
  expectRefused("refuse", "environment sha256:ab12 worker refused to start: segment header mismatch (test)");
}

TEST(WorkerProcess, ANewerMinorIsAcceptedAsUntested) {
  auto s = startReady(fakeLaunch("untested"));
  ASSERT_TRUE(s->worker);
  EXPECT_EQ(s->rec.ready->compatibility, Compatibility::untested);
  EXPECT_EQ(s->worker->state(), WorkerState::ready);
}

TEST(WorkerProcess, GarbageOnTheChannelKillsTheWorkerWithTheReason) {
  auto s = start(fakeLaunch("garbage"));
  ASSERT_TRUE(s->worker);
  ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
  EXPECT_NE(s->rec.exit->reason.find("worker default/0 (environment sha256:ab12) sent a malformed control"),
            std::string::npos)
      << s->rec.exit->reason;
  EXPECT_EQ(s->rec.exit->signal, SIGKILL);
  EXPECT_TRUE(s->rec.exit->beforeReady);
  EXPECT_FALSE(s->rec.exit->incompatible);
}

TEST(WorkerProcess, AMessageBeforeHelloIsAProtocolViolation) {
  auto s = start(fakeLaunch("heartbeat-first"));
  ASSERT_TRUE(s->worker);
  ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
  EXPECT_EQ(s->rec.exit->reason, "worker default/0 (environment sha256:ab12) did not start with a hello message");
  EXPECT_FALSE(s->rec.ready.has_value());
}

TEST(WorkerProcess, ASilentWorkerIsKilledAfterTheHandshakeTimeout) {
  auto launch = fakeLaunch("silent");
  launch.handshakeTimeout = 200ms;
  auto s = start(launch);
  ASSERT_TRUE(s->worker);
  ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
  EXPECT_EQ(s->rec.exit->reason, "worker default/0 (environment sha256:ab12) sent no handshake within 200 ms");
  EXPECT_TRUE(s->rec.exit->beforeReady);
  EXPECT_TRUE(fullyReaped(s->worker->pid()));
}

TEST(WorkerProcess, AWorkerThatClosesItsChannelButLivesIsKilled) {
  auto s = startReady(fakeLaunch("close-channel"));
  ASSERT_TRUE(s->worker);
  ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
  EXPECT_EQ(s->rec.exit->reason,
            "worker default/0 (environment sha256:ab12) closed its control channel but kept running");
  EXPECT_FALSE(s->rec.exit->beforeReady);
}

TEST(WorkerProcess, KillIsReportedAsSignal9AndRequested) {
  auto s = startReady(fakeLaunch("ok"));
  ASSERT_TRUE(s->worker);
  s->worker->kill();
  ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
  EXPECT_EQ(s->rec.exit->reason, "killed by signal 9 (SIGKILL)");
  EXPECT_TRUE(s->rec.exit->requested);
  EXPECT_FALSE(s->rec.exit->beforeReady);
  EXPECT_EQ(s->rec.exitCalls, 1);
}

TEST(WorkerProcess, AnUnrequestedDeathAfterReadyIsACrash) {
  auto s = startReady(fakeLaunch("ok"));
  ASSERT_TRUE(s->worker);
  // SIGTERM rather than SIGSEGV: a sanitizer build of the fake would catch SIGSEGV and exit 1.
  ::kill(s->worker->pid(), SIGTERM);
  ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
  EXPECT_EQ(s->rec.exit->reason, "killed by signal 15 (SIGTERM)");
  EXPECT_FALSE(s->rec.exit->requested);
  EXPECT_TRUE(fullyReaped(s->worker->pid()));
}

TEST(WorkerProcess, StopLetsTheWorkerExitCleanly) {
  auto s = startReady(fakeLaunch("ok"));
  ASSERT_TRUE(s->worker);
  s->worker->stop(30s);
  EXPECT_EQ(s->worker->state(), WorkerState::stopping);
  ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
  EXPECT_EQ(s->rec.exit->reason, "exited with status 0");
  EXPECT_EQ(s->rec.exit->exitStatus, 0);
  EXPECT_TRUE(s->rec.exit->requested);
}

TEST(WorkerProcess, StopKillsAWorkerThatIgnoresShutdownAfterTheGrace) {
  auto s = startReady(fakeLaunch("ignore-shutdown"));
  ASSERT_TRUE(s->worker);
  s->worker->stop(200ms);
  ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
  EXPECT_EQ(s->rec.exit->reason, "killed by signal 9 (SIGKILL) after not stopping within 200 ms");
  EXPECT_TRUE(s->rec.exit->requested);
}

TEST(WorkerProcess, PendingRequestsFailWith503BeforeOnExit) {
  auto s = startReady(fakeLaunch("ok"));
  ASSERT_TRUE(s->worker);
  std::optional<Expected<LoadedModel>> hung;
  std::optional<Expected<LoadedModel>> crashed;
  bool exitSeenByCallback = true;
  ModelLoadSpec h;
  h.name = "hang";
  s->worker->loadModel(h, [&](Expected<LoadedModel> r) {
    exitSeenByCallback = s->rec.exit.has_value();
    hung = std::move(r);
  });
  ModelLoadSpec c;
  c.name = "crash";
  s->worker->loadModel(c, [&](Expected<LoadedModel> r) { crashed = std::move(r); });
  ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
  ASSERT_TRUE(hung.has_value() && crashed.has_value());
  EXPECT_FALSE(exitSeenByCallback);
  ASSERT_FALSE(hung->ok());
  EXPECT_EQ(hung->error().kind, ErrorKind::unavailable);
  EXPECT_EQ(hung->error().message,
            "worker default/0 (environment sha256:ab12) ended before answering: killed by signal 9 (SIGKILL)");
  EXPECT_EQ(s->worker->pendingControlRequests(), 0u);
}

TEST(WorkerProcess, AnAnswerSentJustBeforeExitingIsDelivered) {
  // The worker writes ~60 KiB (heartbeats, then the reply) and exits: the pidfd fires while most
  // of it is unread, and all of it must still be delivered, before onExit.
  for (int i = 0; i < 10; ++i) {
    auto s = startReady(fakeLaunch("answer-then-exit"));
    ASSERT_TRUE(s->worker);
    std::optional<Expected<LoadedModel>> r;
    ModelLoadSpec spec;
    spec.handle = 5;
    spec.name = "last";
    s->worker->loadModel(spec, [&](Expected<LoadedModel> x) { r = std::move(x); });
    ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(r->ok()) << r->error().message;
    EXPECT_EQ(r->value().handle, 5u);
    EXPECT_EQ(s->rec.heartbeats.size(), 300u);
    EXPECT_EQ(s->rec.exit->reason, "exited with status 0");
  }
}

TEST(WorkerProcess, HeartbeatsArriveAsPlainCopies) {
  auto launch = fakeLaunch("ok");
  launch.extraArgs.push_back("--send-heartbeat");
  auto s = startReady(launch);
  ASSERT_TRUE(s->worker);
  ASSERT_TRUE(s->loop.runUntil([&] { return !s->rec.heartbeats.empty(); }));
  const auto& hb = s->rec.heartbeats[0];
  EXPECT_EQ(hb.served, 7u);
  EXPECT_EQ(hb.rssBytes, 4096u);
  ASSERT_EQ(hb.metrics.size(), 1u);
  const auto& m = hb.metrics[0];
  EXPECT_EQ(m.name, "fake_requests");
  EXPECT_EQ(m.kind, MetricSample::Kind::histogram);
  EXPECT_EQ(m.labels, (std::vector<std::pair<std::string, std::string>>{{"lane", "0"}}));
  EXPECT_EQ(m.bucketBounds, (std::vector<double>{0.5, 1.0}));
  EXPECT_EQ(m.bucketCounts, (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(m.count, 3u);
}

TEST(WorkerProcess, ProgressReadsTheWorkersCounter) {
  auto s = startReady(fakeLaunch("ok"));
  ASSERT_TRUE(s->worker);
  EXPECT_EQ(s->worker->progress(), 0u);
  ASSERT_TRUE(load(*s, "bump").ok());
  EXPECT_EQ(s->worker->progress(), 1u);
}

TEST(WorkerProcess, TheSegmentLivesUntilTheLastHolderLetsGo) {
  const int before = countSegmentFds();
  std::shared_ptr<const WorkerShm> held;
  {
    auto s = startReady(fakeLaunch("ok"));
    ASSERT_TRUE(s->worker);
    EXPECT_EQ(countSegmentFds(), before + 1);
    held = s->worker->shm();
    s->worker->kill();
    ASSERT_TRUE(s->loop.runUntil([&] { return s->rec.exit.has_value(); }));
  }
  // The worker object is gone; an HTTP loop still holding a lane can still read the header.
  EXPECT_EQ(countSegmentFds(), before + 1);
  EXPECT_EQ(held->segment().header().magic, transport::kSegmentMagic);
  held.reset();
  EXPECT_EQ(countSegmentFds(), before);
}

TEST(WorkerProcess, DestroyingARunningWorkerKillsAndReapsIt) {
  int pid = -1;
  {
    auto s = startReady(fakeLaunch("ok"));
    ASSERT_TRUE(s->worker);
    pid = s->worker->pid();
  }
  EXPECT_TRUE(fullyReaped(pid));
}

TEST(WorkerProcess, OnExitMayDestroyTheWorker) {
  Loop loop;
  std::unique_ptr<WorkerProcess> worker;
  bool exited = false;
  WorkerEvents ev;
  ev.onExit = [&](const WorkerExit&) {
    worker.reset();
    exited = true;
  };
  auto w = WorkerProcess::spawn(loop.base(), fakeLaunch("exit1"), ev);
  ASSERT_TRUE(w.ok());
  worker = std::move(w.value());
  ASSERT_TRUE(loop.runUntil([&] { return exited; }));
  EXPECT_EQ(worker, nullptr);
}

TEST(WorkerProcess, AFailedRequestsCallbackMayDestroyTheWorker) {
  auto s = startReady(fakeLaunch("ok"));
  ASSERT_TRUE(s->worker);
  int calls = 0;
  ModelLoadSpec spec;
  spec.name = "crash";
  s->worker->loadModel(spec, [&](Expected<LoadedModel>) {
    ++calls;
    s->worker.reset();
  });
  ModelLoadSpec hang;
  hang.name = "hang";
  s->worker->loadModel(hang, [&](Expected<LoadedModel>) { ++calls; });
  ASSERT_TRUE(s->loop.runUntil([&] { return s->worker == nullptr; }));
  EXPECT_EQ(calls, 1);  // the second callback died with the worker: no call into freed memory
  EXPECT_EQ(s->rec.exitCalls, 0);
}

class SigchldFallback : public ::testing::Test {
 protected:
  void SetUp() override { WorkerProcess::forceSigchldFallbackForTesting(true); }
  void TearDown() override { WorkerProcess::forceSigchldFallbackForTesting(false); }
};

TEST_F(SigchldFallback, DeathIsNoticedWithoutPidfd) {
  auto a = start(fakeLaunch("exit1"));
  ASSERT_TRUE(a->worker);
  ASSERT_TRUE(a->loop.runUntil([&] { return a->rec.exit.has_value(); }));
  EXPECT_EQ(a->rec.exit->reason, "exited with status 1 before its handshake");
  EXPECT_TRUE(fullyReaped(a->worker->pid()));

  auto b = startReady(fakeLaunch("ok"));
  ASSERT_TRUE(b->worker);
  b->worker->kill();
  ASSERT_TRUE(b->loop.runUntil([&] { return b->rec.exit.has_value(); }));
  EXPECT_EQ(b->rec.exit->reason, "killed by signal 9 (SIGKILL)");
}

}  // namespace
}  // namespace ringserve::supervisor::test
