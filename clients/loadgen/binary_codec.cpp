#include "clients/loadgen/binary_codec.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "clients/loadgen/error.hpp"
#include "transport/bytes_elements.hpp"
#include "transport/datatype.hpp"
#include "transport/half.hpp"

namespace ringserve::loadgen {
namespace {

template <class T>
void putLe(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  if constexpr (std::endian::native == std::endian::big) std::reverse(b, b + sizeof(T));
  out.append(b, sizeof(T));
}

template <class T>
T getLe(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;  // little-endian hosts only (x86-64, aarch64); the server side assumes the same
}

[[noreturn]] void badElement(const Tensor& t, std::string_view element, std::string_view why) {
  throw LoadgenError("input '" + t.name + "' (" + t.datatype + "): element '" + std::string(element.substr(0, 40)) +
                     "' " + std::string(why));
}

double toDouble(const Tensor& t, std::string_view e) {
  if (e == "true") return 1;
  if (e == "false") return 0;
  double d = 0;
  auto [p, ec] = std::from_chars(e.data(), e.data() + e.size(), d);
  if (ec != std::errc() || p != e.data() + e.size()) {
    if (e == "null") return std::numeric_limits<double>::quiet_NaN();
    badElement(t, e, "is not a number");
  }
  return d;
}

template <class I>
I toInt(const Tensor& t, std::string_view e) {
  if constexpr (std::is_signed_v<I>) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(e.data(), e.data() + e.size(), v);
    if (ec == std::errc() && p == e.data() + e.size()) {
      if (v < std::int64_t(std::numeric_limits<I>::min()) || v > std::int64_t(std::numeric_limits<I>::max()))
        badElement(t, e, "is out of range");
      return I(v);
    }
  } else {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(e.data(), e.data() + e.size(), v);
    if (ec == std::errc() && p == e.data() + e.size()) {
      if (v > std::uint64_t(std::numeric_limits<I>::max())) badElement(t, e, "is out of range");
      return I(v);
    }
  }
  const double d = toDouble(t, e);  // 1.0, 1e3, true
  if (std::trunc(d) != d || d < double(std::numeric_limits<I>::min()) || d > double(std::numeric_limits<I>::max()))
    badElement(t, e, "is not an integer in range");
  return I(d);
}

template <class T>
std::string fmt(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(v)) return "null";  // JSON has no NaN/Infinity; orjson writes null too
  }
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, p);
}

}  // namespace

std::size_t datatypeSize(std::string_view d) {
  if (const auto t = transport::parseDataType(d)) return transport::elementSize(*t);
  throw LoadgenError("unknown datatype '" + std::string(d) +
                     "' (expected BOOL, UINT8..UINT64, INT8..INT64, FP16, BF16, FP32, FP64 or BYTES)");
}

void appendBinary(const Tensor& t, std::string& out) {
  const std::string_view d = t.datatype;
  const std::size_t size = datatypeSize(d);
  out.reserve(out.size() + (size ? size * t.elements.size() : 0));
  for (const std::string& e : t.elements) {
    if (d == "BOOL") {
      const double v = toDouble(t, e);
      if (v != 0 && v != 1) badElement(t, e, "is not a boolean");
      out.push_back(v != 0 ? '\1' : '\0');
    } else if (d == "UINT8") putLe(out, toInt<std::uint8_t>(t, e));
    else if (d == "UINT16") putLe(out, toInt<std::uint16_t>(t, e));
    else if (d == "UINT32") putLe(out, toInt<std::uint32_t>(t, e));
    else if (d == "UINT64") putLe(out, toInt<std::uint64_t>(t, e));
    else if (d == "INT8") putLe(out, toInt<std::int8_t>(t, e));
    else if (d == "INT16") putLe(out, toInt<std::int16_t>(t, e));
    else if (d == "INT32") putLe(out, toInt<std::int32_t>(t, e));
    else if (d == "INT64") putLe(out, toInt<std::int64_t>(t, e));
    else if (d == "FP16") putLe(out, transport::doubleToHalf(toDouble(t, e)));
    else if (d == "BF16") putLe(out, transport::doubleToBfloat16(toDouble(t, e)));
    else if (d == "FP32") putLe(out, float(toDouble(t, e)));
    else if (d == "FP64") putLe(out, toDouble(t, e));
    else {  // BYTES
      if (e.size() > 0xffffffffu) badElement(t, "", "is longer than 4 GiB");
      putLe(out, std::uint32_t(e.size()));
      out.append(e);
    }
  }
}

std::vector<std::string> decodeBinary(std::string_view d, std::string_view raw, std::uint64_t count,
                                      std::string_view tensorName) {
  const std::size_t size = datatypeSize(d);
  std::vector<std::string> out;
  const auto mismatch = [&](const std::string& why) {
    return LoadgenError("output '" + std::string(tensorName) + "' (" + std::string(d) + "): " + why);
  };
  if (size != 0) {
    if (raw.size() != size * count)
      throw mismatch(std::to_string(raw.size()) + " binary bytes for " + std::to_string(count) + " elements");
    out.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) {
      const char* p = raw.data() + i * size;
      if (d == "BOOL") out.emplace_back(*p ? "true" : "false");
      else if (d == "UINT8") out.push_back(fmt(unsigned(getLe<std::uint8_t>(p))));
      else if (d == "UINT16") out.push_back(fmt(getLe<std::uint16_t>(p)));
      else if (d == "UINT32") out.push_back(fmt(getLe<std::uint32_t>(p)));
      else if (d == "UINT64") out.push_back(fmt(getLe<std::uint64_t>(p)));
      else if (d == "INT8") out.push_back(fmt(int(getLe<std::int8_t>(p))));
      else if (d == "INT16") out.push_back(fmt(getLe<std::int16_t>(p)));
      else if (d == "INT32") out.push_back(fmt(getLe<std::int32_t>(p)));
      else if (d == "INT64") out.push_back(fmt(getLe<std::int64_t>(p)));
      else if (d == "FP16") out.push_back(fmt(transport::halfToFloat(getLe<std::uint16_t>(p))));
      else if (d == "BF16") out.push_back(fmt(transport::bfloat16ToFloat(getLe<std::uint16_t>(p))));
      else if (d == "FP32") out.push_back(fmt(getLe<float>(p)));
      else out.push_back(fmt(getLe<double>(p)));
    }
    return out;
  }
  const auto w = transport::walkBytes(std::as_bytes(std::span(raw.data(), raw.size())), count,
                                     [&](std::uint64_t, std::string_view element) { out.emplace_back(element); });
  if (w.stop != transport::BytesWalk::Stop::done || w.count != count)
    throw mismatch("binary data ends inside element " + std::to_string(w.count));
  if (w.end != raw.size()) throw mismatch(std::to_string(raw.size() - w.end) + " bytes left after the last element");
  return out;
}

}  // namespace ringserve::loadgen
