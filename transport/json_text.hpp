#pragma once
// JSON string literals and UTF-8 checks: every process writes JSON (the supervisor's bodies and
// logs, the worker's JSON log lines, the clients' requests), so they live here once.
#include <string>
#include <string_view>

namespace ringserve::transport {

// Appends `text` as a JSON string literal (quotes included). Control characters, '"' and '\\'
// are escaped; bytes >= 0x80 are copied as they are, so `text` must be valid UTF-8 (see
// validUtf8) for the output to be valid JSON.
void appendJsonString(std::string& out, std::string_view text);
bool validUtf8(std::string_view text);
// `text` with every invalid UTF-8 byte replaced by U+FFFD (e.g. HTTP header values).
std::string sanitizedUtf8(std::string_view text);
// appendJsonString of text nobody vouches for (an error message, a log line): invalid UTF-8 bytes
// become U+FFFD, so the output is valid JSON; valid text is appended without a copy.
void appendJsonStringRepaired(std::string& out, std::string_view text);

}  // namespace ringserve::transport
