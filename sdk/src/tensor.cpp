#include "ringserve/tensor.hpp"

#include <cstring>
#include <limits>
#include <stdexcept>

namespace ringserve {

std::uint64_t elementCount(std::span<const std::int64_t> shape) {
  std::uint64_t n = 1;
  for (const std::int64_t d : shape) {
    if (d < 0) throw BadInput("shape " + shapeToString(shape) + " has a negative dimension");
    if (d != 0 && n > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(d))
      throw BadInput("shape " + shapeToString(shape) + " has too many elements");
    n *= static_cast<std::uint64_t>(d);
  }
  return n;
}

std::string shapeToString(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::vector<std::string_view> splitBytesElements(std::span<const std::byte> data, std::string_view tensorName) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < 4)
      throw BadInput("BYTES tensor '" + std::string(tensorName) + "' ends inside an element's length prefix");
    std::uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= std::to_integer<std::uint32_t>(data[pos + i]) << (8 * i);
    pos += 4;
    if (len > data.size() - pos)
      throw BadInput("BYTES tensor '" + std::string(tensorName) + "' has an element of " + std::to_string(len) +
                     " bytes running past its end");
    out.emplace_back(reinterpret_cast<const char*>(data.data() + pos), len);
    pos += len;
  }
  return out;
}

std::vector<std::string_view> TensorView::elements() const {
  requireType(DataType::BYTES);
  return splitBytesElements(data_, name_);
}

void TensorView::requireType(DataType expected) const {
  if (datatype_ != expected)
    throw BadInput("Input '" + std::string(name_) + "' has datatype " + std::string(toString(datatype_)) +
                   ", expected " + std::string(toString(expected)) + ".");
}

void TensorView::misaligned(std::size_t alignment) const {
  throw std::logic_error("input '" + std::string(name_) + "' is not " + std::to_string(alignment) +
                         "-byte aligned in shared memory; read it with values<T>()");
}

}  // namespace ringserve
