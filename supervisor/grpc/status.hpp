#pragma once
// The one place an error kind becomes a gRPC status (http/error_status.hpp is REST's): badInput
// INVALID_ARGUMENT, notFound NOT_FOUND, unavailable UNAVAILABLE, timeout DEADLINE_EXCEEDED,
// tooLarge RESOURCE_EXHAUSTED, internal INTERNAL; the message is REST's, unchanged.
#include <grpcpp/support/status.h>

#include "protocol/grpc/status_name.hpp"
#include "supervisor/error.hpp"

namespace ringserve::supervisor::grpcfe {

grpc::StatusCode grpcCode(ErrorKind kind);
grpc::Status toStatus(const Error& error);
// "OK", "INVALID_ARGUMENT", ...: the grpc_code label of grpc_server_handled_total.
using protocol::grpc_names::codeName;

}  // namespace ringserve::supervisor::grpcfe
