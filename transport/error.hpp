#pragma once
// The transport's one error type. Everything a peer can get wrong (a corrupt descriptor, an offset
// outside the segment, a malformed frame, a full arena) comes back as a TransportError value; the
// callers at the edges turn it into an HTTP status, a log line or a refused worker.
#include <string>
#include <utility>

#include "transport/result.hpp"

namespace ringserve::transport {

enum class ErrorCode {
  system,          // a syscall failed (errno text in the message)
  badHeader,       // segment magic/version/size mismatch
  permissions,     // segment or socket not private to this user
  corrupt,         // a descriptor, index or frame from the peer is out of bounds or malformed
  arenaFull,       // allocation does not fit: names shm_size and the sizes involved
  ringFull,
  tooLarge,        // a frame over its size limit
  closed,          // the peer hung up
};

struct TransportError {
  ErrorCode code;
  std::string message;
  int sysErrno = 0;  // ErrorCode::system: the errno of the failed call (callers tell EMFILE from EINVAL)
};

// A value or a TransportError. Small on purpose: the transport needs no more than this.
template <class T>
using Result = BasicResult<T, TransportError>;

struct Ok {};
using Status = Result<Ok>;

inline TransportError makeError(ErrorCode code, std::string message) {
  return TransportError{code, std::move(message)};
}
// "what: strerror(errno)"
TransportError systemError(const std::string& what);

}  // namespace ringserve::transport
