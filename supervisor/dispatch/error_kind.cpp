#include "supervisor/dispatch/error_kind.hpp"

namespace ringserve::supervisor::dispatch {

const char* toString(ErrorKind kind) {
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

ErrorKind kindOf(const ApiError& error) {
  switch (error.status) {
    case 400: return ErrorKind::badInput;
    case 404: return ErrorKind::notFound;
    case 413: return ErrorKind::tooLarge;
    case 503: return ErrorKind::unavailable;
    case 504: return ErrorKind::timeout;
    default: return ErrorKind::internal;
  }
}

}  // namespace ringserve::supervisor::dispatch
