#pragma once
// Private to settings/: typed reads of one settings object where each field comes from the file,
// else from an environment variable, else keeps its default. Records which names were asked for
// so the caller can warn about the rest.
#include <simdjson.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/settings/environment.hpp"
#include "transport/json_text.hpp"
#include "supervisor/settings/error.hpp"

namespace ringserve::supervisor::settings::detail {

using transport::appendJsonString;  // the one in transport/json_text.hpp
std::string jsonString(std::string_view s);

// One value for a field: the JSON element and where it came from ("settings.json: field 'x'" or
// "environment variable RINGSERVE_X").
struct FieldValue {
  simdjson::dom::element element;
  std::string origin;
  bool fromEnv = false;
  std::string envText;  // the raw variable when fromEnv
};

class FieldReader {
 public:
  // `object` may be null (no file). `envPrefix` is "" (server: RINGSERVE_<F>/MLSERVER_<F>) or
  // "MODEL_" (RINGSERVE_MODEL_<F>/MLSERVER_MODEL_<F>). `fileLabel` prefixes file errors.
  FieldReader(std::optional<simdjson::dom::object> object, std::string fileLabel, const EnvMap& env,
              std::string envPrefix);

  // Each returns an error message, or nullopt when the field is absent or was read into `out`.
  std::optional<SettingsError> boolean(std::string_view name, bool& out);
  std::optional<SettingsError> integer(std::string_view name, std::int64_t min, std::int64_t max, std::int64_t& out);
  std::optional<SettingsError> number(std::string_view name, double min, double& out);
  std::optional<SettingsError> string(std::string_view name, std::string& out);
  // JSON null (or, from the environment, "null" or empty) gives nullopt.
  std::optional<SettingsError> nullableString(std::string_view name, std::optional<std::string>& out, bool& present);
  std::optional<SettingsError> nullableNumber(std::string_view name, double min, std::optional<double>& out);
  std::optional<SettingsError> stringList(std::string_view name, std::vector<std::string>& out);
  // Any JSON value (env: JSON text); `out` stays empty when the field is absent.
  std::optional<SettingsError> raw(std::string_view name, std::optional<FieldValue>& out);
  // Any JSON value from the file; from the environment only the raw text (FieldValue::envText).
  std::optional<SettingsError> rawOrText(std::string_view name, std::optional<FieldValue>& out);

  // Names in the file that were never asked for.
  std::vector<std::string> unknownFields() const;

 private:
  std::optional<SettingsError> find(std::string_view name, bool envIsJson, std::optional<FieldValue>& out);
  SettingsError typeError(const FieldValue& v, std::string_view expected) const;
  static std::optional<double> toNumber(const FieldValue& v);

  std::optional<simdjson::dom::object> object_;
  std::string fileLabel_;
  const EnvMap* env_;
  std::string envPrefix_;
  std::set<std::string, std::less<>> asked_;
  std::vector<std::unique_ptr<simdjson::dom::parser>> envParsers_;  // own the env values' documents
};

// Reads a whole file; error names it.
SettingsResult<std::string> readFile(const std::filesystem::path& path);

// Parses `json` with `parser`; the error message names `label`. The document must be an object.
SettingsResult<simdjson::dom::object> parseObject(simdjson::dom::parser& parser, const simdjson::padded_string& json,
                                                  std::string_view label);

}  // namespace ringserve::supervisor::settings::detail
