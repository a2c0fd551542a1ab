#pragma once
// The Open Inference Protocol over gRPC for `bench` and `infer --protocol grpc`: V2 requests and
// responses as the clients hold them (v2_types.hpp) to and from inference.ModelInferRequest /
// ModelInferResponse (protocol/grpc/dataplane.proto), and the channel both commands call through.
#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "clients/loadgen/request_body.hpp"
#include "clients/loadgen/v2_types.hpp"
#include "dataplane.grpc.pb.h"
#include "protocol/grpc/status_name.hpp"

namespace ringserve::loadgen {

inline constexpr const char* kModelInferMethod = "/inference.GRPCInferenceService/ModelInfer";

// raw: every input in raw_input_contents (little-endian, BYTES length-prefixed: the binary
// extension's encoding); else typed `contents` (FP16/BF16 have none: a LoadgenError says to use
// raw). Parameters (request, inputs, requested outputs) become InferParameters: bool, int64,
// uint64, double or string; anything else is a LoadgenError.
inference::ModelInferRequest toGrpcRequest(const V2Request& r, std::string_view model, std::string_view version,
                                           bool raw);

// Typed or raw outputs to text elements, parameters to JSON objects (keys sorted: protobuf maps
// have no order); throws LoadgenError on contents that do not match an output's shape.
V2Response fromGrpcResponse(const inference::ModelInferResponse& r);

// `host:port` from `http://host:port[/...]`, `grpc://host:port` or `host:port`.
std::string grpcTarget(std::string_view url);

// A channel to `target` without message size limits (the server enforces its own).
std::shared_ptr<grpc::Channel> grpcChannel(const std::string& target);

// How a failed call reads in the REST vocabulary the commands share: the HTTP status the server
// answers the same failure with over REST (docs/grpc-api.md), or 0 with `error` set to "timeout"
// (DEADLINE_EXCEEDED) or "connection error" (the channel could not connect).
struct GrpcOutcome {
  int status = 200;
  std::string error;    // status 0 only
  std::string message;  // the server's message
};
GrpcOutcome outcomeOf(const grpc::Status& s, grpc::Channel& channel);

// "NOT_FOUND", ...
using protocol::grpc_names::codeName;

// Metadata for a call: the -H headers, names lowercased (gRPC requires it).
void addMetadata(grpc::ClientContext& ctx, const HeaderList& headers);

}  // namespace ringserve::loadgen
