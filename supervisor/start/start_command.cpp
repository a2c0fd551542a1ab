// `ringserve start [DIR]`: read the repository, start the pools, serve REST, gRPC and metrics until
// SIGTERM/SIGINT, then drain and stop.
#include <event2/event.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "supervisor/control/control_server.hpp"
#include "supervisor/core/server_core.hpp"
#include "supervisor/dispatch/dispatcher.hpp"
#include "supervisor/event.hpp"
#include "supervisor/grpc/grpc_server.hpp"
#include "supervisor/http/rest_server.hpp"
#include "supervisor/settings/repository.hpp"
#include "supervisor/settings/server_settings.hpp"
#include "supervisor/start/commands.hpp"
#include "supervisor/start/logging.hpp"
#include "supervisor/start/paths.hpp"

namespace ringserve::cli {

using namespace ringserve::supervisor;

namespace {

// Every open connection, worker channel and environment file is a descriptor, and the usual soft
// limit (1024) is far below the hard one: raise it, as servers do. What happens when even the hard
// limit is reached is handled where descriptors are made (a refused worker spawn is retried, not
// counted as a crash: supervisor/process/README.md).
void raiseFdLimit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= r.rlim_max) return;
  const rlim_t before = r.rlim_cur;
  r.rlim_cur = r.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &r) == 0)
    spdlog::debug("file descriptor limit raised from {} to {}", static_cast<unsigned long long>(before),
                  static_cast<unsigned long long>(r.rlim_max));
}

