#include "clients/loadgen/grpc_codec.hpp"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cstring>
#include <map>

#include "clients/loadgen/binary_codec.hpp"
#include "clients/loadgen/error.hpp"
#include "clients/loadgen/v2_json.hpp"

namespace ringserve::loadgen {
namespace {

namespace dom = simdjson::dom;
using Params = google::protobuf::Map<std::string, inference::InferParameter>;

// A minified JSON object ("" = none) into an InferParameter map.
void toParams(std::string_view json, Params& out, std::string_view where) {
  if (json.empty()) return;
  dom::parser parser;
  const simdjson::padded_string padded(json);
  dom::object obj;
  if (parser.parse(padded).get(obj) != simdjson::SUCCESS) throw LoadgenError(std::string(where) + ": bad parameters");
  for (auto [key, value] : obj) {
    inference::InferParameter p;
    switch (value.type()) {
      case dom::element_type::BOOL: p.set_bool_param(bool(value)); break;
      case dom::element_type::INT64: p.set_int64_param(std::int64_t(value)); break;
      case dom::element_type::UINT64: p.set_uint64_param(std::uint64_t(value)); break;
      case dom::element_type::DOUBLE: p.set_double_param(double(value)); break;
      case dom::element_type::STRING: p.set_string_param(std::string(std::string_view(value))); break;
      default:
        throw LoadgenError(std::string(where) + ": parameter '" + std::string(key) +
                           "' is not a bool, number or string (gRPC parameters are scalars)");
    }
    out[std::string(key)] = std::move(p);
  }
}

// An InferParameter map as a minified JSON object with sorted keys ("" when empty).
std::string paramsJson(const Params& params) {
  if (params.empty()) return {};
  std::map<std::string, const inference::InferParameter*> sorted;
  for (const auto& [k, v] : params) sorted.emplace(k, &v);
  std::string out = "{";
  for (const auto& [k, p] : sorted) {
    if (out.size() > 1) out += ',';
    appendJsonString(out, k);
    out += ':';
    char buf[64];
    switch (p->parameter_choice_case()) {
      case inference::InferParameter::kBoolParam: out += p->bool_param() ? "true" : "false"; break;
      case inference::InferParameter::kInt64Param: out += std::to_string(p->int64_param()); break;
      case inference::InferParameter::kUint64Param: out += std::to_string(p->uint64_param()); break;
      case inference::InferParameter::kDoubleParam: {
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, p->double_param());
        out.append(buf, ec == std::errc() ? end : buf);
        break;
      }
      case inference::InferParameter::kStringParam: appendJsonString(out, p->string_param()); break;
      default: out += "null";
    }
  }
  return out + "}";
}

template <class T>
T le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;  // little-endian hosts only, as binary_codec.cpp
}

template <class T>
void putLe(std::string& out, T v) {
  char b[sizeof v];
  std::memcpy(b, &v, sizeof v);
  out.append(b, sizeof v);
}

// Typed contents from the tensor's elements: encoded as the binary extension first (which checks
// every element against the datatype), then widened into the protobuf's field.
void fillContents(const Tensor& t, inference::InferTensorContents& c) {
  const std::string_view d = t.datatype;
  if (d == "BYTES") {
    for (const std::string& e : t.elements) c.add_bytes_contents(e);
    return;
  }
  if (d == "FP16" || d == "BF16")
    throw LoadgenError("input '" + t.name + "' (" + t.datatype +
                       "): gRPC has no typed contents for this datatype; send raw_input_contents (the default)");
  std::string raw;
  appendBinary(t, raw);
  const std::size_t size = datatypeSize(d);
  for (std::size_t off = 0; off + size <= raw.size(); off += size) {
    const char* p = raw.data() + off;
    if (d == "BOOL")
      c.add_bool_contents(*p != 0);
    else if (d == "INT8")
      c.add_int_contents(le<std::int8_t>(p));
    else if (d == "INT16")
      c.add_int_contents(le<std::int16_t>(p));
    else if (d == "INT32")
      c.add_int_contents(le<std::int32_t>(p));
    else if (d == "INT64")
      c.add_int64_contents(le<std::int64_t>(p));
    else if (d == "UINT8")
      c.add_uint_contents(le<std::uint8_t>(p));
    else if (d == "UINT16")
      c.add_uint_contents(le<std::uint16_t>(p));
    else if (d == "UINT32")
      c.add_uint_contents(le<std::uint32_t>(p));
    else if (d == "UINT64")
      c.add_uint64_contents(le<std::uint64_t>(p));
    else if (d == "FP32")
      c.add_fp32_contents(le<float>(p));
    else
      c.add_fp64_contents(le<double>(p));
  }
}

