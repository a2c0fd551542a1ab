#pragma once
// The one place an error kind becomes an HTTP status (grpc/status.hpp is gRPC's). Nothing below
// http/ carries a status number; the few statuses REST has of its own (405, 200/400 of the
// readiness bodies) are written where REST answers them.
#include "supervisor/error.hpp"

namespace ringserve::supervisor {

// badInput 400, notFound 404, tooLarge 413, internal 500, unavailable 503, timeout 504.
int httpStatus(ErrorKind kind);

}  // namespace ringserve::supervisor
