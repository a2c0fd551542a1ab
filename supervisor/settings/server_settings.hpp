#pragma once
// settings.json (docs/settings.md#settingsjson-server): the server's configuration, with MLServer's field names.
//
// Precedence per field: the file > RINGSERVE_<FIELD> > MLSERVER_<FIELD> > the default below.
// Environment values are converted by the field's type: booleans accept true/false/1/0/yes/no/on/off
// (any case), numbers are decimal, `extensions` is a JSON array string, and for the nullable
// `metrics_endpoint` / `request_timeout` the value `null` (or empty) means "none".
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/settings/environment.hpp"
#include "supervisor/settings/error.hpp"

namespace ringserve::supervisor::settings {

// The V2 extensions this server implements (the default of `extensions`, shown by GET /v2).
std::vector<std::string> supportedExtensions();

struct ServerSettings {
  bool debug = false;
  std::string host = "0.0.0.0";
  int httpPort = 8080;      // 0 = pick a free port
  int grpcPort = 8081;
  int metricsPort = 8082;
  int parallelWorkers = 1;               // >= 1
  double parallelWorkersTimeout = 5.0;   // seconds before SIGKILL
  std::filesystem::path environmentsDir; // default <model_repository_root>/.envs, always absolute
  std::filesystem::path modelRepositoryRoot = ".";  // absolute after loadServerSettings()
  bool loadModelsAtStartup = true;
  std::string serverName = "ringserve";
  std::string serverVersion;             // default: ringserve::buildVersion()
  std::vector<std::string> extensions;   // default: supportedExtensions()
  std::optional<std::string> metricsEndpoint = "/metrics";  // nullopt: metrics disabled
  std::uint64_t grpcMaxMessageLength = 64ull << 20;
  bool gzipEnabled = true;
  bool useStructuredLogging = false;
  // Default: defaultControlSocketDir() / "ringserve-<pid>.sock" (see below).
  std::filesystem::path controlSocket;
  unsigned httpThreads = 1;              // default: std::thread::hardware_concurrency() (>= 1)
  std::uint64_t maxRequestSize = 64ull << 20;  // bodies above get 413
  std::uint64_t shmSize = 256ull << 20;        // bytes of shared memory per worker
  std::optional<double> requestTimeout;        // seconds; nullopt = no deadline
  // REST connections (docs/settings.md, supervisor/http/README.md).
  std::uint64_t maxHeaderSize = 16u << 10;     // request line + header fields; 431 beyond
  double headerTimeout = 30.0;                 // seconds from a request's first byte to its header's end
  double idleTimeout = 5.0;                    // seconds a keep-alive connection may wait between requests
  std::uint64_t maxConnections = 0;            // open REST connections, all loops; 0 = no limit
  std::uint64_t maxInflightBodyBytes = 1ull << 30;  // request body bytes held at once; 503 beyond

  // The effective settings as JSON text (for `ctl status` and debug logs).
  std::string toJson() const;
};

// Folder holding the control sockets of this user's servers: $XDG_RUNTIME_DIR/ringserve when
// XDG_RUNTIME_DIR is set, else /tmp/ringserve-<uid>. `ringserve ctl` looks there when no socket
// is given; the server creates it with mode 0700.
std::filesystem::path defaultControlSocketDir(const EnvMap& env);

// Reads `repoDir`/settings.json when it exists (defaults + env otherwise). `repoDir` is the
// `ringserve start DIR` argument and overrides model_repository_root (pass an empty path to keep
// the file's/env's value). Unknown fields add a warning each. Errors name the file and field:
// `settings.json: field 'http_port' must be an integer between 0 and 65535, got "x"`.
SettingsResult<ServerSettings> loadServerSettings(const std::filesystem::path& repoDir, const EnvMap& env,
                                                  Warnings& warnings);
// The same from JSON text (`origin` names it in errors, e.g. the file path; empty text = no file).
SettingsResult<ServerSettings> parseServerSettings(std::string_view json, std::string_view origin,
                                                   const std::filesystem::path& repoDir, const EnvMap& env,
                                                   Warnings& warnings);

}  // namespace ringserve::supervisor::settings
