// The control socket against a ServerCore with the real ringserve-worker and the example echo
// runtime: load/reload/unload by name and by path, a broken reload keeps the old copy, list and
// status show the result. Prints how long `load` takes until READY (a figure, not an assertion).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>

#include <signal.h>

#include <thread>

#include "../fd_exhaustion.hpp"
#include "control_fixture.hpp"
#include "clients/ctl/ctl_client.hpp"
#include "clients/ctl/ctl_format.hpp"

namespace ringserve::supervisor::control::test {
namespace {

using namespace ringserve::ctl;
using ModelState = ringserve::control::ModelState;  // as the replies carry it

namespace fs = std::filesystem;

class ControlRealWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.path() / "repo";
    fs::create_directories(repo_);
    fs::copy(fs::path(RINGSERVE_EXAMPLE_MODELS) / "echo", repo_ / "echo", fs::copy_options::recursive);
    socket_ = tmp_.path() / "run" / "ringserve-1.sock";
    server_ = std::make_unique<RunningServer>(
        ServerOptions{repo_, socket_, RINGSERVE_WORKER_BINARY, RINGSERVE_RUNTIME_DIR, /*startCore=*/true});
    ASSERT_TRUE(server_->listenResult().ok()) << server_->listenResult().error().message;
  }
  Reply call(Command c) {
    auto r = callControl(socket_, c);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : Reply::error("call failed");
  }
  std::optional<ModelEntry> entry(const std::string& name) {
    for (auto& m : call({Operation::list, "", "", ""}).models)
      if (m.name == name) return m;
    return std::nullopt;
  }

  TempDir tmp_;
  fs::path repo_, socket_;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(ControlRealWorkerTest, LoadReloadUnloadThroughTheSocket) {
  auto before = entry("echo");
  ASSERT_TRUE(before);
  EXPECT_NE(before->state, ModelState::ready);

  // The first load also waits for the default pool's worker to start; the second one does not.
  auto r = call({Operation::load, "echo", "", ""});
  ASSERT_EQ(r.kind, Reply::Kind::ok) << r.message;
  EXPECT_EQ(entry("echo")->state, ModelState::ready);

  const auto t0 = std::chrono::steady_clock::now();
  r = call({Operation::reload, "echo", "", ""});
  const auto reloadMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.kind, Reply::Kind::ok) << r.message;
  EXPECT_EQ(entry("echo")->state, ModelState::ready);
  std::printf("ctl reload echo into a running pool: %.2f ms until the reply (READY)\n", reloadMs);

  r = call({Operation::load, "", (repo_ / "echo").string(), ""});
  ASSERT_EQ(r.kind, Reply::Kind::ok) << r.message;
  EXPECT_EQ(entry("echo")->state, ModelState::ready);

  auto st = call({Operation::status, "", "", ""});
  ASSERT_EQ(st.kind, Reply::Kind::status);
  ASSERT_FALSE(st.status.pools.empty());
  const auto& w = st.status.pools[0].workers.at(0);
  EXPECT_GT(w.pid, 0u);
  EXPECT_GT(w.shmSizeBytes, 0u);
  EXPECT_NE(std::find(w.models.begin(), w.models.end(), "echo"), w.models.end()) << formatText(st);

  r = call({Operation::unload, "echo", "", ""});
  ASSERT_EQ(r.kind, Reply::Kind::ok) << r.message;
  auto after = entry("echo");
  EXPECT_TRUE(!after || after->state != ModelState::ready);

  const auto t1 = std::chrono::steady_clock::now();
  r = call({Operation::load, "echo", "", ""});
  const auto loadMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  ASSERT_EQ(r.kind, Reply::Kind::ok) << r.message;
  EXPECT_EQ(entry("echo")->state, ModelState::ready);
  std::printf("ctl load echo into a running pool: %.2f ms until the reply (READY)\n", loadMs);
}

TEST_F(ControlRealWorkerTest, BrokenReloadKeepsTheOldCopyServing) {
  ASSERT_EQ(call({Operation::load, "echo", "", ""}).kind, Reply::Kind::ok);
  std::ofstream(repo_ / "echo" / "model-settings.json", std::ios::trunc)
      << R"({"name": "echo", "implementation": "no_such_module.Runtime"})";
  auto r = call({Operation::reload, "echo", "", ""});
  EXPECT_EQ(r.kind, Reply::Kind::error);
  EXPECT_FALSE(r.message.empty());
  auto e = entry("echo");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, ModelState::ready) << e->reason;
}

