#include "transport/datatype.hpp"

#include <array>
#include <string>

namespace ringserve::transport {
namespace {

struct TypeInfo {
  DataType type;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<TypeInfo, 14> kTypes{{
    {DataType::BOOL, "BOOL", 1},     {DataType::UINT8, "UINT8", 1},   {DataType::UINT16, "UINT16", 2},
    {DataType::UINT32, "UINT32", 4}, {DataType::UINT64, "UINT64", 8}, {DataType::INT8, "INT8", 1},
    {DataType::INT16, "INT16", 2},   {DataType::INT32, "INT32", 4},   {DataType::INT64, "INT64", 8},
    {DataType::FP16, "FP16", 2},     {DataType::BF16, "BF16", 2},     {DataType::FP32, "FP32", 4},
    {DataType::FP64, "FP64", 8},     {DataType::BYTES, "BYTES", 0},
}};

const TypeInfo* info(DataType t) {
  const auto i = static_cast<std::size_t>(t);
  return i < kTypes.size() ? &kTypes[i] : nullptr;
}

}  // namespace

std::optional<DataType> parseDataType(std::string_view name) {
  for (const auto& t : kTypes) {
    if (t.name == name) return t.type;
  }
  return std::nullopt;
}

std::string_view dataTypeName(DataType type) {
  const auto* t = info(type);
  return t != nullptr ? t->name : std::string_view("UNKNOWN");
}

std::size_t elementSize(DataType type) {
  const auto* t = info(type);
  return t != nullptr ? t->size : 0;
}

std::optional<std::uint64_t> elementCount(std::span<const std::int64_t> shape) {
  constexpr std::uint64_t kLimit = std::uint64_t{1} << 60;  // * 8 bytes stays below 2^64
  std::uint64_t n = 1;
  for (auto d : shape) {
    if (d < 0) return std::nullopt;
    const auto u = static_cast<std::uint64_t>(d);
    if (u != 0 && n > kLimit / u) return std::nullopt;
    n *= u;
  }
  return n;
}

std::string shapeString(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t k = 0; k < shape.size(); ++k) {
    if (k) s += ',';
    s += std::to_string(shape[k]);
  }
  s += ']';
  return s;
}

}  // namespace ringserve::transport
