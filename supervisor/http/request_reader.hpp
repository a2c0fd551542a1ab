#pragma once
// One HTTP/1.1 request read from a connection's input evbuffer with Boost.Beast's basic_parser
// (README.md: why Beast, and the connection's states). No socket here: the connection calls
// read() whenever bytes arrived, and the fuzz target (tests/fuzz/fuzz_http_request.cpp) calls it
// on buffers it builds, so both drive the parser the same way.
//
// Ownership: the reader owns the request it fills and the body evbuffer; the connection reuses
// both for every request on it (reset() keeps their capacity). Loop thread only.
#include <event2/buffer.h>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/optional.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringserve::supervisor::http {

using Verb = boost::beast::http::verb;

struct ParsedRequest {
  Verb method = Verb::unknown;
  std::string methodText;
  std::string target;
  int version = 11;  // 10 or 11
  // Every field as received (name case kept), trailers of a chunked body excluded.
  std::vector<std::pair<std::string, std::string>> headers;
  bool keepAlive = true;
  bool expectContinue = false;
  bool chunked = false;
  std::optional<std::uint64_t> contentLength;

  // The first field named `name` (case-insensitive), or null.
  const std::string* header(std::string_view name) const;
};

struct ReaderLimits {
  std::size_t maxHeaderSize = 16 << 10;   // request line + fields, max_header_size
  std::uint64_t maxBodySize = 64u << 20;  // max_request_size
};

class RequestReader;

// Beast's parser with callbacks that fill the reader's ParsedRequest and body; one per request
// (Beast parsers are not reusable), constructed in place so it costs no allocation.
class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  explicit RequestParser(RequestReader& reader) : reader_(reader) {}

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;
  void on_request_impl(Verb method, string_view methodText, string_view target, int version, error_code& ec) override;
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field name, string_view nameText, string_view value, error_code& ec) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override;
  void on_finish_impl(error_code&) override {}

  RequestReader& reader_;
};

class RequestReader {
 public:
  enum class Step {
    needMore,    // all input consumed, the request is not complete yet
    headerDone,  // the header just completed and a body follows (100-continue, body budget)
    complete,    // request() and body() hold a whole request; the input holds what follows it
    failed,      // error() says what; the connection answers it and closes
  };
  struct Error {
    int status = 400;
    std::string message;
  };

  explicit RequestReader(ReaderLimits limits);
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // Consumes bytes of `in` (from its front) towards the current request. After `complete` or
  // `failed`, call reset() before the next request.
  Step read(evbuffer* in);
  void reset();

  const ParsedRequest& request() const { return request_; }
  ParsedRequest& request() { return request_; }
  evbuffer* body() const { return body_; }
  const Error& error() const { return error_; }
  bool inHeader() const { return phase_ == Phase::header; }
  // Body bytes still expected (Content-Length bodies), for the connection's body budget.
  std::uint64_t bodyBytesExpected() const { return remaining_; }

 private:
  friend class RequestParser;
  enum class Phase { header, fixedBody, chunkedBody, done };
  Step readHeader(evbuffer* in);
  Step afterHeader();
  Step readFixed(evbuffer* in);
  Step readChunked(evbuffer* in);
  Step fail(int status, std::string message);
  std::size_t appendBody(std::string_view bytes, boost::beast::error_code& ec);

  ReaderLimits limits_;
  ParsedRequest request_;
  evbuffer* body_;
  Error error_;
  Phase phase_ = Phase::header;
  std::uint64_t remaining_ = 0;
  std::size_t headerBytes_ = 0;  // header bytes the parser consumed so far
  std::optional<RequestParser> parser_;
  bool unsupportedCoding_ = false;  // a Transfer-Encoding other than a final chunked
};

}  // namespace ringserve::supervisor::http
