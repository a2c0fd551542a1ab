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

}  // namespace ringserve::supervisor::grpcfe
