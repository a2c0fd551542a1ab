// The server assembly with real ringserve-worker processes: inference over a loopback socket, and
// the graceful drain (a request in flight finishes while new connections are refused, then the
// workers stop); a second drain stops at once. The repository holds the example `echo` and
// `flaky` (tests/e2e/runtimes/misbehave.cpp: "sleep" holds a request in the worker).
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <fstream>

#include "server_fixture.hpp"

namespace ringserve::supervisor::test {
namespace {

namespace fs = std::filesystem;

const std::string kEchoBody = R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2]}]})";

std::string sleepBody(int ms) {
  return R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],)"
         R"("parameters":{"action":"sleep","sleep_ms":)" +
         std::to_string(ms) + "}}";
}

class ServerWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.path() / "repo";
    fs::create_directories(repo_ / "flaky");
    fs::copy(fs::path(RINGSERVE_EXAMPLE_MODELS) / "echo", repo_ / "echo", fs::copy_options::recursive);
    fs::copy_file(RINGSERVE_MISBEHAVE_RUNTIME, repo_ / "flaky" / "misbehave.so");
    std::ofstream(repo_ / "flaky" / "model-settings.json")
        << R"({"name": "flaky", "implementation": "misbehave.Misbehave"})";
  }
  // Loads the repository at start; the drain's grace (parallel_workers_timeout) is far longer
  // than any request here, so only the drain's own logic ends it.
  std::unique_ptr<InProcessServer> start(double drainSeconds = 600) {
    auto o = testServerOptions(repo_, tmp_.path() / "run" / "ctl.sock");
    o.core.settings.loadModelsAtStartup = true;
    o.core.settings.parallelWorkersTimeout = drainSeconds;
    o.core.workerExecutable = RINGSERVE_WORKER_BINARY;
    o.core.builtinRuntimeDir = RINGSERVE_RUNTIME_DIR;
    auto s = std::make_unique<InProcessServer>(std::move(o));
    EXPECT_TRUE(s->listenResult().ok()) << s->listenResult().error().message;
    EXPECT_TRUE(s->waitUntilReady("echo"));
    EXPECT_TRUE(s->waitUntilReady("flaky"));
    return s;
  }
  std::vector<int> workerPids(InProcessServer& s) {
    std::vector<int> pids;
    s.onMain([&] {
      for (const auto& w : s.core().workers()) pids.push_back(w.pid);
    });
    return pids;
  }
  bool somethingInFlight(InProcessServer& s) {
    return s.waitUntil([&s] {
      for (const auto& w : s.core().workers())
        if (w.inFlight > 0) return true;
      return false;
    });
  }

  TempFolder tmp_{"rs-server-w"};
  fs::path repo_;
};

TEST_F(ServerWorkerTest, InferenceOverLoopbackIsServed) {
  auto s = start();
  HttpClient c(s->ports().http);
  ASSERT_TRUE(c.connected());
  c.send(httpRequest("POST", "/v2/models/echo/infer", kEchoBody));
  auto r = c.receive();
  EXPECT_EQ(r.status, 200) << r.head << r.body;
  EXPECT_NE(r.body.find("\"outputs\""), std::string::npos) << r.body;
}

TEST_F(ServerWorkerTest, DrainFinishesInFlightRequestsRefusesNewConnectionsThenStops) {
  auto s = start();
  const auto pids = workerPids(*s);
  ASSERT_FALSE(pids.empty());
  HttpClient slow(s->ports().http);
  ASSERT_TRUE(slow.connected());
  slow.send(httpRequest("POST", "/v2/models/flaky/infer", sleepBody(300)));
  ASSERT_TRUE(somethingInFlight(*s));

  s->server().beginDrain();
  s->settle();  // the drain ran on the main loop, and the REST loop closed its listening socket
  HttpClient late(s->ports().http);
  EXPECT_FALSE(late.connected());
  EXPECT_EQ(late.error(), ECONNREFUSED);

  auto r = slow.receive();
  EXPECT_EQ(r.status, 200) << r.head << r.body;
  ASSERT_TRUE(s->server().wait());
  // The drain stopped the workers (reaped before the main loop ended) and the control socket is
  // still there until the server is destroyed.
  for (int pid : pids) {
    EXPECT_NE(::kill(pid, 0), 0) << pid;
    EXPECT_EQ(errno, ESRCH) << pid;
  }
  const fs::path socket = s->ports().controlSocket;
  EXPECT_TRUE(fs::is_socket(socket));
  s.reset();
  EXPECT_FALSE(fs::exists(fs::symlink_status(socket)));
}

TEST_F(ServerWorkerTest, SecondDrainStopsAtOnce) {
  auto s = start(/*drainSeconds=*/3600);
  HttpClient hung(s->ports().http);
  ASSERT_TRUE(hung.connected());
  hung.send(httpRequest("POST", "/v2/models/flaky/infer", sleepBody(3'600'000)));
  ASSERT_TRUE(somethingInFlight(*s));
  s->server().beginDrain();
  s->server().beginDrain();
  // The first alone would wait an hour for the request.
  ASSERT_TRUE(s->server().wait());
  s.reset();                            // ~ServerCore kills the worker; the connection closes with the REST server
  EXPECT_EQ(hung.receive().status, 0);  // unanswered
}

}  // namespace
}  // namespace ringserve::supervisor::test
