#pragma once
// FP16 / BF16 bit patterns <-> float/double, round-to-nearest-even (the codec and the clients).
#include <bit>
#include <cstdint>

namespace ringserve::transport {

// Rounds `d` to a binary float with `E` exponent bits and `M` mantissa bits (IEEE layout, at most
// 16 bits), round-to-nearest-even; overflow gives infinity, NaN stays NaN.
template <int E, int M>
constexpr std::uint16_t narrowFloat(double d) {
  constexpr int bias = (1 << (E - 1)) - 1;
  constexpr std::uint64_t maxExp = (1u << E) - 1;
  constexpr std::uint16_t inf = static_cast<std::uint16_t>(maxExp << M);
  const auto b = std::bit_cast<std::uint64_t>(d);
  const auto sign = static_cast<std::uint16_t>((b >> 63) << (E + M));
  const int exp = static_cast<int>((b >> 52) & 0x7FF);
  const std::uint64_t mant = b & ((std::uint64_t{1} << 52) - 1);
  if (exp == 0x7FF) return static_cast<std::uint16_t>(sign | inf | (mant != 0 ? (1u << (M - 1)) : 0u));
  if (exp == 0) return sign;  // double subnormals are far below any 16-bit float's range
  const int e = exp - 1023 + bias;
  if (e >= static_cast<int>(maxExp)) return static_cast<std::uint16_t>(sign | inf);
  std::uint64_t m = mant;
  int shift = 52 - M;
  std::uint64_t r = 0;
  if (e >= 1) {
    r = static_cast<std::uint64_t>(e) << M;
  } else {
    m |= std::uint64_t{1} << 52;
    shift += 1 - e;
    if (shift >= 64) return sign;
  }
  r += m >> shift;
  const std::uint64_t rem = m & ((std::uint64_t{1} << shift) - 1);
  const std::uint64_t half = std::uint64_t{1} << (shift - 1);
  if (rem > half || (rem == half && (r & 1) != 0)) ++r;  // a carry moves into the exponent: correct
  if (r >= (maxExp << M)) return static_cast<std::uint16_t>(sign | inf);
  return static_cast<std::uint16_t>(sign | r);
}

constexpr std::uint16_t doubleToHalf(double d) { return narrowFloat<5, 10>(d); }
constexpr std::uint16_t doubleToBfloat16(double d) { return narrowFloat<8, 7>(d); }

constexpr float halfToFloat(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1F;
  std::uint32_t mant = h & 0x3FF;
  if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));
  if (exp != 0) return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
  if (mant == 0) return std::bit_cast<float>(sign);
  // subnormal half: normalise
  int e = -1;
  do {
    ++e;
    mant <<= 1;
  } while ((mant & 0x400) == 0);
  return std::bit_cast<float>(sign | (static_cast<std::uint32_t>(112 - e) << 23) | ((mant & 0x3FF) << 13));
}

constexpr float bfloat16ToFloat(std::uint16_t h) { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }

}  // namespace ringserve::transport
