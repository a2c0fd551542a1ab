#pragma once
// The worker's one error type. Thrown on the control path (load/unload) and carried as a value on
// the inference path; it becomes a capnp `Error` (code + message) at the two edges that talk to
// the supervisor (control replies, InferResponse frames).
#include <stdexcept>
#include <string>

#include "worker.capnp.h"

namespace ringserve::worker {

class WorkerError : public std::runtime_error {
 public:
  WorkerError(schema::ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  schema::ErrorCode code() const { return code_; }

 private:
  schema::ErrorCode code_;
};

}  // namespace ringserve::worker
