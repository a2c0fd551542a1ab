#include "ringserve/request.hpp"

#include "ringserve/response.hpp"
#include "ringserve/settings.hpp"

namespace ringserve {

namespace {
std::string_view view(const ringserve_string& s) { return s.size == 0 ? std::string_view() : std::string_view(s.data, s.size); }
}  // namespace

InferenceRequest::InferenceRequest(const ringserve_request& raw, const ringserve_host* host, ringserve_call* call,
                                   const ModelSettings* settings)
    : id_(view(raw.id)), parameters_(view(raw.parameters_json)), host_(host), call_(call), settings_(settings) {
  inputs_.reserve(raw.input_count);
  for (std::uint32_t i = 0; i < raw.input_count; ++i) {
    const ringserve_tensor& t = raw.inputs[i];
    if (!isValidDataType(t.datatype))
      throw BadInput("input '" + std::string(view(t.name)) + "' has unknown datatype " + std::to_string(t.datatype));
    inputs_.emplace_back(view(t.name), static_cast<DataType>(t.datatype),
                         std::span<const std::int64_t>(t.shape, t.rank),
                         std::span<const std::byte>(static_cast<const std::byte*>(t.data), t.size),
                         view(t.parameters_json));
  }
  requested_.reserve(raw.requested_output_count);
  for (std::uint32_t i = 0; i < raw.requested_output_count; ++i)
    requested_.push_back({view(raw.requested_outputs[i].name), Parameters(view(raw.requested_outputs[i].parameters_json))});
}

const TensorView* InferenceRequest::findInput(std::string_view name) const {
  for (const auto& in : inputs_)
    if (in.name() == name) return &in;
  return nullptr;
}

const TensorView& InferenceRequest::input(std::string_view name) const {
  if (const TensorView* in = findInput(name)) return *in;
  std::string available;
  for (std::size_t i = 0; i < inputs_.size(); ++i) {
    if (i) available += ", ";
    available += "'" + std::string(inputs_[i].name()) + "'";
  }
  throw BadInput("Input '" + std::string(name) + "' was not found. Available inputs are " + available + ".");
}

bool InferenceRequest::outputRequested(std::string_view name) const {
  if (requested_.empty()) return true;
  for (const auto& r : requested_)
    if (r.name == name) return true;
  return false;
}

std::string InferenceRequest::contentTypeOf(const TensorView& input) const {
  if (auto ct = input.parameters().contentType(); ct && !ct->empty()) return *ct;
  if (settings_ != nullptr)
    if (const TensorMetadata* m = settings_->input(input.name()); m != nullptr) return m->contentType;
  return {};
}

std::string InferenceRequest::requestContentType() const {
  if (auto ct = parameters_.contentType(); ct && !ct->empty()) return *ct;
  return settings_ != nullptr ? settings_->contentType : std::string();
}

InferenceResponse InferenceRequest::response() const { return InferenceResponse(host_, call_); }

}  // namespace ringserve
