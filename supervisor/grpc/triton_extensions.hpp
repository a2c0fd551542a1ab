#pragma once
// Triton's model-configuration and statistics extensions over gRPC (ModelConfig, ModelStatistics on
// inference.GRPCInferenceService): the REST bodies (codec/triton_bodies.hpp, whose field names are
// the proto's) read into the messages, so both front ends answer the same. Any thread: only the
// routing snapshot and the statistics' atomics are read.
#include <grpcpp/support/status.h>

#include "dataplane.pb.h"
#include "supervisor/core/server_core.hpp"

namespace ringserve::supervisor::grpcfe {

grpc::Status modelConfig(ServerCore& core, const inference::ModelConfigRequest& req,
                         inference::ModelConfigResponse& resp);
grpc::Status modelStatistics(ServerCore& core, const inference::ModelStatisticsRequest& req,
                             inference::ModelStatisticsResponse& resp);

}  // namespace ringserve::supervisor::grpcfe
