#include "supervisor/grpc/grpc_server.hpp"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include <climits>

#include "supervisor/grpc/services.hpp"

namespace ringserve::supervisor::grpcfe {

GrpcServer::GrpcServer(ServerCore& core, const settings::ServerSettings& settings,
                       std::vector<dispatch::Dispatcher*> dispatchers, MetricsRegistry& metrics)
    : ctx_(std::make_unique<ServiceContext>(core, settings, metrics, settings.grpcMaxMessageLength,
                                            std::move(dispatchers))),
      inference_(makeInferenceService(*ctx_)),
      repository_(makeModelRepositoryService(*ctx_)) {}

GrpcServer::~GrpcServer() { stop(); }

Expected<int> GrpcServer::listen(const std::string& host, int port) {
  // grpc.reflection.v1alpha.ServerReflection (Debian's libgrpc++_reflection): tools list and describe
  // the services from the descriptors compiled in. Registers a builder plugin once per process.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int bound = 0;
  const std::string address =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &bound);
  // gRPC sets SO_REUSEPORT by default, which would let a second server share a busy port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // gRPC itself refuses a larger request (RESOURCE_EXHAUSTED, before anything is buffered past the
  // limit); responses are checked by services.cpp, whose message names the setting. gRPC's own
  // limits are ints.
  const int limit = static_cast<int>(std::min<std::uint64_t>(ctx_->maxMessageLength, INT_MAX));
  builder.SetMaxReceiveMessageSize(limit);
  builder.SetMaxSendMessageSize(-1);
  builder.RegisterService(inference_.get());
  builder.RegisterService(repository_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || bound == 0) {
    server_.reset();
    return internalError("gRPC: cannot listen on " + address + " (grpc_port)");
  }
  return bound;
}

void GrpcServer::beginShutdown(std::chrono::milliseconds grace) {
  if (!server_ || shutdownThread_.joinable()) return;
  shutdownThread_ =
      std::thread([server = server_.get(), grace] { server->Shutdown(std::chrono::system_clock::now() + grace); });
}

void GrpcServer::stop() {
  if (!server_) return;
  if (!shutdownThread_.joinable()) beginShutdown(std::chrono::milliseconds(0));
  shutdownThread_.join();
  server_->Wait();
  server_.reset();
}

}  // namespace ringserve::supervisor::grpcfe
