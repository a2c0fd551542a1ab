#pragma once
// ModelInfer and ModelStreamInfer (README.md, "Threads"): each request is posted from gRPC's thread
// to HTTP loop k (round robin), whose dispatch::Dispatcher runs it on that loop's lanes exactly as a
// REST request; the answer is handed back to the call from that loop. Nothing here touches a lane.
#include <grpcpp/grpcpp.h>

#include "dataplane.grpc.pb.h"
#include "supervisor/grpc/services.hpp"

namespace ringserve::supervisor::grpcfe {

grpc::ServerUnaryReactor* modelInfer(ServiceContext& ctx, grpc::CallbackServerContext* call,
                                     const inference::ModelInferRequest* request,
                                     inference::ModelInferResponse* response);

// A bidirectional stream answered in request order, one ModelInferResponse per request; the first
// request that fails ends the stream with its status (docs/grpc-api.md says why).
grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelInferResponse>* modelStreamInfer(
    ServiceContext& ctx, grpc::CallbackServerContext* call);

}  // namespace ringserve::supervisor::grpcfe
