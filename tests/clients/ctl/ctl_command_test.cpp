// `ringserve ctl` as a separate process (the ctl driver links the same addCtlCommand): output,
// exit statuses, socket discovery, a peer with another uid, several client processes at once.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "clients/ctl/ctl_client.hpp"
#include "control_fixture.hpp"

namespace ringserve::supervisor::control::test {
namespace {

using namespace ringserve::ctl;

namespace fs = std::filesystem;

class CtlCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.path() / "repo";
    fs::create_directories(repo_);
    socket_ = tmp_.path() / "run" / "ringserve-1.sock";
  }
  void start() {
    server_ = std::make_unique<RunningServer>(ServerOptions{repo_, socket_, "", "", false});
    ASSERT_TRUE(server_->listenResult().ok()) << server_->listenResult().error().message;
  }

  TempDir tmp_;
  fs::path repo_, socket_;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(CtlCommandTest, ListAndStatusPrintTablesOrJson) {
  start();
  auto list = runCtl({"list", "--socket", socket_.string()});
  EXPECT_EQ(list.exitCode, 0) << list.err;
  EXPECT_EQ(list.out, "no models in the repository\n");
  auto json = runCtl({"--socket", socket_.string(), "--json", "list"});  // options before the operation too
  EXPECT_EQ(json.exitCode, 0) << json.err;
  EXPECT_EQ(json.out, "{\"models\":[]}\n");

  auto status = runCtl({"status", "--socket", socket_.string()});
  EXPECT_EQ(status.exitCode, 0) << status.err;
  EXPECT_EQ(status.out.rfind("ringserve test-version, pid " + std::to_string(::getpid()) + ", up ", 0), 0u)
      << status.out;
  EXPECT_NE(status.out.find("control " + socket_.string()), std::string::npos) << status.out;
  auto statusJson = runCtl({"status", "--json", "--socket", socket_.string()});
  EXPECT_EQ(statusJson.exitCode, 0) << statusJson.err;
  EXPECT_NE(statusJson.out.find("\"pid\":" + std::to_string(::getpid()) + ","), std::string::npos) << statusJson.out;
  EXPECT_NE(statusJson.out.find("\"http_port\":" + std::to_string(server_->ports().http) + ","), std::string::npos)
      << statusJson.out;
}

TEST_F(CtlCommandTest, FailedOperationExitsOneWithTheServersMessage) {
  start();
  auto r = runCtl({"load", "nope", "--socket", socket_.string()});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("ringserve ctl load: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(CtlCommandTest, UsageErrorsAreCaughtBeforeConnecting) {
  auto noTarget = runCtl({"load", "--socket", socket_.string()});
  EXPECT_EQ(noTarget.exitCode, 2);
  EXPECT_NE(noTarget.err.find("give a model NAME or --path FOLDER"), std::string::npos) << noTarget.err;
  auto both = runCtl({"load", "m", "--path", "/x", "--socket", socket_.string()});
  EXPECT_NE(both.exitCode, 0);
  auto noName = runCtl({"unload", "--socket", socket_.string()});
  EXPECT_NE(noName.exitCode, 0);
  EXPECT_NE(noName.err.find("NAME"), std::string::npos) << noName.err;
  auto noOp = runCtl({});
  EXPECT_NE(noOp.exitCode, 0);
}

TEST_F(CtlCommandTest, ClearErrorWhenNoServerIsRunning) {
  auto missing = runCtl({"list", "--socket", socket_.string()});
  EXPECT_EQ(missing.exitCode, 2);
  EXPECT_NE(missing.err.find("no control socket at " + socket_.string() + ": is the server running?"),
            std::string::npos)
      << missing.err;

  start();
  server_.reset();  // removed at shutdown
  auto after = runCtl({"list", "--socket", socket_.string()});
  EXPECT_EQ(after.exitCode, 2);
  EXPECT_NE(after.err.find("is the server running?"), std::string::npos) << after.err;
}

TEST_F(CtlCommandTest, FindsTheOnlyLiveServerInTheDefaultFolder) {
  // defaultControlSocketDir with XDG_RUNTIME_DIR set is $XDG_RUNTIME_DIR/ringserve.
  settings::EnvMap env{{"XDG_RUNTIME_DIR", tmp_.path().string()}};
  socket_ = tmp_.path() / "ringserve" / "ringserve-100.sock";
  auto none = chooseControlSocket(std::nullopt, env);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("no ringserve server is running"), std::string::npos) << none.error().message;

  start();
  {
    // A stale socket beside the live one is skipped.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const auto stale = (tmp_.path() / "ringserve" / "ringserve-99.sock").string();
    std::strncpy(addr.sun_path, stale.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  auto chosen = chooseControlSocket(std::nullopt, env);
  ASSERT_TRUE(chosen.ok()) << chosen.error().message;
  EXPECT_EQ(chosen.value(), socket_);

  RunningServer second(ServerOptions{repo_, tmp_.path() / "ringserve" / "ringserve-101.sock", "", "", false});
  ASSERT_TRUE(second.listenResult().ok());
  auto ambiguous = chooseControlSocket(std::nullopt, env);
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_NE(ambiguous.error().message.find("several ringserve servers are running"), std::string::npos);
  EXPECT_NE(ambiguous.error().message.find("ringserve-101.sock"), std::string::npos) << ambiguous.error().message;
  EXPECT_NE(ambiguous.error().message.find("--socket"), std::string::npos);

  auto viaEnv = chooseControlSocket(std::nullopt, settings::EnvMap{{"RINGSERVE_CONTROL_SOCKET", "/x/y.sock"}});
  ASSERT_TRUE(viaEnv.ok());
  EXPECT_EQ(viaEnv.value(), fs::path("/x/y.sock"));
}

TEST_F(CtlCommandTest, SilentServerIsATimeoutError) {
  // A socket that accepts (in the backlog) and never answers.
  fs::create_directories(socket_.parent_path());
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  auto r = callControl(socket_, {Operation::list, "", "", ""}, std::chrono::milliseconds(50));
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, CtlError::Kind::timeout);
  EXPECT_NE(r.error().message.find("no reply from the server"), std::string::npos) << r.error().message;
}

// The test runs as root in CI; the client runs as `nobody` through setpriv (util-linux).
class CtlOtherUidTest : public CtlCommandTest {
 protected:
  void SetUp() override {
    CtlCommandTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as another user";
    if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "setpriv (util-linux) is not installed";
    if (!::getpwnam("nobody")) GTEST_SKIP() << "no user nobody";
    // The driver binary must be reachable by nobody (build trees under /root may not be).
    if (runCtl({"--help"}, asNobody()).exitCode != 0) GTEST_SKIP() << "nobody cannot run the ctl driver";
  }
  static std::vector<std::string> asNobody() {
    return {"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"};
  }
};

TEST_F(CtlOtherUidTest, FileModesKeepOtherUsersOut) {
  start();
  auto r = runCtl({"list", "--socket", socket_.string()}, asNobody());
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
}

TEST_F(CtlOtherUidTest, PeerCredentialsAreCheckedEvenWhenTheModesAreOpen) {
  start();
  // An operator loosened the modes: SO_PEERCRED still refuses the peer.
  ::chmod(socket_.parent_path().c_str(), 0755);
  ::chmod(tmp_.path().c_str(), 0755);
  ::chmod(socket_.c_str(), 0666);
  auto r = runCtl({"list", "--socket", socket_.string()}, asNobody());
  EXPECT_EQ(r.exitCode, 1);
  const auto nobody = std::to_string(::getpwnam("nobody")->pw_uid);
  EXPECT_NE(r.err.find("permission denied: uid " + nobody + " may not control this server"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
  // The server keeps serving its own user.
  auto mine = runCtl({"list", "--socket", socket_.string()});
  EXPECT_EQ(mine.exitCode, 0) << mine.err;
}

TEST_F(CtlCommandTest, SeveralClientProcessesAtOnce) {
  start();
  std::vector<std::vector<std::string>> calls;
  for (int i = 0; i < 8; ++i) {
    calls.push_back({"unload", "same-model", "--socket", socket_.string()});
    calls.push_back({i % 2 ? "list" : "status", "--socket", socket_.string()});
  }
  auto results = runCtlConcurrently(calls);
  ASSERT_EQ(results.size(), calls.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (calls[i][0] == "unload") {
      EXPECT_EQ(results[i].exitCode, 1) << results[i].err;
      EXPECT_NE(results[i].err.find("same-model"), std::string::npos) << results[i].err;
    } else {
      EXPECT_EQ(results[i].exitCode, 0) << results[i].err;
    }
  }
}

}  // namespace
}  // namespace ringserve::supervisor::control::test
