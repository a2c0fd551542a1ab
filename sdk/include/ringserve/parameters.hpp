#pragma once
// `parameters` objects: read-only views on the JSON text the host passes (request, tensor and
// settings parameters), and a builder for the ones the runtime returns (response and outputs).
//
// Parameters parses lazily, on the first accessor call, and keeps what it parsed; it never owns
// the text it views (the host's text lives as long as the call, settings text as long as the model).
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringserve {

class Parameters {
 public:
  Parameters() = default;
  explicit Parameters(std::string_view json) : json_(json) {}

  // The object as JSON text ("" when there was none).
  std::string_view json() const { return json_; }
  bool empty() const;
  bool has(std::string_view key) const;
  // A member that is a JSON string; nullopt when absent or not a string.
  std::optional<std::string> getString(std::string_view key) const;
  std::optional<double> getNumber(std::string_view key) const;
  std::optional<bool> getBool(std::string_view key) const;
  // Any member as JSON text; nullopt when absent.
  std::optional<std::string> getRaw(std::string_view key) const;
  // parameters.content_type
  std::optional<std::string> contentType() const { return getString("content_type"); }
  // parameters.headers: names as given (the server lower-cases HTTP header names), values as
  // strings (non-string values as their JSON text).
  const std::map<std::string, std::string>& headers() const;
  std::optional<std::string> header(std::string_view name) const;

 private:
  struct Parsed;
  const Parsed& parsed() const;

  std::string_view json_;
  mutable std::shared_ptr<const Parsed> parsed_;
};

// Builds a `parameters` object. Keys keep insertion order; setting a key again replaces it.
class ParametersBuilder {
 public:
  void set(std::string_view key, std::string_view value);  // a JSON string
  void setNumber(std::string_view key, double value);
  void setBool(std::string_view key, bool value);
  void setRaw(std::string_view key, std::string json);     // any JSON value, taken as is
  void setHeader(std::string_view name, std::string_view value);
  bool empty() const { return members_.empty() && headers_.empty(); }
  std::string toJson() const;

 private:
  std::vector<std::pair<std::string, std::string>> members_;  // key -> JSON value text
  std::vector<std::pair<std::string, std::string>> headers_;  // name -> value
};

// `"text"` with JSON escapes.
std::string jsonQuote(std::string_view text);

}  // namespace ringserve
