#include "supervisor/codec/response_encoder.hpp"
#include "supervisor/codec/message_text.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>
#include <kj/exception.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "supervisor/codec/json_text.hpp"
#include "transport/bytes_elements.hpp"
#include "transport/datatype.hpp"
#include "transport/half.hpp"

namespace ringserve::supervisor::codec {
namespace {

std::string_view text(capnp::Text::Reader t) { return {t.cStr(), t.size()}; }

bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool validHeaderName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!isTokenChar(c)) return false;
  }
  return true;
}

bool validHeaderValue(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

struct OutputPlan {
  std::string_view name;
  DataType type = DataType::FP32;
  capnp::List<std::int64_t>::Reader shape;
  std::uint64_t count = 0;
  std::span<const std::byte> bytes;
  std::string parameters;  // members of the parameters object without braces, or empty
  bool binary = false;
};

// Appends the flat `data` array of one fixed-size output. Numbers are printed in chunks into a
// stack buffer so the text buffer is not grown per element.
template <class T, class Print>
void appendNumbers(std::string& out, std::span<const std::byte> bytes, std::uint64_t count, Print print) {
  constexpr std::size_t kChunk = 256;
  constexpr std::size_t kMaxChars = 32;  // longest number (double shortest is 24) plus the comma
  char buf[kChunk * kMaxChars];
  out.push_back('[');
  for (std::uint64_t base = 0; base < count; base += kChunk) {
    const std::uint64_t n = std::min<std::uint64_t>(kChunk, count - base);
    char* p = buf;
    for (std::uint64_t k = 0; k < n; ++k) {
      T v;
      std::memcpy(&v, bytes.data() + (base + k) * sizeof(T), sizeof(T));
      p = print(p, p + kMaxChars, v);
      *p++ = ',';
    }
    out.append(buf, static_cast<std::size_t>(p - buf));
  }
  if (count != 0) out.pop_back();
  out.push_back(']');
}

char* printNull(char* p) {
  std::memcpy(p, "null", 4);
  return p + 4;
}

// Floats go through fmt's Dragonbox: shortest round-trip digits like std::to_chars (Ryu in
// libstdc++ 12), at about 0.75x its cost on 65,536 six-digit FP32 values (measured 2026-12-01),
// though the notation may differ (0.0001 where to_chars prints 1e-04). Printing floats is most of
// a large JSON response's cost.
char* printFloat(char* p, char*, float v) {
  if (!std::isfinite(v)) return printNull(p);
  return fmt::format_to(p, FMT_COMPILE("{}"), v);
}

char* printDouble(char* p, char* end, double v) {
  if (!std::isfinite(v)) return printNull(p);
  char* e = fmt::format_to(p, FMT_COMPILE("{}"), v);
  // A shortest form must never be a 20-22 digit integer (e.g. 123456789012345680000), which many
  // JSON parsers (simdjson included) cannot read as a number: fmt switches to an exponent from
  // 1e16 on, and this guard keeps that promise whatever the formatter does.
  if (e - p > 19 && std::find_if(p, e, [](char c) { return c == '.' || c == 'e'; }) == e) {
    e = std::to_chars(p, end, v, std::chars_format::scientific).ptr;
  }
  return e;
}

template <class T>
char* printInt(char* p, char* end, T v) {
  return std::to_chars(p, end, v).ptr;
}

void appendData(std::string& out, const OutputPlan& o) {
  switch (o.type) {
    case DataType::BOOL:
      appendNumbers<std::uint8_t>(out, o.bytes, o.count, [](char* p, char*, std::uint8_t v) {
        if (v != 0) {
          std::memcpy(p, "true", 4);
          return p + 4;
        }
        std::memcpy(p, "false", 5);
        return p + 5;
      });
      return;
    case DataType::UINT8: appendNumbers<std::uint8_t>(out, o.bytes, o.count, printInt<std::uint8_t>); return;
    case DataType::UINT16: appendNumbers<std::uint16_t>(out, o.bytes, o.count, printInt<std::uint16_t>); return;
    case DataType::UINT32: appendNumbers<std::uint32_t>(out, o.bytes, o.count, printInt<std::uint32_t>); return;
    case DataType::UINT64: appendNumbers<std::uint64_t>(out, o.bytes, o.count, printInt<std::uint64_t>); return;
    case DataType::INT8: appendNumbers<std::int8_t>(out, o.bytes, o.count, printInt<std::int8_t>); return;
    case DataType::INT16: appendNumbers<std::int16_t>(out, o.bytes, o.count, printInt<std::int16_t>); return;
    case DataType::INT32: appendNumbers<std::int32_t>(out, o.bytes, o.count, printInt<std::int32_t>); return;
    case DataType::INT64: appendNumbers<std::int64_t>(out, o.bytes, o.count, printInt<std::int64_t>); return;
    case DataType::FP16:
      appendNumbers<std::uint16_t>(out, o.bytes, o.count, [](char* p, char* end, std::uint16_t v) {
        return printFloat(p, end, transport::halfToFloat(v));
      });
      return;
    case DataType::BF16:
      appendNumbers<std::uint16_t>(out, o.bytes, o.count, [](char* p, char* end, std::uint16_t v) {
        return printFloat(p, end, transport::bfloat16ToFloat(v));
      });
      return;
    case DataType::FP32: appendNumbers<float>(out, o.bytes, o.count, printFloat); return;
    case DataType::FP64: appendNumbers<double>(out, o.bytes, o.count, printDouble); return;
    case DataType::BYTES: {
      out.push_back('[');
      transport::walkBytes(o.bytes, o.count, [&](std::uint64_t k, std::string_view element) {  // checked by checkBytes
        if (k != 0) out.push_back(',');
        appendJsonString(out, element);
      });
      out.push_back(']');
      return;
    }
  }
}

// Checks a BYTES tensor: `count` elements exactly filling `bytes`; with `utf8`, each must be
// valid UTF-8. Returns the problem, or empty.
std::string checkBytes(std::span<const std::byte> bytes, std::uint64_t count, bool utf8) {
  std::optional<std::uint64_t> notUtf8;
  const auto w = transport::walkBytes(bytes, count, [&](std::uint64_t k, std::string_view element) {
    if (utf8 && !notUtf8 && !validUtf8(element)) notUtf8 = k;
  });
  using Stop = transport::BytesWalk::Stop;
  if (w.stop == Stop::truncatedLength) return "ends inside the length of element " + std::to_string(w.count);
  if (w.stop == Stop::pastEnd) return "element " + std::to_string(w.count) + " runs past the end of the tensor";
  if (notUtf8) {
    return "element " + std::to_string(*notUtf8) +
           " is not valid UTF-8, which JSON cannot carry; request this output with parameters.binary_data";
  }
  if (w.end != bytes.size()) return "has " + std::to_string(bytes.size() - w.end) + " bytes after its last element";
  return {};
}

}  // namespace

