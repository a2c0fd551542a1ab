#include "supervisor/codec/request_decoder.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "supervisor/codec/decoder_text.hpp"
#include "supervisor/codec/json_data.hpp"
#include "supervisor/codec/json_text.hpp"
#include "supervisor/codec/request_checks.hpp"
#include "transport/bytes_elements.hpp"

namespace ringserve::supervisor::codec {
namespace {

using detail::quoteName;
using detail::uuid4;
using detail::valueText;
using simdjson::dom::element;

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

struct PendingBinary {
  std::size_t input = 0;       // index into DecodedRequest::inputs
  std::uint64_t size = 0;      // binary_data_size
  std::uint64_t elements = 0;  // product of the shape
};

// Where each input's data comes from, once every input has been read.
struct DataPlan {
  std::set<std::string, std::less<>> names;
  std::vector<PendingBinary> binaries;
  std::vector<std::pair<std::size_t, element>> json;  // input index, data
};

}  // namespace

struct RequestDecoder::Impl {
  simdjson::dom::parser parser;
  std::unique_ptr<char[]> text;  // the JSON part, padded for simdjson
  std::size_t capacity = 0;

  Expected<DecodedRequest> decode(const BodySource& body, const RequestInfo& info, ArenaTarget& target);
  Expected<simdjson::dom::object> parseJson(const BodySource& body, std::uint64_t jsonSize);
  std::optional<Error> fillArena(const BodySource& body, std::uint64_t jsonSize, bool binaryExtension,
                                 const DataPlan& plan, DecodedRequest& r, ArenaTarget& target);
};

namespace {

std::optional<Error> readShape(element e, std::string_view input, std::vector<std::int64_t>& shape) {
  simdjson::dom::array dims;
  if (e.get(dims))
    return badRequest("input " + quoteName(input) + ": 'shape' must be an array of non-negative integers");
  for (element d : dims) {
    std::int64_t n = 0;
    if (d.get(n) || n < 0) {
      return badRequest("input " + quoteName(input) + ": 'shape' must be an array of non-negative integers, got " +
                        valueText(e));
    }
    shape.push_back(n);
  }
  return std::nullopt;
}

}  // namespace

namespace {

// The HTTP headers as parameters.headers, and Inference-Header-Content-Length when present.
struct HeaderScan {
  std::string json;
  std::optional<std::uint64_t> headerLength;
};

Expected<HeaderScan> scanHeaders(const RequestInfo& info) {
  HeaderScan scan;
  for (const auto& [name, value] : info.headers) {
    if (lower(name) == "inference-header-content-length") {
      std::string_view v = value;
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      std::uint64_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
        return badRequest("invalid Inference-Header-Content-Length \"" + sanitizedUtf8(value) +
                          "\": expected the byte count of the JSON header");
      }
      scan.headerLength = n;
    }
  }
  scan.json = headersJson(info.headers);
  return scan;
}

// `id` (or a generated one) and `parameters` with `headers` replaced by the HTTP headers.
std::optional<Error> readIdAndParameters(simdjson::dom::object request, const std::string& headersJson,
                                         DecodedRequest& r) {
  if (element e; !request["id"].get(e) && !e.is_null()) {
    std::string_view id;
    if (e.get(id)) return badRequest("'id' must be a string, got " + valueText(e));
    r.id = std::string(id);
  } else {
    r.id = uuid4();
    r.idGenerated = true;
  }
  std::string& p = r.parametersJson;
  p = "{";
  if (element e; !request["parameters"].get(e) && !e.is_null()) {
    simdjson::dom::object params;
    if (e.get(params)) return badRequest("'parameters' must be a JSON object, got " + valueText(e));
    for (auto field : params) {
      if (field.key == "headers") {
        r.clientHeadersOverwritten = true;
        continue;
      }
      if (field.key == "binary_data_output") {
        bool b = false;
        if (field.value.get(b)) return badRequest("parameters.binary_data_output must be true or false");
        r.binaryDataOutput = b;
      }
      appendJsonString(p, field.key);
      p += ':';
      p += simdjson::minify(field.value);
      p += ',';
    }
  }
  p += "\"headers\":";
  p += headersJson;
  p += '}';
  return std::nullopt;
}

// The input's datatype, checked against the model's declaration.
std::optional<Error> readDatatype(simdjson::dom::object obj, std::string_view name,
                                  const settings::TensorMetadata* declared, const RequestInfo& info, DecodedInput& in) {
  std::string_view dt;
  if (obj["datatype"].get(dt)) return badRequest("input " + quoteName(name) + " has no 'datatype' string");
  auto type = checkedDatatype(name, dt, declared, info);
  if (!type) return type.error();
  in.datatype = *type;
  return std::nullopt;
}

// The input's `parameters` (kept as JSON) and its binary_data_size, when given.
Expected<std::optional<std::uint64_t>> readInputParameters(simdjson::dom::object obj, std::string_view name,
                                                           DecodedInput& in) {
  element e;
  if (obj["parameters"].get(e) || e.is_null()) return std::optional<std::uint64_t>{};
  simdjson::dom::object params;
  if (e.get(params)) return badRequest("input " + quoteName(name) + ": 'parameters' must be a JSON object");
  in.parametersJson = simdjson::minify(e);
  element b;
  if (params["binary_data_size"].get(b)) return std::optional<std::uint64_t>{};
  std::int64_t n = 0;
  if (b.get(n) || n < 0) {
    return badRequest("input " + quoteName(name) + ": parameters.binary_data_size must be a non-negative integer");
  }
  return std::optional<std::uint64_t>{static_cast<std::uint64_t>(n)};
}

// One entry of `inputs`: validated and added to `r`, its data planned.
std::optional<Error> readInput(element item, const RequestInfo& info, bool binaryExtension, DecodedRequest& r,
                               DataPlan& plan) {
  simdjson::dom::object obj;
  if (item.get(obj)) return badRequest("each entry of 'inputs' must be an object, got " + valueText(item));
  DecodedInput in;
  std::string_view name;
  if (obj["name"].get(name)) return badRequest("input " + std::to_string(r.inputs.size()) + " has no 'name' string");
  in.name = std::string(name);
  if (!plan.names.insert(in.name).second) return badRequest("input " + quoteName(name) + " appears more than once");
  auto declared = declaredInput(info, name);
  if (!declared) return declared.error();
  if (auto err = readDatatype(obj, name, *declared, info, in)) return err;
  if (element e; obj["shape"].get(e)) {
    return badRequest("input " + quoteName(name) + " has no 'shape'");
  } else if (auto err = readShape(e, name, in.shape)) {
    return err;
  }
  const auto count = elementCount(in.shape);
  if (!count) return badRequest("input " + quoteName(name) + ": shape " + shapeString(in.shape) + " is too large");
  auto binarySize = readInputParameters(obj, name, in);
  if (!binarySize) return binarySize.error();
  element data;
  const bool hasData = !obj["data"].get(data);
  const std::size_t index = r.inputs.size();
  if (*binarySize) {
    const std::uint64_t size = **binarySize;
    if (hasData) return badRequest("input " + quoteName(name) + " has both 'data' and parameters.binary_data_size");
    if (!binaryExtension) {
      return badRequest("input " + quoteName(name) +
                        " uses parameters.binary_data_size but the request has no "
                        "Inference-Header-Content-Length header");
    }
    if (in.datatype != DataType::BYTES && size != *count * elementSize(in.datatype)) {
      return badRequest("input " + quoteName(name) + ": shape " + shapeString(in.shape) + " of " +
                        std::string(dataTypeName(in.datatype)) + " needs " +
                        std::to_string(*count * elementSize(in.datatype)) + " bytes but binary_data_size is " +
                        std::to_string(size));
    }
    plan.binaries.push_back({index, size, *count});
  } else {
    if (!hasData) return badRequest("input " + quoteName(name) + " has no 'data' (nor parameters.binary_data_size)");
    plan.json.emplace_back(index, data);
  }
  r.inputs.push_back(std::move(in));
  return std::nullopt;
}

// One entry of `outputs`.
Expected<RequestedOutput> readOutput(element item, std::set<std::string, std::less<>>& names) {
  simdjson::dom::object obj;
  std::string_view name;
  if (item.get(obj) || obj["name"].get(name)) {
    return badRequest("each entry of 'outputs' must be an object with a 'name' string");
  }
  if (!names.insert(std::string(name)).second) {
    return badRequest("output " + quoteName(name) + " is requested more than once");
  }
  RequestedOutput out;
  out.name = std::string(name);
  if (element p; !obj["parameters"].get(p) && !p.is_null()) {
    simdjson::dom::object params;
    if (p.get(params)) return badRequest("output " + quoteName(name) + ": 'parameters' must be a JSON object");
    out.parametersJson = simdjson::minify(p);
    if (element b; !params["binary_data"].get(b)) {
      bool flag = false;
      if (b.get(flag))
        return badRequest("output " + quoteName(name) + ": parameters.binary_data must be true or false");
      out.binaryData = flag;
    }
  }
  return out;
}

std::optional<Error> readOutputs(simdjson::dom::object request, DecodedRequest& r) {
  element e;
  if (request["outputs"].get(e) || e.is_null()) return std::nullopt;
  simdjson::dom::array outputs;
  if (e.get(outputs)) return badRequest("'outputs' must be an array, got " + valueText(e));
  std::set<std::string, std::less<>> names;
  for (element item : outputs) {
    auto out = readOutput(item, names);
    if (!out) return out.error();
    r.outputs.push_back(std::move(out.value()));
  }
  return std::nullopt;
}

}  // namespace

