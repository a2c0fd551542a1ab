#pragma once
// The SDK's error types. Throw BadInput from load/predict for a request (or settings) the runtime
// cannot accept: the client gets HTTP 400 with the message as is. Any other exception is a runtime
// failure: HTTP 500 with "<module>.<Class>: <what()>".
#include <stdexcept>
#include <string>

namespace ringserve {

class BadInput : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A host function refused (e.g. the response arena is full). The host has already recorded the
// error for this call; the SDK passes `code` on. Runtimes should let it propagate.
class HostError : public std::runtime_error {
 public:
  HostError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

}  // namespace ringserve
