#pragma once
// The supervisor's one error type on the request path and in the model manager: what kind of
// failure it is and the message that goes into {"error": ...}. The kind becomes a number only at
// the edges: an HTTP status in supervisor/http/error_status.hpp, a gRPC code in
// supervisor/grpc/status.hpp; the control socket replies with the message. Folders off the request
// path have their own error types (environments::EnvError, process's SpawnError, pack-env's) and
// are converted once where they reach the manager.
#include <string>
#include <utility>

#include "transport/result.hpp"

namespace ringserve::supervisor {

enum class ErrorKind {
  badInput,     // the request is wrong, or the model is not ready for it
  notFound,     // no such model (or version)
  unavailable,  // retriable: no running worker, a worker died, the arena is full
  timeout,      // no answer within request_timeout or the request's deadline
  tooLarge,     // the body (after inflating) or the response exceeds its limit
  internal,     // a runtime failure or a malformed worker result
};

// "badInput", ... (logs and tests).
constexpr const char* toString(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::badInput: return "badInput";
    case ErrorKind::notFound: return "notFound";
    case ErrorKind::unavailable: return "unavailable";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::tooLarge: return "tooLarge";
    case ErrorKind::internal: return "internal";
  }
  return "internal";
}

struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message;
};

inline Error badRequest(std::string m) { return {ErrorKind::badInput, std::move(m)}; }
inline Error notFound(std::string m) { return {ErrorKind::notFound, std::move(m)}; }
inline Error unavailable(std::string m) { return {ErrorKind::unavailable, std::move(m)}; }
// Not `timeout()`: settings and callers have members and locals of that name.
inline Error timedOut(std::string m) { return {ErrorKind::timeout, std::move(m)}; }
inline Error tooLarge(std::string m) { return {ErrorKind::tooLarge, std::move(m)}; }
inline Error internalError(std::string m) { return {ErrorKind::internal, std::move(m)}; }

// A value or an Error.
template <class T>
using Expected = BasicResult<T, Error>;

}  // namespace ringserve::supervisor
