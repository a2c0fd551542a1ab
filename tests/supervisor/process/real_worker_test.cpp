// WorkerProcess with the real ringserve-worker: the happy path and the deaths a real worker can
// have. The misbehaviour a real worker cannot produce is covered with the fake in
// worker_process_test.cpp.
#include <gtest/gtest.h>
#include <signal.h>

#include "supervisor/process/worker_process.hpp"
#include "worker_harness.hpp"

namespace ringserve::supervisor::test {
namespace {

using namespace std::chrono_literals;

WorkerLaunch realLaunch(std::uint32_t lanes = 2) {
  WorkerLaunch l;
  l.executable = RINGSERVE_WORKER_BINARY;
  l.workerId = "default/0";
  l.poolLabel = "default";
  l.segment = transport::SegmentConfig::fromShmSize(4 << 20, lanes, 64);
  l.logLevel = "warn";
  return l;
}

struct Running {
  Loop loop;
  Recorder rec;
  std::unique_ptr<WorkerProcess> worker;

  explicit Running(WorkerLaunch launch) {
    auto w = WorkerProcess::spawn(loop.base(), std::move(launch), rec.events());
    EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error().message);
    if (!w.ok()) return;
    worker = std::move(w.value());
    EXPECT_TRUE(loop.runUntil([&] { return rec.ready || rec.exit; }));
    EXPECT_TRUE(rec.ready.has_value()) << (rec.exit ? rec.exit->reason : "");
  }
  bool waitExit() {
    return loop.runUntil([&] { return rec.exit.has_value(); });
  }
};

TEST(RealWorker, HandshakeAndAControlRoundTrip) {
  Running r(realLaunch());
  ASSERT_TRUE(r.worker && r.rec.ready);
  EXPECT_EQ(r.rec.ready->protocol, kProtocolVersion);
  EXPECT_EQ(r.rec.ready->shmLayoutVersion, kShmLayoutVersion);
  EXPECT_EQ(static_cast<int>(r.rec.ready->pid), r.worker->pid());
  EXPECT_EQ(r.rec.ready->workerVersion, buildVersion());

  // A runtime that does not exist: the worker answers with an error and stays up.
  std::optional<Expected<LoadedModel>> res;
  ModelLoadSpec spec;
  spec.handle = 1;
  spec.name = "nothing";
  spec.implementation = "no_such_module.NoSuchClass";
  spec.settingsJson = R"({"name":"nothing","implementation":"no_such_module.NoSuchClass"})";
  spec.modelDir = "/nonexistent";
  spec.runtimeSearchPath = {"/nonexistent"};
  r.worker->loadModel(spec, [&](Expected<LoadedModel> x) { res = std::move(x); });
  ASSERT_TRUE(r.loop.runUntil([&] { return res.has_value(); }));
  ASSERT_FALSE(res->ok());
  EXPECT_NE(res->error().kind, ErrorKind::unavailable) << res->error().message;
  EXPECT_NE(res->error().message.find("no_such_module"), std::string::npos) << res->error().message;
  EXPECT_EQ(r.worker->state(), WorkerState::ready);
  EXPECT_FALSE(r.rec.exit.has_value());
}

TEST(RealWorker, KillMinusNineIsNoticedAndNamed) {
  Running r(realLaunch());
  ASSERT_TRUE(r.worker && r.rec.ready);
  ::kill(r.worker->pid(), SIGKILL);
  ASSERT_TRUE(r.waitExit());
  EXPECT_EQ(r.rec.exit->reason, "killed by signal 9 (SIGKILL)");
  EXPECT_FALSE(r.rec.exit->requested);
  EXPECT_FALSE(r.rec.exit->beforeReady);
  EXPECT_TRUE(fullyReaped(r.worker->pid()));
}

TEST(RealWorker, ShutdownExitsZeroWithinTheGrace) {
  Running r(realLaunch());
  ASSERT_TRUE(r.worker && r.rec.ready);
  r.worker->stop(60s);
  ASSERT_TRUE(r.waitExit());
  EXPECT_EQ(r.rec.exit->reason, "exited with status 0");
  EXPECT_TRUE(r.rec.exit->requested);
}

TEST(RealWorker, StopKillsAWorkerThatDoesNotStopInTime) {
  Running r(realLaunch());
  ASSERT_TRUE(r.worker && r.rec.ready);
  ::kill(r.worker->pid(), SIGSTOP);  // frozen: it cannot act on the shutdown message
  r.worker->stop(200ms);
  ASSERT_TRUE(r.waitExit());
  EXPECT_EQ(r.rec.exit->reason, "killed by signal 9 (SIGKILL) after not stopping within 200 ms");
}

TEST(RealWorker, HeartbeatsArrive) {
  auto launch = realLaunch();
  launch.heartbeatMs = 20;
  Running r(launch);
  ASSERT_TRUE(r.worker && r.rec.ready);
  ASSERT_TRUE(r.loop.runUntil([&] { return !r.rec.heartbeats.empty(); }));
  EXPECT_GT(r.rec.heartbeats[0].rssBytes, 0u);
}

TEST(RealWorker, NoZombiesAndNoSegmentsLeftBehind) {
  const int before = countSegmentFds();
  std::vector<int> pids;
  {
    Running a(realLaunch(1));
    Running b(realLaunch(3));
    ASSERT_TRUE(a.worker && b.worker);
    EXPECT_EQ(countSegmentFds(), before + 2);
    pids = {a.worker->pid(), b.worker->pid()};
    a.worker->stop(60s);
    ASSERT_TRUE(a.waitExit());
    // b is still running when its WorkerProcess goes: the destructor kills and reaps it.
  }
  for (int pid : pids) EXPECT_TRUE(fullyReaped(pid)) << pid;
  EXPECT_EQ(countSegmentFds(), before);
}

}  // namespace
}  // namespace ringserve::supervisor::test