// A worker that dies while the supervisor has no free descriptors cannot be respawned (memfd,
// eventfd, socketpair fail with EMFILE). That is the supervisor's own shortage, not a crash: the
// slot keeps retrying past the restart policy's crash-loop limit (5 deaths) and the model comes
// back once descriptors are free again, with no operator action.
TEST_F(ControlRealWorkerTest, AWorkerLostDuringFdExhaustionComesBackAfterIt) {
  ASSERT_EQ(call({Operation::load, "echo", "", ""}).kind, Reply::Kind::ok);
  auto spawns = [&] {
    std::uint64_t n = 0;
    server_->onLoop([&] { n = server_->core().nextWorkerSpawnCount(); });
    return n;
  };
  int pid = -1;
  server_->onLoop([&] { pid = server_->core().workers().at(0).pid; });
  ASSERT_GT(pid, 0);
  const std::uint64_t before = spawns();
  {
    ringserve::testing::FdExhaustion exhausted(/*leaveFree=*/2);
    ::kill(pid, SIGKILL);
    // Wait (no new descriptors needed) until six respawns were refused: past the crash-loop limit.
    const auto guard = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (spawns() < before + 6 && std::chrono::steady_clock::now() < guard)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_GE(spawns(), before + 6);
    int running = -1;
    server_->onLoop([&] { running = server_->core().workers().at(0).pid; });
    EXPECT_LE(running, 0) << "no worker could start while descriptors were exhausted";
  }
  const auto guard = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::optional<ModelEntry> e;
  while ((!(e = entry("echo")) || e->state != ModelState::ready) && std::chrono::steady_clock::now() < guard)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, ModelState::ready) << e->reason;
  auto st = call({Operation::status, "", "", ""});
  ASSERT_EQ(st.kind, Reply::Kind::status);
  EXPECT_GT(st.status.pools.at(0).workers.at(0).pid, 0u);
  EXPECT_NE(static_cast<int>(st.status.pools.at(0).workers.at(0).pid), pid);
}

// An environment tarball is unpacked off the main loop: while its unpack is held (the write hook
// blocks on the preparing thread), the main loop still runs posted work and answers `ctl list`,
// which shows the model LOADING while its environment is prepared; released, the load finishes.
TEST(ControlEnvironmentTest, TheMainLoopServesWhileAnEnvironmentUnpacks) {
  TempDir tmp;
  const fs::path repo = tmp.path() / "repo", envSource = tmp.path() / "env-src";
  fs::create_directories(repo / "echo-env");
  fs::create_directories(envSource / "lib");
  std::ofstream(envSource / "lib" / "data.txt") << std::string(4096, 'x');
  const fs::path tarball = tmp.path() / "env.tar.gz";
  ASSERT_EQ(std::system(("tar -czf " + tarball.string() + " -C " + envSource.string() + " .").c_str()), 0);
  std::ofstream(repo / "echo-env" / "model-settings.json")
      << R"({"name": "echo-env", "implementation": "echo.EchoRuntime", "parameters": {"environment_tarball": ")"
      << tarball.string() << R"("}})";

  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first{true};
  ServerOptions options{repo, tmp.path() / "run" / "ringserve-1.sock", RINGSERVE_WORKER_BINARY, RINGSERVE_RUNTIME_DIR,
                        /*startCore=*/true};
  EnvironmentOptions environment;
  environment.environmentsDir = tmp.path() / "envs";
  environment.unpackWriteHook = [&, released](std::uint64_t) {
    if (first.exchange(false)) {
      entered.set_value();
      released.wait();
    }
    return true;
  };
  RunningServer server(options, environment);
  ASSERT_TRUE(server.listenResult().ok()) << server.listenResult().error().message;

  auto load = std::async(std::launch::async, [&] { return callControl(server.socket(), {Operation::load, "echo-env", "", ""}); });
  ASSERT_EQ(entered.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "the unpack never started";
  server.onLoop([] {});  // would hang here if the unpack held the main loop
  auto list = callControl(server.socket(), {Operation::list, "", "", ""});
  ASSERT_TRUE(list.ok()) << list.error().message;
  bool seen = false;
  for (const auto& m : list.value().models)
    if (m.name == "echo-env") {
      seen = true;
      EXPECT_EQ(m.state, ModelState::loading);
      EXPECT_EQ(m.reason, "preparing its environment");
    }
  EXPECT_TRUE(seen);
  EXPECT_EQ(load.wait_for(std::chrono::seconds(0)), std::future_status::timeout) << "the load cannot be done yet";

  release.set_value();
  auto r = load.get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().kind, Reply::Kind::ok) << r.value().message;
  EXPECT_TRUE(fs::exists(environment.environmentsDir));
}

}  // namespace
}  // namespace ringserve::supervisor::control::test
