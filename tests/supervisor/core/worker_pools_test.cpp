// WorkerPools alone, with no registry: a recording PoolListener stands in for ModelRegistry and
// the test plays every worker through the spawner double (fake_spawner.hpp). What it checks is the
// pools' side of the manager's seam: which listener call each worker event becomes, the restart
// backoff and crash loop, refusals of the supervisor's own resources, hung-worker kills, shutdown
// and stopping a pool nobody uses. No process, no sleep: the test turns the main loop itself.
#include "supervisor/core/worker_pools.hpp"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_spawner.hpp"
#include "loop_driver.hpp"
#include "supervisor/event.hpp"

namespace ringserve::supervisor::test {
namespace {

using namespace std::chrono_literals;

// Every call as "event slot-id [why]", in order.
class RecordingListener final : public PoolListener {
 public:
  void workerReady(WorkerSlot& s) override { calls.push_back("ready " + s.id); }
  void workerExited(WorkerSlot& s) override { calls.push_back("exited " + s.id); }
  void workerStopped(WorkerSlot& s) override { calls.push_back("stopped " + s.id); }
  void workerLost(WorkerSlot& s, const std::string& why) override { calls.push_back("lost " + s.id + " " + why); }
  void workerGaveUp(WorkerSlot& s, const std::string& why) override { calls.push_back("gaveUp " + s.id + " " + why); }
  void workerCannotStart(WorkerSlot& s, const std::string& why) override {
    calls.push_back("cannotStart " + s.id + " " + why);
  }
  bool poolInUse(const WorkerPool&) const override { return inUse; }
  void changed() override { ++changes; }

  bool saw(const std::string& prefix) const {
    for (const auto& c : calls)
      if (c.rfind(prefix, 0) == 0) return true;
    return false;
  }
  std::vector<std::string> calls;
  int changes = 0;
  bool inUse = false;
};

class WorkerPoolsTest : public ::testing::Test {
 protected:
  WorkerPoolsTest() {
    options_.settings.parallelWorkers = 2;
    options_.spawner = spawner_;
    options_.restartPolicy.initialBackoff = 1ms;
    options_.restartPolicy.maxBackoff = 4ms;
    options_.restartPolicy.crashLoopDeaths = 3;
    options_.resourceRetry = 1ms;
  }

  template <class Pred>
  bool runUntil(Pred pred) {
    return driver_.runUntil(pred);
  }
  void runTurns(int turns = 20) { driver_.runTurns(turns); }
  WorkerPool& defaultPool() { return pools_.poolFor(settings::ModelSettings{}, std::nullopt); }
  WorkerPool& gidPool(const std::string& gid) {
    settings::ModelSettings s;
    s.parameters.inferencePoolGid = gid;
    return pools_.poolFor(s, std::nullopt);
  }

