#pragma once
// The model's settings as the runtime sees them: the effective model-settings.json (environment
// overrides applied, parameters.uri made absolute by the server), parsed once at create time.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringserve/parameters.hpp"

namespace ringserve {

struct TensorMetadata {
  std::string name;
  std::string datatype;            // V2 spelling as written in the settings
  std::vector<std::int64_t> shape;
  std::string contentType;         // parameters.content_type, or ""
};

struct ModelSettings {
  std::string name;
  std::string version;             // parameters.version, or ""
  std::string implementation;      // "<module>.<Class>"
  std::string platform;
  std::string uri;                 // parameters.uri (absolute), or "" when unset
  std::string contentType;         // parameters.content_type (request-level default)
  std::string modelDir;            // folder of model-settings.json
  std::vector<TensorMetadata> inputs;
  std::vector<TensorMetadata> outputs;
  std::int64_t maxBatchSize = 0;
  double maxBatchTime = 0;         // seconds
  // MLServer's rule: the server merges this model's requests into batches (Model::supportsBatching).
  bool batchingEnabled() const { return maxBatchSize > 1 && maxBatchTime > 0; }

  // The whole file and parts of it as JSON text; Parameters views these strings, so a
  // ModelSettings must not be copied out from under a Parameters made from it.
  std::string settingsJson;
  std::string parametersJson;      // the `parameters` object
  std::string extraJson;           // parameters.extra, "{}" when unset

  Parameters parameters() const { return Parameters(parametersJson); }
  Parameters extra() const { return Parameters(extraJson); }
  const TensorMetadata* input(std::string_view n) const;
  const TensorMetadata* output(std::string_view n) const;

  // Throws BadInput naming the problem when the text is not a JSON object with the fields' types.
  static ModelSettings parse(std::string_view json, std::string_view modelDir);
};

}  // namespace ringserve
