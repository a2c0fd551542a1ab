#pragma once
// The one place an inference failure's kind becomes an HTTP status.
#include "supervisor/dispatch/error_kind.hpp"

namespace ringserve::supervisor {

// badInput 400, notFound 404, tooLarge 413, internal 500, unavailable 503, timeout 504.
int httpStatus(dispatch::ErrorKind kind);

}  // namespace ringserve::supervisor
