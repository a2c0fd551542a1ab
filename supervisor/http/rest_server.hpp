#pragma once
// The V2 REST API (docs/rest-api.md) on `http_threads` libevent loops that share one listening socket;
// HTTP/1.1 is read by http/connection.hpp (Beast's parser on bufferevents, README.md).
// Translation only: routes, methods, health/metadata/repository bodies (codec/v2_bodies.hpp),
// REST metrics and gzip. Inference goes to loop k's dispatch::Dispatcher, which owns lane k of
// every worker (supervisor/dispatch/README.md); no loop ever blocks on a worker.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "supervisor/core/event_loop.hpp"
#include "supervisor/core/loop_lanes.hpp"
#include "supervisor/core/metrics.hpp"
#include "supervisor/core/server_core.hpp"
#include "supervisor/dispatch/dispatcher.hpp"
#include "supervisor/settings/server_settings.hpp"

namespace ringserve::supervisor::http {
class BodyBudget;
}

namespace ringserve::supervisor {

class RestServer {
 public:
  // `dispatchers[k]` runs on loop k and owns its lanes (made by the server assembly, shared with
  // the gRPC front end); the server adds its connections and an acceptor to each loop.
  RestServer(ServerCore& core, const settings::ServerSettings& settings, std::vector<dispatch::Dispatcher*> dispatchers,
             MetricsRegistry& metrics);
  ~RestServer();
  RestServer(const RestServer&) = delete;
  RestServer& operator=(const RestServer&) = delete;

  // Binds host:port (0 = any free port) before the loops run; returns the bound port.
  Expected<int> listen(const std::string& host, int port);
  // Stops accepting new connections and closes the listening socket once every loop has run the
  // task posted to it, so that new connections are refused (open connections and in-flight
  // requests carry on). Any thread, once, while the object lives.
  void stopAccepting();
  std::size_t loopCount() const;

  struct PerLoop;
  class RestWriter;

 private:
  ServerCore& core_;
  const settings::ServerSettings& settings_;
  MetricsRegistry& metrics_;
  std::vector<std::unique_ptr<PerLoop>> loops_;
  int listenFd_ = -1;
  std::unique_ptr<http::BodyBudget> bodyBudget_;  // shared by every loop's connections
  std::atomic<std::uint64_t> connections_{0};     // open REST connections, all loops
};

// The Prometheus endpoint on its own port, served from the main loop by the same HTTP/1.1
// connections as REST (http/connection.hpp, http/metrics_server.cpp): bounded headers and body,
// timeouts, JSON errors, accept backoff when descriptors run out. The main loop also runs the
// model manager, so a hostile client here must cost no more than one there.
class MetricsServer {
 public:
  MetricsServer(EventLoop& loop, MetricsRegistry& metrics, std::string path);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  // Binds before the loop runs; returns the bound port.
  Expected<int> listen(const std::string& host, int port);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Binds a non-blocking listening TCP socket; returns the fd and the bound port. Startup only, like
// the listen() calls above: an error (ErrorKind::internal) is printed by `ringserve start` before
// it exits, never answered to a client, so it needs no startup error type of its own.
Expected<std::pair<int, int>> bindListener(const std::string& host, int port);

}  // namespace ringserve::supervisor
