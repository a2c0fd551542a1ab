#include "clients/loadgen/response_parser.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace ringserve::loadgen {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool containsToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

void ResponseParser::reset() {
  state_ = State::StatusLine;
  line_.clear();
  error_.clear();
  status_ = 0;
  keepAlive_ = true;
  chunked_ = false;
  haveLength_ = false;
  contentLength_ = remaining_ = bodyBytes_ = 0;
  headerCount_ = 0;
  body_.clear();
  headers_.clear();
}

void ResponseParser::fail(std::string message) {
  state_ = State::Error;
  error_ = std::move(message);
  keepAlive_ = false;
}

std::string_view ResponseParser::header(std::string_view lowerName) const {
  for (const auto& [k, v] : headers_)
    if (k == lowerName) return v;
  return {};
}

// Sets `line` to the next CRLF- (or LF-) terminated line without its terminator. A line split
// across reads is assembled in line_; the view stays valid until the next call.
bool ResponseParser::takeLine(const char*& p, const char* end, std::string_view& line) {
  const void* nl = std::memchr(p, '\n', std::size_t(end - p));
  if (nl == nullptr) {
    if (line_.size() + std::size_t(end - p) > kMaxLine) {
      fail("response line longer than 64 KiB");
      return false;
    }
    line_.append(p, end);
    p = end;
    return false;
  }
  const char* e = static_cast<const char*>(nl);
  if (line_.empty()) {
    line = std::string_view(p, std::size_t(e - p));
  } else {
    line_.append(p, e);
    line = line_;
  }
  p = e + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return true;
}

void ResponseParser::onStatusLine(std::string_view line) {
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || line[8] != ' ') {
    fail("malformed status line: " + std::string(line.substr(0, 80)));
    return;
  }
  int code = 0;
  auto [ptr, ec] = std::from_chars(line.data() + 9, line.data() + 12, code);
  if (ec != std::errc() || ptr != line.data() + 12 || code < 100) {
    fail("malformed status code in: " + std::string(line.substr(0, 80)));
    return;
  }
  status_ = code;
  keepAlive_ = line[7] == '1';  // HTTP/1.0 closes unless told otherwise
  state_ = State::Headers;
}

void ResponseParser::onHeaderLine(std::string_view line) {
  if (++headerCount_ > kMaxHeaders) {
    fail("more than 200 response headers");
    return;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    fail("malformed header line: " + std::string(line.substr(0, 80)));
    return;
  }
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = trim(line.substr(colon + 1));
  if (iequals(name, "content-length")) {
    std::uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || ptr != value.data() + value.size() || (haveLength_ && n != contentLength_)) {
      fail("bad Content-Length: " + std::string(value));
      return;
    }
    haveLength_ = true;
    contentLength_ = n;
  } else if (iequals(name, "transfer-encoding")) {
    if (containsToken(value, "chunked")) chunked_ = true;
  } else if (iequals(name, "connection")) {
    if (containsToken(value, "close")) keepAlive_ = false;
    else if (containsToken(value, "keep-alive")) keepAlive_ = true;
  }
  if (keep_) headers_.emplace_back(lower(name), std::string(value));
}

void ResponseParser::onHeadersDone() {
  if (status_ < 200 || status_ == 204 || status_ == 304) {
    if (status_ < 200) {  // 100 Continue and friends: the real response follows
      const bool keepSave = keep_;
      reset();
      keep_ = keepSave;
      return;
    }
    state_ = State::Done;
    return;
  }
  if (chunked_) {
    state_ = State::ChunkSize;
  } else if (haveLength_) {
    remaining_ = contentLength_;
    if (keep_) body_.reserve(std::size_t(std::min<std::uint64_t>(contentLength_, 1ULL << 30)));
    state_ = remaining_ == 0 ? State::Done : State::Body;
  } else {
    keepAlive_ = false;
    state_ = State::UntilClose;
  }
}

void ResponseParser::takeBody(const char*& p, const char* end, std::uint64_t& remaining) {
  const auto n = std::size_t(std::min<std::uint64_t>(remaining, std::uint64_t(end - p)));
  if (keep_) body_.append(p, n);
  bodyBytes_ += n;
  remaining -= n;
  p += n;
}

std::size_t ResponseParser::feed(const char* data, std::size_t len) {
  const char* p = data;
  const char* end = data + len;
  while (p < end && state_ != State::Done && state_ != State::Error) {
    std::string_view line;
    switch (state_) {
      case State::StatusLine:
        if (!takeLine(p, end, line)) break;
        if (line.empty()) { line_.clear(); break; }  // tolerate stray CRLF between responses
        onStatusLine(line);
        line_.clear();
        break;
      case State::Headers:
        if (!takeLine(p, end, line)) break;
        if (line.empty()) onHeadersDone();
        else onHeaderLine(line);
        line_.clear();
        break;
      case State::Body:
        takeBody(p, end, remaining_);
        if (remaining_ == 0) state_ = State::Done;
        break;
      case State::ChunkSize: {
        if (!takeLine(p, end, line)) break;
        line = line.substr(0, line.find(';'));
        line = trim(line);
        std::uint64_t n = 0;
        auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), n, 16);
        line_.clear();
        if (ec != std::errc() || ptr != line.data() + line.size() || line.empty()) {
          fail("bad chunk size");
          break;
        }
        remaining_ = n;
        state_ = n == 0 ? State::Trailers : State::ChunkData;
        break;
      }
      case State::ChunkData:
        takeBody(p, end, remaining_);
        if (remaining_ == 0) state_ = State::ChunkEnd;
        break;
      case State::ChunkEnd:
        if (!takeLine(p, end, line)) break;
        line_.clear();
        if (!line.empty()) fail("chunk not followed by CRLF");
        else state_ = State::ChunkSize;
        break;
      case State::Trailers:
        if (!takeLine(p, end, line)) break;
        line_.clear();
        if (line.empty()) state_ = State::Done;
        break;
      case State::UntilClose: {
        std::uint64_t all = std::uint64_t(end - p);
        takeBody(p, end, all);
        break;
      }
      case State::Done:
      case State::Error:
        break;
    }
  }
  return std::size_t(p - data);
}

void ResponseParser::onEof() {
  if (state_ == State::UntilClose) {
    state_ = State::Done;
    return;
  }
  if (state_ == State::Done || state_ == State::Error) return;
  fail(state_ == State::StatusLine && line_.empty() && status_ == 0 ? "connection closed by the server"
                                                                     : "connection closed in the middle of a response");
}

}  // namespace ringserve::loadgen
