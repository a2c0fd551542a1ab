#pragma once
// What the control tests share: a private temp folder, an in-process server (the whole assembly,
// supervisor/server, on its own thread), raw-socket helpers for sending hand-made frames, and
// running the ctl driver as a child process.
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/control/control_protocol.hpp"
#include "supervisor/control/control_server.hpp"
#include "tests/supervisor/server/server_fixture.hpp"

namespace ringserve::supervisor::control::test {

// The server fixture's private folder (0700, removed with its content), named for these tests.
class TempDir : public supervisor::test::TempFolder {
 public:
  TempDir() : TempFolder("rs-ctl") {}
};

struct ServerOptions {
  std::filesystem::path repository;
  std::filesystem::path socket;
  // Empty: a path that does not exist, so no worker ever starts (enough for socket-level tests).
  std::string workerExecutable;
  std::string runtimeDir;
  bool startCore = false;  // ServerCore::start(discoverModels(repository)) on the loop
};

// For environment tests (a separate struct so ServerOptions stays brace-initialisable in full).
struct EnvironmentOptions {
  std::filesystem::path environmentsDir;  // empty: the settings' default
  // ServerCore::Options::environmentLimits.writeHook: runs on the thread preparing an environment.
  std::function<bool(std::uint64_t)> unpackWriteHook;
};

// The in-process server of tests/supervisor/server/server_fixture.hpp (the assembly `ringserve
// start` runs, on port 0 with one HTTP loop) with the control socket at `options.socket`, the
// version "test-version" and no load at startup.
class RunningServer {
 public:
  explicit RunningServer(ServerOptions options, EnvironmentOptions environment = {}, ControlLimits limits = {});
  ~RunningServer();

  // The control socket's listen() result (or the error of the front end that failed first).
  const Expected<std::string>& listenResult() const { return listen_; }
  const std::filesystem::path& socket() const { return options_.socket; }
  const ServerPorts& ports() const { return server_->ports(); }  // what `ctl status` reports
  // Runs fn on the main loop and waits for it.
  void onLoop(std::function<void()> fn) { server_->onMain(std::move(fn)); }
  std::size_t connectionCount();
  ServerCore& core() { return server_->core(); }

 private:
  ServerOptions options_;
  std::unique_ptr<supervisor::test::InProcessServer> server_;
  Expected<std::string> listen_{std::string()};
};

// A blocking client socket for hand-made bytes.
class RawClient {
 public:
  explicit RawClient(const std::filesystem::path& socket);
  ~RawClient();
  bool connected() const { return fd_ >= 0; }
  void send(const std::vector<std::byte>& bytes);
  void sendCommand(const Command& c);
  void shutdownWrite();
  // The next reply; nullopt on EOF (or after 60 s, a guard against hanging, not a timing check).
  std::optional<Reply> receive();
  // True when the server has closed the connection (EOF after any pending replies were read).
  bool closedByServer();

 private:
  int fd_ = -1;
};

std::vector<std::byte> frameOf(const Command& c);
std::vector<std::byte> lengthPrefix(std::uint32_t length);

struct ProcessResult {
  int exitCode = -1;
  std::string out, err;
};
// Runs the ctl driver (`<driver> ctl args...`), optionally through a prefix such as setpriv.
ProcessResult runCtl(const std::vector<std::string>& args, const std::vector<std::string>& prefix = {});
// Starts several at once and waits for all.
std::vector<ProcessResult> runCtlConcurrently(const std::vector<std::vector<std::string>>& argLists);

}  // namespace ringserve::supervisor::control::test
