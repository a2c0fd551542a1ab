#pragma once
// The server assembled (README.md): the main loop, `http_threads` HTTP loops with their lanes, the
// metrics registry, the model manager (ServerCore), one dispatch::Dispatcher per HTTP loop, the
// REST, metrics, gRPC and control-socket front ends, and the graceful drain. `ringserve start`
// (supervisor/start/start_command.cpp) runs one on its main thread; tests run one in-process
// (tests/supervisor/server/server_fixture.hpp).
//
// Lifecycle, on the thread that owns the Server except where marked: construct, drainOnSignal
// (optional), listen, start, then run() on this thread or runInThread(); beginDrain (any thread)
// ends it; destruction stops what still runs and joins every thread.
#include <chrono>
#include <cstddef>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "supervisor/control/control_server.hpp"
#include "supervisor/core/event_loop.hpp"
#include "supervisor/core/loop_lanes.hpp"
#include "supervisor/core/metrics.hpp"
#include "supervisor/core/server_core.hpp"
#include "supervisor/dispatch/dispatcher.hpp"
#include "supervisor/error.hpp"
#include "supervisor/event.hpp"
#include "supervisor/grpc/grpc_server.hpp"
#include "supervisor/http/rest_server.hpp"
#include "supervisor/settings/server_settings.hpp"

namespace ringserve::supervisor {

// What listen() bound: port 0 in the settings is reported here as the port the kernel picked.
struct ServerPorts {
  int http = 0;
  int grpc = 0;
  int metrics = 0;            // 0: metrics disabled (metrics_endpoint null)
  std::string controlSocket;  // absolute path
};

class Server {
 public:
  struct Options {
    // The settings, the installation's paths (worker executable, built-in runtime folder), the
    // environment, and the model manager's test seams (spawner, environmentLimits, restartPolicy,
    // loadDeadline): the settings are the ones every front end reads.
    ServerCore::Options core;
    control::ControlLimits controlLimits;
  };

  explicit Server(Options options);
  // Stops at once what still runs (as a second beginDrain does), joins every thread, then destroys
  // the front ends before the core, the core before the lanes and loops (the member order below).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // `signal` (SIGTERM, SIGINT) calls beginDrain from the main loop. Call before listen(): a signal
  // that arrives while the server is still starting is queued by libevent and handled once the
  // main loop runs, instead of killing the process with the default action.
  void drainOnSignal(int signal);

  // Binds REST, metrics (if enabled), gRPC and the control socket, in that order, and logs the
  // startup lines tools and tests wait for (the last one names the REST port). An error names the
  // front end that failed; the server may then only be destroyed.
  Expected<ServerPorts> listen();
  const ServerPorts& ports() const { return ports_; }

  // `repository`: registers the repository's models with the core (ServerCore::start: the default
  // pool starts, models load if load_models_at_startup). `none`: leaves the core unstarted, so no
  // worker starts until a load (tests of the sockets alone). Then starts the HTTP loops' threads.
  enum class Models { repository, none };
  void start(Models models = Models::repository);

  // Runs the main loop on this thread until the drain has stopped the workers (or a second
  // beginDrain), then stops gRPC and the HTTP loops and fails what the lanes still hold.
  void run();
  // The same on a thread of its own; wait() or the destructor joins it.
  void runInThread();
  // After runInThread(): true once run() has returned, false if `guard` passed first (a guard
  // against a hang, not a timing check).
  bool wait(std::chrono::milliseconds guard = std::chrono::minutes(2));

  // Any thread. The graceful stop: REST stops accepting (its listening socket is closed), gRPC
  // begins its shutdown, in-flight requests get until parallel_workers_timeout, then the workers
  // are stopped and the main loop ends. A second call stops the main loop now. `why` starts the
  // log line ("signal 15: draining in-flight requests and stopping").
  void beginDrain(std::string why = "stop requested");
  // Any thread: ends the main loop now, without a drain (what a second beginDrain does); run()
  // then stops the rest and ~ServerCore kills the workers.
  void stop() { main_->stop(); }

  // For tests: the parts, to drive or to watch (each on its own thread, as their headers say).
  const settings::ServerSettings& settings() const { return settings_; }
  EventLoop& mainLoop() { return *main_; }
  std::size_t httpLoopCount() const { return httpLoops_.size(); }
  EventLoop& httpLoop(std::size_t k) { return *httpLoops_.at(k); }
  dispatch::Dispatcher& dispatcher(std::size_t k) { return *dispatchers_.at(k); }
  ServerCore& core() { return *core_; }
  MetricsRegistry& metrics() { return metrics_; }
  control::ControlServer* controlServer() { return control_.get(); }  // null before listen()

 private:
  void drain(const std::string& why);  // main loop
  void drainTick();                    // main loop
  void finish();                       // after the main loop stopped; once

  const settings::ServerSettings settings_;  // read by reference by REST and gRPC
  const settings::EnvMap env_;               // for discovering the repository in start()
  const control::ControlLimits controlLimits_;
  // Declaration order is construction order; destruction runs backwards: the front ends go before
  // the dispatchers they call, those before the core, the core before the lanes and loops it posts to.
  std::unique_ptr<EventLoop> main_;
  std::vector<Event> signals_;  // events of main_'s base
  std::vector<std::unique_ptr<EventLoop>> httpLoops_;
  std::vector<std::unique_ptr<LoopLanes>> lanes_;  // lanes_[k] belongs to httpLoops_[k]
  MetricsRegistry metrics_;
  std::unique_ptr<ServerCore> core_;
  std::vector<std::unique_ptr<dispatch::Dispatcher>> dispatchers_;  // one per HTTP loop
  std::unique_ptr<RestServer> rest_;
  std::unique_ptr<MetricsServer> metricsServer_;
  std::unique_ptr<grpcfe::GrpcServer> grpc_;
  std::unique_ptr<control::ControlServer> control_;
  ServerPorts ports_;

  // The drain, main loop only.
  bool draining_ = false;
  std::chrono::steady_clock::time_point drainDeadline_;
  Event drainTimer_;  // polls the in-flight count while draining

  bool started_ = false;
  bool finished_ = false;
  std::thread mainThread_;  // runInThread()
  std::promise<void> ran_;  // set when run() returns
  std::future<void> ranFuture_ = ran_.get_future();
};

}  // namespace ringserve::supervisor
