#include "supervisor/http/request_reader.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <limits>
#include <string>

namespace ringserve::supervisor::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

const std::string* ParsedRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (beast::iequals(k, beast::string_view(name.data(), name.size()))) return &v;
  return nullptr;
}

void RequestParser::on_request_impl(Verb method, string_view methodText, string_view target, int version, error_code&) {
  ParsedRequest& r = reader_.request_;
  r.method = method;
  r.methodText.assign(methodText.data(), methodText.size());
  r.target.assign(target.data(), target.size());
  r.version = version;
}

void RequestParser::on_field_impl(bhttp::field name, string_view nameText, string_view value, error_code&) {
  // Trailer fields of a chunked body come through here too; they are not request headers.
  if (reader_.phase_ != RequestReader::Phase::header) return;
  ParsedRequest& r = reader_.request_;
  r.headers.emplace_back(std::string(nameText.data(), nameText.size()), std::string(value.data(), value.size()));
  if (name == bhttp::field::expect && beast::iequals(value, "100-continue")) r.expectContinue = true;
  if (name == bhttp::field::transfer_encoding) {
    // Beast treats a body as chunked only when chunked is the last coding and ignores the rest;
    // any other coding cannot be framed, so it is refused (RFC 9112 6.1: 501).
    bhttp::token_list codings{value};
    std::size_t n = 0;
    bool chunkedLast = false;
    for (auto c : codings) {
      ++n;
      chunkedLast = beast::iequals(c, "chunked");
    }
    if (n != 1 || !chunkedLast) reader_.unsupportedCoding_ = true;
  }
}

std::size_t RequestParser::on_body_impl(string_view body, error_code& ec) {
  return reader_.appendBody({body.data(), body.size()}, ec);
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) {
  return reader_.appendBody({body.data(), body.size()}, ec);
}

RequestReader::RequestReader(ReaderLimits limits) : limits_(limits), body_(evbuffer_new()) { reset(); }

RequestReader::~RequestReader() { evbuffer_free(body_); }

void RequestReader::reset() {
  request_.method = Verb::unknown;
  request_.methodText.clear();
  request_.target.clear();
  request_.version = 11;
  request_.headers.clear();
  request_.keepAlive = true;
  request_.expectContinue = false;
  request_.chunked = false;
  request_.contentLength.reset();
  evbuffer_drain(body_, evbuffer_get_length(body_));
  error_ = {};
  phase_ = Phase::header;
  remaining_ = 0;
  headerBytes_ = 0;
  unsupportedCoding_ = false;
  parser_.emplace(*this);
  parser_->eager(false);  // stop after the header: the connection decides about the body
  parser_->header_limit(static_cast<std::uint32_t>(limits_.maxHeaderSize));
  // max_request_size is checked here, for both framings. Not boost::none: Beast 1.74 compares
  // `len > body_limit_` with an empty optional as true and refuses every Content-Length body.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
}

RequestReader::Step RequestReader::fail(int status, std::string message) {
  phase_ = Phase::done;
  error_ = {status, std::move(message)};
  return Step::failed;
}

std::size_t RequestReader::appendBody(std::string_view bytes, beast::error_code& ec) {
  if (evbuffer_get_length(body_) + bytes.size() > limits_.maxBodySize) {
    ec = bhttp::error::body_limit;
    return 0;
  }
  evbuffer_add(body_, bytes.data(), bytes.size());
  return bytes.size();
}

RequestReader::Step RequestReader::read(evbuffer* in) {
  switch (phase_) {
    case Phase::header: return readHeader(in);
    case Phase::fixedBody: return readFixed(in);
    case Phase::chunkedBody: return readChunked(in);
    case Phase::done: break;
  }
  return error_.message.empty() ? Step::complete : Step::failed;
}

