// ServerCore's model states driven through a test double of the worker seam: no process, no
// sleep. The test plays every worker (fake_spawner.hpp) and turns the main loop itself until what
// it waits for is true (runUntil), so timers (restart backoff, load deadline, unload drain) fire
// as they would in the server, only shorter.
#include <event2/event.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "fake_spawner.hpp"
#include "loop_driver.hpp"
#include "supervisor/core/server_core.hpp"
#include "supervisor/event.hpp"

namespace ringserve::supervisor::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ServerCoreTest : public ::testing::Test {
 protected:
  ServerCoreTest() {
    std::string tmpl = (fs::temp_directory_path() / "rs-core-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    repo_ = tmpl;
    options_.settings.modelRepositoryRoot = repo_;
    options_.settings.parallelWorkers = 1;
    options_.settings.loadModelsAtStartup = true;
    options_.spawner = spawner_;
    options_.restartPolicy.initialBackoff = 1ms;
    options_.restartPolicy.maxBackoff = 4ms;
    options_.restartPolicy.crashLoopDeaths = 3;
    options_.resourceRetry = 1ms;
  }
  ~ServerCoreTest() override {
    core_.reset();
    std::error_code ec;
    fs::remove_all(repo_, ec);
  }

  void writeModel(const std::string& folder, const std::string& json) {
    fs::create_directories(repo_ / folder);
    std::ofstream(repo_ / folder / "model-settings.json") << json;
  }
  void writeModel(const std::string& name) {
    writeModel(name, R"({"name": ")" + name + R"(", "implementation": "echo.Echo"})");
  }

  // Creates the core and runs ServerCore::start on the repository, as `ringserve start` does.
  void start() {
    core_ = std::make_unique<ServerCore>(options_, main_, std::vector<LoopLanes*>{}, metrics_);
    core_->start(settings::discoverModels(repo_, settings::EnvMap{}));
  }

  template <class Pred>
  bool runUntil(Pred pred) {
    return driver_.runUntil(pred);
  }
  void runTurns(int turns = 20) { driver_.runTurns(turns); }

  // The outcome of an operation, once its `done` ran.
  using Outcome = std::shared_ptr<std::optional<Expected<std::string>>>;
  ServerCore::Done capture(Outcome& out) {
    out = std::make_shared<std::optional<Expected<std::string>>>();
    return [out](Expected<std::string> r) { *out = std::move(r); };
  }
  Outcome load(const std::string& name) {
    Outcome out;
    core_->repositoryLoad(name, capture(out));
    return out;
  }
  Outcome unload(const std::string& name) {
    Outcome out;
    core_->repositoryUnload(name, capture(out));
    return out;
  }
  bool finished(const Outcome& o) { return o->has_value(); }

  // The published route of `name` (its default version), or nullptr. Keeps the table alive.
  const ModelRoute* route(const std::string& name) {
    table_ = core_->routing();
    return table_->find(name, "");
  }
  ModelState state(const std::string& name) {
    auto* r = route(name);
    return r ? r->state : ModelState::unknown;
  }
  std::optional<IndexEntry> indexed(const std::string& name) {
    for (auto& e : core_->index())
      if (e.name == name) return e;
    return std::nullopt;
  }
  bool loadPending() { return !spawner_->spawned.empty() && !spawner_->latest().loads.empty(); }

  // Start + the first worker ready + `name` loaded on it.
  void startServing(const std::string& name) {
    writeModel(name);
    start();
    ASSERT_EQ(spawner_->spawned.size(), 1u);
    spawner_->latest().ready();
    ASSERT_TRUE(loadPending());
    spawner_->latest().answerLoad(LoadedModel{});
    ASSERT_EQ(state(name), ModelState::ready);
  }

  fs::path repo_;
  EventLoop main_{"main"};
  LoopDriver driver_{main_};
  MetricsRegistry metrics_;
  std::shared_ptr<FakeSpawner> spawner_ = std::make_shared<FakeSpawner>(main_);
  ServerCore::Options options_;
  std::unique_ptr<ServerCore> core_;
  std::shared_ptr<const RoutingTable> table_;
};

TEST_F(ServerCoreTest, AModelIsLoadingUntilItsWorkerIsReadyAndHasLoadedIt) {
  writeModel("m");
  start();
  ASSERT_EQ(spawner_->spawned.size(), 1u);  // the default pool starts with the server
  EXPECT_EQ(spawner_->latest().launch.workerId, "default/0");
  EXPECT_EQ(state("m"), ModelState::loading);
  EXPECT_TRUE(route("m")->targets.empty());
  EXPECT_FALSE(core_->routing()->allReady);
  EXPECT_FALSE(loadPending());  // nothing is sent before the handshake

  spawner_->latest().ready();
  ASSERT_TRUE(loadPending());
  const auto spec = spawner_->latest().loads.front().spec;
  EXPECT_EQ(spec.name, "m");
  EXPECT_EQ(spec.implementation, "echo.Echo");
  EXPECT_EQ(state("m"), ModelState::loading);

  spawner_->latest().answerLoad(LoadedModel{});
  ASSERT_EQ(state("m"), ModelState::ready);
  ASSERT_EQ(route("m")->targets.size(), 1u);
  EXPECT_EQ(route("m")->targets[0].handle, spec.handle);
  EXPECT_EQ(route("m")->targets[0].link->id, "default/0");
  EXPECT_TRUE(core_->routing()->allReady);
  EXPECT_EQ(indexed("m")->state, ModelState::ready);
  auto workers = core_->workers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].state, "ready");
  EXPECT_EQ(workers[0].models, std::vector<std::string>{"m"});
}