struct ResponseEncoder::Impl {
  simdjson::dom::parser parser;
  std::string json;
  std::vector<OutputPlan> plans;

  Expected<EncodedResponse> encode(schema::InferResult::Reader result, const OutputBytes& outputBytes,
                                   const ResponseFormat& format, std::string_view modelName,
                                   std::string_view modelVersion, OutputSink& sink);
  // `v2Rest` false: BYTES need not be UTF-8 and no binary_data_size is added (plan()).
  Expected<OutputPlan> planOutput(schema::TensorRef::Reader ref, const OutputBytes& outputBytes,
                                  const ResponseFormat& format, bool v2Rest = true);
  Expected<PlannedResult> plan(schema::InferResult::Reader result, const OutputBytes& outputBytes,
                               const ResponseFormat& format, std::string_view modelName, std::string_view modelVersion);
  // Parses a parameters object from the worker; appends its members (minus `skip`) to `out`.
  std::optional<Error> members(std::string_view json, std::string_view what, std::string_view skip, std::string& out,
                               EncodedResponse* headersTo);
};

std::optional<Error> ResponseEncoder::Impl::members(std::string_view text, std::string_view what, std::string_view skip,
                                                    std::string& out, EncodedResponse* headersTo) {
  if (text.empty()) return std::nullopt;
  simdjson::dom::element root;
  simdjson::dom::object obj;
  if (parser.parse(text.data(), text.size()).get(root) || root.get(obj)) {
    return internalError("the runtime returned " + std::string(what) + " that are not a JSON object");
  }
  for (auto field : obj) {
    if (field.key == skip) {
      if (headersTo != nullptr) {
        simdjson::dom::object headers;
        if (field.value.get(headers)) {
          headersTo->warnings.push_back("response parameters.headers is not an object; ignored");
          continue;
        }
        for (auto h : headers) {
          std::string value;
          std::string_view s;
          if (!h.value.get(s)) {
            value = std::string(s);
          } else {
            value = simdjson::minify(h.value);
          }
          if (!validHeaderName(h.key) || !validHeaderValue(value)) {
            headersTo->warnings.push_back("response header " + quoteName(sanitizedUtf8(h.key)) +
                                          " dropped: invalid header name or value");
            continue;
          }
          headersTo->headers.emplace_back(std::string(h.key), std::move(value));
        }
      }
      continue;
    }
    if (!out.empty()) out += ',';
    appendJsonString(out, field.key);
    out += ':';
    out += simdjson::minify(field.value);
  }
  return std::nullopt;
}

