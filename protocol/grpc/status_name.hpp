#pragma once
// The canonical name of a gRPC status code ("NOT_FOUND"), as the server's metrics label
// (`grpc_server_handled_total{grpc_code}`) and access log and the bench client's error counts print
// it. Header-only: both sides already link gRPC, and this folder's library is protoc's code.
#include <grpcpp/support/status.h>

namespace ringserve::protocol::grpc_names {

inline const char* codeName(::grpc::StatusCode code) {
  using C = ::grpc::StatusCode;
  switch (code) {
    case C::OK: return "OK";
    case C::CANCELLED: return "CANCELLED";
    case C::UNKNOWN: return "UNKNOWN";
    case C::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case C::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case C::NOT_FOUND: return "NOT_FOUND";
    case C::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case C::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case C::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case C::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case C::ABORTED: return "ABORTED";
    case C::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case C::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case C::INTERNAL: return "INTERNAL";
    case C::UNAVAILABLE: return "UNAVAILABLE";
    case C::DATA_LOSS: return "DATA_LOSS";
    case C::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

}  // namespace ringserve::protocol::grpc_names
