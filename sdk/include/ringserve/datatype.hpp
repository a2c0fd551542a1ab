#pragma once
// V2 tensor datatypes, their sizes and spellings, and the C++ element type of each.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "ringserve/abi.h"

namespace ringserve {

enum class DataType : std::uint32_t {
  BOOL = RINGSERVE_BOOL, UINT8 = RINGSERVE_UINT8, UINT16 = RINGSERVE_UINT16, UINT32 = RINGSERVE_UINT32,
  UINT64 = RINGSERVE_UINT64, INT8 = RINGSERVE_INT8, INT16 = RINGSERVE_INT16, INT32 = RINGSERVE_INT32,
  INT64 = RINGSERVE_INT64, FP16 = RINGSERVE_FP16, BF16 = RINGSERVE_BF16, FP32 = RINGSERVE_FP32,
  FP64 = RINGSERVE_FP64, BYTES = RINGSERVE_BYTES,
};
inline constexpr std::uint32_t kDataTypeCount = 14;

// "FP32"
std::string_view toString(DataType t);
// The V2 spelling, case-sensitive as the protocol is; nullopt for anything else.
std::optional<DataType> parseDataType(std::string_view name);
bool isValidDataType(std::uint32_t raw);
// Bytes per element; 0 for BYTES (variable length).
std::size_t elementSize(DataType t);

// IEEE 754 half precision, stored as its bit pattern (what the arena holds).
struct Float16 {
  std::uint16_t bits = 0;
  static Float16 fromFloat(float f);
  float toFloat() const;
  friend bool operator==(Float16, Float16) = default;
};
// bfloat16: the top half of an FP32, stored as its bit pattern.
struct BFloat16 {
  std::uint16_t bits = 0;
  static BFloat16 fromFloat(float f);  // round to nearest even
  float toFloat() const;
  friend bool operator==(BFloat16, BFloat16) = default;
};
static_assert(sizeof(Float16) == 2 && sizeof(BFloat16) == 2);

// The DataType whose elements are stored as T. BOOL is one byte per element: use `bool`.
template <class T>
struct DataTypeOf;
#define RINGSERVE_DATATYPE_OF(T, D) \
  template <>                       \
  struct DataTypeOf<T> {            \
    static constexpr DataType value = DataType::D; \
  };
RINGSERVE_DATATYPE_OF(bool, BOOL)
RINGSERVE_DATATYPE_OF(std::uint8_t, UINT8)
RINGSERVE_DATATYPE_OF(std::uint16_t, UINT16)
RINGSERVE_DATATYPE_OF(std::uint32_t, UINT32)
RINGSERVE_DATATYPE_OF(std::uint64_t, UINT64)
RINGSERVE_DATATYPE_OF(std::int8_t, INT8)
RINGSERVE_DATATYPE_OF(std::int16_t, INT16)
RINGSERVE_DATATYPE_OF(std::int32_t, INT32)
RINGSERVE_DATATYPE_OF(std::int64_t, INT64)
RINGSERVE_DATATYPE_OF(Float16, FP16)
RINGSERVE_DATATYPE_OF(BFloat16, BF16)
RINGSERVE_DATATYPE_OF(float, FP32)
RINGSERVE_DATATYPE_OF(double, FP64)
#undef RINGSERVE_DATATYPE_OF
static_assert(sizeof(bool) == 1, "BOOL tensors hold one byte per element");

template <class T>
concept TensorElement = requires { DataTypeOf<std::remove_cv_t<T>>::value; };

template <TensorElement T>
inline constexpr DataType dataTypeOf = DataTypeOf<std::remove_cv_t<T>>::value;

}  // namespace ringserve
