#pragma once
// The settings module's one error type: a message that names the file (or environment variable)
// and what is wrong with it. The caller logs it, or puts it in the repository index as the
// model's UNAVAILABLE reason; nothing here logs.
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ringserve::supervisor::settings {

struct SettingsError {
  std::string message;
};

// A value or a SettingsError (same shape as transport::Result and supervisor::Expected).
template <class T>
class [[nodiscard]] SettingsResult {
 public:
  SettingsResult(T value) : v_(std::move(value)) {}             // NOLINT(google-explicit-constructor)
  SettingsResult(SettingsError error) : v_(std::move(error)) {} // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const SettingsError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, SettingsError> v_;
};

// Warnings collected while reading settings (unknown fields, ignored values); the caller logs them.
using Warnings = std::vector<std::string>;

}  // namespace ringserve::supervisor::settings
