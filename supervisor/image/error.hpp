#pragma once
// The image module's one error type: a one-line reason `ringserve dockerfile` / `ringserve build`
// print before exiting with status 1.
#include <string>

#include "transport/result.hpp"

namespace ringserve::supervisor::image {

struct ImageError {
  std::string message;
};

template <class T>
using ImageResult = BasicResult<T, ImageError>;

}  // namespace ringserve::supervisor::image