// The JSON part of the body, copied once into the padded buffer and parsed.
Expected<simdjson::dom::object> RequestDecoder::Impl::parseJson(const BodySource& body, std::uint64_t jsonSize) {
  if (capacity < jsonSize + simdjson::SIMDJSON_PADDING) {
    capacity = std::max<std::size_t>(jsonSize + simdjson::SIMDJSON_PADDING, 2 * capacity);
    text.reset(new char[capacity]);
  }
  body.copyOut(0, std::span<std::byte>(reinterpret_cast<std::byte*>(text.get()), jsonSize));
  std::memset(text.get() + jsonSize, 0, simdjson::SIMDJSON_PADDING);
  element root;
  if (auto err = parser.parse(text.get(), jsonSize, false).get(root)) {
    if (err == simdjson::UTF8_ERROR) {
      return badRequest(
          "malformed JSON in the request body: it is not valid UTF-8 (BYTES elements in JSON must be "
          "UTF-8 strings; send other bytes with the binary data extension)");
    }
    return badRequest(std::string("malformed JSON in the request body: ") + simdjson::error_message(err));
  }
  simdjson::dom::object request;
  if (root.get(request)) return badRequest("the request body must be a JSON object");
  return request;
}

Expected<DecodedRequest> RequestDecoder::Impl::decode(const BodySource& body, const RequestInfo& info,
                                                      ArenaTarget& target) {
  auto headers = scanHeaders(info);
  if (!headers) return headers.error();
  const auto headerLength = headers->headerLength;
  const std::uint64_t bodySize = body.size();
  if (headerLength && *headerLength == 0) return detail::decodeRawRequest(body, info, target, headers->json);
  if (headerLength && *headerLength > bodySize) {
    return badRequest("Inference-Header-Content-Length is " + std::to_string(*headerLength) +
                      " but the body has only " + std::to_string(bodySize) + " bytes");
  }
  const std::uint64_t jsonSize = headerLength ? *headerLength : bodySize;
  if (jsonSize == 0) return badRequest("the request body is empty; expected a JSON inference request");
  auto request = parseJson(body, jsonSize);
  if (!request) return request.error();

  DecodedRequest r;
  if (auto err = readIdAndParameters(*request, headers->json, r)) return *err;
  simdjson::dom::array inputs;
  if (element e; (*request)["inputs"].get(e)) {
    return badRequest("the request has no 'inputs'");
  } else if (e.get(inputs)) {
    return badRequest("'inputs' must be an array, got " + valueText(e));
  }
  DataPlan plan;
  for (element item : inputs) {
    if (auto err = readInput(item, info, headerLength.has_value(), r, plan)) return *err;
  }
  if (auto err = readOutputs(*request, r)) return *err;
  if (auto err = fillArena(body, jsonSize, headerLength.has_value(), plan, r, target)) return *err;
  return r;
}

