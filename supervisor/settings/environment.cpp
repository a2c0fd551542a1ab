#include "supervisor/settings/environment.hpp"

extern char** environ;  // NOLINT: POSIX

namespace ringserve::supervisor::settings {

EnvMap currentEnvironment() {
  EnvMap env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

std::optional<std::string> lookupOverride(const EnvMap& env, std::string_view suffix, std::string* nameOut) {
  for (std::string_view prefix : {"RINGSERVE_", "MLSERVER_"}) {
    std::string name(prefix);
    name += suffix;
    if (auto it = env.find(name); it != env.end()) {
      if (nameOut != nullptr) *nameOut = name;
      return it->second;
    }
  }
  return std::nullopt;
}

}  // namespace ringserve::supervisor::settings
