#pragma once
// The settings module's one error type: a message that names the file (or environment variable)
// and what is wrong with it. The caller logs it, or puts it in the repository index as the
// model's UNAVAILABLE reason; nothing here logs.
#include <string>
#include <utility>

#include "transport/result.hpp"
#include <vector>

namespace ringserve::supervisor::settings {

struct SettingsError {
  std::string message;
};

// A value or a SettingsError (same shape as transport::Result and supervisor::Expected).
template <class T>
using SettingsResult = BasicResult<T, SettingsError>;

// Warnings collected while reading settings (unknown fields, ignored values); the caller logs them.
using Warnings = std::vector<std::string>;

}  // namespace ringserve::supervisor::settings
