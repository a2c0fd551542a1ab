#pragma once
// Model repository discovery (docs/settings.md#repository-layout) and default-version choice
// (docs/settings.md#versions).
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/settings/environment.hpp"
#include "supervisor/settings/model_settings.hpp"

namespace ringserve::supervisor::settings {

// One model-settings.json found below the repository: either parsed settings or the error that
// makes this model UNAVAILABLE. A broken file never stops the others from being listed.
struct DiscoveredModel {
  std::filesystem::path settingsFile;          // empty for the env-built default model
  std::optional<ModelSettings> settings;       // set when parsing succeeded
  std::string error;                           // set otherwise: names the file and the problem
  std::string nameHint;                        // settings->name, or the folder name on error
  Warnings warnings;                           // per file, for the caller to log
  bool ok() const { return settings.has_value(); }
};

// Every model-settings.json below `repoDir`, recursively, in path order. Folders whose name starts
// with '.' (such as the `.envs` environment cache) are skipped, symlinked folders are not
// followed. When there is none, the single model built from RINGSERVE_MODEL_* /
// MLSERVER_MODEL_* is returned if either RINGSERVE_MODEL_IMPLEMENTATION or
// MLSERVER_MODEL_IMPLEMENTATION is set (an error entry if building it fails); else nothing.
std::vector<DiscoveredModel> discoverModels(const std::filesystem::path& repoDir, const EnvMap& env);

// Index of the default version among the versions of one model (docs/settings.md#versions): a model without a
// version counts as newest; otherwise the highest integer version; otherwise the
// lexicographically highest. nullopt only for an empty list. Ties keep the first.
std::optional<std::size_t> defaultVersionIndex(const std::vector<std::optional<std::string>>& versions);

}  // namespace ringserve::supervisor::settings
