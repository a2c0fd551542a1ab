#pragma once
// The binary tensor extension's element encoding (Triton's): little-endian, row-major, BOOL one
// byte, FP16/BF16 as their 2-byte patterns, BYTES as u32 LE length + bytes per element.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "clients/loadgen/v2_types.hpp"

namespace ringserve::loadgen {

// Bytes per element; 0 for BYTES; throws LoadgenError for an unknown datatype.
std::size_t datatypeSize(std::string_view datatype);

// Appends the tensor's elements in binary form; throws LoadgenError naming the tensor when an
// element does not fit the datatype.
void appendBinary(const Tensor& t, std::string& out);

// Decodes `count` elements of `datatype` from `raw` (which must hold exactly them) into text
// elements; throws LoadgenError on a size mismatch.
std::vector<std::string> decodeBinary(std::string_view datatype, std::string_view raw, std::uint64_t count,
                                      std::string_view tensorName);

}  // namespace ringserve::loadgen
