#pragma once
// A worker's error reply (worker.capnp's ErrorCode and message) as the supervisor's Error, for
// both places that read one: inference responses (dispatch/) and control replies (process/).
// BAD_INPUT badInput, NOT_FOUND notFound (e.g. the worker no longer knows the model handle: it
// was unloaded meanwhile), UNAVAILABLE/RESOURCE_EXHAUSTED unavailable, TIMEOUT timeout;
// INTERNAL, INCOMPATIBLE and codes this build does not know internal. The message is kept.
#include <string>
#include <string_view>

#include "supervisor/error.hpp"
#include "worker.capnp.h"

namespace ringserve::supervisor {

inline ErrorKind errorKindOf(schema::ErrorCode code) {
  switch (code) {
    case schema::ErrorCode::BAD_INPUT: return ErrorKind::badInput;
    case schema::ErrorCode::NOT_FOUND: return ErrorKind::notFound;
    case schema::ErrorCode::UNAVAILABLE:
    case schema::ErrorCode::RESOURCE_EXHAUSTED: return ErrorKind::unavailable;
    case schema::ErrorCode::TIMEOUT: return ErrorKind::timeout;
    default: return ErrorKind::internal;
  }
}

inline Error errorFromWorker(schema::ErrorCode code, std::string_view message) {
  return Error{errorKindOf(code), std::string(message)};
}

}  // namespace ringserve::supervisor
