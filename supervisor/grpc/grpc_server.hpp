#pragma once
// The gRPC front end on grpc_port (README.md): both services of services.hpp on one
// grpc::Server, its messages bounded by grpc_max_message_length, and a shutdown that lets
// in-flight calls finish for a bounded time without blocking the main loop.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "supervisor/core/metrics.hpp"
#include "supervisor/core/server_core.hpp"
#include "supervisor/dispatch/dispatcher.hpp"
#include "supervisor/settings/server_settings.hpp"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace ringserve::supervisor::grpcfe {

struct ServiceContext;

class GrpcServer {
 public:
  // `dispatchers` (one per HTTP loop, the server assembly's) run the inference calls.
  GrpcServer(ServerCore& core, const settings::ServerSettings& settings, std::vector<dispatch::Dispatcher*> dispatchers,
             MetricsRegistry& metrics);
  ~GrpcServer();  // stops at once if stop() was not called
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Binds host:port (0 = any free port) and starts serving; returns the bound port.
  Expected<int> listen(const std::string& host, int port);
  // Stops accepting calls; calls in flight get until `grace` has passed, then are cancelled. Runs
  // on a thread of its own (a repository call in flight is answered from the main loop, which must
  // keep running meanwhile); any thread, once.
  void beginShutdown(std::chrono::milliseconds grace);
  // Waits for that shutdown (or does one with no grace) and releases the server.
  void stop();

 private:
  std::unique_ptr<ServiceContext> ctx_;
  std::unique_ptr<grpc::Service> inference_;
  std::unique_ptr<grpc::Service> repository_;
  std::unique_ptr<grpc::Server> server_;
  std::thread shutdownThread_;
};

}  // namespace ringserve::supervisor::grpcfe
