#pragma once
// How an inference failed, in words a front end maps to its own codes (http/error_status.hpp maps
// them to HTTP statuses; a gRPC front end maps them to gRPC codes). codec/ and core/ still report
// `ApiError{status}` (supervisor/error.hpp, shared with folders off the request path); the
// inference path converts those once, here, with kindOf().
#include <string>

#include "supervisor/error.hpp"

namespace ringserve::supervisor::dispatch {

enum class ErrorKind {
  badInput,     // the request is wrong, or the model is not ready for it
  notFound,     // no such model (or version)
  unavailable,  // retriable: no running worker, a worker died, the arena is full
  timeout,      // no answer within request_timeout or the request's deadline
  tooLarge,     // the body (after inflating) exceeds max_request_size
  internal,     // a runtime failure or a malformed worker result
};

struct Failure {
  ErrorKind kind = ErrorKind::internal;
  std::string message;
};

const char* toString(ErrorKind kind);  // "badInput", ...

// The boundary with codec/ and core/: 400 badInput, 404 notFound, 413 tooLarge, 503 unavailable,
// 504 timeout, anything else internal.
ErrorKind kindOf(const ApiError& error);
inline Failure failureOf(const ApiError& error) { return {kindOf(error), error.message}; }

}  // namespace ringserve::supervisor::dispatch
