#pragma once
// The gRPC services: inference.GRPCInferenceService and MLServer's
// inference.model_repository.ModelRepositoryService (proto/). Callback API: handlers run on
// gRPC's own threads and only touch what is safe from any thread (ServerCore's routing snapshot,
// index copy and repository operations, the metrics registry); nothing here uses a lane.
#include <cstdint>
#include <memory>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include "supervisor/core/metrics.hpp"
#include "supervisor/core/server_core.hpp"
#include "supervisor/settings/server_settings.hpp"

namespace ringserve::supervisor::grpcfe {

// What every RPC shares: the core, the settings, the counters and the message limit.
struct ServiceContext {
  ServerCore& core;
  const settings::ServerSettings& settings;
  MetricsRegistry& metrics;
  std::uint64_t maxMessageLength;  // grpc_max_message_length, checked on responses here
};

std::unique_ptr<grpc::Service> makeInferenceService(ServiceContext& ctx);
std::unique_ptr<grpc::Service> makeModelRepositoryService(ServiceContext& ctx);

}  // namespace ringserve::supervisor::grpcfe
