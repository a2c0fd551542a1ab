#pragma once
// The process environment as a value, so settings code is a pure function of (files, env) and
// tests pass their own variables instead of mutating the real environment.
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ringserve::supervisor::settings {

using EnvMap = std::map<std::string, std::string, std::less<>>;

// A copy of `environ`.
EnvMap currentEnvironment();

// The value of RINGSERVE_<suffix>, else MLSERVER_<suffix> (RINGSERVE_ wins when both are set).
// Returns the variable's name through `nameOut` so error messages can quote it.
std::optional<std::string> lookupOverride(const EnvMap& env, std::string_view suffix, std::string* nameOut = nullptr);

}  // namespace ringserve::supervisor::settings