// The header is parsed from one contiguous view of at most max_header_size bytes (Beast needs
// the whole header in one buffer; it remembers how far it searched, so a slow client costs no
// rescans). Beast counts the request line and the fields separately; headerBytes_ makes the
// limit hold for both together.
RequestReader::Step RequestReader::readHeader(evbuffer* in) {
  const std::size_t have = evbuffer_get_length(in);
  if (have == 0) return Step::needMore;
  const std::size_t budget = limits_.maxHeaderSize > headerBytes_ ? limits_.maxHeaderSize - headerBytes_ : 0;
  const std::size_t n = std::min(have, budget + 1);
  const auto* p = evbuffer_pullup(in, static_cast<ev_ssize_t>(n));
  beast::error_code ec;
  const std::size_t used = parser_->put(boost::asio::const_buffer(p, n), ec);
  evbuffer_drain(in, used);
  headerBytes_ += used;
  if (ec == bhttp::error::need_more) {
    if (headerBytes_ + (n - used) > limits_.maxHeaderSize)
      return fail(431, "Request header fields too large (max_header_size is " + std::to_string(limits_.maxHeaderSize) +
                           " bytes)");
    return Step::needMore;
  }
  if (ec == bhttp::error::header_limit)
    return fail(431, "Request header fields too large (max_header_size is " + std::to_string(limits_.maxHeaderSize) +
                         " bytes)");
  if (ec == bhttp::error::bad_version) return fail(505, "HTTP version not supported (HTTP/1.0 and HTTP/1.1 are)");
  if (ec) return fail(400, "Bad request: " + ec.message());
  return afterHeader();
}

RequestReader::Step RequestReader::afterHeader() {
  ParsedRequest& r = request_;
  r.keepAlive = parser_->keep_alive();
  r.chunked = parser_->chunked();
  if (const auto cl = parser_->content_length()) r.contentLength = *cl;
  if (r.version != 10 && r.version != 11)
    return fail(505, "HTTP version " + std::to_string(r.version / 10) + "." + std::to_string(r.version % 10) +
                         " not supported");
  if (unsupportedCoding_) return fail(501, "Transfer-Encoding other than chunked is not implemented");
  if (r.method == Verb::unknown) return fail(501, "Method " + r.methodText + " not implemented");
  if (parser_->is_done()) {
    phase_ = Phase::done;
    return Step::complete;
  }
  if (r.chunked) {
    phase_ = Phase::chunkedBody;
    parser_->eager(true);
    return Step::headerDone;
  }
  // Beast only leaves a request body unframed by neither field when it is empty (is_done).
  remaining_ = r.contentLength.value_or(0);
  if (remaining_ > limits_.maxBodySize)
    return fail(413, "Request body of " + std::to_string(remaining_) + " bytes exceeds max_request_size (" +
                         std::to_string(limits_.maxBodySize) + " bytes)");
  phase_ = Phase::fixedBody;
  return Step::headerDone;
}

// A Content-Length body bypasses the parser: its bytes move from the socket's buffer into the
// body buffer by chain (evbuffer_remove_buffer), without a copy for whole chains.
RequestReader::Step RequestReader::readFixed(evbuffer* in) {
  const std::size_t have = evbuffer_get_length(in);
  const std::size_t n = remaining_ < have ? static_cast<std::size_t>(remaining_) : have;
  if (n > 0) evbuffer_remove_buffer(in, body_, n);
  remaining_ -= n;
  if (remaining_ > 0) return Step::needMore;
  phase_ = Phase::done;
  return Step::complete;
}

// Chunked bodies go through the parser, one contiguous piece at a time: the front chain as it is
// (chunk data is copied once, into the body buffer), or more when a chunk header straddles two.
RequestReader::Step RequestReader::readChunked(evbuffer* in) {
  std::size_t want = 0;
  for (;;) {
    const std::size_t have = evbuffer_get_length(in);
    if (have == 0) return Step::needMore;
    evbuffer_iovec front;
    evbuffer_peek(in, -1, nullptr, &front, 1);
    want = std::min(have, std::max(want, front.iov_len));
    const auto* p = evbuffer_pullup(in, static_cast<ev_ssize_t>(want));
    beast::error_code ec;
    const std::size_t used = parser_->put(boost::asio::const_buffer(p, want), ec);
    evbuffer_drain(in, used);
    if (parser_->is_done()) {
      phase_ = Phase::done;
      return Step::complete;
    }
    if (ec == bhttp::error::body_limit)
      return fail(413, "Request body exceeds max_request_size (" + std::to_string(limits_.maxBodySize) + " bytes)");
    if (ec && ec != bhttp::error::need_more) return fail(400, "Bad request: " + ec.message());
    if (used > 0) {
      want = 0;
      continue;
    }
    // Nothing consumed: a chunk header or the trailer is split; present more, within bounds.
    if (want > limits_.maxHeaderSize) return fail(400, "Bad request: chunk header or trailer too long");
    if (want >= have) return Step::needMore;
    want = std::min(have, want * 2);
  }
}

}  // namespace ringserve::supervisor::http
