#pragma once
// Building request bytes: the V2 body (JSON, or the binary tensor extension) and the complete
// HTTP/1.1 request that the load path writes as-is.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "clients/loadgen/url.hpp"
#include "clients/loadgen/v2_types.hpp"

namespace ringserve::loadgen {

struct EncodedBody {
  std::string bytes;
  std::size_t jsonLength = 0;  // == bytes.size() for plain JSON
  bool binary = false;         // send Inference-Header-Content-Length: jsonLength
};

// binaryInputs: inputs travel as raw bytes after the JSON header (binary_data_size on each);
// binaryOutputs: asks for binary outputs (request parameter binary_data_output).
EncodedBody encodeRequest(const V2Request& r, bool binaryInputs, bool binaryOutputs);

// One input of the given shape and datatype with deterministic values (i % 100 scaled for floats,
// alternating booleans, 12-byte strings for BYTES).
V2Request generateRequest(const std::vector<std::int64_t>& shape, std::string_view datatype, std::string_view inputName);

// "1,16" -> {1, 16}; throws LoadgenError on anything else.
std::vector<std::int64_t> parseShape(std::string_view text);

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// "Name: value" or "Name=value" (MLServer's -H) -> pair; throws LoadgenError if neither.
std::pair<std::string, std::string> parseHeaderOption(std::string_view text);

// The complete POST request. Content-Type and Content-Length are set here; `headers` may add
// others (a user Content-Type replaces ours).
std::string buildHttpRequest(const Endpoint& ep, std::string_view path, const HeaderList& headers,
                             const EncodedBody& body);

}  // namespace ringserve::loadgen
