#pragma once
// model-settings.json (docs/settings.md#model-settingsjson-model): one model of the repository, with MLServer's field names.
//
// Precedence per field: the file > RINGSERVE_MODEL_<FIELD> > MLSERVER_MODEL_<FIELD> > default.
// `parameters.*` fields are overridden by their bare name (RINGSERVE_MODEL_URI -> parameters.uri).
// Nested values (`inputs`, `outputs`, `versions`, `extra`) are JSON strings in the environment.
// Unknown top-level fields are ignored with a warning; unknown `parameters` members are kept (as
// MLServer's ModelParameters allows extra keys) and passed to the worker in `effectiveJson`.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/settings/environment.hpp"
#include "supervisor/settings/error.hpp"

namespace ringserve::supervisor::settings {

// An entry of `inputs` / `outputs`: {name, datatype, shape, parameters:{content_type}}.
struct TensorMetadata {
  std::string name;
  std::string datatype;              // V2 spelling as written ("FP32"); may be empty
  std::vector<std::int64_t> shape;   // -1 = variable dimension
  std::string contentType;           // parameters.content_type, "" if none
  std::string parametersJson;        // the whole `parameters` object as JSON text, "" if none
};

struct ModelParameters {
  std::filesystem::path uri;                       // absolute; default: the model folder
  std::optional<std::string> version;              // nullopt = no version ("newest")
  std::optional<std::filesystem::path> environmentTarball;  // absolute (relative to the model folder)
  std::optional<std::filesystem::path> environmentPath;     // absolute (relative to the model folder)
  std::optional<std::string> inferencePoolGid;
  bool autogenerateInferencePoolGid = false;
  std::optional<std::string> format;
  std::optional<std::string> contentType;
  std::string extraJson = "{}";                    // `extra`, free JSON for the runtime
};

struct ModelSettings {
  std::string name;                  // default: the folder holding model-settings.json
  std::string implementation;        // required: "<module>.<Class>"
  std::string platform;
  std::vector<std::string> versions; // metadata (dependency versions), not model versions
  std::vector<TensorMetadata> inputs;
  std::vector<TensorMetadata> outputs;
  std::int64_t maxBatchSize = 0;
  double maxBatchTime = 0.0;         // seconds
  // MLServer's rule for adaptive batching (docs/settings.md#adaptive-batching): the batcher, the
  // batch metrics and Triton's dynamic_batching config all ask this.
  bool batching() const { return maxBatchSize > 1 && maxBatchTime > 0; }
  std::optional<int> parallelWorkers;  // workers of its pool that load it; nullopt = all
  ModelParameters parameters;

  std::filesystem::path settingsFile;  // absolute; empty for the model built from the environment
  std::filesystem::path folder;        // absolute folder of settingsFile (cwd for the env model)
  // The whole effective settings as JSON text (env overrides applied, uri and environment paths
  // absolute, name filled in): ModelSpec.settingsJson for the worker.
  std::string effectiveJson;

  // "name" or "name (version 2)" for log lines and errors.
  std::string displayName() const;
};

// Parses one model-settings.json text. `settingsFile` locates relative paths and gives the
// default name (its folder's name); errors start with the file path.
SettingsResult<ModelSettings> parseModelSettings(std::string_view json, const std::filesystem::path& settingsFile,
                                                 const EnvMap& env, Warnings& warnings);
// Reads and parses the file.
SettingsResult<ModelSettings> loadModelSettings(const std::filesystem::path& settingsFile, const EnvMap& env,
                                                Warnings& warnings);
// The model built from RINGSERVE_MODEL_* / MLSERVER_MODEL_* alone (used when the repository holds
// no model-settings.json). Its folder is `repoDir`. Fails (naming the variable) without
// an implementation.
SettingsResult<ModelSettings> modelSettingsFromEnvironment(const std::filesystem::path& repoDir, const EnvMap& env,
                                                           Warnings& warnings);

}  // namespace ringserve::supervisor::settings
