#pragma once
// Small JSON text helpers shared by the codec and its callers.
#include <string>
#include <string_view>

namespace ringserve::supervisor::codec {

// Appends `text` as a JSON string literal (quotes included). Control characters, '"' and '\\'
// are escaped; bytes >= 0x80 are copied as they are, so `text` must be valid UTF-8 (see
// validUtf8) for the output to be valid JSON.
void appendJsonString(std::string& out, std::string_view text);
bool validUtf8(std::string_view text);
// `text` with every invalid UTF-8 byte replaced by U+FFFD (e.g. HTTP header values).
std::string sanitizedUtf8(std::string_view text);

// {"error": "<message>"}: the body of every error response. Invalid UTF-8 in the message is
// replaced by U+FFFD so the body is always valid JSON.
std::string errorBody(std::string_view message);

}  // namespace ringserve::supervisor::codec
