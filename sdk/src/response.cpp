#include "ringserve/response.hpp"

#include <cstring>
#include <stdexcept>

#include "ringserve/errors.hpp"

namespace ringserve {

namespace {
ringserve_string str(std::string_view s) { return {s.data(), s.size()}; }
}  // namespace

std::span<std::byte> InferenceResponse::allocateRaw(std::string_view name, DataType datatype, const Shape& shape,
                                                    std::uint64_t bytes, std::string_view parametersJson) {
  ringserve_output_spec spec{};
  spec.name = str(name);
  spec.datatype = static_cast<std::uint32_t>(datatype);
  spec.rank = static_cast<std::uint32_t>(shape.size());
  spec.shape = shape.data();
  spec.size = bytes;
  spec.parameters_json = str(parametersJson);
  void* data = nullptr;
  const std::int32_t rc = host_->allocate_output(call_, &spec, &data);
  if (rc != RINGSERVE_OK)
    throw HostError(rc, "allocating output '" + std::string(name) + "' of " + std::to_string(bytes) + " bytes failed");
  return {static_cast<std::byte*>(data), static_cast<std::size_t>(bytes)};
}

void InferenceResponse::addBytes(std::string_view name, const Shape& shape, std::span<const std::string_view> elements,
                                 std::string_view contentType) {
  checkCount(name, shape, elements.size());
  std::uint64_t total = 0;
  for (const auto e : elements) {
    if (e.size() > 0xffffffffu)
      throw std::length_error("output '" + std::string(name) + "' has an element over 4 GiB");
    total += 4 + e.size();
  }
  auto out = allocateRaw(name, DataType::BYTES, shape, total, outputParameters(contentType));
  std::byte* p = out.data();
  for (const auto e : elements) {
    const auto len = static_cast<std::uint32_t>(e.size());
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>((len >> (8 * i)) & 0xffu);
    if (len) std::memcpy(p + 4, e.data(), len);
    p += 4 + len;
  }
}

void InferenceResponse::addBytes(std::string_view name, const Shape& shape, const std::vector<std::string>& elements,
                                 std::string_view contentType) {
  std::vector<std::string_view> views(elements.begin(), elements.end());
  addBytes(name, shape, std::span<const std::string_view>(views), contentType);
}

std::string InferenceResponse::outputParameters(std::string_view contentType) {
  if (contentType.empty()) return {};
  return "{\"content_type\":" + jsonQuote(contentType) + "}";
}

void InferenceResponse::checkCount(std::string_view name, const Shape& shape, std::size_t count) {
  const std::uint64_t expected = elementCount(shape);
  if (expected != count)
    throw std::length_error("output '" + std::string(name) + "' has shape " + shapeToString(shape) + " (" +
                            std::to_string(expected) + " elements) but " + std::to_string(count) +
                            " elements were given");
}

void InferenceResponse::finish() {
  if (parameters_.empty()) return;
  const std::string json = parameters_.toJson();
  host_->set_response_parameters(call_, str(json));
}

}  // namespace ringserve
