#include "supervisor/grpc/status.hpp"

namespace ringserve::supervisor::grpcfe {

grpc::StatusCode grpcCode(dispatch::ErrorKind kind) {
  using K = dispatch::ErrorKind;
  switch (kind) {
    case K::badInput: return grpc::StatusCode::INVALID_ARGUMENT;
    case K::notFound: return grpc::StatusCode::NOT_FOUND;
    case K::unavailable: return grpc::StatusCode::UNAVAILABLE;
    case K::timeout: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case K::tooLarge: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case K::internal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::INTERNAL;
}

grpc::Status toStatus(const dispatch::Failure& failure) { return {grpcCode(failure.kind), failure.message}; }

const char* codeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

}  // namespace ringserve::supervisor::grpcfe
