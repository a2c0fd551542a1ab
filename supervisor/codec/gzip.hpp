#pragma once
// gzip for request and response bodies (zlib).
#include <cstdint>
#include <string>
#include <string_view>

#include "supervisor/error.hpp"

namespace ringserve::supervisor::codec {

std::string gzipCompress(std::string_view plain);
// Inflates a gzip body; tooLarge when the result would exceed `limit` bytes (max_request_size applies
// to what the request expands to, not just to what was sent), badInput when it is not valid gzip.
Expected<std::string> gzipDecompress(std::string_view compressed, std::uint64_t limit);

}  // namespace ringserve::supervisor::codec