TEST_F(ServerCoreTest, ALoadTheWorkerRefusesMakesTheModelUnavailableWithTheWorkersMessage) {
  writeModel("m");
  options_.settings.loadModelsAtStartup = false;
  start();
  EXPECT_EQ(indexed("m")->state, ModelState::unavailable);
  EXPECT_EQ(route("m"), nullptr);
  spawner_->latest().ready();
  auto out = load("m");
  ASSERT_TRUE(runUntil([&] { return loadPending(); }));
  spawner_->latest().answerLoad(badRequest("weights.bin: no such file"));
  ASSERT_TRUE(runUntil([&] { return finished(out); }));
  ASSERT_FALSE(out->value());
  EXPECT_EQ(out->value().error().kind, ErrorKind::badInput);
  EXPECT_EQ(out->value().error().message, "Model m failed to load: weights.bin: no such file");
  EXPECT_EQ(state("m"), ModelState::unavailable);
  EXPECT_EQ(route("m")->reason, "weights.bin: no such file");
  EXPECT_FALSE(route("m")->restarting);
  EXPECT_EQ(spawner_->spawned.size(), 1u);  // a refused load is not a crash: the worker stays
}

TEST_F(ServerCoreTest, ALoadThatNeverAnswersFailsAtTheLoadDeadline) {
  options_.loadDeadline = 1ms;
  writeModel("m");
  options_.settings.loadModelsAtStartup = false;
  start();
  spawner_->latest().ready();
  auto out = load("m");
  ASSERT_TRUE(runUntil([&] { return finished(out); }));  // nobody answers the load
  ASSERT_FALSE(out->value());
  EXPECT_EQ(out->value().error().message,
            "Model m failed to load: did not finish loading on worker default/0 within 1 ms");
  EXPECT_EQ(state("m"), ModelState::unavailable);
  // A late answer finds the model failed and does not bring it back.
  spawner_->latest().answerLoad(LoadedModel{});
  EXPECT_EQ(state("m"), ModelState::unavailable);
}

TEST_F(ServerCoreTest, AWorkerThatDiesIsRestartedAndItsModelsLoadedAgain) {
  startServing("m");
  const auto firstHandle = route("m")->targets[0].handle;
  auto firstLink = route("m")->targets[0].link;
  spawner_->latest().die("killed by signal 9 (SIGKILL)");
  EXPECT_TRUE(firstLink->dead());
  EXPECT_EQ(firstLink->deathReason(), "killed by signal 9 (SIGKILL)");
  ASSERT_EQ(state("m"), ModelState::loading);
  EXPECT_TRUE(route("m")->restarting);  // 503, retriable
  EXPECT_TRUE(route("m")->targets.empty());
  EXPECT_EQ(route("m")->reason, "worker default/0 died (killed by signal 9 (SIGKILL)); restarting in 1 ms");

  ASSERT_TRUE(runUntil([&] { return spawner_->spawned.size() == 2; }));  // after the backoff
  spawner_->latest().ready();
  ASSERT_TRUE(loadPending());
  EXPECT_EQ(spawner_->latest().loads.front().spec.handle, firstHandle);  // same model, same handle
  spawner_->latest().answerLoad(LoadedModel{});
  ASSERT_EQ(state("m"), ModelState::ready);
  EXPECT_FALSE(route("m")->restarting);
  EXPECT_NE(route("m")->targets[0].link, firstLink);  // a new incarnation
  EXPECT_EQ(core_->workers()[0].restarts, 1u);
}

