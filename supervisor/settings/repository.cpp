#include "supervisor/settings/repository.hpp"

#include <algorithm>
#include <charconv>
#include <system_error>

namespace ringserve::supervisor::settings {
namespace fs = std::filesystem;

namespace {

std::optional<long long> asInteger(const std::string& s) {
  long long v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc() || p != end) return std::nullopt;
  return v;
}

DiscoveredModel fromResult(const fs::path& file, SettingsResult<ModelSettings> r, Warnings warnings) {
  DiscoveredModel d;
  d.settingsFile = file;
  d.warnings = std::move(warnings);
  if (r) {
    d.nameHint = r->name;
    d.settings = std::move(r.value());
  } else {
    d.error = r.error().message;
    d.nameHint = file.empty() ? std::string() : file.parent_path().filename().string();
  }
  return d;
}

}  // namespace

std::vector<DiscoveredModel> discoverModels(const fs::path& repoDir, const EnvMap& env) {
  std::vector<DiscoveredModel> out;
  const fs::path root = fs::absolute(repoDir.empty() ? fs::path(".") : repoDir).lexically_normal();
  std::vector<fs::path> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    DiscoveredModel d;
    d.error = root.string() + ": cannot list the model repository: " + ec.message();
    out.push_back(std::move(d));
    return out;
  }
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) break;
    const auto& entry = *it;
    const std::string name = entry.path().filename().string();
    std::error_code typeEc;
    if (entry.is_directory(typeEc)) {
      if (!name.empty() && name[0] == '.') it.disable_recursion_pending();
      continue;
    }
    if (name == "model-settings.json") files.push_back(entry.path().lexically_normal());
  }
  if (ec) {
    DiscoveredModel d;
    d.error = root.string() + ": listing the model repository failed: " + ec.message();
    out.push_back(std::move(d));
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    Warnings w;
    auto r = loadModelSettings(file, env, w);
    out.push_back(fromResult(file, std::move(r), std::move(w)));
  }
  if (files.empty() && lookupOverride(env, "MODEL_IMPLEMENTATION")) {
    Warnings w;
    auto r = modelSettingsFromEnvironment(root, env, w);
    out.push_back(fromResult(fs::path(), std::move(r), std::move(w)));
  }
  return out;
}

std::optional<std::size_t> defaultVersionIndex(const std::vector<std::optional<std::string>>& versions) {
  if (versions.empty()) return std::nullopt;
  for (std::size_t k = 0; k < versions.size(); ++k) {
    if (!versions[k]) return k;
  }
  std::optional<std::size_t> bestInt;
  for (std::size_t k = 0; k < versions.size(); ++k) {
    auto v = asInteger(*versions[k]);
    if (v && (!bestInt || *v > *asInteger(*versions[*bestInt]))) bestInt = k;
  }
  if (bestInt) return bestInt;
  std::size_t best = 0;
  for (std::size_t k = 1; k < versions.size(); ++k) {
    if (*versions[k] > *versions[best]) best = k;
  }
  return best;
}

}  // namespace ringserve::supervisor::settings
