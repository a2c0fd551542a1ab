#include "supervisor/settings/json_fields.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ringserve::supervisor::settings::detail {
namespace {

std::string upper(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::optional<bool> parseBool(std::string_view text) {
  const std::string t = lower(text);
  if (t == "true" || t == "1" || t == "yes" || t == "on" || t == "y" || t == "t") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off" || t == "n" || t == "f") return false;
  return std::nullopt;
}

template <class T>
std::optional<T> parseNumber(std::string_view text) {
  T v{};
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty()) return std::nullopt;
  return v;
}

std::string formatNumber(double d) {
  std::ostringstream m;
  m << d;
  return m.str();
}

std::string describe(const FieldValue& v) {
  if (v.fromEnv) return jsonString(v.envText);
  return simdjson::minify(v.element);
}

}  // namespace

std::string jsonString(std::string_view s) {
  std::string r;
  appendJsonString(r, s);
  return r;
}

FieldReader::FieldReader(std::optional<simdjson::dom::object> object, std::string fileLabel, const EnvMap& env,
                         std::string envPrefix)
    : object_(object), fileLabel_(std::move(fileLabel)), env_(&env), envPrefix_(std::move(envPrefix)) {}

std::optional<SettingsError> FieldReader::find(std::string_view name, bool envIsJson, std::optional<FieldValue>& out) {
  asked_.emplace(name);
  out.reset();
  if (object_) {
    simdjson::dom::element e;
    if (!(*object_)[name].get(e)) {
      out = FieldValue{e, fileLabel_ + ": field '" + std::string(name) + "'", false, {}};
      return std::nullopt;
    }
  }
  std::string var;
  auto text = lookupOverride(*env_, envPrefix_ + upper(name), &var);
  if (!text) return std::nullopt;
  FieldValue v{{}, "environment variable " + var, true, *text};
  if (envIsJson) {
    auto& parser = envParsers_.emplace_back(std::make_unique<simdjson::dom::parser>());
    if (auto err = parser->parse(simdjson::padded_string(*text)).get(v.element)) {
      return SettingsError{v.origin + " must hold JSON: " + simdjson::error_message(err)};
    }
  }
  out = std::move(v);
  return std::nullopt;
}

SettingsError FieldReader::typeError(const FieldValue& v, std::string_view expected) const {
  return SettingsError{v.origin + " must be " + std::string(expected) + ", got " + describe(v)};
}

std::optional<SettingsError> FieldReader::boolean(std::string_view name, bool& out) {
  std::optional<FieldValue> v;
  if (auto e = find(name, false, v)) return e;
  if (!v) return std::nullopt;
  if (v->fromEnv) {
    auto b = parseBool(v->envText);
    if (!b) return typeError(*v, "a boolean (true/false)");
    out = *b;
    return std::nullopt;
  }
  bool b = false;
  if (!v->element.get(b)) {
    out = b;
    return std::nullopt;
  }
  std::string_view s;
  if (!v->element.get(s)) {
    if (auto pb = parseBool(s)) {
      out = *pb;
      return std::nullopt;
    }
  }
  return typeError(*v, "a boolean (true/false)");
}

std::optional<SettingsError> FieldReader::integer(std::string_view name, std::int64_t min, std::int64_t max,
                                                  std::int64_t& out) {
  std::optional<FieldValue> v;
  if (auto e = find(name, false, v)) return e;
  if (!v) return std::nullopt;
  const std::string expected = "an integer between " + std::to_string(min) + " and " + std::to_string(max);
  std::optional<std::int64_t> n;
  if (v->fromEnv) {
    n = parseNumber<std::int64_t>(v->envText);
  } else {
    std::int64_t i = 0;
    double d = 0;
    std::string_view s;
    if (!v->element.get(i)) {
      n = i;
    } else if (!v->element.get(d) && std::trunc(d) == d && std::abs(d) < 9.0e15) {
      n = static_cast<std::int64_t>(d);
    } else if (!v->element.get(s)) {
      n = parseNumber<std::int64_t>(s);
    }
  }
  if (!n || *n < min || *n > max) return typeError(*v, expected);
  out = *n;
  return std::nullopt;
}