TEST_F(ServerCoreTest, AWorkerInACrashLoopIsGivenUpAndAnOperatorsLoadTriesAgain) {
  startServing("m");
  // crashLoopDeaths = 3: the third death within the window gives up.
  for (int death = 1; death <= 3; ++death) {
    if (death > 1) {
      ASSERT_TRUE(runUntil([&] { return spawner_->spawned.size() == static_cast<std::size_t>(death); }));
    }
    spawner_->latest().die("exited with status 1", /*beforeReady=*/death > 1);
  }
  runTurns();
  EXPECT_EQ(spawner_->spawned.size(), 3u);  // no fourth start
  ASSERT_EQ(state("m"), ModelState::unavailable);
  EXPECT_FALSE(route("m")->restarting);
  EXPECT_NE(route("m")->reason.find("worker default/0 of pool default is not running: crashed 3 times within"),
            std::string::npos)
      << route("m")->reason;
  EXPECT_EQ(core_->workers()[0].state, "failed");

  auto out = load("m");  // the operator asks again: the slot gets a fresh policy and a new worker
  ASSERT_TRUE(runUntil([&] { return spawner_->spawned.size() == 4; }));
  EXPECT_EQ(state("m"), ModelState::unavailable);  // the old copy's state until the new one is ready
  spawner_->latest().ready();
  // Both copies are placed on the worker: the given-up one and the operator's new one.
  ASSERT_TRUE(runUntil([&] { return loadPending(); }));
  while (loadPending()) spawner_->latest().answerLoad(LoadedModel{});
  ASSERT_TRUE(runUntil([&] { return finished(out); }));
  EXPECT_TRUE(out->value()) << out->value().error().message;
  EXPECT_EQ(state("m"), ModelState::ready);
}

TEST_F(ServerCoreTest, AReloadKeepsTheOldCopyServingUntilTheNewOneIsReadyThenUnloadsIt) {
  startServing("m");
  const auto oldHandle = route("m")->targets[0].handle;
  auto out = load("m");
  ASSERT_TRUE(runUntil([&] { return loadPending(); }));
  const auto newHandle = spawner_->latest().loads.front().spec.handle;
  EXPECT_NE(newHandle, oldHandle);
  ASSERT_EQ(state("m"), ModelState::ready);  // the old copy still serves
  EXPECT_EQ(route("m")->targets[0].handle, oldHandle);

  spawner_->latest().answerLoad(LoadedModel{});
  ASSERT_TRUE(runUntil([&] { return finished(out); }));
  EXPECT_TRUE(out->value());
  ASSERT_EQ(state("m"), ModelState::ready);
  EXPECT_EQ(route("m")->targets[0].handle, newHandle);
  ASSERT_TRUE(runUntil([&] { return !spawner_->latest().unloaded.empty(); }));  // after its drain
  EXPECT_EQ(spawner_->latest().unloaded, std::vector<std::uint32_t>{oldHandle});
}

TEST_F(ServerCoreTest, AReloadWhoseNewCopyFailsKeepsTheOldOneServing) {
  startServing("m");
  const auto oldHandle = route("m")->targets[0].handle;
  auto out = load("m");
  ASSERT_TRUE(runUntil([&] { return loadPending(); }));
  spawner_->latest().answerLoad(internalError("ValueError: bad weights"));
  ASSERT_TRUE(runUntil([&] { return finished(out); }));
  ASSERT_FALSE(out->value());
  EXPECT_EQ(out->value().error().message, "Model m failed to load: ValueError: bad weights");
  ASSERT_EQ(state("m"), ModelState::ready);
  EXPECT_EQ(route("m")->targets[0].handle, oldHandle);
  EXPECT_TRUE(spawner_->latest().unloaded.empty());
}

