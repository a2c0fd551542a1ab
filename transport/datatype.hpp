#pragma once
// V2 tensor datatypes: the one table of names and element sizes for the supervisor, the worker
// and the clients. The enum is the schema's (schema::DataType from worker.capnp), so a decoded
// request goes into the InferRequest frame without conversion; the worker pins the plugin ABI's
// enum (sdk/include/ringserve/abi.h) to it with static_asserts (worker/datatype_pins.cpp).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "worker.capnp.h"

namespace ringserve::transport {

using DataType = schema::DataType;

// "FP32" -> FP32; exact, upper-case V2 spelling; nullopt for anything else.
std::optional<DataType> parseDataType(std::string_view name);
// FP32 -> "FP32".
std::string_view dataTypeName(DataType type);
// Bytes per element; 0 for BYTES (variable: 4-byte LE length + bytes per element).
std::size_t elementSize(DataType type);

// Product of the dimensions; nullopt when a dimension is negative or the product exceeds 2^60,
// so count * elementSize (at most 8) cannot overflow 64 bits: shapes come from peers (clients,
// workers), and a wrapped byte size once let [2^31, 2^31] FP32 pass as 0 bytes.
std::optional<std::uint64_t> elementCount(std::span<const std::int64_t> shape);

// "[1,3]" for messages.
std::string shapeString(std::span<const std::int64_t> shape);

}  // namespace ringserve::transport
