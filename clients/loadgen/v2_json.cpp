#include "clients/loadgen/v2_json.hpp"

#include <simdjson.h>

#include <charconv>

#include "clients/loadgen/binary_codec.hpp"
#include "clients/loadgen/error.hpp"

namespace ringserve::loadgen {

namespace dom = simdjson::dom;

std::uint64_t elementCount(const std::vector<std::int64_t>& shape) {
  std::uint64_t n = 1;
  for (const std::int64_t d : shape) {
    if (d < 0) throw LoadgenError("negative dimension " + std::to_string(d) + " in a shape");
    if (d != 0 && n > (1ULL << 40) / std::uint64_t(d)) throw LoadgenError("shape has too many elements");
    n *= std::uint64_t(d);
  }
  return n;
}

namespace {

dom::parser& threadParser() {
  thread_local dom::parser parser;
  return parser;
}

std::string numberText(dom::element e) {
  char buf[64];
  std::to_chars_result r{};
  switch (e.type()) {
    case dom::element_type::INT64: r = std::to_chars(buf, buf + sizeof buf, std::int64_t(e.get_int64())); break;
    case dom::element_type::UINT64: r = std::to_chars(buf, buf + sizeof buf, std::uint64_t(e.get_uint64())); break;
    default: r = std::to_chars(buf, buf + sizeof buf, double(e.get_double())); break;
  }
  return std::string(buf, r.ptr);
}

// Flattens nested `data` arrays into text elements.
void flatten(dom::element e, const std::string& name, bool bytes, std::vector<std::string>& out, int depth = 0) {
  if (depth > 32) throw LoadgenError("tensor '" + name + "': data nested too deeply");
  switch (e.type()) {
    case dom::element_type::ARRAY:
      for (dom::element child : dom::array(e)) flatten(child, name, bytes, out, depth + 1);
      return;
    case dom::element_type::STRING:
      if (!bytes) throw LoadgenError("tensor '" + name + "': string element in a numeric tensor");
      out.emplace_back(std::string_view(e));
      return;
    case dom::element_type::BOOL:
      if (bytes) throw LoadgenError("tensor '" + name + "': BYTES elements must be strings");
      out.emplace_back(bool(e) ? "true" : "false");
      return;
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      if (bytes) throw LoadgenError("tensor '" + name + "': BYTES elements must be strings");
      out.push_back(numberText(e));
      return;
    default:
      throw LoadgenError("tensor '" + name + "': data holds null or an object");
  }
}

// The object minified without binary_data_size (a transport detail, not a user parameter).
std::string paramsWithoutBinarySize(dom::element e) {
  dom::object obj;
  if (e.get_object().get(obj) != simdjson::SUCCESS) throw LoadgenError("`parameters` is not an object");
  std::string out = "{";
  for (auto field : obj) {
    if (field.key == "binary_data_size") continue;
    if (out.size() > 1) out += ',';
    appendJsonString(out, field.key);
    out += ':';
    out += simdjson::minify(field.value);
  }
  out += '}';
  return out == "{}" ? std::string() : out;
}

std::string requiredString(dom::object obj, const char* key, const std::string& what) {
  std::string_view v;
  if (obj[key].get_string().get(v) != simdjson::SUCCESS)
    throw LoadgenError(what + ": missing or non-string \"" + key + "\"");
  return std::string(v);
}

std::string optionalString(dom::object obj, const char* key) {
  std::string_view v;
  if (obj[key].get_string().get(v) != simdjson::SUCCESS) return {};
  return std::string(v);
}

// Reads name/datatype/shape/parameters of a tensor; data is left to the caller.
Tensor tensorHeader(dom::element e, const char* what, std::size_t index, std::int64_t* binarySize) {
  dom::object obj;
  const std::string label = std::string(what) + " " + std::to_string(index);
  if (e.get_object().get(obj) != simdjson::SUCCESS) throw LoadgenError(label + " is not an object");
  Tensor t;
  t.name = requiredString(obj, "name", label);
  t.datatype = requiredString(obj, "datatype", std::string(what) + " '" + t.name + "'");
  datatypeSize(t.datatype);  // validates
  dom::array shape;
  if (obj["shape"].get_array().get(shape) != simdjson::SUCCESS)
    throw LoadgenError(std::string(what) + " '" + t.name + "': missing or non-array \"shape\"");
  for (dom::element d : shape) {
    std::int64_t v = 0;
    if (d.get_int64().get(v) != simdjson::SUCCESS || v < 0)
      throw LoadgenError(std::string(what) + " '" + t.name + "': shape must hold non-negative integers");
    t.shape.push_back(v);
  }
  dom::element params;
  *binarySize = -1;
  if (obj["parameters"].get(params) == simdjson::SUCCESS && !params.is_null()) {
    t.parametersJson = paramsWithoutBinarySize(params);
    std::int64_t n = 0;
    if (params["binary_data_size"].get_int64().get(n) == simdjson::SUCCESS) *binarySize = n;
  }
  return t;
}

void checkCount(const Tensor& t, const char* what) {
  const std::uint64_t want = elementCount(t.shape);
  if (want != t.elements.size())
    throw LoadgenError(std::string(what) + " '" + t.name + "': shape has " + std::to_string(want) +
                       " elements but data has " + std::to_string(t.elements.size()));
}

dom::object parseObject(std::string_view json, const char* what) {
  dom::element doc;
  if (auto err = threadParser().parse(json.data(), json.size()).get(doc); err != simdjson::SUCCESS)
    throw LoadgenError(std::string("malformed JSON in ") + what + ": " + simdjson::error_message(err));
  dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) throw LoadgenError(std::string(what) + " is not a JSON object");
  return obj;
}

}  // namespace