// Typed contents back into the binary extension's bytes, so decodeBinary words the elements as
// it does for REST's binary outputs.
std::string contentsAsRaw(std::string_view d, const inference::InferTensorContents& c) {
  std::string raw;
  if (d == "BYTES") {
    for (const std::string& e : c.bytes_contents()) {
      putLe(raw, std::uint32_t(e.size()));
      raw += e;
    }
  } else if (d == "BOOL") {
    for (bool b : c.bool_contents()) raw.push_back(b ? '\1' : '\0');
  } else if (d == "INT8") {
    for (auto v : c.int_contents()) putLe(raw, std::int8_t(v));
  } else if (d == "INT16") {
    for (auto v : c.int_contents()) putLe(raw, std::int16_t(v));
  } else if (d == "INT32") {
    for (auto v : c.int_contents()) putLe(raw, std::int32_t(v));
  } else if (d == "INT64") {
    for (auto v : c.int64_contents()) putLe(raw, std::int64_t(v));
  } else if (d == "UINT8") {
    for (auto v : c.uint_contents()) putLe(raw, std::uint8_t(v));
  } else if (d == "UINT16") {
    for (auto v : c.uint_contents()) putLe(raw, std::uint16_t(v));
  } else if (d == "UINT32") {
    for (auto v : c.uint_contents()) putLe(raw, std::uint32_t(v));
  } else if (d == "UINT64") {
    for (auto v : c.uint64_contents()) putLe(raw, std::uint64_t(v));
  } else if (d == "FP32") {
    for (auto v : c.fp32_contents()) putLe(raw, float(v));
  } else if (d == "FP64") {
    for (auto v : c.fp64_contents()) putLe(raw, double(v));
  }
  return raw;
}

// The `outputs` array of a V2 request ([{"name", "parameters"}]) as requested outputs.
void toRequestedOutputs(std::string_view json, inference::ModelInferRequest& req) {
  if (json.empty()) return;
  dom::parser parser;
  const simdjson::padded_string padded(json);
  dom::array outputs;
  if (parser.parse(padded).get(outputs) != simdjson::SUCCESS) throw LoadgenError("bad 'outputs' array");
  for (dom::element o : outputs) {
    std::string_view name;
    if (o["name"].get(name) != simdjson::SUCCESS) throw LoadgenError("a requested output has no name");
    auto* out = req.add_outputs();
    out->set_name(std::string(name));
    dom::object params;
    if (o["parameters"].get(params) == simdjson::SUCCESS)
      toParams(simdjson::minify(params), *out->mutable_parameters(), "output '" + std::string(name) + "'");
  }
}

}  // namespace

inference::ModelInferRequest toGrpcRequest(const V2Request& r, std::string_view model, std::string_view version,
                                           bool raw) {
  inference::ModelInferRequest req;
  req.set_model_name(std::string(model));
  req.set_model_version(std::string(version));
  req.set_id(r.id);
  toParams(r.parametersJson, *req.mutable_parameters(), "request");
  for (const Tensor& t : r.inputs) {
    auto* in = req.add_inputs();
    in->set_name(t.name);
    in->set_datatype(t.datatype);
    for (std::int64_t d : t.shape) in->add_shape(d);
    toParams(t.parametersJson, *in->mutable_parameters(), "input '" + t.name + "'");
    if (raw)
      appendBinary(t, *req.add_raw_input_contents());
    else
      fillContents(t, *in->mutable_contents());
  }
  toRequestedOutputs(r.outputsJson, req);
  return req;
}

V2Response fromGrpcResponse(const inference::ModelInferResponse& r) {
  V2Response out;
  out.modelName = r.model_name();
  out.modelVersion = r.model_version();
  out.id = r.id();
  out.parametersJson = paramsJson(r.parameters());
  const bool raw = r.raw_output_contents_size() > 0;
  if (raw && r.raw_output_contents_size() != r.outputs_size())
    throw LoadgenError(std::to_string(r.raw_output_contents_size()) + " raw_output_contents for " +
                       std::to_string(r.outputs_size()) + " outputs");
  for (int i = 0; i < r.outputs_size(); ++i) {
    const auto& o = r.outputs(i);
    Tensor t;
    t.name = o.name();
    t.datatype = o.datatype();
    t.shape.assign(o.shape().begin(), o.shape().end());
    t.parametersJson = paramsJson(o.parameters());
    const std::string bytes = raw ? r.raw_output_contents(i) : contentsAsRaw(t.datatype, o.contents());
    t.elements = decodeBinary(t.datatype, bytes, elementCount(t.shape), t.name);
    out.outputs.push_back(std::move(t));
  }
  return out;
}

std::string grpcTarget(std::string_view url) {
  for (std::string_view scheme : {"http://", "grpc://"})
    if (url.starts_with(scheme)) url.remove_prefix(scheme.size());
  if (url.starts_with("https://")) throw LoadgenError("TLS is not supported; use host:port");
  url = url.substr(0, url.find('/'));
  if (url.empty() || url.find(':') == std::string_view::npos)
    throw LoadgenError("bad gRPC address '" + std::string(url) + "' (expected host:port)");
  return std::string(url);
}

std::shared_ptr<grpc::Channel> grpcChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

GrpcOutcome outcomeOf(const grpc::Status& s, grpc::Channel& channel) {
  GrpcOutcome o;
  o.message = s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::OK: o.status = 200; break;
    case grpc::StatusCode::INVALID_ARGUMENT: o.status = 400; break;
    case grpc::StatusCode::NOT_FOUND: o.status = 404; break;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: o.status = 413; break;
    case grpc::StatusCode::UNIMPLEMENTED: o.status = 501; break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      o.status = 0;
      o.error = "timeout";
      break;
    case grpc::StatusCode::UNAVAILABLE:
      // The server's own 503 (a model restarting), or no server at all: the channel says which.
      if (channel.GetState(false) == GRPC_CHANNEL_TRANSIENT_FAILURE) {
        o.status = 0;
        o.error = "connection error";
      } else {
        o.status = 503;
      }
      break;
    default: o.status = 500;
  }
  return o;
}

void addMetadata(grpc::ClientContext& ctx, const HeaderList& headers) {
  for (const auto& [name, value] : headers) {
    std::string key = name;
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    ctx.AddMetadata(key, value);
  }
}

}  // namespace ringserve::loadgen
