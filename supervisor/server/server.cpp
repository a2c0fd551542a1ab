#include "supervisor/server/server.hpp"

#include <spdlog/spdlog.h>

#include "supervisor/settings/repository.hpp"

namespace ringserve::supervisor {

namespace {
std::chrono::milliseconds graceOf(const settings::ServerSettings& s) {
  return std::chrono::milliseconds(static_cast<long>(s.parallelWorkersTimeout * 1000));
}
}  // namespace

Server::Server(Options options)
    : settings_(options.core.settings), env_(options.core.env), controlLimits_(options.controlLimits) {
  initLibevent();
  main_ = std::make_unique<EventLoop>("main");
  const unsigned n = std::max(1u, settings_.httpThreads);
  std::vector<LoopLanes*> lanePtrs;
  for (unsigned k = 0; k < n; ++k) {
    httpLoops_.push_back(std::make_unique<EventLoop>("http-" + std::to_string(k)));
    lanes_.push_back(std::make_unique<LoopLanes>(*httpLoops_.back(), k));
    lanePtrs.push_back(lanes_.back().get());
  }
  core_ = std::make_unique<ServerCore>(std::move(options.core), *main_, lanePtrs, metrics_);
  // One inference path per HTTP loop, over that loop's lanes: REST requests on the loop and the gRPC
  // calls posted to it share it (supervisor/grpc/README.md).
  std::vector<dispatch::Dispatcher*> dispatcherPtrs;
  for (unsigned k = 0; k < n; ++k) {
    dispatchers_.push_back(std::make_unique<dispatch::Dispatcher>(
        dispatch::Options{settings_.serverName, settings_.requestTimeout, settings_.maxRequestSize},
        dispatch::modelsOf(*core_), *httpLoops_[k], *lanes_[k], metrics_));
    dispatcherPtrs.push_back(dispatchers_.back().get());
  }
  rest_ = std::make_unique<RestServer>(*core_, settings_, dispatcherPtrs, metrics_);
  grpc_ = std::make_unique<grpcfe::GrpcServer>(*core_, settings_, dispatcherPtrs, metrics_);
}

Server::~Server() {
  if (mainThread_.joinable()) {
    stop();  // not lost if the loop has not started yet (EventLoop's stop event)
    mainThread_.join();
  }
  finish();
}

void Server::drainOnSignal(int signal) {
  auto onSignal = [](evutil_socket_t sig, short, void* self) {
    static_cast<Server*>(self)->drain("signal " + std::to_string(static_cast<int>(sig)));
  };
  signals_.push_back(Event::signal(main_->base(), signal, onSignal, this));
  signals_.back().add();
}

Expected<ServerPorts> Server::listen() {
  const auto& s = settings_;
  auto httpPort = rest_->listen(s.host, s.httpPort);
  if (!httpPort) return httpPort.error();
  ports_.http = httpPort.value();
  if (s.metricsEndpoint) {
    metricsServer_ = std::make_unique<MetricsServer>(*main_, metrics_, *s.metricsEndpoint);
    auto p = metricsServer_->listen(s.host, s.metricsPort);
    if (!p) {
      auto e = p.error();
      e.message = "metrics: " + e.message;
      return e;
    }
    ports_.metrics = p.value();
  }
  auto grpcPort = grpc_->listen(s.host, s.grpcPort);
  if (!grpcPort) return grpcPort.error();
  ports_.grpc = grpcPort.value();
  control::ControlServerInfo info;
  info.version = s.serverVersion;
  info.httpPort = ports_.http;
  info.metricsPort = ports_.metrics;
  info.grpcPort = ports_.grpc;
  control_ = std::make_unique<control::ControlServer>(*main_, *core_, info, controlLimits_);
  auto socketPath = control_->listen(s.controlSocket);
  if (!socketPath) {
    auto e = socketPath.error();
    e.message = "control socket: " + e.message;
    return e;
  }
  ports_.controlSocket = socketPath.value();
  spdlog::info("control socket {} (ringserve ctl)", ports_.controlSocket);
  // Logged before the line below, which tools and tests wait for: once it is there, so is this.
  spdlog::info("gRPC on {}:{} (inference.GRPCInferenceService, inference.model_repository.ModelRepositoryService)",
               s.host, ports_.grpc);
  const std::size_t n = httpLoops_.size();
  spdlog::info("ringserve {} serving {} on http://{}:{} ({} HTTP loop{}), metrics on :{}{}", s.serverVersion,
               s.modelRepositoryRoot.string(), s.host, ports_.http, n, n == 1 ? "" : "s", ports_.metrics,
               s.metricsEndpoint.value_or(""));
  return ports_;
}

void Server::start(Models models) {
  if (started_) return;
  started_ = true;
  // Before the main loop runs: ServerCore is main-loop-only, and no other thread touches it yet.
  if (models == Models::repository) core_->start(settings::discoverModels(settings_.modelRepositoryRoot, env_));
  for (auto& l : httpLoops_) l->startThread();
}

void Server::run() {
  main_->run();
  finish();
  ran_.set_value();
}

void Server::runInThread() {
  mainThread_ = std::thread([this] { run(); });
}

bool Server::wait(std::chrono::milliseconds guard) {
  if (ranFuture_.wait_for(guard) != std::future_status::ready) return false;
  if (mainThread_.joinable()) mainThread_.join();
  return true;
}

void Server::beginDrain(std::string why) {
  main_->post([this, why = std::move(why)] { drain(why); });
}

void Server::drain(const std::string& why) {
  if (draining_) {
    spdlog::warn("second {}: stopping now", why);
    main_->stop();
    return;
  }
  draining_ = true;
  spdlog::info("{}: draining in-flight requests and stopping", why);
  rest_->stopAccepting();
  grpc_->beginShutdown(graceOf(settings_));
  drainDeadline_ = std::chrono::steady_clock::now() + graceOf(settings_);
  drainTimer_ = Event::timer(
      main_->base(), [](evutil_socket_t, short, void* self) { static_cast<Server*>(self)->drainTick(); }, this);
  drainTimer_.add(std::chrono::microseconds(0));
}

void Server::drainTick() {
  int inFlight = 0;
  for (const auto& w : core_->workers()) inFlight += w.inFlight;
  if (inFlight > 0 && std::chrono::steady_clock::now() < drainDeadline_) {
    drainTimer_.add(std::chrono::milliseconds(5));
    return;
  }
  core_->shutdown([this] { main_->stop(); });
}

void Server::finish() {
  if (finished_) return;
  finished_ = true;
  grpc_->stop();  // waits for its shutdown (bounded by parallel_workers_timeout)
  for (auto& l : httpLoops_) l->stop();
  // Both kinds of loop have stopped: requests still pending (a hung worker's) complete here, while
  // the dispatchers and front ends they call back into still exist.
  for (auto& l : lanes_) l->dropAll(unavailable("the server is shutting down"));
  if (started_) spdlog::info("stopped");
}

}  // namespace ringserve::supervisor
