#pragma once
// The environments module's error type (format target: the server and `ringserve pack-env` share
// it): one line naming the environment and the problem. No kind: no caller branches on why an
// environment failed. The model manager turns it into the model's failure reason
// (supervisor/core/model_registry.cpp), `pack-env` prints it and exits with status 1.
#include <string>

#include "transport/result.hpp"

namespace ringserve::supervisor::environments {

struct EnvError {
  std::string message;
};

// A value or an EnvError.
template <class T>
using EnvResult = BasicResult<T, EnvError>;

}  // namespace ringserve::supervisor::environments
