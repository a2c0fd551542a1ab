#include "supervisor/grpc/parameters.hpp"

#include <fmt/format.h>

#include <cmath>

#include "transport/json_text.hpp"

namespace ringserve::supervisor::grpcfe {

namespace {

void appendValue(std::string& out, const inference::InferParameter& p) {
  using P = inference::InferParameter;
  switch (p.parameter_choice_case()) {
    case P::kBoolParam: out += p.bool_param() ? "true" : "false"; return;
    case P::kInt64Param: out += std::to_string(p.int64_param()); return;
    case P::kUint64Param: out += std::to_string(p.uint64_param()); return;
    case P::kDoubleParam:
      // JSON has no NaN or infinity: null, as the REST encoder prints them.
      out += std::isfinite(p.double_param()) ? fmt::format("{}", p.double_param()) : "null";
      return;
    case P::kStringParam: transport::appendJsonStringRepaired(out, p.string_param()); return;
    case P::PARAMETER_CHOICE_NOT_SET: out += "null"; return;
  }
  out += "null";
}

void setParameter(ParameterMap& out, std::string_view key, simdjson::dom::element v) {
  auto& p = out[std::string(key)];
  switch (v.type()) {
    case simdjson::dom::element_type::STRING: p.set_string_param(std::string(v.get_string().value())); break;
    case simdjson::dom::element_type::BOOL: p.set_bool_param(v.get_bool().value()); break;
    case simdjson::dom::element_type::INT64: p.set_int64_param(v.get_int64().value()); break;
    case simdjson::dom::element_type::UINT64: p.set_uint64_param(v.get_uint64().value()); break;
    case simdjson::dom::element_type::DOUBLE: p.set_double_param(v.get_double().value()); break;
    default: p.set_string_param(simdjson::minify(v)); break;
  }
}

}  // namespace

bool appendParameterMembers(std::string& out, const ParameterMap& params, std::string_view skip) {
  bool skipped = false;
  for (const auto& [key, value] : params) {
    if (!skip.empty() && key == skip) {
      skipped = true;
      continue;
    }
    if (!out.empty() && out.back() != '{') out += ',';
    transport::appendJsonStringRepaired(out, key);
    out += ':';
    appendValue(out, value);
  }
  return skipped;
}

void setParameters(ParameterMap& out, simdjson::dom::element obj) {
  simdjson::dom::object o;
  if (obj.get_object().get(o) != simdjson::SUCCESS) return;
  for (auto field : o) setParameter(out, field.key, field.value);
}

bool setParametersFromJson(ParameterMap& out, std::string_view json) {
  if (json.empty()) return true;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS || !doc.is_object()) return false;
  setParameters(out, doc);
  return true;
}

}  // namespace ringserve::supervisor::grpcfe