V2Request parseRequestJson(std::string_view json) {
  dom::object obj = parseObject(json, "request");
  V2Request r;
  r.id = optionalString(obj, "id");
  dom::element params;
  if (obj["parameters"].get(params) == simdjson::SUCCESS && !params.is_null())
    r.parametersJson = paramsWithoutBinarySize(params);
  dom::array inputs;
  if (obj["inputs"].get_array().get(inputs) != simdjson::SUCCESS)
    throw LoadgenError("request: missing or non-array \"inputs\"");
  std::size_t i = 0;
  for (dom::element in : inputs) {
    std::int64_t binarySize = -1;
    Tensor t = tensorHeader(in, "input", i++, &binarySize);
    dom::element data;
    if (binarySize >= 0 || in["data"].get(data) != simdjson::SUCCESS)
      throw LoadgenError("input '" + t.name + "': no \"data\" (binary inputs cannot come from a JSON file)");
    flatten(data, t.name, t.datatype == "BYTES", t.elements);
    checkCount(t, "input");
    r.inputs.push_back(std::move(t));
  }
  dom::element outputs;
  if (obj["outputs"].get(outputs) == simdjson::SUCCESS && !outputs.is_null()) r.outputsJson = simdjson::minify(outputs);
  return r;
}

V2Response parseResponse(std::string_view body, std::size_t jsonLength) {
  if (jsonLength > body.size()) throw LoadgenError("Inference-Header-Content-Length is larger than the body");
  dom::object obj = parseObject(body.substr(0, jsonLength), "response");
  V2Response r;
  r.modelName = optionalString(obj, "model_name");
  r.modelVersion = optionalString(obj, "model_version");
  r.id = optionalString(obj, "id");
  dom::element params;
  if (obj["parameters"].get(params) == simdjson::SUCCESS && !params.is_null())
    r.parametersJson = paramsWithoutBinarySize(params);
  dom::array outputs;
  if (obj["outputs"].get_array().get(outputs) != simdjson::SUCCESS)
    throw LoadgenError("response: missing or non-array \"outputs\"");
  std::size_t binaryPos = jsonLength;
  std::size_t i = 0;
  for (dom::element out : outputs) {
    std::int64_t binarySize = -1;
    Tensor t = tensorHeader(out, "output", i++, &binarySize);
    if (binarySize >= 0) {
      if (std::uint64_t(binarySize) > body.size() - binaryPos)
        throw LoadgenError("output '" + t.name + "': binary_data_size runs past the end of the body");
      t.elements = decodeBinary(t.datatype, body.substr(binaryPos, std::size_t(binarySize)), elementCount(t.shape), t.name);
      binaryPos += std::size_t(binarySize);
    } else {
      dom::element data;
      if (out["data"].get(data) != simdjson::SUCCESS) throw LoadgenError("output '" + t.name + "': no \"data\"");
      flatten(data, t.name, t.datatype == "BYTES", t.elements);
      checkCount(t, "output");
    }
    r.outputs.push_back(std::move(t));
  }
  return r;
}

std::string errorMessage(std::string_view body) {
  dom::element doc;
  std::string_view msg;
  if (threadParser().parse(body.data(), body.size()).get(doc) == simdjson::SUCCESS &&
      doc["error"].get_string().get(msg) == simdjson::SUCCESS)
    return std::string(msg);
  std::string raw(body.substr(0, 300));
  while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) raw.pop_back();
  return raw;
}

std::string withMember(std::string_view obj, std::string_view key, std::string_view valueJson) {
  std::string out;
  if (obj.empty() || obj == "{}") {
    out = "{";
  } else {
    out = std::string(obj.substr(0, obj.size() - 1));  // drop '}'
    out += ',';
  }
  appendJsonString(out, key);
  out += ':';
  out += valueJson;
  out += '}';
  return out;
}

void appendTensorJson(std::string& out, const Tensor& t) {
  out += "{\"name\":";
  appendJsonString(out, t.name);
  out += ",\"shape\":[";
  for (std::size_t i = 0; i < t.shape.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(t.shape[i]);
  }
  out += "],\"datatype\":";
  appendJsonString(out, t.datatype);
  if (!t.parametersJson.empty()) {
    out += ",\"parameters\":";
    out += t.parametersJson;
  }
  out += ",\"data\":[";
  const bool bytes = t.datatype == "BYTES";
  for (std::size_t i = 0; i < t.elements.size(); ++i) {
    if (i) out += ',';
    if (bytes) appendJsonString(out, t.elements[i]);
    else out += t.elements[i];
  }
  out += "]}";
}

std::string writeResponseJson(const V2Response& r) {
  std::string out = "{\"model_name\":";
  appendJsonString(out, r.modelName);
  if (!r.modelVersion.empty()) {
    out += ",\"model_version\":";
    appendJsonString(out, r.modelVersion);
  }
  out += ",\"id\":";
  appendJsonString(out, r.id);
  if (!r.parametersJson.empty()) {
    out += ",\"parameters\":";
    out += r.parametersJson;
  }
  out += ",\"outputs\":[";
  for (std::size_t i = 0; i < r.outputs.size(); ++i) {
    if (i) out += ',';
    appendTensorJson(out, r.outputs[i]);
  }
  out += "]}";
  return out;
}

}  // namespace ringserve::loadgen
