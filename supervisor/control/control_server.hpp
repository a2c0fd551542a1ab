#pragma once
// The control socket server (docs/cli.md#the-control-socket): a Unix-domain socket on the supervisor's main loop that
// runs `ringserve ctl` operations against the ServerCore. Only peers with the server's uid or root are served
// (SO_PEERCRED); others get an error reply, a log line naming their uid and pid, and are disconnected.
//
// Threads: constructed, listened on and destroyed on the main loop's thread (or before it runs /
// after it stopped); every callback runs on the main loop.
#include <event2/listener.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "supervisor/control/control_connection.hpp"
#include "supervisor/control/socket_file.hpp"
#include "supervisor/core/event_loop.hpp"
#include "supervisor/core/server_core.hpp"
#include "supervisor/error.hpp"

namespace ringserve::supervisor::control {

// What `ctl status` reports besides the core's pools and workers.
struct ControlServerInfo {
  std::string version;
  int httpPort = 0;
  int grpcPort = 0;     // 0: not serving gRPC
  int metricsPort = 0;  // 0: metrics disabled
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

// Limits on the control socket's connections (docs/cli.md#the-control-socket).
struct ControlLimits {
  // A connection with no command running is closed when no complete request arrives for this long
  // (after accept and after each reply). `ringserve ctl` sends its request at once.
  std::chrono::milliseconds idleTimeout{5000};
  // At this many connections a new one closes the oldest idle one; if none is idle (every one runs
  // a command), the new one gets an error reply and is closed.
  std::size_t maxConnections = 64;
};

// Status of the server's pools, from ServerCore::workers() (main loop only).
ServerStatus collectStatus(const ServerCore& core, const ControlServerInfo& info, const std::string& socketPath);

class ControlServer {
 public:
  ControlServer(EventLoop& main, ServerCore& core, ControlServerInfo info, ControlLimits limits = {});
  // Stops accepting, closes every connection and removes the socket file (if it is still ours).
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the socket's folder (0700) if needed, replaces a stale socket, binds the socket (0600)
  // and starts accepting. Returns the socket's absolute path. Call once.
  Expected<std::string> listen(const std::filesystem::path& socketPath);

  std::size_t connectionCount() const { return connections_.size(); }  // main loop

 private:
  static void onAccept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* self);
  static void onAcceptError(evconnlistener*, void* self);
  static void onResume(evutil_socket_t, short, void* self);
  void accept(int fd);
  bool evictOldestIdle(std::uint64_t keep);
  void execute(const Command& c, const Peer& peer, ControlConnection::ReplyFn reply);

  EventLoop& main_;
  ServerCore& core_;
  ControlServerInfo info_;
  ControlLimits limits_;
  std::optional<BoundSocket> socket_;
  evconnlistener* listener_ = nullptr;
  Event resumeTimer_;  // re-enables accepting after an accept error (e.g. out of fds)
  std::map<std::uint64_t, std::shared_ptr<ControlConnection>> connections_;  // by id: oldest first
  std::uint64_t nextId_ = 1;
};

}  // namespace ringserve::supervisor::control