// One output checked against what its datatype and shape need, its parameters rewritten.
Expected<OutputPlan> ResponseEncoder::Impl::planOutput(schema::TensorRef::Reader ref, const OutputBytes& outputBytes,
                                                       const ResponseFormat& format, bool v2Rest) {
  OutputPlan o;
  o.name = text(ref.getName());
  if (!validUtf8(o.name)) return internalError("the runtime returned an output whose name is not valid UTF-8");
  const std::string where = "output " + quoteName(o.name);
  o.type = ref.getDatatype();
  if (static_cast<unsigned>(o.type) > static_cast<unsigned>(DataType::BYTES)) {
    return internalError(where + " has an unknown datatype (" + std::to_string(static_cast<unsigned>(o.type)) + ")");
  }
  o.shape = ref.getShape();
  std::vector<std::int64_t> shape;
  shape.reserve(o.shape.size());
  for (auto d : o.shape) shape.push_back(d);
  const auto count = elementCount(shape);
  if (!count) return internalError(where + " has an invalid shape " + shapeString(shape));
  o.count = *count;
  auto bytes = outputBytes(ref.getOffset(), ref.getSize());
  if (!bytes) return bytes.error();
  o.bytes = *bytes;
  o.binary = !v2Rest || format.binary(o.name);
  if (o.type == DataType::BYTES) {
    if (auto problem = checkBytes(o.bytes, o.count, !o.binary); !problem.empty()) {
      return internalError(where + " (BYTES, shape " + shapeString(shape) + ") " + problem);
    }
  } else if (o.bytes.size() != o.count * elementSize(o.type)) {
    return internalError(where + " has shape " + shapeString(shape) + " of " + std::string(dataTypeName(o.type)) +
                         ", which needs " + std::to_string(o.count * elementSize(o.type)) + " bytes, but holds " +
                         std::to_string(o.bytes.size()));
  }
  if (auto err =
          members(text(ref.getParametersJson()), where + " parameters", "binary_data_size", o.parameters, nullptr)) {
    return *err;
  }
  if (o.binary && v2Rest) {
    if (!o.parameters.empty()) o.parameters += ',';
    o.parameters += "\"binary_data_size\":" + std::to_string(o.bytes.size());
  }
  return o;
}

namespace {

// {"name","datatype","shape","parameters"?,"data"?}: `data` only when the output is not binary.
void printOutput(std::string& j, const OutputPlan& o) {
  j += "{\"name\":";
  appendJsonString(j, o.name);
  j += ",\"datatype\":\"";
  j += dataTypeName(o.type);
  j += "\",\"shape\":[";
  for (std::size_t d = 0; d < o.shape.size(); ++d) {
    if (d != 0) j += ',';
    char buf[24];
    j.append(buf, std::to_chars(buf, buf + sizeof buf, o.shape[d]).ptr);
  }
  j += ']';
  if (!o.parameters.empty()) {
    j += ",\"parameters\":{";
    j += o.parameters;
    j += '}';
  }
  if (!o.binary) {
    j += ",\"data\":";
    appendData(j, o);
  }
  j += '}';
}

}  // namespace

