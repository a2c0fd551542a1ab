#pragma once
// Incremental HTTP/1.1 response parser for the load path: status line, the few headers that frame
// the body (Content-Length, Transfer-Encoding: chunked, Connection) and, only when asked, the body
// and the other headers. Bytes past the end of one response stay unconsumed for the next one
// (pipelining). Malformed input puts the parser in the error state with a message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringserve::loadgen {

class ResponseParser {
 public:
  enum class State { StatusLine, Headers, Body, ChunkSize, ChunkData, ChunkEnd, Trailers, UntilClose, Done, Error };

  // keepBody: collect the body and all headers (infer); otherwise they are skipped (bench).
  explicit ResponseParser(bool keepBody = false) : keep_(keepBody) {}

  // Consumes bytes of the current response and returns how many; stops at its end (Done).
  std::size_t feed(const char* data, std::size_t len);
  // The peer closed the connection: a body delimited by the close is complete, anything else is
  // an error (truncated response).
  void onEof();
  // Ready for the next response on the same connection.
  void reset();

  // For a response to a HEAD request or a 1xx/204/304 status there is no body; we only send POST.
  State state() const { return state_; }
  bool done() const { return state_ == State::Done; }
  bool failed() const { return state_ == State::Error; }
  const std::string& error() const { return error_; }
  int status() const { return status_; }
  bool keepAlive() const { return keepAlive_; }
  const std::string& body() const { return body_; }
  std::uint64_t bodyBytes() const { return bodyBytes_; }
  // Header value by lower-case name ("" if absent); only with keepBody.
  std::string_view header(std::string_view lowerName) const;

  static constexpr std::size_t kMaxLine = 64 * 1024;
  static constexpr std::size_t kMaxHeaders = 200;

 private:
  bool takeLine(const char*& p, const char* end, std::string_view& line);
  void fail(std::string message);
  void onStatusLine(std::string_view line);
  void onHeaderLine(std::string_view line);
  void onHeadersDone();
  void takeBody(const char*& p, const char* end, std::uint64_t& remaining);

  bool keep_;
  State state_ = State::StatusLine;
  std::string line_;  // a line split across reads
  std::string error_;
  int status_ = 0;
  bool keepAlive_ = true;
  bool chunked_ = false;
  bool haveLength_ = false;
  std::uint64_t contentLength_ = 0;
  std::uint64_t remaining_ = 0;
  std::uint64_t bodyBytes_ = 0;
  std::size_t headerCount_ = 0;
  std::string body_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

}  // namespace ringserve::loadgen
