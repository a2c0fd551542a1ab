#include "supervisor/control/control_server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace ringserve::supervisor::control {

using Done = ServerCore::Done;

ServerStatus collectStatus(const ServerCore& core, const ControlServerInfo& info, const std::string& socketPath) {
  ServerStatus s;
  s.pid = static_cast<std::uint32_t>(::getpid());
  s.version = info.version;
  s.uptimeSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - info.started).count();
  s.httpPort = static_cast<std::uint16_t>(info.httpPort);
  s.grpcPort = static_cast<std::uint16_t>(info.grpcPort);
  s.metricsPort = static_cast<std::uint16_t>(info.metricsPort);
  s.controlSocket = socketPath;
  for (auto& w : core.workers()) {
    PoolStatus* pool = nullptr;
    for (auto& p : s.pools)
      if (p.key == w.pool) pool = &p;
    if (!pool) pool = &s.pools.emplace_back(PoolStatus{w.pool, w.environment, w.environmentBytes, {}});
    pool->workers.push_back(WorkerStatus{w.id, w.pid > 0 ? static_cast<std::uint32_t>(w.pid) : 0u, w.state, w.restarts,
                                         static_cast<std::uint32_t>(std::max(0, w.inFlight)), w.shmUsedBytes,
                                         w.shmBytes, std::move(w.models)});
  }
  return s;
}

ControlServer::ControlServer(EventLoop& main, ServerCore& core, ControlServerInfo info, ControlLimits limits)
    : main_(main), core_(core), info_(std::move(info)), limits_(limits) {}

ControlServer::~ControlServer() {
  if (listener_) evconnlistener_free(listener_);  // closes the listening socket
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [id, c] : connections) c->close();
  if (socket_) {
    removeControlSocket(*socket_);
    spdlog::debug("control socket {} removed", socket_->path.string());
  }
}

Expected<std::string> ControlServer::listen(const std::filesystem::path& socketPath) {
  if (listener_) return internalError("the control server is already listening");
  auto bound = bindControlSocket(socketPath);
  if (!bound) return bound.error();
  socket_ = std::move(bound.value());
  listener_ = evconnlistener_new(main_.base(), &ControlServer::onAccept, this,
                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, socket_->fd.get());
  if (!listener_) {
    removeControlSocket(*socket_);
    socket_.reset();
    return internalError("cannot listen on the control socket " + socketPath.string());
  }
  socket_->fd.release();  // the listener owns it now
  evconnlistener_set_error_cb(listener_, &ControlServer::onAcceptError);
  resumeTimer_ = Event::timer(main_.base(), &ControlServer::onResume, this);
  spdlog::info("control socket: {}", socket_->path.string());
  return socket_->path.string();
}

void ControlServer::onAccept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self) {
  static_cast<ControlServer*>(self)->accept(fd);
}

void ControlServer::onAcceptError(evconnlistener* l, void* arg) {
  auto* self = static_cast<ControlServer*>(arg);
  const int e = EVUTIL_SOCKET_ERROR();
  spdlog::warn("control socket: accept failed: {}; pausing for 100 ms", evutil_socket_error_to_string(e));
  evconnlistener_disable(l);
  timeval tv{0, 100000};
  self->resumeTimer_.add(tv);
}

void ControlServer::onResume(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<ControlServer*>(arg);
  if (self->listener_) evconnlistener_enable(self->listener_);
}

void ControlServer::accept(int rawFd) {
  transport::UniqueFd fd(rawFd);
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    spdlog::warn("control socket: cannot read the peer's credentials ({}); connection closed", std::strerror(errno));
    return;
  }
  const Peer peer{cred.pid, cred.uid};
  const std::uint64_t id = nextId_++;
  auto conn = std::make_shared<ControlConnection>(
      main_.base(), std::move(fd), peer, id, limits_.idleTimeout,
      [this](const Command& c, const Peer& p, ControlConnection::ReplyFn reply) { execute(c, p, std::move(reply)); },
      [this](std::uint64_t closedId) { connections_.erase(closedId); });
  const uid_t self = ::geteuid();
  if (peer.uid != self && peer.uid != 0) {
    spdlog::warn(
        "control socket: refused a connection from uid {} (pid {}): only uid {} and root may control this server",
        peer.uid, peer.pid, self);
    connections_.emplace(id, conn);
    conn->refuse("permission denied: uid " + std::to_string(peer.uid) +
                 " may not control this server (it runs as uid " + std::to_string(self) + ")");
    return;
  }
  connections_.emplace(id, conn);
  if (connections_.size() > limits_.maxConnections && !evictOldestIdle(id)) {
    spdlog::warn("control socket: refused a connection from pid {}: {} connections are running commands", peer.pid,
                 limits_.maxConnections);
    conn->refuse("too many control connections (the limit is " + std::to_string(limits_.maxConnections) +
                 ", each running a command); try again");
    return;
  }
  conn->start();
}

// Idle connections must not lock out a new `ringserve ctl`: the oldest idle one (lowest id) makes
// room. Closing it loses no operation, only a connection its peer was not using.
bool ControlServer::evictOldestIdle(std::uint64_t keep) {
  std::shared_ptr<ControlConnection> victim;
  for (auto& [id, c] : connections_)
    if (id != keep && c->idle()) {
      victim = c;
      break;
    }
  if (!victim) return false;
  spdlog::info("control socket: {} connections are open; closing the oldest idle one (pid {})", limits_.maxConnections,
               victim->peer().pid);
  victim->close();  // erases it from connections_
  return true;
}

void ControlServer::execute(const Command& c, const Peer& peer, ControlConnection::ReplyFn reply) {
  if (auto problem = validateCommand(c); !problem.empty()) {
    reply(Reply::error(std::move(problem)));
    return;
  }
  if (c.op == Operation::list) {
    Reply r;
    r.kind = Reply::Kind::list;
    for (auto& e : core_.index()) r.models.push_back({e.name, e.version, e.state, e.reason, ""});
    reply(std::move(r));
    return;
  }
  if (c.op == Operation::status) {
    Reply r;
    r.kind = Reply::Kind::status;
    r.status = collectStatus(core_, info_, socket_ ? socket_->path.string() : std::string());
    reply(std::move(r));
    return;
  }
  const std::string what = describe(c);
  spdlog::info("control: {} (pid {}, uid {})", what, peer.pid, peer.uid);
  Done done = [what, reply = std::move(reply)](Expected<std::string> result) {
    if (result) {
      spdlog::info("control: {}: {}", what, result.value());
      reply(Reply::ok(std::move(result.value())));
    } else {
      spdlog::warn("control: {} failed: {}", what, result.error().message);
      reply(Reply::error(result.error().message));
    }
  };
  switch (c.op) {
    case Operation::load:
      if (!c.path.empty())
        core_.loadPath(c.path, std::move(done));
      else
        core_.repositoryLoad(c.name, std::move(done));
      break;
    case Operation::reload:
      if (!c.path.empty())
        core_.loadPath(c.path, std::move(done));
      else
        core_.reload(c.name, std::move(done));
      break;
    case Operation::unload: core_.repositoryUnload(c.name, std::move(done)); break;
    case Operation::list:
    case Operation::status: break;
  }
}

}  // namespace ringserve::supervisor::control
