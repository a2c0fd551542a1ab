#pragma once
// The supervisor's one error type on the request path: an HTTP status and the message that goes
// into {"error": ...}. gRPC codes and exit statuses are derived from it at the edges.
#include <string>
#include <utility>

#include "transport/result.hpp"

namespace ringserve::supervisor {

struct ApiError {
  int status = 500;       // 400 bad input, 404 unknown, 413 too large, 500 runtime, 503 retriable, 504 timeout
  std::string message;
};

inline ApiError badRequest(std::string m) { return {400, std::move(m)}; }
inline ApiError notFound(std::string m) { return {404, std::move(m)}; }
inline ApiError internalError(std::string m) { return {500, std::move(m)}; }
inline ApiError unavailable(std::string m) { return {503, std::move(m)}; }

// A value or an ApiError.
template <class T>
using Expected = BasicResult<T, ApiError>;

}  // namespace ringserve::supervisor
