#include "server_fixture.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <future>
#include <stdexcept>

namespace ringserve::supervisor::test {

namespace fs = std::filesystem;

TempFolder::TempFolder(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempFolder::~TempFolder() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Server::Options testServerOptions(const fs::path& repository, const fs::path& controlSocket) {
  Server::Options o;
  auto& s = o.core.settings;
  s.modelRepositoryRoot = repository;
  s.host = "127.0.0.1";
  s.httpPort = 0;
  s.grpcPort = 0;
  s.metricsPort = 0;
  s.controlSocket = controlSocket;
  s.httpThreads = 1;
  s.parallelWorkers = 1;
  s.shmSize = 8u << 20;
  s.loadModelsAtStartup = false;
  o.core.workerExecutable = "/nonexistent/ringserve-worker";
  return o;
}

InProcessServer::InProcessServer(Server::Options options, Server::Models models)
    : server_(std::make_unique<Server>(std::move(options))) {
  pollTimer_ = Event::timer(
      server_->mainLoop().base(),
      [](evutil_socket_t, short, void* self) { static_cast<InProcessServer*>(self)->pollFn_(); }, this);
  listen_ = server_->listen();
  server_->start(models);
  server_->runInThread();
  // Stopping is not what this waits for (EventLoop::stop before the loop runs is kept by its stop
  // event): a test's next step may depend on the loops serving, e.g. a posted check.
  settle();
}

InProcessServer::~InProcessServer() {
  server_->stop();
  server_->wait();
  pollTimer_.reset();  // before the main loop's base goes with the server
  server_.reset();
}

namespace {
void runOn(EventLoop& loop, std::function<void()> fn) {
  // The promise is owned by the task: a task dropped by a stopped loop breaks it, so get() throws.
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  loop.post([fn = std::move(fn), done = std::move(done)] {
    fn();
    done->set_value();
  });
  future.get();
}
}  // namespace

void InProcessServer::onMain(std::function<void()> fn) { runOn(server_->mainLoop(), std::move(fn)); }

void InProcessServer::onHttp(std::size_t k, std::function<void()> fn) { runOn(server_->httpLoop(k), std::move(fn)); }

void InProcessServer::settle() {
  onMain([] {});
  for (std::size_t k = 0; k < server_->httpLoopCount(); ++k) onHttp(k, [] {});
}

bool InProcessServer::waitUntil(std::function<bool()> condition, std::chrono::milliseconds guard) {
  auto result = std::make_shared<std::promise<bool>>();
  auto future = result->get_future();
  const auto deadline = std::chrono::steady_clock::now() + guard;
  server_->mainLoop().post([this, condition = std::move(condition), result = std::move(result), deadline] {
    pollFn_ = [this, condition, result, deadline] {
      if (condition()) return result->set_value(true);
      if (std::chrono::steady_clock::now() >= deadline) return result->set_value(false);
      pollTimer_.add(std::chrono::milliseconds(1));
    };
    pollFn_();
  });
  // The main loop may stop with the timer pending (the promise then lives on in pollFn_).
  if (future.wait_for(guard + std::chrono::seconds(5)) != std::future_status::ready) return false;
  try {
    return future.get();
  } catch (const std::future_error&) {
    return false;  // the loop had stopped: the check was dropped
  }
}

bool InProcessServer::waitUntilReady(const std::string& model, const std::string& version) {
  return waitUntil([this, model, version] {
    for (const auto& e : core().index())
      if (e.name == model && (version.empty() || e.version == version) && e.state == ModelState::ready) return true;
    return false;
  });
}

HttpClient::HttpClient(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error_ = errno;
    ::close(fd_);
    fd_ = -1;
  }
}

HttpClient::~HttpClient() {
  if (fd_ >= 0) ::close(fd_);
}

void HttpClient::send(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

HttpClient::Response HttpClient::receive() {
  Response r;
  auto fill = [this] {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 60000) != 1) return false;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffered_.append(buf, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t end;
  while ((end = buffered_.find("\r\n\r\n")) == std::string::npos)
    if (!fill()) return r;
  const std::string head = buffered_.substr(0, end + 4);
  std::size_t length = 0;
  for (std::size_t at = 0; (at = head.find("\r\n", at)) != std::string::npos;) {
    at += 2;
    const std::string name = "content-length:";
    std::string line = head.substr(at, name.size());
    for (auto& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (line == name) length = std::stoul(head.substr(at + name.size()));
  }
  while (buffered_.size() < head.size() + length)
    if (!fill()) return r;
  r.head = head;
  r.body = buffered_.substr(head.size(), length);
  buffered_.erase(0, head.size() + length);
  if (head.rfind("HTTP/1.1 ", 0) == 0) r.status = std::stoi(head.substr(9, 3));
  return r;
}

std::string httpRequest(const std::string& method, const std::string& target, const std::string& body) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!body.empty() || method == "POST")
    out += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  return out + "\r\n" + body;
}

}  // namespace ringserve::supervisor::test