  EventLoop main_{"main"};
  LoopDriver driver_{main_};
  MetricsRegistry metrics_;
  std::shared_ptr<FakeSpawner> spawner_ = std::make_shared<FakeSpawner>(main_);
  ManagerOptions options_;
  RecordingListener listener_;
  WorkerPools pools_{options_, main_, {}, metrics_, listener_};
};

TEST_F(WorkerPoolsTest, APoolStartsItsWorkersOnceAndReportsEachReadyOne) {
  WorkerPool& pool = defaultPool();
  EXPECT_EQ(&defaultPool(), &pool);  // the same key finds the same pool
  ASSERT_EQ(spawner_->spawned.size(), 2u);
  EXPECT_EQ(spawner_->spawned[0]->launch.workerId, "default/0");
  EXPECT_EQ(spawner_->spawned[1]->launch.workerId, "default/1");
  EXPECT_EQ(pools_.spawnCount(), 2u);
  EXPECT_TRUE(listener_.calls.empty());  // nothing happens to models before a handshake
  spawner_->spawned[1]->ready();
  EXPECT_EQ(listener_.calls, std::vector<std::string>{"ready default/1"});
  EXPECT_TRUE(pool.slots[1]->ready);
  EXPECT_FALSE(pool.slots[0]->ready);
}

TEST_F(WorkerPoolsTest, ADeadWorkerIsReportedLostThenRestartedAfterItsBackoff) {
  WorkerPool& pool = defaultPool();
  spawner_->spawned[0]->ready();
  listener_.calls.clear();
  const auto changesBefore = listener_.changes;
  spawner_->spawned[0]->die("segfault");
  ASSERT_EQ(listener_.calls.size(), 2u);
  EXPECT_EQ(listener_.calls[0], "exited default/0");
  EXPECT_EQ(listener_.calls[1].rfind("lost default/0 worker default/0 died (segfault); restarting in", 0), 0u)
      << listener_.calls[1];
  EXPECT_GT(listener_.changes, changesBefore);
  EXPECT_FALSE(pool.slots[0]->ready);
  EXPECT_FALSE(pool.slots[0]->link);  // HTTP loops no longer route to that incarnation
  ASSERT_TRUE(runUntil([&] { return spawner_->spawned.size() == 3u; }));
  EXPECT_EQ(spawner_->latest().launch.workerId, "default/0");
  EXPECT_EQ(pool.slots[0]->policy.restarts(), 1u);
}

TEST_F(WorkerPoolsTest, ACrashLoopGivesUpUntilTheSlotIsRevived) {
  options_.settings.parallelWorkers = 1;
  WorkerPool& pool = defaultPool();
  for (int death = 0; death < 3; ++death) {
    ASSERT_TRUE(runUntil([&] { return spawner_->spawned.size() == static_cast<std::size_t>(death + 1); }));
    spawner_->latest().die("boom", /*beforeReady=*/true);
  }
  EXPECT_TRUE(pool.slots[0]->gaveUp);
  EXPECT_TRUE(listener_.saw("gaveUp default/0 "));
  runTurns();
  EXPECT_EQ(spawner_->spawned.size(), 3u);  // no restart after giving up
  pools_.revive(*pool.slots[0]);
  EXPECT_FALSE(pool.slots[0]->gaveUp);
  EXPECT_EQ(spawner_->spawned.size(), 4u);
}

TEST_F(WorkerPoolsTest, ASpawnTheSupervisorsOwnResourcesRefuseIsRetriedAndNeverCountsAsACrash) {
  options_.settings.parallelWorkers = 1;
  for (int i = 0; i < 5; ++i) spawner_->refuse.push_back(SpawnError{"memfd_create: Too many open files", true});
  WorkerPool& pool = defaultPool();
  EXPECT_TRUE(spawner_->spawned.empty());
  ASSERT_EQ(listener_.calls.size(), 1u);
  EXPECT_EQ(listener_.calls[0],
            "cannotStart default/0 worker default/0 cannot start (memfd_create: Too many open files); retrying");
  ASSERT_TRUE(runUntil([&] { return spawner_->spawned.size() == 1u; }));
  EXPECT_EQ(spawner_->refused, 5u);
  EXPECT_FALSE(pool.slots[0]->gaveUp);  // more refusals than crashLoopDeaths, yet no crash loop
  EXPECT_EQ(pool.slots[0]->policy.restarts(), 0u);
  EXPECT_FALSE(listener_.saw("exited") || listener_.saw("lost") || listener_.saw("gaveUp"));
}

TEST_F(WorkerPoolsTest, OnlyAWorkerWithoutProgressSinceTheRequestIsKilledAsHung) {
  options_.settings.parallelWorkers = 1;
  WorkerPool& pool = defaultPool();
  spawner_->latest().ready();
  auto link = pool.slots[0]->link;
  ASSERT_TRUE(link);
  spawner_->latest().progress = 7;
  pools_.killIfHung(link, 6);  // it answered something since: not hung
  EXPECT_FALSE(spawner_->latest().killed);
  pools_.killIfHung(std::make_shared<WorkerLink>(), 7);  // another incarnation's link
  EXPECT_FALSE(spawner_->latest().killed);
  pools_.killIfHung(link, 7);
  EXPECT_TRUE(spawner_->latest().killed);
  // The kill was ours, yet a hung worker is a failure: it restarts.
  ASSERT_TRUE(runUntil([&] { return listener_.saw("lost default/0 "); }));
  ASSERT_TRUE(runUntil([&] { return spawner_->spawned.size() == 2u; }));
}

TEST_F(WorkerPoolsTest, ShutdownStopsEveryWorkerAndAnswersOnceAllHaveExited) {
  defaultPool();
  spawner_->spawned[0]->ready();
  bool done = false;
  pools_.shutdown([&] { done = true; });
  EXPECT_TRUE(pools_.shuttingDown());
  EXPECT_TRUE(spawner_->spawned[0]->stopped);
  EXPECT_TRUE(spawner_->spawned[1]->stopped);
  ASSERT_TRUE(runUntil([&] { return done; }));
  EXPECT_FALSE(listener_.saw("stopped") || listener_.saw("lost"));  // nothing to recover while stopping
  runTurns();
  EXPECT_EQ(spawner_->spawned.size(), 2u);  // and nothing restarts
}

TEST_F(WorkerPoolsTest, APoolNobodyUsesIsStoppedButTheDefaultPoolAndAPoolInUseStay) {
  WorkerPool& dflt = defaultPool();
  WorkerPool& gid = gidPool("1234");
  ASSERT_EQ(pools_.pools().size(), 2u);
  EXPECT_EQ(gid.slots[0]->id, "gid:1234/0");
  listener_.inUse = true;
  pools_.stopIfUnused(gid);
  runTurns();
  EXPECT_EQ(pools_.pools().size(), 2u);
  listener_.inUse = false;
  pools_.stopIfUnused(dflt);
  pools_.stopIfUnused(gid);
  ASSERT_TRUE(runUntil([&] { return pools_.pools().size() == 1u; }));
  EXPECT_EQ(pools_.pools().begin()->first, "default");
}

}  // namespace
}  // namespace ringserve::supervisor::test
