#pragma once
// The server in-process, for tests (iceoryx's roudi_env idea): a supervisor::Server listening on
// port 0 everywhere, its control socket in a private folder, run on a thread of its own, with hooks
// to run code on its loops and to wait, without sleeps, until a condition holds.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "supervisor/event.hpp"
#include "supervisor/server/server.hpp"

namespace ringserve::supervisor::test {

// A folder made by mkdtemp (so 0700, as a control socket's folder must be), removed with its content.
class TempFolder {
 public:
  explicit TempFolder(const std::string& prefix = "rs-test");
  ~TempFolder();
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Options for an in-process server on `repository`: 127.0.0.1, port 0 for REST, gRPC and metrics,
// the control socket at `controlSocket`, one HTTP loop, one worker per model, 8 MiB segments, no
// load at startup, and a worker executable that does not exist (tests with workers set theirs).
Server::Options testServerOptions(const std::filesystem::path& repository, const std::filesystem::path& controlSocket);

class InProcessServer {
 public:
  // Constructs the server, listens, starts it with `models` and runs it on its own thread, then
  // returns once every loop has run a posted task (what the caller does next is served). When
  // listen() fails the server runs all the same, so hooks and destruction behave alike;
  // listenResult() says why.
  explicit InProcessServer(Server::Options options, Server::Models models = Server::Models::repository);
  // Stops at once (Server::stop: no drain) unless it has stopped already, and joins.
  ~InProcessServer();
  InProcessServer(const InProcessServer&) = delete;
  InProcessServer& operator=(const InProcessServer&) = delete;

  const Expected<ServerPorts>& listenResult() const { return listen_; }
  const ServerPorts& ports() const { return server_->ports(); }
  Server& server() { return *server_; }
  ServerCore& core() { return server_->core(); }

  // Runs fn on the main loop / on HTTP loop k and waits for it. Throws std::future_error when the
  // loop has stopped (the task was dropped).
  void onMain(std::function<void()> fn);
  void onHttp(std::size_t k, std::function<void()> fn);
  // Returns once every task posted so far to the main loop, and then to each HTTP loop, has run
  // (e.g. what beginDrain posted).
  void settle();
  // Evaluates `condition` on the main loop, again every millisecond (a main-loop timer) until it
  // holds: true then, false once `guard` has passed (a guard against a hang, not a timing check)
  // or if the main loop stopped meanwhile. One wait at a time (the test's thread).
  bool waitUntil(std::function<bool()> condition, std::chrono::milliseconds guard = std::chrono::seconds(60));
  // The repository index (ServerCore::index) shows `model` (any version when empty) READY.
  bool waitUntilReady(const std::string& model, const std::string& version = "");

 private:
  std::unique_ptr<Server> server_;
  Expected<ServerPorts> listen_{ServerPorts{}};
  Event pollTimer_;               // of the main loop's base; waitUntil's
  std::function<void()> pollFn_;  // main loop
};

// A blocking TCP client on 127.0.0.1 for hand-written HTTP/1.1.
class HttpClient {
 public:
  explicit HttpClient(int port);  // connected() says whether connect() succeeded; error() its errno
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  bool connected() const { return fd_ >= 0; }
  int error() const { return error_; }
  void send(const std::string& bytes);
  // Reads one response (Content-Length framed); status 0 on EOF or after 60 s (a hang guard).
  struct Response {
    int status = 0;
    std::string head, body;
  };
  Response receive();

 private:
  int fd_ = -1;
  int error_ = 0;
  std::string buffered_;
};

// "METHOD target" with Host and, when there is one, Content-Length and the body.
std::string httpRequest(const std::string& method, const std::string& target, const std::string& body = "");

}  // namespace ringserve::supervisor::test
