#pragma once
// Asks a runtime plugin which SDK ABI it was built for and which classes it registers, by
// dlopen-ing it in a forked child (a plugin's static initialisers may crash or hang; the caller
// survives both). The C ABI is sdk/include/ringserve/abi.h; only its symbol names are used here,
// so the supervisor does not depend on the SDK.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "supervisor/environments/env_error.hpp"

namespace ringserve::supervisor::environments {

struct PluginInfo {
  std::uint16_t abiMajor = 0;
  std::uint16_t abiMinor = 0;
  std::vector<std::string> classes;
};

// `preload`: libraries to dlopen first (by path, in order), so the plugin's non-system
// dependencies resolve to the files that will be packed. An error naming the plugin when it cannot be
// loaded, lacks ringserve_plugin_api_version, or crashes / hangs past `timeout` while loading.
EnvResult<PluginInfo> probePlugin(const std::filesystem::path& plugin,
                                  const std::vector<std::filesystem::path>& preload,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace ringserve::supervisor::environments