TEST_F(ServerCoreTest, AnUnloadHidesTheModelAtOnceAndUnloadsItOnlyAfterItsRequestsFinished) {
  startServing("m");
  const auto handle = route("m")->targets[0].handle;
  auto counters = route("m")->counters;
  counters->inFlight = 1;  // a request routed to it and not answered
  auto out = unload("m");
  ASSERT_TRUE(runUntil([&] { return route("m") == nullptr; }));  // new requests: 404
  EXPECT_EQ(indexed("m")->state, ModelState::unloading);
  runTurns();
  EXPECT_FALSE(finished(out));  // drains as long as the request runs
  EXPECT_TRUE(spawner_->latest().unloaded.empty());

  counters->inFlight = 0;
  ASSERT_TRUE(runUntil([&] { return finished(out); }));
  EXPECT_TRUE(out->value());
  EXPECT_EQ(out->value().value(), "model m unloaded");
  EXPECT_EQ(spawner_->latest().unloaded, std::vector<std::uint32_t>{handle});
  EXPECT_EQ(indexed("m")->state, ModelState::unavailable);
  EXPECT_EQ(indexed("m")->reason, "unloaded");
  EXPECT_EQ(core_->workers()[0].models, std::vector<std::string>{});
}

TEST_F(ServerCoreTest, OperationsOnOneModelRunOneAfterAnother) {
  startServing("m");
  auto reload = load("m");
  auto remove = unload("m");
  ASSERT_TRUE(runUntil([&] { return loadPending(); }));
  EXPECT_FALSE(finished(remove));  // waits for the reload
  EXPECT_EQ(state("m"), ModelState::ready);
  spawner_->latest().answerLoad(LoadedModel{});
  ASSERT_TRUE(runUntil([&] { return finished(remove); }));
  EXPECT_TRUE(finished(reload));
  EXPECT_TRUE(reload->value());
  EXPECT_TRUE(remove->value());
  EXPECT_EQ(route("m"), nullptr);
}

TEST_F(ServerCoreTest, SpawnsRefusedByTheSupervisorsOwnLimitsAreRetriedWithoutCountingAsCrashes) {
  writeModel("m");
  for (int i = 0; i < 5; ++i) spawner_->refuse.push_back({"memfd_create: Too many open files", true});
  start();
  EXPECT_EQ(spawner_->refused, 1u);
  ASSERT_TRUE(runUntil([&] { return spawner_->refused == 2; }));  // the retry finds the model placed
  ASSERT_EQ(state("m"), ModelState::loading);
  EXPECT_TRUE(route("m")->restarting);
  EXPECT_EQ(route("m")->reason, "worker default/0 cannot start (memfd_create: Too many open files); retrying");
  // More refusals than crashLoopDeaths: still no giving up.
  ASSERT_TRUE(runUntil([&] { return spawner_->spawned.size() == 1; }));
  EXPECT_EQ(spawner_->refused, 5u);
  spawner_->latest().ready();
  spawner_->latest().answerLoad(LoadedModel{});
  EXPECT_EQ(state("m"), ModelState::ready);
  EXPECT_EQ(core_->workers()[0].restarts, 0u);
}

TEST_F(ServerCoreTest, AWorkerThatMadeNoProgressPastTheRequestTimeoutIsKilledAndRestarted) {
  startServing("m");
  auto link = route("m")->targets[0].link;
  spawner_->latest().progress = 7;
  core_->reportTimeout(link, 6);  // it progressed since the request was sent: not hung
  runTurns();
  EXPECT_FALSE(spawner_->latest().killed);
  core_->reportTimeout(link, 7);
  ASSERT_TRUE(runUntil([&] { return spawner_->latest().killed; }));
  ASSERT_TRUE(runUntil([&] { return spawner_->spawned.size() == 2; }));  // a failure: restarted
  EXPECT_EQ(core_->workers()[0].restarts, 1u);
}

TEST_F(ServerCoreTest, ShutdownStopsEveryWorkerAndReportsWhenAllExited) {
  startServing("m");
  bool done = false;
  core_->shutdown([&] { done = true; });
  EXPECT_TRUE(spawner_->latest().stopped);
  ASSERT_TRUE(runUntil([&] { return done; }));
  EXPECT_EQ(spawner_->spawned.size(), 1u);  // no restart after a requested stop
}

}  // namespace
}  // namespace ringserve::supervisor::test
