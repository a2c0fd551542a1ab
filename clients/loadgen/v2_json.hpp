#pragma once
// Reading and writing V2 requests/responses as JSON (and responses in the binary extension).
// Parsing uses simdjson; malformed input throws LoadgenError with a message naming what is wrong.
#include <cstddef>
#include <string>
#include <string_view>

#include "clients/loadgen/v2_types.hpp"
#include "transport/json_text.hpp"

namespace ringserve::loadgen {

// A request object as in an `infer` input line or a `bench --input` file. `data` may be nested or
// flat; its element count must match the shape.
V2Request parseRequestJson(std::string_view json);

// A response body. jsonLength = the Inference-Header-Content-Length value when the response uses
// the binary extension (the rest of `body` holds the binary outputs in order), else body.size().
V2Response parseResponse(std::string_view body, std::size_t jsonLength);

// The `error` member of an error body ({"error": "..."}), or the body itself (truncated) if it
// has none.
std::string errorMessage(std::string_view body);

using transport::appendJsonString;  // the one in transport/json_text.hpp

// `obj` (a minified JSON object or "") with `"key": valueJson` added at the end.
std::string withMember(std::string_view obj, std::string_view key, std::string_view valueJson);

// Writes a tensor as {"name","shape","datatype"[,"parameters"],"data":[flat]}.
void appendTensorJson(std::string& out, const Tensor& t);

std::string writeResponseJson(const V2Response& r);

}  // namespace ringserve::loadgen
