#include "supervisor/http/error_status.hpp"

namespace ringserve::supervisor {

int httpStatus(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::badInput: return 400;
    case ErrorKind::notFound: return 404;
    case ErrorKind::tooLarge: return 413;
    case ErrorKind::unavailable: return 503;
    case ErrorKind::timeout: return 504;
    case ErrorKind::internal: return 500;
  }
  return 500;
}

}  // namespace ringserve::supervisor
