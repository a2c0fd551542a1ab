#include "supervisor/settings/server_settings.hpp"

#include <unistd.h>

#include <thread>
#include <type_traits>

#include "protocol/control/socket_path.hpp"
#include "schema/version.hpp"
#include "supervisor/settings/json_fields.hpp"

namespace ringserve::supervisor::settings {
namespace fs = std::filesystem;

std::vector<std::string> supportedExtensions() {
  return {"model_repository", "binary_tensor_data", "parameters", "model_configuration", "statistics"};
}

fs::path defaultControlSocketDir(const EnvMap& env) {
  auto it = env.find("XDG_RUNTIME_DIR");
  return ringserve::control::defaultControlSocketDir(it == env.end() ? std::string_view() : std::string_view(it->second));
}

SettingsResult<ServerSettings> parseServerSettings(std::string_view json, std::string_view origin,
                                                   const fs::path& repoDir, const EnvMap& env, Warnings& warnings) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  std::optional<simdjson::dom::object> object;
  if (!json.empty()) {
    auto parsed = detail::parseObject(parser, padded, origin);
    if (!parsed) return parsed.error();
    object = parsed.value();
  }
  ServerSettings s;
  s.serverVersion = buildVersion();
  s.extensions = supportedExtensions();
  const unsigned cores = std::thread::hardware_concurrency();
  s.httpThreads = cores == 0 ? 1 : cores;

  detail::FieldReader r(object, std::string(origin), env, "");
  // Reads an integer field into a field of any integer type, keeping its default when absent.
  auto intField = [&r](std::string_view name, std::int64_t min, std::int64_t max, auto& field) {
    auto v = static_cast<std::int64_t>(field);
    auto err = r.integer(name, min, max, v);
    if (!err) field = static_cast<std::remove_reference_t<decltype(field)>>(v);
    return err;
  };
  std::string str;
  bool present = false;
#define RS_TRY(expr) \
  if (auto err_ = (expr)) return *err_
  RS_TRY(r.boolean("debug", s.debug));
  RS_TRY(r.string("host", s.host));
  RS_TRY(intField("http_port", 0, 65535, s.httpPort));
  RS_TRY(intField("grpc_port", 0, 65535, s.grpcPort));
  RS_TRY(intField("metrics_port", 0, 65535, s.metricsPort));
  RS_TRY(intField("parallel_workers", 1, 1024, s.parallelWorkers));
  RS_TRY(r.number("parallel_workers_timeout", 0, s.parallelWorkersTimeout));
  str.clear();
  RS_TRY(r.string("model_repository_root", str));
  if (!repoDir.empty()) {
    s.modelRepositoryRoot = repoDir;
  } else if (!str.empty()) {
    s.modelRepositoryRoot = str;
  }
  s.modelRepositoryRoot = fs::absolute(s.modelRepositoryRoot).lexically_normal();
  str.clear();
  RS_TRY(r.string("environments_dir", str));
  s.environmentsDir = str.empty() ? s.modelRepositoryRoot / ".envs" : fs::absolute(fs::path(str)).lexically_normal();
  RS_TRY(r.boolean("load_models_at_startup", s.loadModelsAtStartup));
  RS_TRY(r.string("server_name", s.serverName));
  RS_TRY(r.string("server_version", s.serverVersion));
  RS_TRY(r.stringList("extensions", s.extensions));
  RS_TRY(r.nullableString("metrics_endpoint", s.metricsEndpoint, present));
  RS_TRY(intField("grpc_max_message_length", 1, std::int64_t{1} << 40, s.grpcMaxMessageLength));
  RS_TRY(r.boolean("gzip_enabled", s.gzipEnabled));
  RS_TRY(r.boolean("use_structured_logging", s.useStructuredLogging));
  str.clear();
  RS_TRY(r.string("control_socket", str));
  s.controlSocket = str.empty() ? defaultControlSocketDir(env) / ("ringserve-" + std::to_string(::getpid()) + ".sock")
                                : fs::absolute(fs::path(str)).lexically_normal();
  RS_TRY(intField("http_threads", 1, 256, s.httpThreads));
  RS_TRY(intField("max_request_size", 1, std::int64_t{1} << 40, s.maxRequestSize));
  RS_TRY(intField("shm_size", std::int64_t{1} << 20, std::int64_t{1} << 40, s.shmSize));
  RS_TRY(r.nullableNumber("request_timeout", 0, s.requestTimeout));
  RS_TRY(intField("max_header_size", 256, std::int64_t{1} << 24, s.maxHeaderSize));
  RS_TRY(r.number("header_timeout", 0, s.headerTimeout));
  RS_TRY(r.number("idle_timeout", 0, s.idleTimeout));
  RS_TRY(intField("max_connections", 0, std::int64_t{1} << 24, s.maxConnections));
  RS_TRY(intField("max_inflight_body_bytes", 1, std::int64_t{1} << 40, s.maxInflightBodyBytes));
  if (s.requestTimeout && *s.requestTimeout <= 0) {
    return SettingsError{std::string(origin) + ": field 'request_timeout' must be null or a number > 0"};
  }
#undef RS_TRY
  for (const auto& name : r.unknownFields()) {
    warnings.push_back(std::string(origin) + ": unknown field '" + name + "' ignored");
  }
  return s;
}

