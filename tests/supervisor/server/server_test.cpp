// The server assembly without workers (the core unstarted, or a repository with no model): what
// listen() reports, REST over a real loopback socket, the control socket's file, a drain with
// nothing in flight, and destruction at every stage.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "server_fixture.hpp"

namespace ringserve::supervisor::test {
namespace {

namespace fs = std::filesystem;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.path() / "repo";
    fs::create_directories(repo_);
    socket_ = tmp_.path() / "run" / "ctl.sock";
  }
  Server::Options options() const { return testServerOptions(repo_, socket_); }

  TempFolder tmp_{"rs-server"};
  fs::path repo_, socket_;
};

// A port nobody listens on any more: bound, then closed.
bool refused(int port) {
  HttpClient c(port);
  return !c.connected() && c.error() == ECONNREFUSED;
}

TEST_F(ServerTest, ListenOnPortZeroReportsTheBoundPorts) {
  InProcessServer s(options(), Server::Models::none);
  ASSERT_TRUE(s.listenResult().ok()) << s.listenResult().error().message;
  const ServerPorts& p = s.ports();
  EXPECT_EQ(s.listenResult().value().http, p.http);
  EXPECT_GT(p.http, 0);
  EXPECT_GT(p.grpc, 0);
  EXPECT_GT(p.metrics, 0);
  EXPECT_EQ(std::set<int>({p.http, p.grpc, p.metrics}).size(), 3u);
  EXPECT_EQ(p.controlSocket, socket_.string());
  EXPECT_TRUE(fs::is_socket(socket_));
  // Each is really served there.
  HttpClient rest(p.http);
  ASSERT_TRUE(rest.connected());
  rest.send(httpRequest("GET", "/v2/health/live"));
  EXPECT_EQ(rest.receive().status, 200);
  HttpClient metrics(p.metrics);
  ASSERT_TRUE(metrics.connected());
  metrics.send(httpRequest("GET", "/metrics"));
  EXPECT_EQ(metrics.receive().status, 200);
  EXPECT_TRUE(HttpClient(p.grpc).connected());
}

TEST_F(ServerTest, MetricsDisabledIsPortZero) {
  auto o = options();
  o.core.settings.metricsEndpoint.reset();
  InProcessServer s(std::move(o), Server::Models::none);
  ASSERT_TRUE(s.listenResult().ok()) << s.listenResult().error().message;
  EXPECT_EQ(s.ports().metrics, 0);
  EXPECT_GT(s.ports().http, 0);
}

TEST_F(ServerTest, RestRequestsOverLoopbackAreServed) {
  InProcessServer s(options());  // the core started on an empty repository
  ASSERT_TRUE(s.listenResult().ok()) << s.listenResult().error().message;
  HttpClient c(s.ports().http);
  ASSERT_TRUE(c.connected());
  // Several on one keep-alive connection: metadata, the index, and inference through the
  // dispatcher (no such model).
  c.send(httpRequest("GET", "/v2"));
  auto meta = c.receive();
  EXPECT_EQ(meta.status, 200) << meta.head;
  EXPECT_NE(meta.body.find("\"name\""), std::string::npos) << meta.body;
  c.send(httpRequest("POST", "/v2/repository/index", "{}"));
  auto index = c.receive();
  EXPECT_EQ(index.status, 200) << index.head;
  EXPECT_EQ(index.body.rfind("[", 0), 0u) << index.body;
  c.send(httpRequest("POST", "/v2/models/nosuch/infer", R"({"inputs": []})"));
  auto infer = c.receive();
  EXPECT_EQ(infer.status, 404) << infer.head << infer.body;
}

TEST_F(ServerTest, ListenErrorsNameTheFrontEnd) {
  auto o = options();
  o.core.settings.controlSocket = tmp_.path() / std::string(120, 'x');
  Server s(std::move(o));
  auto r = s.listen();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("control socket: ", 0), 0u) << r.error().message;

  // The REST port taken by someone else.
  const int busy = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(busy, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(busy, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(busy, reinterpret_cast<sockaddr*>(&addr), &len);
  auto o2 = options();
  o2.core.settings.httpPort = ntohs(addr.sin_port);
  Server s2(std::move(o2));
  EXPECT_FALSE(s2.listen().ok());
  ::close(busy);
}

TEST_F(ServerTest, DestroyingAServerThatNeverRanIsClean) {
  { Server s(options()); }
  int http = 0;
  {
    Server s(options());
    auto r = s.listen();
    ASSERT_TRUE(r.ok()) << r.error().message;
    http = r.value().http;
  }
  EXPECT_FALSE(fs::exists(fs::symlink_status(socket_)));
  EXPECT_TRUE(refused(http));
  {
    Server s(options());
    ASSERT_TRUE(s.listen().ok());
    s.start(Server::Models::none);  // the HTTP loops run, the main loop never does
    s.beginDrain();                 // posted to a loop that never runs: dropped with it
  }
  EXPECT_FALSE(fs::exists(fs::symlink_status(socket_)));
}

TEST_F(ServerTest, ControlSocketFileIsRemovedAfterDestruction) {
  int http = 0;
  {
    InProcessServer s(options());
    ASSERT_TRUE(s.listenResult().ok()) << s.listenResult().error().message;
    ASSERT_TRUE(fs::is_socket(socket_));
    http = s.ports().http;
  }
  EXPECT_FALSE(fs::exists(fs::symlink_status(socket_)));
  EXPECT_TRUE(refused(http));
}

TEST_F(ServerTest, DrainWithNothingInFlightStopsAndRefusesConnections) {
  InProcessServer s(options());
  ASSERT_TRUE(s.listenResult().ok()) << s.listenResult().error().message;
  HttpClient open(s.ports().http);
  ASSERT_TRUE(open.connected());
  s.server().beginDrain();
  ASSERT_TRUE(s.server().wait());
  EXPECT_TRUE(refused(s.ports().http));
  // A hook on the stopped main loop says so instead of hanging.
  EXPECT_THROW(s.onMain([] {}), std::future_error);
  EXPECT_FALSE(s.waitUntil([] { return true; }));
}

}  // namespace
}  // namespace ringserve::supervisor::test