int runStart(const std::string& dir) {
  auto env = settings::currentEnvironment();
  settings::Warnings warnings;
  auto loaded = settings::loadServerSettings(dir, env, warnings);
  if (!loaded) {
    std::cerr << "ringserve start: " << loaded.error().message << "\n";
    return 2;
  }
  settings::ServerSettings s = std::move(loaded.value());
  setUpLogging(s.debug, s.useStructuredLogging);
  for (const auto& w : warnings) spdlog::warn("{}", w);
  if (!std::filesystem::is_directory(s.modelRepositoryRoot)) {
    std::cerr << "ringserve start: model repository " << s.modelRepositoryRoot << " is not a folder\n";
    return 2;
  }
  const auto worker = workerExecutable();
  if (::access(worker.c_str(), X_OK) != 0) {
    std::cerr << "ringserve start: worker binary " << worker << " is missing or not executable\n";
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  raiseFdLimit();

  initLibevent();
  EventLoop mainLoop("main");
  // SIGTERM/SIGINT are caught from here on, before any socket is announced: a signal that
  // arrives while the server is still starting is queued by libevent and handled once the main
  // loop runs, instead of killing the process with the default action.
  std::function<void(int)> onSignalFn;
  auto sigcb = [](evutil_socket_t sig, short, void* arg) {
    (*static_cast<std::function<void(int)>*>(arg))(static_cast<int>(sig));
  };
  Event sigterm = Event::signal(mainLoop.base(), SIGTERM, sigcb, &onSignalFn);
  Event sigint = Event::signal(mainLoop.base(), SIGINT, sigcb, &onSignalFn);
  sigterm.add();
  sigint.add();
  const unsigned n = std::max(1u, s.httpThreads);
  std::vector<std::unique_ptr<EventLoop>> httpLoops;
  std::vector<std::unique_ptr<LoopLanes>> lanes;
  std::vector<LoopLanes*> lanePtrs;
  for (unsigned k = 0; k < n; ++k) {
    httpLoops.push_back(std::make_unique<EventLoop>("http-" + std::to_string(k)));
    lanes.push_back(std::make_unique<LoopLanes>(*httpLoops.back(), k));
    lanePtrs.push_back(lanes.back().get());
  }
  MetricsRegistry metrics;
  ServerCore::Options opts;
  opts.settings = s;
  opts.workerExecutable = worker.string();
  opts.builtinRuntimeDir = builtinRuntimeDir().string();
  opts.env = env;
  ServerCore core(opts, mainLoop, lanePtrs, metrics);
  // One inference path per HTTP loop, over that loop's lanes: REST requests on the loop and the gRPC
  // calls posted to it share it (supervisor/grpc/README.md).
  std::vector<std::unique_ptr<dispatch::Dispatcher>> dispatchers;
  std::vector<dispatch::Dispatcher*> dispatcherPtrs;
  for (unsigned k = 0; k < n; ++k) {
    dispatchers.push_back(
        std::make_unique<dispatch::Dispatcher>(dispatch::Options{s.serverName, s.requestTimeout, s.maxRequestSize},
                                               dispatch::modelsOf(core), *httpLoops[k], *lanes[k], metrics));
    dispatcherPtrs.push_back(dispatchers.back().get());
  }
  RestServer rest(core, s, dispatcherPtrs, metrics);
  auto httpPort = rest.listen(s.host, s.httpPort);
  if (!httpPort) {
    spdlog::error("{}", httpPort.error().message);
    return 1;
  }
  std::unique_ptr<MetricsServer> metricsServer;
  int metricsPort = 0;
  if (s.metricsEndpoint) {
    metricsServer = std::make_unique<MetricsServer>(mainLoop, metrics, *s.metricsEndpoint);
    auto p = metricsServer->listen(s.host, s.metricsPort);
    if (!p) {
      spdlog::error("metrics: {}", p.error().message);
      return 1;
    }
    metricsPort = p.value();
  }
  grpcfe::GrpcServer grpc(core, s, dispatcherPtrs, metrics);
  auto grpcPort = grpc.listen(s.host, s.grpcPort);
  if (!grpcPort) {
    spdlog::error("{}", grpcPort.error().message);
    return 1;
  }
  supervisor::control::ControlServerInfo controlInfo;
  controlInfo.version = s.serverVersion;
  controlInfo.httpPort = httpPort.value();
  controlInfo.metricsPort = metricsPort;
  controlInfo.grpcPort = grpcPort.value();
  supervisor::control::ControlServer controlServer(mainLoop, core, controlInfo);
  auto socketPath = controlServer.listen(s.controlSocket);
  if (!socketPath) {
    spdlog::error("control socket: {}", socketPath.error().message);
    return 1;
  }
  spdlog::info("control socket {} (ringserve ctl)", socketPath.value());
  // Logged before the line below, which tools and tests wait for: once it is there, so is this.
  spdlog::info("gRPC on {}:{} (inference.GRPCInferenceService, inference.model_repository.ModelRepositoryService)",
               s.host, grpcPort.value());
  spdlog::info("ringserve {} serving {} on http://{}:{} ({} HTTP loop{}), metrics on :{}{}", s.serverVersion,
               s.modelRepositoryRoot.string(), s.host, httpPort.value(), n, n == 1 ? "" : "s", metricsPort,
               s.metricsEndpoint.value_or(""));

  core.start(settings::discoverModels(s.modelRepositoryRoot, env));
  for (auto& l : httpLoops) l->startThread();

  // Graceful stop: stop accepting, let in-flight requests finish (bounded), stop the workers.
  bool stopping = false;
  std::function<void()> drainTick;
  Event drainTimer;  // polls the in-flight count while draining
  auto onSignal = [&](int sig) {
    if (stopping) {
      spdlog::warn("second signal {}: stopping now", sig);
      mainLoop.stop();
      return;
    }
    stopping = true;
    spdlog::info("signal {}: draining in-flight requests and stopping", sig);
    rest.stopAccepting();
    grpc.beginShutdown(std::chrono::milliseconds(static_cast<long>(s.parallelWorkersTimeout * 1000)));
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<long>(s.parallelWorkersTimeout * 1000));
    drainTimer = Event::timer(
        mainLoop.base(), [](evutil_socket_t, short, void* arg) { (*static_cast<std::function<void()>*>(arg))(); },
        &drainTick);
    drainTick = [&, deadline] {
      int inFlight = 0;
      for (const auto& w : core.workers()) inFlight += w.inFlight;
      if (inFlight > 0 && std::chrono::steady_clock::now() < deadline) {
        drainTimer.add(std::chrono::milliseconds(5));
        return;
      }
      core.shutdown([&] { mainLoop.stop(); });
    };
    drainTimer.add(std::chrono::microseconds(0));
  };
  onSignalFn = onSignal;

  mainLoop.run();

  grpc.stop();  // waits for its shutdown (bounded by parallel_workers_timeout)
  for (auto& l : httpLoops) l->stop();
  for (auto& l : lanes) l->dropAll(unavailable("the server is shutting down"));
  spdlog::info("stopped");
  return 0;
}

}  // namespace

void addStartCommand(CLI::App& app, int& exitCode) {
  auto* cmd = app.add_subcommand("start", "Serve the models of a repository folder");
  auto dir = std::make_shared<std::string>(".");
  cmd->add_option("DIR", *dir, "Model repository folder (settings.json and model-settings.json files)");
  cmd->callback([dir, &exitCode] { exitCode = runStart(*dir); });
}

}  // namespace ringserve::cli