SettingsResult<ServerSettings> loadServerSettings(const fs::path& repoDir, const EnvMap& env, Warnings& warnings) {
  const fs::path file = (repoDir.empty() ? fs::path(".") : repoDir) / "settings.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return parseServerSettings("", "settings.json", repoDir, env, warnings);
  auto text = detail::readFile(file);
  if (!text) return text.error();
  return parseServerSettings(text.value(), file.string(), repoDir, env, warnings);
}

std::string ServerSettings::toJson() const {
  using detail::appendJsonString;
  std::string o = "{";
  auto key = [&](std::string_view k) {
    if (o.size() > 1) o += ',';
    appendJsonString(o, k);
    o += ':';
  };
  auto str = [&](std::string_view k, std::string_view v) { key(k); appendJsonString(o, v); };
  auto num = [&](std::string_view k, auto v) { key(k); o += std::to_string(v); };
  auto boolean = [&](std::string_view k, bool v) { key(k); o += v ? "true" : "false"; };
  boolean("debug", debug);
  str("host", host);
  num("http_port", httpPort);
  num("grpc_port", grpcPort);
  num("metrics_port", metricsPort);
  num("parallel_workers", parallelWorkers);
  num("parallel_workers_timeout", parallelWorkersTimeout);
  str("environments_dir", environmentsDir.string());
  str("model_repository_root", modelRepositoryRoot.string());
  boolean("load_models_at_startup", loadModelsAtStartup);
  str("server_name", serverName);
  str("server_version", serverVersion);
  key("extensions");
  o += '[';
  for (std::size_t k = 0; k < extensions.size(); ++k) {
    if (k) o += ',';
    appendJsonString(o, extensions[k]);
  }
  o += ']';
  if (metricsEndpoint) {
    str("metrics_endpoint", *metricsEndpoint);
  } else {
    key("metrics_endpoint");
    o += "null";
  }
  num("grpc_max_message_length", grpcMaxMessageLength);
  boolean("gzip_enabled", gzipEnabled);
  boolean("use_structured_logging", useStructuredLogging);
  str("control_socket", controlSocket.string());
  num("http_threads", httpThreads);
  num("max_request_size", maxRequestSize);
  num("shm_size", shmSize);
  num("max_header_size", maxHeaderSize);
  num("header_timeout", headerTimeout);
  num("idle_timeout", idleTimeout);
  num("max_connections", maxConnections);
  num("max_inflight_body_bytes", maxInflightBodyBytes);
  if (requestTimeout) {
    num("request_timeout", *requestTimeout);
  } else {
    key("request_timeout");
    o += "null";
  }
  o += '}';
  return o;
}

}  // namespace ringserve::supervisor::settings
