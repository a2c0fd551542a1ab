#pragma once
// The supervisor's one error type on the request path: an HTTP status and the message that goes
// into {"error": ...}. gRPC codes and exit statuses are derived from it at the edges.
#include <string>
#include <utility>
#include <variant>

namespace ringserve::supervisor {

struct ApiError {
  int status = 500;       // 400 bad input, 404 unknown, 413 too large, 500 runtime, 503 retriable, 504 timeout
  std::string message;
};

inline ApiError badRequest(std::string m) { return {400, std::move(m)}; }
inline ApiError notFound(std::string m) { return {404, std::move(m)}; }
inline ApiError internalError(std::string m) { return {500, std::move(m)}; }
inline ApiError unavailable(std::string m) { return {503, std::move(m)}; }

// A value or an ApiError.
template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}       // NOLINT(google-explicit-constructor)
  Expected(ApiError error) : v_(std::move(error)) {} // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const ApiError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ApiError> v_;
};

}  // namespace ringserve::supervisor
