#pragma once
// The V2 JSON bodies other than inference (docs/rest-api.md): health, server metadata, model
// readiness and metadata, the repository index (its request and its answer). Pure text builders:
// callers pass what to print, so front ends and core do not write JSON themselves.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/error.hpp"

namespace ringserve::supervisor::codec {

std::string liveBody();                   // {"live":true}
std::string serverReadyBody(bool ready);  // {"ready":true|false}
std::string serverMetadataBody(std::string_view name, std::string_view version,
                               std::span<const std::string> extensions);
std::string modelReadyBody(std::string_view name, bool ready);

struct TensorEntry {
  std::string_view name;
  std::string_view datatype;
  std::span<const std::int64_t> shape;
  std::string_view contentType;  // "" = no parameters object
};

struct ModelMetadata {
  std::string_view name;
  std::span<const std::string> versions;  // dependency versions (model-settings `versions`)
  std::string_view platform;
  std::vector<TensorEntry> inputs;
  std::vector<TensorEntry> outputs;
  std::optional<std::string_view> contentType;  // model-level parameters.content_type
};
// {"name","versions","platform","inputs","outputs","parameters"}: GET /v2/models/{m}.
std::string modelMetadataBody(const ModelMetadata& m);

struct IndexEntryText {
  std::string_view name;
  std::string_view version;
  std::string_view state;  // "READY", ...
  std::string_view reason;
};
// [{"name","version","state","reason"}, ...]
std::string repositoryIndexBody(std::span<const IndexEntryText> entries);
// The body of POST /v2/repository/index: empty, or an object whose optional `ready` filters the
// entries. Anything else is badInput.
Expected<std::optional<bool>> parseRepositoryIndexRequest(std::string_view body);

}  // namespace ringserve::supervisor::codec
