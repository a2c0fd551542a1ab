#include "supervisor/grpc/infer_codec.hpp"

#include <cstring>
#include <limits>
#include <set>
#include <type_traits>
#include <utility>

#include "supervisor/codec/message_text.hpp"
#include "supervisor/codec/request_checks.hpp"
#include "supervisor/grpc/parameters.hpp"
#include "transport/bytes_elements.hpp"

namespace ringserve::supervisor::grpcfe {

namespace {

using codec::DataType;
using codec::DecodedInput;

using codec::quoteName;

// The typed field a datatype's elements travel in ("" for FP16/BF16, which have none).
const char* contentsField(DataType t) {
  switch (t) {
    case DataType::BOOL: return "bool_contents";
    case DataType::INT8:
    case DataType::INT16:
    case DataType::INT32: return "int_contents";
    case DataType::INT64: return "int64_contents";
    case DataType::UINT8:
    case DataType::UINT16:
    case DataType::UINT32: return "uint_contents";
    case DataType::UINT64: return "uint64_contents";
    case DataType::FP32: return "fp32_contents";
    case DataType::FP64: return "fp64_contents";
    case DataType::BYTES: return "bytes_contents";
    default: return "";
  }
}

// A field other than `expected` that holds elements, or nullptr.
const char* strayField(const inference::InferTensorContents& c, std::string_view expected) {
  const std::pair<const char*, int> sizes[] = {
      {"bool_contents", c.bool_contents_size()},     {"int_contents", c.int_contents_size()},
      {"int64_contents", c.int64_contents_size()},   {"uint_contents", c.uint_contents_size()},
      {"uint64_contents", c.uint64_contents_size()}, {"fp32_contents", c.fp32_contents_size()},
      {"fp64_contents", c.fp64_contents_size()},     {"bytes_contents", c.bytes_contents_size()}};
  for (const auto& [name, n] : sizes)
    if (n > 0 && expected != name) return name;
  return nullptr;
}

std::string countMismatch(const DecodedInput& in, std::uint64_t count, std::string_view field, std::uint64_t got) {
  return "input " + quoteName(in.name) + ": shape " + codec::shapeString(in.shape) + " needs " + std::to_string(count) +
         " elements but " + std::string(field) + " has " + std::to_string(got);
}

// Elements of a repeated numeric field into the arena as `Dst`, each checked against Dst's range.
template <class Dst, class Src>
std::optional<Error> copyTyped(const google::protobuf::RepeatedField<Src>& src, const char* field, DecodedInput& in,
                               std::uint64_t count, codec::ArenaTarget& target) {
  if (static_cast<std::uint64_t>(src.size()) != count) return badRequest(countMismatch(in, count, field, src.size()));
  auto block = target.allocate(count * sizeof(Dst));
  if (!block) return block.error();
  in.offset = block->offset;
  in.size = block->bytes.size();
  if constexpr (std::is_same_v<Dst, Src>) {
    if (count != 0) std::memcpy(block->bytes.data(), src.data(), count * sizeof(Dst));
  } else {
    for (int k = 0; k < src.size(); ++k) {
      const Src v = src.Get(k);
      Dst d;
      if constexpr (std::is_same_v<Src, bool>) {
        d = v ? 1 : 0;
      } else {
        if (!std::in_range<Dst>(v)) {
          return badRequest("input " + quoteName(in.name) + ": element " + std::to_string(k) + " of " + field + " (" +
                            std::to_string(v) + ") is out of range for " +
                            std::string(codec::dataTypeName(in.datatype)));
        }
        d = static_cast<Dst>(v);
      }
      std::memcpy(block->bytes.data() + static_cast<std::size_t>(k) * sizeof(Dst), &d, sizeof(Dst));
    }
  }
  return std::nullopt;
}

std::optional<Error> copyBytesElements(const google::protobuf::RepeatedPtrField<std::string>& src, DecodedInput& in,
                                       std::uint64_t count, codec::ArenaTarget& target) {
  if (static_cast<std::uint64_t>(src.size()) != count)
    return badRequest(countMismatch(in, count, "bytes_contents", src.size()));
  std::uint64_t size = 0;
  for (const auto& e : src) size += 4 + e.size();
  auto block = target.allocate(size);
  if (!block) return block.error();
  in.offset = block->offset;
  in.size = size;
  std::byte* p = block->bytes.data();
  for (const auto& e : src) {
    if (e.size() > std::numeric_limits<std::uint32_t>::max())
      return badRequest("input " + quoteName(in.name) + ": a BYTES element is larger than 4 GiB");
    const auto n = static_cast<std::uint32_t>(e.size());
    const unsigned char len[4] = {static_cast<unsigned char>(n), static_cast<unsigned char>(n >> 8),
                                  static_cast<unsigned char>(n >> 16), static_cast<unsigned char>(n >> 24)};
    std::memcpy(p, len, 4);
    if (n != 0) std::memcpy(p + 4, e.data(), n);
    p += 4 + n;
  }
  return std::nullopt;
}

std::optional<Error> typedInput(const inference::InferTensorContents& c, DecodedInput& in, std::uint64_t count,
                                codec::ArenaTarget& target) {
  const char* field = contentsField(in.datatype);
  if (*field == '\0') {
    return badRequest("input " + quoteName(in.name) + ": " + std::string(codec::dataTypeName(in.datatype)) +
                      " has no typed contents field; send it in raw_input_contents");
  }
  if (const char* stray = strayField(c, field)) {
    return badRequest("input " + quoteName(in.name) + " of datatype " + std::string(codec::dataTypeName(in.datatype)) +
                      " takes its data in " + field + ", not " + stray);
  }
  switch (in.datatype) {
    case DataType::BOOL: return copyTyped<std::uint8_t>(c.bool_contents(), field, in, count, target);
    case DataType::INT8: return copyTyped<std::int8_t>(c.int_contents(), field, in, count, target);
    case DataType::INT16: return copyTyped<std::int16_t>(c.int_contents(), field, in, count, target);
    case DataType::INT32: return copyTyped<std::int32_t>(c.int_contents(), field, in, count, target);
    case DataType::INT64: return copyTyped<std::int64_t>(c.int64_contents(), field, in, count, target);
    case DataType::UINT8: return copyTyped<std::uint8_t>(c.uint_contents(), field, in, count, target);
    case DataType::UINT16: return copyTyped<std::uint16_t>(c.uint_contents(), field, in, count, target);
    case DataType::UINT32: return copyTyped<std::uint32_t>(c.uint_contents(), field, in, count, target);
    case DataType::UINT64: return copyTyped<std::uint64_t>(c.uint64_contents(), field, in, count, target);
    case DataType::FP32: return copyTyped<float>(c.fp32_contents(), field, in, count, target);
    case DataType::FP64: return copyTyped<double>(c.fp64_contents(), field, in, count, target);
    default: return copyBytesElements(c.bytes_contents(), in, count, target);
  }
}

// One raw blob into the arena: its size checked against the shape (BYTES: its layout).
std::optional<Error> rawInput(const std::string& blob, DecodedInput& in, std::uint64_t count,
                              codec::ArenaTarget& target) {
  if (in.datatype != DataType::BYTES && blob.size() != count * codec::elementSize(in.datatype)) {
    return badRequest("input " + quoteName(in.name) + ": shape " + codec::shapeString(in.shape) + " of " +
                      std::string(codec::dataTypeName(in.datatype)) + " needs " +
                      std::to_string(count * codec::elementSize(in.datatype)) +
                      " bytes but its raw_input_contents has " + std::to_string(blob.size()));
  }
  auto bytes = std::as_bytes(std::span(blob.data(), blob.size()));
  if (in.datatype == DataType::BYTES) {
    if (auto problem = codec::bytesLayoutProblem(bytes, count))
      return badRequest("input " + quoteName(in.name) + ": the raw BYTES data " + *problem);
  }
  auto block = target.allocate(blob.size());
  if (!block) return block.error();
  in.offset = block->offset;
  in.size = blob.size();
  if (!blob.empty()) std::memcpy(block->bytes.data(), blob.data(), blob.size());
  return std::nullopt;
}

// Name, datatype (against the model's declaration), shape and parameters of input `k`.
Expected<DecodedInput> inputHead(const inference::ModelInferRequest::InferInputTensor& t, std::size_t k,
                                 const codec::RequestInfo& info) {
  DecodedInput in;
  if (t.name().empty()) return badRequest("input " + std::to_string(k) + " has no 'name' string");
  in.name = t.name();
  auto declared = codec::declaredInput(info, in.name);
  if (!declared) return declared.error();
  auto type = codec::checkedDatatype(in.name, t.datatype(), *declared, info);
  if (!type) return type.error();
  in.datatype = *type;
  for (auto d : t.shape()) {
    if (d < 0)
      return badRequest("input " + quoteName(in.name) + ": 'shape' must be an array of non-negative integers, got " +
                        std::to_string(d));
    in.shape.push_back(d);
  }
  if (!t.parameters().empty()) {
    in.parametersJson = "{";
    appendParameterMembers(in.parametersJson, t.parameters());
    in.parametersJson += '}';
  }
  return in;
}

std::optional<Error> readOutputs(const inference::ModelInferRequest& req, codec::DecodedRequest& r) {
  std::set<std::string, std::less<>> names;
  for (const auto& o : req.outputs()) {
    if (o.name().empty()) return badRequest("each entry of 'outputs' must be an object with a 'name' string");
    if (!names.insert(o.name()).second)
      return badRequest("output " + quoteName(o.name()) + " is requested more than once");
    codec::RequestedOutput out;
    out.name = o.name();
    if (!o.parameters().empty()) {
      out.parametersJson = "{";
      appendParameterMembers(out.parametersJson, o.parameters());
      out.parametersJson += '}';
    }
    r.outputs.push_back(std::move(out));
  }
  return std::nullopt;
}

}  // namespace

Expected<codec::DecodedRequest> InferRequestSource::decode(const codec::RequestInfo& info,
                                                           codec::ArenaTarget& target) const {
  const auto& req = request_;
  codec::DecodedRequest r;
  r.id = req.id();
  if (r.id.empty()) {
    r.id = codec::newRequestId();
    r.idGenerated = true;
  }
  r.parametersJson = "{";
  r.clientHeadersOverwritten = appendParameterMembers(r.parametersJson, req.parameters(), "headers");
  if (r.parametersJson.size() > 1) r.parametersJson += ',';
  r.parametersJson += "\"headers\":" + codec::headersJson(info.headers) + "}";
  const bool raw = req.raw_input_contents_size() > 0;
  if (raw && req.raw_input_contents_size() != req.inputs_size()) {
    return badRequest("raw_input_contents has " + std::to_string(req.raw_input_contents_size()) +
                      " entries but the request has " + std::to_string(req.inputs_size()) +
                      " inputs (one blob per input, in input order)");
  }
  if (req.inputs_size() == 0) return badRequest("the request has no 'inputs'");
  std::set<std::string, std::less<>> names;
  for (int k = 0; k < req.inputs_size(); ++k) {
    const auto& t = req.inputs(k);
    auto in = inputHead(t, static_cast<std::size_t>(k), info);
    if (!in) return in.error();
    if (!names.insert(in->name).second) return badRequest("input " + quoteName(in->name) + " appears more than once");
    const auto count = codec::elementCount(in->shape);
    if (!count)
      return badRequest("input " + quoteName(in->name) + ": shape " + codec::shapeString(in->shape) + " is too large");
    if (raw && t.has_contents())
      return badRequest("input " + quoteName(in->name) + " has both contents and raw_input_contents");
    r.inputs.push_back(std::move(in.value()));
  }
  if (auto err = readOutputs(req, r)) return *err;
  // Everything that can be checked without the arena is; now the data goes in.
  for (int k = 0; k < req.inputs_size(); ++k) {
    auto& in = r.inputs[static_cast<std::size_t>(k)];
    const std::uint64_t count = *codec::elementCount(in.shape);
    auto err = raw ? rawInput(req.raw_input_contents(k), in, count, target)
                   : typedInput(req.inputs(k).contents(), in, count, target);
    if (err) return *err;
  }
  r.binaryDataOutput = raw;
  return r;
}

namespace {

template <class Src, class Add>
void addEach(std::span<const std::byte> bytes, std::uint64_t count, Add add) {
  for (std::uint64_t k = 0; k < count; ++k) {
    Src v;
    std::memcpy(&v, bytes.data() + k * sizeof(Src), sizeof(Src));
    add(v);
  }
}

template <class T>
void setAll(google::protobuf::RepeatedField<T>* dst, std::span<const std::byte> bytes, std::uint64_t count) {
  dst->Resize(static_cast<int>(count), T{});
  if (count != 0) std::memcpy(dst->mutable_data(), bytes.data(), count * sizeof(T));
}

void typedOutput(const codec::PlannedOutput& o, std::uint64_t count, inference::InferTensorContents& c) {
  const auto b = o.bytes;
  switch (o.type) {
    case DataType::BOOL: addEach<std::uint8_t>(b, count, [&](std::uint8_t v) { c.add_bool_contents(v != 0); }); return;
    case DataType::INT8: addEach<std::int8_t>(b, count, [&](std::int8_t v) { c.add_int_contents(v); }); return;
    case DataType::INT16: addEach<std::int16_t>(b, count, [&](std::int16_t v) { c.add_int_contents(v); }); return;
    case DataType::INT32: setAll(c.mutable_int_contents(), b, count); return;
    case DataType::INT64: setAll(c.mutable_int64_contents(), b, count); return;
    case DataType::UINT8: addEach<std::uint8_t>(b, count, [&](std::uint8_t v) { c.add_uint_contents(v); }); return;
    case DataType::UINT16: addEach<std::uint16_t>(b, count, [&](std::uint16_t v) { c.add_uint_contents(v); }); return;
    case DataType::UINT32: setAll(c.mutable_uint_contents(), b, count); return;
    case DataType::UINT64: setAll(c.mutable_uint64_contents(), b, count); return;
    case DataType::FP32: setAll(c.mutable_fp32_contents(), b, count); return;
    case DataType::FP64: setAll(c.mutable_fp64_contents(), b, count); return;
    case DataType::BYTES:
      transport::walkBytes(b, count, [&](std::uint64_t, std::string_view e) { c.add_bytes_contents(std::string(e)); });
      return;
    default: return;  // FP16/BF16: always raw (encodeInferResponse)
  }
}

}  // namespace

Error responseTooLarge(std::uint64_t bytes, std::uint64_t maxMessageLength) {
  return tooLarge("response of " + std::to_string(bytes) + " bytes exceeds grpc_max_message_length (" +
                  std::to_string(maxMessageLength) + " bytes)");
}

Expected<std::uint64_t> encodeInferResponse(const codec::PlannedResult& result, bool rawOutputs,
                                            std::uint64_t maxMessageLength, inference::ModelInferResponse& out) {
  out.set_model_name(std::string(result.modelName));
  out.set_model_version(std::string(result.modelVersion));
  out.set_id(std::string(result.id));
  if (!setParametersFromJson(*out.mutable_parameters(), result.parametersJson))
    return internalError("the runtime returned response parameters that are not a JSON object");
  bool raw = rawOutputs;
  for (const auto& o : result.outputs) raw = raw || o.type == DataType::FP16 || o.type == DataType::BF16;
  for (const auto& o : result.outputs) {
    auto* t = out.add_outputs();
    t->set_name(std::string(o.name));
    t->set_datatype(std::string(codec::dataTypeName(o.type)));
    for (auto d : o.shape) t->add_shape(d);
    if (!setParametersFromJson(*t->mutable_parameters(), o.parametersJson))
      return internalError("output " + quoteName(o.name) + " parameters are not a JSON object");
    if (raw)
      out.add_raw_output_contents(reinterpret_cast<const char*>(o.bytes.data()), o.bytes.size());
    else
      typedOutput(o, *codec::elementCount(o.shape), *t->mutable_contents());
  }
  const std::uint64_t size = out.ByteSizeLong();
  if (size > maxMessageLength) return responseTooLarge(size, maxMessageLength);
  return size;
}

}  // namespace ringserve::supervisor::grpcfe
