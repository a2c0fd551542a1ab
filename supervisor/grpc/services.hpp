#pragma once
// The gRPC services: inference.GRPCInferenceService and MLServer's
// inference.model_repository.ModelRepositoryService (proto/). Callback API: handlers run on
// gRPC's own threads and only touch what is safe from any thread (ServerCore's routing snapshot,
// index copy and repository operations, the metrics registry); nothing here uses a lane.
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include "supervisor/core/metrics.hpp"
#include "supervisor/core/server_core.hpp"
#include "supervisor/dispatch/dispatcher.hpp"
#include "supervisor/settings/server_settings.hpp"

namespace ringserve::supervisor::grpcfe {

// What every RPC shares: the core, the settings, the counters, the message limit and the
// inference path.
struct ServiceContext {
  ServerCore& core;
  const settings::ServerSettings& settings;
  MetricsRegistry& metrics;
  std::uint64_t maxMessageLength;  // grpc_max_message_length, checked on responses here
  // One per HTTP loop (the server assembly's); an inference call is posted to the loop of
  // dispatchers[nextLoop++ % size] and runs there (README.md, "Threads").
  std::vector<dispatch::Dispatcher*> dispatchers;
  std::atomic<std::size_t> nextLoop{0};
};

// One RPC's identity in the metrics (grpc_service, grpc_method, grpc_type as py-grpc-prometheus,
// MLServer's interceptor, labels them).
struct Rpc {
  const char* service;
  const char* method;
  const char* type = "UNARY";
};
void countStarted(ServiceContext& ctx, const Rpc& rpc);
void countHandled(ServiceContext& ctx, const Rpc& rpc, grpc::StatusCode code);

std::unique_ptr<grpc::Service> makeInferenceService(ServiceContext& ctx);
std::unique_ptr<grpc::Service> makeModelRepositoryService(ServiceContext& ctx);

}  // namespace ringserve::supervisor::grpcfe
