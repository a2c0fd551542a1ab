#pragma once
// InferenceResponse: what predict() returns. Get one from request.response(); every output is
// allocated directly in the shared-memory response arena and the span handed back is exactly the
// output's size (elements x element size), so nothing is copied after predict returns and a write
// past the span is a write past the allocation (the worker also checks a guard word after each
// output and fails the request if it was overwritten).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringserve/abi.h"
#include "ringserve/datatype.hpp"
#include "ringserve/parameters.hpp"
#include "ringserve/tensor.hpp"

namespace ringserve {

class InferenceResponse {
 public:
  InferenceResponse(const ringserve_host* host, ringserve_call* call) : host_(host), call_(call) {}
  InferenceResponse(InferenceResponse&&) noexcept = default;
  InferenceResponse& operator=(InferenceResponse&&) noexcept = default;
  InferenceResponse(const InferenceResponse&) = delete;
  InferenceResponse& operator=(const InferenceResponse&) = delete;

  // An output of `shape` in shared memory, to be filled by the runtime. `contentType` goes into
  // the output's parameters.content_type when non-empty.
  template <TensorElement T>
  std::span<T> allocate(std::string_view name, const Shape& shape, std::string_view contentType = {}) {
    auto raw = allocateRaw(name, dataTypeOf<T>, shape, elementCount(shape) * sizeof(T), outputParameters(contentType));
    return {reinterpret_cast<T*>(raw.data()), raw.size() / sizeof(T)};
  }
  // Allocates and copies `values` in; throws std::length_error naming the output when the count
  // does not match the shape.
  template <TensorElement T>
  void add(std::string_view name, const Shape& shape, std::span<const T> values, std::string_view contentType = {}) {
    checkCount(name, shape, values.size());
    auto out = allocate<T>(name, shape, contentType);
    if (!values.empty()) std::memcpy(out.data(), values.data(), values.size_bytes());
  }
  // A BYTES output: each element is written as u32 LE length + bytes. Throws std::length_error
  // when the count does not match the shape.
  void addBytes(std::string_view name, const Shape& shape, std::span<const std::string_view> elements,
                std::string_view contentType = {});
  void addBytes(std::string_view name, const Shape& shape, const std::vector<std::string>& elements,
                std::string_view contentType = {});
  // The general form: `bytes` must equal elements x element size for fixed-size datatypes.
  std::span<std::byte> allocateRaw(std::string_view name, DataType datatype, const Shape& shape, std::uint64_t bytes,
                                   std::string_view parametersJson = {});

  // Response `parameters`; headers set here become HTTP response headers.
  ParametersBuilder& parameters() { return parameters_; }
  void setHeader(std::string_view name, std::string_view value) { parameters_.setHeader(name, value); }

  // Called by the SDK after predict returns: hands the parameters to the host.
  void finish();

 private:
  static std::string outputParameters(std::string_view contentType);
  static void checkCount(std::string_view name, const Shape& shape, std::size_t count);

  const ringserve_host* host_;
  ringserve_call* call_;
  ParametersBuilder parameters_;
};

}  // namespace ringserve