std::optional<double> FieldReader::toNumber(const FieldValue& v) {
  if (v.fromEnv) return parseNumber<double>(v.envText);
  double d = 0;
  std::string_view s;
  if (!v.element.get(d)) return d;
  if (!v.element.get(s)) return parseNumber<double>(s);
  return std::nullopt;
}

std::optional<SettingsError> FieldReader::number(std::string_view name, double min, double& out) {
  std::optional<FieldValue> v;
  if (auto e = find(name, false, v)) return e;
  if (!v) return std::nullopt;
  auto n = toNumber(*v);
  if (!n || !std::isfinite(*n) || *n < min) return typeError(*v, "a number >= " + formatNumber(min));
  out = *n;
  return std::nullopt;
}

std::optional<SettingsError> FieldReader::string(std::string_view name, std::string& out) {
  std::optional<FieldValue> v;
  if (auto e = find(name, false, v)) return e;
  if (!v) return std::nullopt;
  if (v->fromEnv) {
    out = v->envText;
    return std::nullopt;
  }
  std::string_view s;
  if (v->element.get(s)) return typeError(*v, "a string");
  out = std::string(s);
  return std::nullopt;
}

std::optional<SettingsError> FieldReader::nullableString(std::string_view name, std::optional<std::string>& out,
                                                         bool& present) {
  std::optional<FieldValue> v;
  present = false;
  if (auto e = find(name, false, v)) return e;
  if (!v) return std::nullopt;
  present = true;
  if (v->fromEnv) {
    if (v->envText.empty() || v->envText == "null") {
      out.reset();
    } else {
      out = v->envText;
    }
    return std::nullopt;
  }
  if (v->element.is_null()) {
    out.reset();
    return std::nullopt;
  }
  std::string_view s;
  if (v->element.get(s)) return typeError(*v, "a string or null");
  out = std::string(s);
  return std::nullopt;
}

std::optional<SettingsError> FieldReader::nullableNumber(std::string_view name, double min, std::optional<double>& out) {
  std::optional<FieldValue> v;
  if (auto e = find(name, false, v)) return e;
  if (!v) return std::nullopt;
  if ((v->fromEnv && (v->envText.empty() || v->envText == "null")) || (!v->fromEnv && v->element.is_null())) {
    out.reset();
    return std::nullopt;
  }
  auto n = toNumber(*v);
  if (!n || !std::isfinite(*n) || *n < min) return typeError(*v, "null or a number >= " + formatNumber(min));
  out = *n;
  return std::nullopt;
}

std::optional<SettingsError> FieldReader::stringList(std::string_view name, std::vector<std::string>& out) {
  std::optional<FieldValue> v;
  if (auto e = find(name, true, v)) return e;
  if (!v) return std::nullopt;
  simdjson::dom::array a;
  if (v->element.get(a)) return typeError(*v, "a JSON array of strings");
  std::vector<std::string> r;
  for (auto item : a) {
    std::string_view s;
    if (item.get(s)) return typeError(*v, "a JSON array of strings");
    r.emplace_back(s);
  }
  out = std::move(r);
  return std::nullopt;
}

std::optional<SettingsError> FieldReader::raw(std::string_view name, std::optional<FieldValue>& out) {
  return find(name, true, out);
}

std::optional<SettingsError> FieldReader::rawOrText(std::string_view name, std::optional<FieldValue>& out) {
  return find(name, false, out);
}

std::vector<std::string> FieldReader::unknownFields() const {
  std::vector<std::string> r;
  if (!object_) return r;
  for (auto field : *object_) {
    if (!asked_.contains(field.key)) r.emplace_back(field.key);
  }
  return r;
}

SettingsResult<std::string> readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return SettingsError{path.string() + ": cannot be read: " + std::strerror(errno)};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return SettingsError{path.string() + ": read failed"};
  return ss.str();
}

SettingsResult<simdjson::dom::object> parseObject(simdjson::dom::parser& parser, const simdjson::padded_string& json,
                                                  std::string_view label) {
  simdjson::dom::element root;
  if (auto err = parser.parse(json).get(root)) {
    return SettingsError{std::string(label) + ": invalid JSON: " + simdjson::error_message(err)};
  }
  simdjson::dom::object obj;
  if (root.get(obj)) return SettingsError{std::string(label) + ": must hold a JSON object"};
  return obj;
}

}  // namespace ringserve::supervisor::settings::detail
