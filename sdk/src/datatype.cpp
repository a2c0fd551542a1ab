#include "ringserve/datatype.hpp"

#include <array>
#include <bit>
#include <cstring>

namespace ringserve {

namespace {
constexpr std::array<std::string_view, kDataTypeCount> kNames = {
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
    "INT32", "INT64", "FP16", "BF16", "FP32", "FP64", "BYTES"};
constexpr std::array<std::size_t, kDataTypeCount> kSizes = {1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 2, 4, 8, 0};
}  // namespace

std::string_view toString(DataType t) {
  const auto i = static_cast<std::uint32_t>(t);
  return i < kDataTypeCount ? kNames[i] : std::string_view("INVALID");
}

std::optional<DataType> parseDataType(std::string_view name) {
  for (std::uint32_t i = 0; i < kDataTypeCount; ++i)
    if (kNames[i] == name) return static_cast<DataType>(i);
  return std::nullopt;
}

bool isValidDataType(std::uint32_t raw) { return raw < kDataTypeCount; }

std::size_t elementSize(DataType t) {
  const auto i = static_cast<std::uint32_t>(t);
  return i < kDataTypeCount ? kSizes[i] : 0;
}

Float16 Float16::fromFloat(float f) {
  const auto x = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) {  // inf or NaN
    return {static_cast<std::uint16_t>(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u))};
  }
  if (absx >= 0x477ff000u) return {static_cast<std::uint16_t>(sign | 0x7c00u)};  // overflow -> inf
  if (absx < 0x38800000u) {  // subnormal or zero in half precision
    if (absx < 0x33000000u) return {static_cast<std::uint16_t>(sign)};
    const std::uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(absx >> 23);  // 14..24
    std::uint32_t h = mant >> shift;
    const std::uint32_t rem = mant & ((1u << shift) - 1);
    const std::uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return {static_cast<std::uint16_t>(sign | h)};
  }
  std::uint32_t h = ((absx - 0x38000000u) >> 13);
  const std::uint32_t rem = absx & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return {static_cast<std::uint16_t>(sign | h)};
}

float Float16::toFloat() const {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exp = (bits >> 10) & 0x1fu;
  std::uint32_t mant = bits & 0x3ffu;
  std::uint32_t out;
  if (exp == 0) {
    if (mant == 0) {
      out = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      out = sign | static_cast<std::uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
    }
  } else if (exp == 0x1f) {
    out = sign | 0x7f800000u | mant << 13;
  } else {
    out = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  return std::bit_cast<float>(out);
}

BFloat16 BFloat16::fromFloat(float f) {
  const auto x = std::bit_cast<std::uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return {static_cast<std::uint16_t>((x >> 16) | 0x40u)};  // quiet NaN
  const std::uint32_t rounded = x + 0x7fffu + ((x >> 16) & 1u);
  return {static_cast<std::uint16_t>(rounded >> 16)};
}

float BFloat16::toFloat() const { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }

}  // namespace ringserve