Expected<EncodedResponse> ResponseEncoder::Impl::encode(schema::InferResult::Reader result,
                                                        const OutputBytes& outputBytes, const ResponseFormat& format,
                                                        std::string_view modelName, std::string_view modelVersion,
                                                        OutputSink& sink) {
  EncodedResponse response;
  std::string parameters;
  if (auto err = members(text(result.getParametersJson()), "response parameters", "headers", parameters, &response)) {
    return *err;
  }
  auto outputs = result.getOutputs();
  plans.clear();
  plans.reserve(outputs.size());
  bool anyBinary = false;
  for (auto ref : outputs) {
    auto o = planOutput(ref, outputBytes, format);
    if (!o) return o.error();
    anyBinary = anyBinary || o->binary;
    plans.push_back(std::move(o.value()));
  }

  // Everything is checked: print.
  std::string& j = json;
  j.clear();
  j += "{\"model_name\":";
  const std::string_view name = result.getModelName().size() != 0 ? text(result.getModelName()) : modelName;
  const std::string_view version = result.getModelVersion().size() != 0 ? text(result.getModelVersion()) : modelVersion;
  const std::string_view id = !format.requestId.empty() ? std::string_view(format.requestId) : text(result.getId());
  appendJsonStringRepaired(j, name);
  if (!version.empty()) {
    j += ",\"model_version\":";
    appendJsonStringRepaired(j, version);
  }
  j += ",\"id\":";
  appendJsonStringRepaired(j, id);
  if (!parameters.empty()) {
    j += ",\"parameters\":{";
    j += parameters;
    j += '}';
  }
  j += ",\"outputs\":[";
  for (std::size_t k = 0; k < plans.size(); ++k) {
    if (k != 0) j += ',';
    printOutput(j, plans[k]);
  }
  j += "]}";

  sink.appendCopy(j);
  response.bodyBytes = j.size();
  if (anyBinary) {
    response.inferenceHeaderContentLength = j.size();
    for (const auto& o : plans) {
      if (o.binary && !o.bytes.empty()) {
        sink.appendReference(o.bytes);
        response.bodyBytes += o.bytes.size();
      }
    }
  }
  return response;
}

Expected<PlannedResult> ResponseEncoder::Impl::plan(schema::InferResult::Reader result, const OutputBytes& outputBytes,
                                                    const ResponseFormat& format, std::string_view modelName,
                                                    std::string_view modelVersion) {
  PlannedResult r;
  if (auto err =
          members(text(result.getParametersJson()), "response parameters", "headers", r.parametersJson, &r.response)) {
    return *err;
  }
  if (!r.parametersJson.empty()) r.parametersJson = "{" + r.parametersJson + "}";
  for (auto ref : result.getOutputs()) {
    auto o = planOutput(ref, outputBytes, format, false);
    if (!o) return o.error();
    PlannedOutput out;
    out.name = o->name;
    out.type = o->type;
    for (auto d : o->shape) out.shape.push_back(d);
    out.bytes = o->bytes;
    if (!o->parameters.empty()) out.parametersJson = "{" + o->parameters + "}";
    r.outputs.push_back(std::move(out));
  }
  r.modelName = result.getModelName().size() != 0 ? text(result.getModelName()) : modelName;
  r.modelVersion = result.getModelVersion().size() != 0 ? text(result.getModelVersion()) : modelVersion;
  r.id = !format.requestId.empty() ? std::string_view(format.requestId) : text(result.getId());
  return r;
}

ResponseEncoder::ResponseEncoder() : impl_(std::make_unique<Impl>()) {}
ResponseEncoder::~ResponseEncoder() = default;
ResponseEncoder::ResponseEncoder(ResponseEncoder&&) noexcept = default;
ResponseEncoder& ResponseEncoder::operator=(ResponseEncoder&&) noexcept = default;

Expected<EncodedResponse> ResponseEncoder::encode(schema::InferResult::Reader result, const OutputBytes& outputBytes,
                                                  const ResponseFormat& format, std::string_view modelName,
                                                  std::string_view modelVersion, OutputSink& sink) {
  try {
    return impl_->encode(result, outputBytes, format, modelName, modelVersion, sink);
  } catch (const kj::Exception& e) {
    // A malformed frame surfaces while its lists are read; nothing reached the sink yet.
    return internalError(std::string("malformed response frame from the worker: ") + e.getDescription().cStr());
  }
}

Expected<PlannedResult> ResponseEncoder::plan(schema::InferResult::Reader result, const OutputBytes& outputBytes,
                                              const ResponseFormat& format, std::string_view modelName,
                                              std::string_view modelVersion) {
  try {
    return impl_->plan(result, outputBytes, format, modelName, modelVersion);
  } catch (const kj::Exception& e) {
    return internalError(std::string("malformed response frame from the worker: ") + e.getDescription().cStr());
  }
}

}  // namespace ringserve::supervisor::codec
