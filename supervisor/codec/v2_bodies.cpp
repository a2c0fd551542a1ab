#include "supervisor/codec/v2_bodies.hpp"

#include <simdjson.h>

#include "supervisor/codec/json_text.hpp"

namespace ringserve::supervisor::codec {

namespace {

void appendStringArray(std::string& j, std::span<const std::string> items) {
  j += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) j += ',';
    appendJsonString(j, items[i]);
  }
  j += ']';
}

void appendTensors(std::string& j, const std::vector<TensorEntry>& tensors) {
  j += '[';
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    const auto& e = tensors[t];
    if (t) j += ',';
    j += "{\"name\":";
    appendJsonString(j, e.name);
    j += ",\"datatype\":";
    appendJsonString(j, e.datatype);
    j += ",\"shape\":[";
    for (std::size_t i = 0; i < e.shape.size(); ++i) {
      if (i) j += ',';
      j += std::to_string(e.shape[i]);
    }
    j += ']';
    if (!e.contentType.empty()) {
      j += ",\"parameters\":{\"content_type\":";
      appendJsonString(j, e.contentType);
      j += '}';
    }
    j += '}';
  }
  j += ']';
}

}  // namespace

std::string liveBody() { return "{\"live\":true}"; }

std::string serverReadyBody(bool ready) { return ready ? "{\"ready\":true}" : "{\"ready\":false}"; }

std::string serverMetadataBody(std::string_view name, std::string_view version,
                               std::span<const std::string> extensions) {
  std::string j = "{\"name\":";
  appendJsonString(j, name);
  j += ",\"version\":";
  appendJsonString(j, version);
  j += ",\"extensions\":";
  appendStringArray(j, extensions);
  j += '}';
  return j;
}

std::string modelReadyBody(std::string_view name, bool ready) {
  std::string j = "{\"name\":";
  appendJsonString(j, name);
  j += ready ? ",\"ready\":true}" : ",\"ready\":false}";
  return j;
}

std::string modelMetadataBody(const ModelMetadata& m) {
  std::string j = "{\"name\":";
  appendJsonString(j, m.name);
  j += ",\"versions\":";
  appendStringArray(j, m.versions);
  j += ",\"platform\":";
  appendJsonString(j, m.platform);
  j += ",\"inputs\":";
  appendTensors(j, m.inputs);
  j += ",\"outputs\":";
  appendTensors(j, m.outputs);
  j += ",\"parameters\":{";
  if (m.contentType) {
    j += "\"content_type\":";
    appendJsonString(j, *m.contentType);
  }
  j += "}}";
  return j;
}

std::string repositoryIndexBody(std::span<const IndexEntryText> entries) {
  std::string j = "[";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (i) j += ',';
    j += "{\"name\":";
    appendJsonString(j, e.name);
    j += ",\"version\":";
    appendJsonString(j, e.version);
    j += ",\"state\":";
    appendJsonString(j, e.state);
    j += ",\"reason\":";
    appendJsonString(j, e.reason);
    j += '}';
  }
  j += ']';
  return j;
}

Expected<std::optional<bool>> parseRepositoryIndexRequest(std::string_view body) {
  if (body.empty()) return std::optional<bool>{};
  // One parser per thread keeps its buffers between calls (every HTTP loop answers the index).
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS || !doc.is_object())
    return badRequest("repository index body must be a JSON object like {\"ready\": true}");
  bool ready = false;
  if (doc["ready"].get(ready) == simdjson::SUCCESS) return std::optional<bool>{ready};
  return std::optional<bool>{};
}

}  // namespace ringserve::supervisor::codec
