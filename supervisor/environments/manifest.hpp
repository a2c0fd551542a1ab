#pragma once
// ringserve-env.json, the manifest at the root of an environment (docs/environments.md): which architecture,
// worker protocol and plugin SDK ABI the environment was built for, and by which ringserve. Read
// and checked before any worker of the environment is launched.
//
//   {"format": 1, "architecture": "x86_64", "protocol_version": "1.0", "sdk_abi": "1.0",
//    "created_by": "ringserve 0.1.0", "worker": "bin/ringserve-worker",
//    "plugins": [{"file": "lib/echo.so", "sdk_abi": "1.0", "classes": ["Echo"]}],
//    "libraries": ["lib/libfoo.so.1"], "python_version": "3.12", "python_abi": "cp312"}
//
// `worker`, `plugins` and `libraries` are informative (what pack-env put in); the checks use the
// versions and the architecture. `python_version` / `python_abi` (optional, both or neither) say
// which Python the environment's packages and interpreter are for; prepare checks them against
// what the environment holds (python_env.hpp).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/version.hpp"
#include "supervisor/environments/env_error.hpp"

namespace ringserve::supervisor::environments {

inline constexpr const char* kManifestFileName = "ringserve-env.json";
// Where an environment ships its own worker (the manifest's `worker`).
inline constexpr const char* kWorkerRelativePath = "bin/ringserve-worker";
inline constexpr int kManifestFormat = 1;

struct SdkAbi {
  std::uint16_t major = 0;
  std::uint16_t minor = 0;
  friend bool operator==(const SdkAbi&, const SdkAbi&) = default;
};

struct ManifestPlugin {
  std::string file;  // relative to the environment root
  SdkAbi sdkAbi;
  std::vector<std::string> classes;  // the classes the plugin registers
};

struct Manifest {
  int format = kManifestFormat;
  std::string architecture;           // `uname -m` spelling: x86_64, aarch64, ...
  ProtocolVersion protocol;           // the protocol of the worker the environment was built for
  SdkAbi sdkAbi;                      // the SDK ABI of the plugins / worker
  std::string createdBy;              // "ringserve 0.1.0"
  std::optional<std::string> worker;  // "bin/ringserve-worker" when the environment ships one
  std::vector<ManifestPlugin> plugins;
  std::vector<std::string> libraries;
  std::optional<std::string> pythonVersion;  // "3.12"
  std::optional<std::string> pythonAbi;      // "cp312"
};

// The architecture this binary was compiled for, in `uname -m` spelling.
std::string hostArchitecture();
// The manifest describing this build (format, architecture, protocol, SDK ABI, created_by).
Manifest currentBuildManifest();

// An error naming `origin` and the field for malformed JSON, a missing/mistyped field or a bad version.
EnvResult<Manifest> parseManifest(std::string_view json, std::string_view origin);
// Reads `<root>/ringserve-env.json`: nullopt when the file does not exist (a hand-made environment).
EnvResult<std::optional<Manifest>> readManifest(const std::filesystem::path& root);
std::string manifestJson(const Manifest& manifest);

// Whether this server can launch workers from an environment with `manifest`. `label` names the
// environment in messages ("environment sha256:ab12… (/models/a/env.tar.gz)"). `shipsWorker`:
// the environment holds bin/ringserve-worker, so its protocol must be one this server accepts;
// otherwise the server's own worker runs it and the plugins' SDK ABI must suit that worker.
// Returns the warnings (an untested newer protocol minor), or an error naming both versions.
EnvResult<std::vector<std::string>> checkManifest(const Manifest& manifest, std::string_view label, bool shipsWorker);

std::string toString(SdkAbi abi);  // "1.0"

}  // namespace ringserve::supervisor::environments
