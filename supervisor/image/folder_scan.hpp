#pragma once
// What a model folder holds that its image needs: read once by `dockerfile` and `build`, then
// rendered by dockerfile.hpp. Paths are relative to the folder, '/'-separated, sorted.
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "supervisor/image/error.hpp"

namespace ringserve::supervisor::image {

struct FolderScan {
  std::vector<std::string> models;         // folders holding a model-settings.json ("." for the root)
  std::vector<std::string> cmakeProjects;  // top-level CMake projects (no CMakeLists.txt above them)
  // The built-in Python runtimes whose libraries the image must bring: "mlserver_sklearn",
  // "mlserver_xgboost" when a model's implementation names that package and the model has no
  // environment of its own (an environment_tarball / environment_path brings its own packages).
  std::vector<std::string> builtinPythonRuntimes;
  std::optional<std::string> requirements; // requirements.txt at the root
  std::optional<std::string> condaEnvironment;  // environment.y[a]ml or conda.y[a]ml at the root
  // settings.json at the root as environment variables, in the file's order: MLSERVER_<FIELD>
  // and the field's value (strings as they are, anything else as its JSON text).
  std::vector<std::pair<std::string, std::string>> settingsEnv;
};

// Folders neither the scan nor a `build` context copy look into, and the generated .dockerignore
// leaves out: VCS and server state (.git, .envs, .metrics), the staged installation (.ringserve),
// CMake build trees named `build`, __pycache__.
bool skippedFolder(const std::string& name);

// Walks `dir` (not following symlinks; skipping the folders the generated .dockerignore leaves
// out and the staged installation, so the scan sees what the image will). Fails when `dir` is
// not a folder, holds no model-settings.json, has a settings.json or a model-settings.json that
// is not a JSON object, or a model-settings.json whose implementation is not a string.
ImageResult<FolderScan> scanFolder(const std::filesystem::path& dir);

}  // namespace ringserve::supervisor::image
