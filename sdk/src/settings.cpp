#include "ringserve/settings.hpp"

#include <simdjson.h>

#include "ringserve/errors.hpp"

namespace ringserve {

namespace {

[[noreturn]] void bad(const std::string& what) { throw BadInput("model settings: " + what); }

std::string getString(simdjson::dom::object o, std::string_view key, std::string_view where) {
  simdjson::dom::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) return {};
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  // MLServer accepts numbers for `version`; keep their text.
  if (e.is_int64() || e.is_uint64() || e.is_double()) return simdjson::minify(e);
  bad(std::string(where) + std::string(key) + " must be a string");
}

std::vector<TensorMetadata> parseTensors(simdjson::dom::object o, std::string_view key) {
  std::vector<TensorMetadata> out;
  simdjson::dom::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) return out;
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) bad(std::string(key) + " must be an array");
  for (auto item : arr) {
    simdjson::dom::object t;
    if (item.get_object().get(t) != simdjson::SUCCESS) bad(std::string(key) + " entries must be objects");
    TensorMetadata m;
    m.name = getString(t, "name", std::string(key) + "[].");
    m.datatype = getString(t, "datatype", std::string(key) + "[].");
    simdjson::dom::array shape;
    if (t.at_key("shape").get(shape) == simdjson::SUCCESS)
      for (auto d : shape) {
        std::int64_t v = 0;
        if (d.get_int64().get(v) != simdjson::SUCCESS) bad(std::string(key) + "[].shape must hold integers");
        m.shape.push_back(v);
      }
    simdjson::dom::object params;
    if (t.at_key("parameters").get(params) == simdjson::SUCCESS) m.contentType = getString(params, "content_type", "");
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

ModelSettings ModelSettings::parse(std::string_view json, std::string_view modelDir) {
  ModelSettings s;
  s.settingsJson = std::string(json);
  s.modelDir = std::string(modelDir);
  s.extraJson = "{}";
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::padded_string padded(json);
  if (auto err = parser.parse(padded).get(root); err != simdjson::SUCCESS)
    bad(std::string("not valid JSON: ") + simdjson::error_message(err));
  simdjson::dom::object o;
  if (root.get_object().get(o) != simdjson::SUCCESS) bad("the top level must be a JSON object");
  s.name = getString(o, "name", "");
  s.implementation = getString(o, "implementation", "");
  s.platform = getString(o, "platform", "");
  std::int64_t mbs = 0;
  if (o.at_key("max_batch_size").get_int64().get(mbs) == simdjson::SUCCESS) s.maxBatchSize = mbs;
  double mbt = 0;  // get_double takes integers too ("max_batch_time": 1)
  if (o.at_key("max_batch_time").get_double().get(mbt) == simdjson::SUCCESS) s.maxBatchTime = mbt;
  s.inputs = parseTensors(o, "inputs");
  s.outputs = parseTensors(o, "outputs");
  simdjson::dom::element pe;
  if (o.at_key("parameters").get(pe) == simdjson::SUCCESS && !pe.is_null()) {
    simdjson::dom::object p;
    if (pe.get_object().get(p) != simdjson::SUCCESS) bad("parameters must be an object");
    s.parametersJson = simdjson::minify(pe);
    s.uri = getString(p, "uri", "parameters.");
    s.version = getString(p, "version", "parameters.");
    s.contentType = getString(p, "content_type", "parameters.");
    simdjson::dom::element extra;
    if (p.at_key("extra").get(extra) == simdjson::SUCCESS && !extra.is_null()) s.extraJson = simdjson::minify(extra);
  }
  return s;
}

const TensorMetadata* ModelSettings::input(std::string_view n) const {
  for (const auto& m : inputs)
    if (m.name == n) return &m;
  return nullptr;
}

const TensorMetadata* ModelSettings::output(std::string_view n) const {
  for (const auto& m : outputs)
    if (m.name == n) return &m;
  return nullptr;
}

}  // namespace ringserve
