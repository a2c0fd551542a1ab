#include "supervisor/settings/model_settings.hpp"

#include <charconv>
#include <set>

#include "supervisor/settings/json_fields.hpp"

namespace ringserve::supervisor::settings {
namespace fs = std::filesystem;
using detail::appendJsonString;
using detail::FieldValue;

namespace {

#define RS_TRY(expr) \
  if (auto err_ = (expr)) return *err_

SettingsResult<std::vector<TensorMetadata>> parseTensorList(const FieldValue& v) {
  const std::string expected = v.origin + " must be a JSON array of {name, datatype, shape, parameters}";
  simdjson::dom::array list;
  if (v.element.get(list)) return SettingsError{expected};
  std::vector<TensorMetadata> out;
  std::size_t index = 0;
  for (auto item : list) {
    const std::string where = v.origin + " entry " + std::to_string(index++);
    simdjson::dom::object obj;
    if (item.get(obj)) return SettingsError{expected};
    TensorMetadata t;
    std::string_view s;
    if (obj["name"].get(s)) return SettingsError{where + ": 'name' must be a string"};
    t.name = std::string(s);
    simdjson::dom::element e;
    if (!obj["datatype"].get(e) && !e.is_null()) {
      if (e.get(s)) return SettingsError{where + ": 'datatype' must be a string"};
      t.datatype = std::string(s);
    }
    if (!obj["shape"].get(e) && !e.is_null()) {
      simdjson::dom::array dims;
      if (e.get(dims)) return SettingsError{where + ": 'shape' must be an array of integers"};
      for (auto d : dims) {
        std::int64_t n = 0;
        if (d.get(n) || n < -1) return SettingsError{where + ": 'shape' must be an array of integers >= -1"};
        t.shape.push_back(n);
      }
    }
    if (!obj["parameters"].get(e) && !e.is_null()) {
      simdjson::dom::object params;
      if (e.get(params)) return SettingsError{where + ": 'parameters' must be an object"};
      t.parametersJson = simdjson::minify(e);
      simdjson::dom::element ct;
      if (!params["content_type"].get(ct) && !ct.is_null()) {
        if (ct.get(s)) return SettingsError{where + ": 'parameters.content_type' must be a string"};
        t.contentType = std::string(s);
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

void appendTensorList(std::string& o, const std::vector<TensorMetadata>& list) {
  o += '[';
  for (std::size_t k = 0; k < list.size(); ++k) {
    const auto& t = list[k];
    if (k) o += ',';
    o += "{\"name\":";
    appendJsonString(o, t.name);
    o += ",\"datatype\":";
    appendJsonString(o, t.datatype);
    o += ",\"shape\":[";
    for (std::size_t d = 0; d < t.shape.size(); ++d) {
      if (d) o += ',';
      o += std::to_string(t.shape[d]);
    }
    o += ']';
    if (!t.parametersJson.empty()) {
      o += ",\"parameters\":";
      o += t.parametersJson;
    }
    o += '}';
  }
  o += ']';
}

fs::path resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  if (path.is_relative()) path = base / path;
  return fs::absolute(path).lexically_normal();
}

// Reads an optional text parameter that MLServer types as str; numbers are accepted as their
// text (a `"version": 2` in a file means "2").
std::optional<SettingsError> optionalText(detail::FieldReader& r, std::string_view name, std::optional<std::string>& out) {
  std::optional<FieldValue> v;
  RS_TRY(r.rawOrText(name, v));
  if (!v) return std::nullopt;
  if (v->fromEnv) {
    out = v->envText;
    return std::nullopt;
  }
  std::string_view s;
  std::int64_t i = 0;
  if (v->element.is_null()) {
    out.reset();
  } else if (!v->element.get(s)) {
    out = std::string(s);
  } else if (!v->element.get(i)) {
    out = std::to_string(i);
  } else {
    return SettingsError{v->origin + " must be a string, got " + simdjson::minify(v->element)};
  }
  return std::nullopt;
}

// The names of ModelParameters fields (the rest of `parameters` is passed through).
const std::set<std::string, std::less<>> kParameterFields = {
    "uri", "version", "environment_tarball", "environment_path", "inference_pool_gid",
    "autogenerate_inference_pool_gid", "format", "content_type", "extra"};

SettingsResult<ModelSettings> build(std::optional<simdjson::dom::object> object, const std::string& label,
                                    const fs::path& settingsFile, const fs::path& folder, const EnvMap& env,
                                    Warnings& warnings) {
  ModelSettings m;
  m.settingsFile = settingsFile;
  m.folder = folder;
  detail::FieldReader r(object, label, env, "MODEL_");
  RS_TRY(r.string("name", m.name));
  if (m.name.empty()) m.name = folder.filename().string();
  RS_TRY(r.string("implementation", m.implementation));
  if (m.implementation.empty()) {
    return SettingsError{label + ": field 'implementation' is required (\"<module>.<Class>\"; or set RINGSERVE_MODEL_IMPLEMENTATION)"};
  }
  if (const auto dot = m.implementation.rfind('.');
      dot == std::string::npos || dot == 0 || dot + 1 == m.implementation.size()) {
    return SettingsError{label + ": field 'implementation' must be \"<module>.<Class>\", got \"" + m.implementation + "\""};
  }
  RS_TRY(r.string("platform", m.platform));
  RS_TRY(r.stringList("versions", m.versions));
  for (auto [name, list] : {std::pair{"inputs", &m.inputs}, std::pair{"outputs", &m.outputs}}) {
    std::optional<FieldValue> v;
    RS_TRY(r.raw(name, v));
    if (v && !v->element.is_null()) {
      auto parsed = parseTensorList(*v);
      if (!parsed) return parsed.error();
      *list = std::move(parsed.value());
    }
  }
  RS_TRY(r.integer("max_batch_size", 0, std::int64_t{1} << 31, m.maxBatchSize));
  RS_TRY(r.number("max_batch_time", 0, m.maxBatchTime));
  {
    std::optional<double> pw;
    RS_TRY(r.nullableNumber("parallel_workers", 1, pw));
    if (pw) {
      if (*pw != static_cast<double>(static_cast<int>(*pw))) {
        return SettingsError{label + ": field 'parallel_workers' must be null or an integer >= 1"};
      }
      m.parallelWorkers = static_cast<int>(*pw);
    }
  }

  // parameters: the file's object (if any); each known field falls back to the environment.
  std::optional<simdjson::dom::object> paramsObject;
  if (simdjson::dom::element e; object && !(*object)["parameters"].get(e) && !e.is_null()) {
    simdjson::dom::object p;
    if (e.get(p)) return SettingsError{label + ": field 'parameters' must be an object"};
    paramsObject = p;
  }
  detail::FieldReader pr(paramsObject, label + " parameters", env, "MODEL_");
  auto& P = m.parameters;
  std::optional<std::string> text;
  RS_TRY(optionalText(pr, "uri", text));
  P.uri = text ? resolve(folder, *text) : fs::absolute(folder).lexically_normal();
  text.reset();
  RS_TRY(optionalText(pr, "version", P.version));
  RS_TRY(optionalText(pr, "environment_tarball", text));
  if (text) P.environmentTarball = resolve(folder, *text);
  text.reset();
  RS_TRY(optionalText(pr, "environment_path", text));
  if (text) P.environmentPath = resolve(folder, *text);
  RS_TRY(optionalText(pr, "inference_pool_gid", P.inferencePoolGid));
  RS_TRY(pr.boolean("autogenerate_inference_pool_gid", P.autogenerateInferencePoolGid));
  RS_TRY(optionalText(pr, "format", P.format));
  RS_TRY(optionalText(pr, "content_type", P.contentType));
  {
    std::optional<FieldValue> v;
    RS_TRY(pr.raw("extra", v));
    if (v && !v->element.is_null()) {
      if (!v->element.is_object()) return SettingsError{v->origin + " must be a JSON object"};
      P.extraJson = simdjson::minify(v->element);
    }
  }

  for (const auto& name : r.unknownFields()) {
    if (name != "parameters") warnings.push_back(label + ": unknown field '" + name + "' ignored");
  }

  // The effective settings for the worker.
  std::string& o = m.effectiveJson;
  o = "{\"name\":";
  appendJsonString(o, m.name);
  o += ",\"implementation\":";
  appendJsonString(o, m.implementation);
  o += ",\"platform\":";
  appendJsonString(o, m.platform);
  o += ",\"versions\":[";
  for (std::size_t k = 0; k < m.versions.size(); ++k) {
    if (k) o += ',';
    appendJsonString(o, m.versions[k]);
  }
  o += "],\"inputs\":";
  appendTensorList(o, m.inputs);
  o += ",\"outputs\":";
  appendTensorList(o, m.outputs);
  o += ",\"max_batch_size\":" + std::to_string(m.maxBatchSize);
  // Shortest round-trip text, not std::to_string's fixed 6 decimals: 1e-7 must not reach the
  // worker as 0, which decides from this JSON whether batching is on (worker/loaded_model.cpp).
  char batchTime[32];
  const auto written = std::to_chars(batchTime, batchTime + sizeof batchTime, m.maxBatchTime);
  o += ",\"max_batch_time\":";
  o.append(batchTime, written.ptr);
  o += ",\"parallel_workers\":" + (m.parallelWorkers ? std::to_string(*m.parallelWorkers) : std::string("null"));
  o += ",\"parameters\":{\"uri\":";
  appendJsonString(o, P.uri.string());
  auto optional = [&o](std::string_view key, const auto& value) {
    o += ",\"";
    o += key;
    o += "\":";
    if (value) {
      if constexpr (std::is_same_v<std::decay_t<decltype(*value)>, fs::path>) {
        appendJsonString(o, value->string());
      } else {
        appendJsonString(o, *value);
      }
    } else {
      o += "null";
    }
  };
  optional("version", P.version);
  optional("environment_tarball", P.environmentTarball);
  optional("environment_path", P.environmentPath);
  optional("inference_pool_gid", P.inferencePoolGid);
  o += ",\"autogenerate_inference_pool_gid\":";
  o += P.autogenerateInferencePoolGid ? "true" : "false";
  optional("format", P.format);
  optional("content_type", P.contentType);
  o += ",\"extra\":" + P.extraJson;
  if (paramsObject) {
    for (auto field : *paramsObject) {
      if (kParameterFields.contains(field.key)) continue;
      o += ',';
      appendJsonString(o, field.key);
      o += ':';
      o += simdjson::minify(field.value);
    }
  }
  o += "}}";
  return m;
}

#undef RS_TRY

}  // namespace

std::string ModelSettings::displayName() const {
  return parameters.version ? name + " (version " + *parameters.version + ")" : name;
}

SettingsResult<ModelSettings> parseModelSettings(std::string_view json, const fs::path& settingsFile, const EnvMap& env,
                                                 Warnings& warnings) {
  const fs::path file = fs::absolute(settingsFile).lexically_normal();
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  auto object = detail::parseObject(parser, padded, file.string());
  if (!object) return object.error();
  return build(object.value(), file.string(), file, file.parent_path(), env, warnings);
}

SettingsResult<ModelSettings> loadModelSettings(const fs::path& settingsFile, const EnvMap& env, Warnings& warnings) {
  auto text = detail::readFile(settingsFile);
  if (!text) return text.error();
  return parseModelSettings(text.value(), settingsFile, env, warnings);
}

SettingsResult<ModelSettings> modelSettingsFromEnvironment(const fs::path& repoDir, const EnvMap& env,
                                                           Warnings& warnings) {
  const fs::path folder = fs::absolute(repoDir.empty() ? fs::path(".") : repoDir).lexically_normal();
  return build(std::nullopt, "default model from RINGSERVE_MODEL_* environment", fs::path(),
               folder.filename().empty() ? folder.parent_path() : folder, env, warnings);
}

}  // namespace ringserve::supervisor::settings
