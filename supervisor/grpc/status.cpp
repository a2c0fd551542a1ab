#include "supervisor/grpc/status.hpp"

namespace ringserve::supervisor::grpcfe {

grpc::StatusCode grpcCode(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::badInput: return grpc::StatusCode::INVALID_ARGUMENT;
    case ErrorKind::notFound: return grpc::StatusCode::NOT_FOUND;
    case ErrorKind::unavailable: return grpc::StatusCode::UNAVAILABLE;
    case ErrorKind::timeout: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case ErrorKind::tooLarge: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case ErrorKind::internal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::INTERNAL;
}

grpc::Status toStatus(const Error& error) { return {grpcCode(error.kind), error.message}; }

}  // namespace ringserve::supervisor::grpcfe
