#pragma once
// The load generator's one error type: bad options, unreadable files, malformed server replies.
// Thrown inside loadgen/ and caught once, in commands.cpp, where it becomes a one-line reason on
// stderr and a non-zero exit status.
#include <stdexcept>
#include <string>

namespace ringserve::loadgen {

class LoadgenError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ringserve::loadgen
