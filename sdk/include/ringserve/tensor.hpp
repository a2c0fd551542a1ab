#pragma once
// Tensors as a runtime sees them.
//
// TensorView: one input, a read-only view straight onto the shared-memory request arena (no copy).
// Valid only during the predict call that received it. Typed access checks the datatype and
// throws BadInput naming the tensor, the expected and the received datatype.
//
// NDArray<T>: an owning row-major array, what the simplified interface decodes into and encodes
// from when a runtime returns a numeric tensor.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringserve/datatype.hpp"
#include "ringserve/errors.hpp"
#include "ringserve/parameters.hpp"

namespace ringserve {

using Shape = std::vector<std::int64_t>;

// Product of the dimensions; throws BadInput for a negative dimension or an overflow.
std::uint64_t elementCount(std::span<const std::int64_t> shape);
// "[2, 3]"
std::string shapeToString(std::span<const std::int64_t> shape);

// The elements of a BYTES tensor (u32 LE length + bytes each), as views on the arena.
// Throws BadInput when a length runs past the tensor.
std::vector<std::string_view> splitBytesElements(std::span<const std::byte> data, std::string_view tensorName);

template <TensorElement T>
struct NDArrayView {
  std::span<const std::int64_t> shape;
  std::span<const T> data;
};

template <TensorElement T>
struct NDArray {
  Shape shape;
  std::vector<T> data;
};

class TensorView {
 public:
  TensorView(std::string_view name, DataType datatype, std::span<const std::int64_t> shape,
             std::span<const std::byte> data, std::string_view parametersJson)
      : name_(name), datatype_(datatype), shape_(shape), data_(data), parameters_(parametersJson) {}

  std::string_view name() const { return name_; }
  DataType datatype() const { return datatype_; }
  std::span<const std::int64_t> shape() const { return shape_; }
  std::uint64_t elementCount() const { return ringserve::elementCount(shape_); }
  // Raw bytes in the arena.
  std::span<const std::byte> bytes() const { return data_; }
  const Parameters& parameters() const { return parameters_; }

  // Zero-copy typed view. Throws BadInput if the datatype is not T's; throws std::logic_error if
  // the data is not aligned for T (the server aligns tensors; use values<T>() to copy if unsure).
  template <TensorElement T>
  std::span<const T> as() const {
    requireType(dataTypeOf<T>);
    if (reinterpret_cast<std::uintptr_t>(data_.data()) % alignof(T) != 0) misaligned(alignof(T));
    return {reinterpret_cast<const T*>(data_.data()), data_.size() / sizeof(T)};
  }
  template <TensorElement T>
  NDArrayView<T> array() const {
    return {shape_, as<T>()};
  }
  // A copy of the elements (any alignment).
  template <TensorElement T>
  std::vector<T> values() const;
  // BYTES elements as views on the arena.
  std::vector<std::string_view> elements() const;

  // Throws BadInput: "Input 'x' has datatype FP64, expected FP32." style.
  void requireType(DataType expected) const;

 private:
  [[noreturn]] void misaligned(std::size_t alignment) const;

  std::string_view name_;
  DataType datatype_;
  std::span<const std::int64_t> shape_;
  std::span<const std::byte> data_;
  Parameters parameters_;
};

template <TensorElement T>
std::vector<T> TensorView::values() const {
  requireType(dataTypeOf<T>);
  std::vector<T> out(data_.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), data_.data(), out.size() * sizeof(T));
  return out;
}

}  // namespace ringserve
