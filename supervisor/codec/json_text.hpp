#pragma once
// The V2 error body. The JSON text primitives the codec uses come from transport/json_text.hpp
// (the base library every process links) and are named here so codec code reads unqualified.
#include <string>
#include <string_view>

#include "transport/json_text.hpp"

namespace ringserve::supervisor::codec {

using transport::appendJsonString;
using transport::appendJsonStringRepaired;
using transport::sanitizedUtf8;
using transport::validUtf8;

// {"error": "<message>"}: the body of every error response. Invalid UTF-8 in the message is
// replaced by U+FFFD so the body is always valid JSON.
std::string errorBody(std::string_view message);

}  // namespace ringserve::supervisor::codec