// Everything is validated that can be without allocating; now the arena is filled: JSON data
// parsed into it, binary tensors copied into it from after the JSON header.
std::optional<Error> RequestDecoder::Impl::fillArena(const BodySource& body, std::uint64_t jsonSize,
                                                     bool binaryExtension, const DataPlan& plan, DecodedRequest& r,
                                                     ArenaTarget& target) {
  const std::uint64_t bodySize = body.size();
  const std::uint64_t binaryBytes = bodySize - jsonSize;
  std::uint64_t declaredBinary = 0;
  for (const auto& b : plan.binaries) declaredBinary += b.size;
  if (binaryExtension && declaredBinary != binaryBytes) {
    return badRequest("the inputs' binary_data_size add up to " + std::to_string(declaredBinary) + " bytes but " +
                      std::to_string(binaryBytes) + " bytes follow the JSON header (Inference-Header-Content-Length: " +
                      std::to_string(jsonSize) + ", body " + std::to_string(bodySize) + " bytes)");
  }
  for (const auto& [index, data] : plan.json) {
    DecodedInput& in = r.inputs[index];
    if (auto err = detail::decodeJsonData(in, data, *elementCount(in.shape), target)) return err;
  }
  std::uint64_t pos = jsonSize;
  for (const auto& b : plan.binaries) {
    DecodedInput& in = r.inputs[b.input];
    auto block = target.allocate(b.size);
    if (!block) return block.error();
    in.offset = block->offset;
    in.size = b.size;
    body.copyOut(pos, block->bytes);
    pos += b.size;
    if (in.datatype == DataType::BYTES) {
      if (auto problem = bytesLayoutProblem(block->bytes, b.elements)) {
        return badRequest("input " + quoteName(in.name) + ": the binary BYTES data " + *problem);
      }
    }
  }
  return std::nullopt;
}

RequestDecoder::RequestDecoder() : impl_(std::make_unique<Impl>()) {}
RequestDecoder::~RequestDecoder() = default;
RequestDecoder::RequestDecoder(RequestDecoder&&) noexcept = default;
RequestDecoder& RequestDecoder::operator=(RequestDecoder&&) noexcept = default;

Expected<DecodedRequest> RequestDecoder::decode(const BodySource& body, const RequestInfo& info, ArenaTarget& target) {
  return impl_->decode(body, info, target);
}

bool ResponseFormat::binary(std::string_view name) const {
  for (const auto& [n, b] : binaryByOutput) {
    if (n == name) return b;
  }
  return binaryDataOutput;
}

ResponseFormat DecodedRequest::responseFormat() const {
  ResponseFormat f;
  f.requestId = id;
  f.binaryDataOutput = binaryDataOutput;
  for (const auto& o : outputs) {
    if (o.binaryData) f.binaryByOutput.emplace_back(o.name, *o.binaryData);
  }
  return f;
}

}  // namespace ringserve::supervisor::codec
