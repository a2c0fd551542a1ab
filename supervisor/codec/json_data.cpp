#include "supervisor/codec/json_data.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "supervisor/codec/decoder_text.hpp"
#include "transport/half.hpp"

namespace ringserve::supervisor::codec::detail {
namespace {

static_assert(std::endian::native == std::endian::little, "tensors in the arena are little-endian");

using simdjson::dom::element_type;

// Converts one JSON scalar into the element type T and stores it at `dst`. Returns an error text
// ("is not ..."), empty on success.
template <class T>
std::string_view storeInteger(element e, std::byte* dst) {
  T v{};
  switch (e.type()) {
    case element_type::INT64: {
      const std::int64_t x = e.get_int64().value_unsafe();
      if constexpr (std::is_signed_v<T>) {
        if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max()) return "out of range";
      } else {
        if (x < 0 || static_cast<std::uint64_t>(x) > std::numeric_limits<T>::max()) return "out of range";
      }
      v = static_cast<T>(x);
      break;
    }
    case element_type::UINT64: {
      const std::uint64_t x = e.get_uint64().value_unsafe();
      if (x > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return "out of range";
      v = static_cast<T>(x);
      break;
    }
    case element_type::DOUBLE: {
      const double x = e.get_double().value_unsafe();
      if (std::trunc(x) != x) return "not an integer";
      // Doubles beyond 2^53 are not exact: only accept what converts without loss.
      if (x < static_cast<double>(std::numeric_limits<T>::min()) ||
          x >= std::ldexp(1.0, std::numeric_limits<T>::digits)) {
        return "out of range";
      }
      v = static_cast<T>(x);
      break;
    }
    default: return "not a number";
  }
  std::memcpy(dst, &v, sizeof(T));
  return {};
}

// Finite doubles and `null` (NaN); range-checked for the narrower types.
std::string_view floatValue(element e, double& out) {
  switch (e.type()) {
    case element_type::INT64: out = static_cast<double>(e.get_int64().value_unsafe()); return {};
    case element_type::UINT64: out = static_cast<double>(e.get_uint64().value_unsafe()); return {};
    case element_type::DOUBLE: out = e.get_double().value_unsafe(); return {};
    case element_type::NULL_VALUE: out = std::numeric_limits<double>::quiet_NaN(); return {};
    default: return "not a number";
  }
}

// The element conversion for one datatype, chosen at compile time so the per-element loop has
// no datatype switch.
template <DataType kType>
std::string_view storeScalar(element e, std::byte* dst) {
  if constexpr (kType == DataType::BOOL) {
    std::uint8_t b = 0;
    if (e.type() == element_type::BOOL) {
      b = e.get_bool().value_unsafe() ? 1 : 0;
    } else if (e.type() == element_type::INT64 && (e.get_int64().value_unsafe() & ~std::int64_t{1}) == 0) {
      b = static_cast<std::uint8_t>(e.get_int64().value_unsafe());
    } else if (e.type() == element_type::UINT64 && e.get_uint64().value_unsafe() <= 1) {
      b = static_cast<std::uint8_t>(e.get_uint64().value_unsafe());
    } else {
      return "not a boolean (true/false or 0/1)";
    }
    std::memcpy(dst, &b, 1);
    return {};
  } else if constexpr (kType == DataType::UINT8) {
    return storeInteger<std::uint8_t>(e, dst);
  } else if constexpr (kType == DataType::UINT16) {
    return storeInteger<std::uint16_t>(e, dst);
  } else if constexpr (kType == DataType::UINT32) {
    return storeInteger<std::uint32_t>(e, dst);
  } else if constexpr (kType == DataType::UINT64) {
    return storeInteger<std::uint64_t>(e, dst);
  } else if constexpr (kType == DataType::INT8) {
    return storeInteger<std::int8_t>(e, dst);
  } else if constexpr (kType == DataType::INT16) {
    return storeInteger<std::int16_t>(e, dst);
  } else if constexpr (kType == DataType::INT32) {
    return storeInteger<std::int32_t>(e, dst);
  } else if constexpr (kType == DataType::INT64) {
    return storeInteger<std::int64_t>(e, dst);
  } else if constexpr (kType == DataType::FP16 || kType == DataType::BF16) {
    double d = 0;
    if (auto err = floatValue(e, d); !err.empty()) return err;
    const std::uint16_t h = kType == DataType::FP16 ? transport::doubleToHalf(d) : transport::doubleToBfloat16(d);
    if (std::isfinite(d) && (h & 0x7FFF) == (kType == DataType::FP16 ? 0x7C00 : 0x7F80)) return "out of range";
    std::memcpy(dst, &h, 2);
    return {};
  } else if constexpr (kType == DataType::FP32) {
    double d = 0;
    if (e.type() == element_type::DOUBLE) {
      d = e.get_double().value_unsafe();
    } else if (auto err = floatValue(e, d); !err.empty()) {
      return err;
    }
    const auto f = static_cast<float>(d);
    if (std::isinf(f) && std::isfinite(d)) return "out of range";
    std::memcpy(dst, &f, 4);
    return {};
  } else if constexpr (kType == DataType::FP64) {
    double d = 0;
    if (auto err = floatValue(e, d); !err.empty()) return err;
    std::memcpy(dst, &d, 8);
    return {};
  } else {
    static_assert(kType != DataType::BYTES, "BYTES has its own path");
  }
}

// Calls f.template operator()<T>() with T the datatype known at compile time (not BYTES).
template <class F>
auto withFixedType(DataType type, F&& f) {
  switch (type) {
    case DataType::BOOL: return f.template operator()<DataType::BOOL>();
    case DataType::UINT8: return f.template operator()<DataType::UINT8>();
    case DataType::UINT16: return f.template operator()<DataType::UINT16>();
    case DataType::UINT32: return f.template operator()<DataType::UINT32>();
    case DataType::UINT64: return f.template operator()<DataType::UINT64>();
    case DataType::INT8: return f.template operator()<DataType::INT8>();
    case DataType::INT16: return f.template operator()<DataType::INT16>();
    case DataType::INT32: return f.template operator()<DataType::INT32>();
    case DataType::INT64: return f.template operator()<DataType::INT64>();
    case DataType::FP16: return f.template operator()<DataType::FP16>();
    case DataType::BF16: return f.template operator()<DataType::BF16>();
    case DataType::FP64: return f.template operator()<DataType::FP64>();
    default: return f.template operator()<DataType::FP32>();
  }
}

// Walks (possibly nested) `data` in row-major order, calling f(scalar) for each leaf; stops
// at the first error f returns. Returns the number of leaves visited.
template <class F>
bool walkLeaves(element e, F& f) {
  if (e.type() == element_type::ARRAY) {
    const simdjson::dom::array children = e.get_array().value_unsafe();  // a copy: the result is a temporary
    for (element child : children) {
      if (!walkLeaves(child, f)) return false;
    }
    return true;
  }
  return f(e);
}

}  // namespace

std::optional<Error> decodeJsonData(DecodedInput& input, element data, std::uint64_t count, ArenaTarget& target) {
  const std::string where = "input " + quoteName(input.name);
  const std::string expected =
      where + ": shape " + shapeString(input.shape) + " needs " + std::to_string(count) + " elements but 'data' has ";
  if (input.datatype == DataType::BYTES) {
    // Two passes: sizes first (the block must be allocated before writing), then the bytes.
    std::uint64_t n = 0;
    std::uint64_t total = 0;
    std::optional<Error> err;
    auto measure = [&](element e) {
      std::string_view s;
      if (e.get(s)) {
        err = badRequest(where + ": element " + std::to_string(n) + " (" + valueText(e) +
                         ") is not a string; BYTES elements are JSON strings");
        return false;
      }
      if (s.size() > std::numeric_limits<std::uint32_t>::max()) {
        err = badRequest(where + ": element " + std::to_string(n) + " is longer than 4 GiB");
        return false;
      }
      ++n;
      total += 4 + s.size();
      return true;
    };
    walkLeaves(data, measure);
    if (err) return err;
    if (n != count) return badRequest(expected + std::to_string(n));
    auto block = target.allocate(total);
    if (!block) return block.error();
    input.offset = block->offset;
    input.size = total;
    std::byte* out = block->bytes.data();
    auto write = [&](element e) {
      const std::string_view s = e.get_string().value_unsafe();
      const auto len = static_cast<std::uint32_t>(s.size());
      std::memcpy(out, &len, 4);
      if (len != 0) std::memcpy(out + 4, s.data(), len);
      out += 4 + len;
      return true;
    };
    walkLeaves(data, write);
    return std::nullopt;
  }

  const std::size_t esize = elementSize(input.datatype);
  auto block = target.allocate(count * esize);
  if (!block) return block.error();
  input.offset = block->offset;
  input.size = count * esize;
  std::byte* out = block->bytes.data();
  std::uint64_t n = 0;
  std::optional<Error> err;
  withFixedType(input.datatype, [&]<DataType kType>() {
    auto store = [&](element e) {
      if (n < count) {
        if (auto problem = storeScalar<kType>(e, out + n * esize); !problem.empty()) {
          err = badRequest(where + ": element " + std::to_string(n) + " (" + valueText(e) + ") is " +
                           std::string(problem) + " for " + std::string(dataTypeName(kType)));
          return false;
        }
      }
      ++n;
      return true;
    };
    walkLeaves(data, store);
  });
  if (err) return err;
  if (n != count) return badRequest(expected + std::to_string(n));
  return std::nullopt;
}

}  // namespace ringserve::supervisor::codec::detail
