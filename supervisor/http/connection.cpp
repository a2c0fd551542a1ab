#include "supervisor/http/connection.hpp"

#include <event2/buffer.h>
#include <sys/socket.h>

#include <malloc.h>
#include <unistd.h>

#include <charconv>

#include "supervisor/codec/json_text.hpp"

namespace ringserve::supervisor::http {

namespace {

// A client that pipelines without reading its answers stops being read past this much unsent
// output, until the socket has taken it.
constexpr std::size_t kMaxPendingOutput = 8u << 20;

// A body at least this large arms the trim timer when it is released; the trim runs this long
// after the last such body, and only when the bodies in flight (all loops) are below the size again.
constexpr std::uint64_t kTrimAfterBodyBytes = 4u << 20;
constexpr timeval kTrimDelay{1, 0};

// The most one readv or writev of a connection may move (Connection::start).
constexpr ev_ssize_t kMaxSingleIo = 1 << 20;

std::string_view reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
  }
}

void appendNumber(std::string& s, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}

}  // namespace

bool BodyBudget::reserve(std::uint64_t n) {
  std::uint64_t cur = used_.load(std::memory_order_relaxed);
  do {
    if (n > limit_ || cur > limit_ - n) return false;
  } while (!used_.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
  return true;
}

Connection::Connection(ConnectionSet& owner, bufferevent* bev)
    : owner_(owner), bev_(bev), reader_(owner.limits_.reader), timer_(Event::timer(owner.base_, &onTimer, this)) {}

Connection::~Connection() {
  releaseBody();
  if (bev_ != nullptr) bufferevent_free(bev_);
}

void Connection::start() {
  // libevent moves at most 16 KiB per readv/writev by default, so a 256 KiB answer took 17
  // writev calls (bench/suite/README.md). The socket buffers bound what one call moves anyway.
  bufferevent_set_max_single_write(bev_, kMaxSingleIo);
  bufferevent_set_max_single_read(bev_, kMaxSingleIo);
  bufferevent_setcb(bev_, &onRead, &onWrite, &onEvent, this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  // An answer the client stops reading: libevent's write timeout runs only while output waits.
  if (const auto ms = owner_.limits_.headerTimeout.count(); ms > 0) {
    const timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
    bufferevent_set_timeouts(bev_, nullptr, &tv);
  }
  arm(owner_.limits_.idleTimeout);  // nothing received yet counts as idle
}

void Connection::onRead(bufferevent*, void* self) {
  auto* c = static_cast<Connection*>(self);
  auto keep = c->shared_from_this();
  if (c->state_ == State::lingering) {
    evbuffer* in = bufferevent_get_input(c->bev_);
    evbuffer_drain(in, evbuffer_get_length(in));
    return;
  }
  c->process();
}

void Connection::onWrite(bufferevent*, void* self) {
  auto* c = static_cast<Connection*>(self);
  auto keep = c->shared_from_this();
  if (c->state_ == State::closing) {
    c->startLinger();
    return;
  }
  // The answer is out: a connection waiting for its next request is idle from now on.
  if (c->state_ == State::header && !c->headerTimerArmed_) c->arm(c->owner_.limits_.idleTimeout);
  if (c->writePaused_) {
    c->writePaused_ = false;
    c->process();
  }
}

void Connection::onEvent(bufferevent*, short what, void* self) {
  auto* c = static_cast<Connection*>(self);
  auto keep = c->shared_from_this();
  if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) != 0) c->close();
}

void Connection::onTimer(evutil_socket_t, short, void* self) {
  auto* c = static_cast<Connection*>(self);
  auto keep = c->shared_from_this();
  // Idle, header and body timeouts close silently (as uvicorn's keep-alive timeout does); a
  // lingering close ends here too.
  c->close();
}

void Connection::arm(std::chrono::milliseconds after) {
  timer_.del();
  if (after.count() > 0) timer_.add(std::chrono::duration_cast<std::chrono::microseconds>(after));
}

// Reads and handles requests until the input runs out or a request is being handled; at most
// one request is handled at a time, so answers leave in request order.
void Connection::process() {
  if (processing_ || bev_ == nullptr) return;
  processing_ = true;
  while (bev_ != nullptr && (state_ == State::header || state_ == State::body) && step()) {
  }
  processing_ = false;
}

// One reader step; false when it has to wait (for bytes, the handler or the socket).
bool Connection::step() {
  if (evbuffer_get_length(bufferevent_get_output(bev_)) > kMaxPendingOutput) {
    writePaused_ = true;
    bufferevent_disable(bev_, EV_READ);
    return false;
  }
  evbuffer* in = bufferevent_get_input(bev_);
  if (state_ == State::header && !headerTimerArmed_) {
    if (evbuffer_get_length(in) == 0) return false;  // idle: the idle timer runs
    headerTimerArmed_ = true;
    arm(owner_.limits_.headerTimeout);
  }
  const std::size_t bodyBefore = evbuffer_get_length(reader_.body());
  switch (reader_.read(in)) {
    case RequestReader::Step::needMore:
      if (state_ == State::body && reader_.request().chunked && !reserveBody(evbuffer_get_length(reader_.body()))) {
        failRequest(503, "Request bodies in flight exceed max_inflight_body_bytes; retry later");
        return false;
      }
      // A body that makes progress keeps its connection; one that stalls for header_timeout does not.
      if (state_ == State::body && evbuffer_get_length(reader_.body()) != bodyBefore) arm(owner_.limits_.headerTimeout);
      bufferevent_enable(bev_, EV_READ);
      return false;
    case RequestReader::Step::headerDone: {
      state_ = State::body;
      arm(owner_.limits_.headerTimeout);
      if (!reserveBody(reader_.bodyBytesExpected())) {
        failRequest(503, "Request bodies in flight exceed max_inflight_body_bytes; retry later");
        return false;
      }
      const ParsedRequest& r = reader_.request();
      if (r.expectContinue && r.version == 11 && evbuffer_get_length(in) == 0)
        bufferevent_write(bev_, "HTTP/1.1 100 Continue\r\n\r\n", 25);
      return true;
    }
    case RequestReader::Step::complete: dispatch(); return true;
    case RequestReader::Step::failed: failRequest(reader_.error().status, reader_.error().message); return false;
  }
  return false;
}

void Connection::dispatch() {
  state_ = State::handling;
  timer_.del();
  // Pipelined bytes stay in the input until this request is answered.
  bufferevent_disable(bev_, EV_READ);
  ParsedRequest& r = reader_.request();
  headRequest_ = r.method == Verb::head;
  if (!r.keepAlive) closeAfter_ = true;
  auto self = shared_from_this();
  owner_.handler_.onRequest(self, r, reader_.body());
  // The handler has read the body (the decoder copies it into the arena): its memory and its
  // share of the budget go back now, not when the answer comes.
  if (bev_ != nullptr) evbuffer_drain(reader_.body(), evbuffer_get_length(reader_.body()));
  releaseBodyAndMaybeTrim();
}

void Connection::writeHead(int status, std::string_view headerLines, std::size_t bodyBytes, bool close) {
  head_.clear();
  head_ += "HTTP/1.1 ";
  appendNumber(head_, static_cast<std::uint64_t>(status));
  head_ += ' ';
  head_ += reason(status);
  head_ += "\r\n";
  head_ += headerLines;
  head_ += "Content-Length: ";
  appendNumber(head_, bodyBytes);
  head_ += "\r\n";
  if (close)
    head_ += "Connection: close\r\n";
  else if (reader_.request().version == 10)
    head_ += "Connection: keep-alive\r\n";
  head_ += "\r\n";
  bufferevent_write(bev_, head_.data(), head_.size());
}

void Connection::respond(int status, std::string_view headerLines, evbuffer* body) {
  if (bev_ == nullptr || state_ != State::handling) return;
  const std::size_t n = body != nullptr ? evbuffer_get_length(body) : 0;
  writeHead(status, headerLines, n, closeAfter_);
  if (body != nullptr) {
    if (headRequest_)
      evbuffer_drain(body, n);
    else
      bufferevent_write_buffer(bev_, body);
  }
  ++served_;
  if (closeAfter_) {
    state_ = State::closing;
    return;
  }
  state_ = State::header;
  headerTimerArmed_ = false;
  reader_.reset();
  // Idle starts when the answer has left (onWrite), so a slow reader of a large answer is not
  // cut off by idle_timeout.
  timer_.del();
  bufferevent_enable(bev_, EV_READ);
  process();  // a pipelined request may be waiting; no-op when called from process() itself
}

void Connection::respondError(int status, std::string_view message, bool close) {
  if (close) closeAfter_ = true;
  scratch_.assign("Content-Type: application/json\r\n");
  const std::string body = codec::errorBody(std::string(message));
  evbuffer* b = evbuffer_new();
  evbuffer_add(b, body.data(), body.size());
  respond(status, scratch_, b);
  evbuffer_free(b);
}

// An error found while reading (bad syntax, limits, the body budget): answered, then the
// connection closes, since the rest of the input cannot be trusted to be framed.
void Connection::failRequest(int status, std::string_view message) {
  state_ = State::handling;
  headRequest_ = false;
  releaseBody();
  respondError(status, message, true);
}

// After the last answer is out: no more writes, and the client's remaining bytes (the rest of an
// oversize body) are read and dropped for lingerTimeout, so the client reads the answer instead
// of a connection reset caused by unread data.
void Connection::startLinger() {
  if (bev_ == nullptr) return;
  state_ = State::lingering;
  ::shutdown(bufferevent_getfd(bev_), SHUT_WR);
  evbuffer* in = bufferevent_get_input(bev_);
  evbuffer_drain(in, evbuffer_get_length(in));
  bufferevent_enable(bev_, EV_READ);
  arm(owner_.limits_.lingerTimeout);
}

bool Connection::reserveBody(std::uint64_t total) {
  if (total <= reserved_) return true;
  if (!owner_.budget_.reserve(total - reserved_)) return false;
  reserved_ = total;
  return true;
}

void Connection::releaseBody() {
  if (reserved_ > 0) owner_.budget_.release(reserved_);
  reserved_ = 0;
}

// Not from ~Connection: that may run while the ConnectionSet is being destroyed.
void Connection::releaseBodyAndMaybeTrim() {
  if (reserved_ >= kTrimAfterBodyBytes) owner_.scheduleTrim();
  releaseBody();
}

void Connection::close() {
  if (bev_ == nullptr) return;
  timer_.del();
  releaseBodyAndMaybeTrim();
  bufferevent_free(bev_);
  bev_ = nullptr;
  owner_.remove(this);
}

ConnectionSet::ConnectionSet(event_base* base, RequestHandler& handler, ConnectionLimits limits, BodyBudget& budget)
    : base_(base),
      handler_(handler),
      limits_(limits),
      budget_(budget),
      trimTimer_(Event::timer(base, &ConnectionSet::onTrim, this)) {}

ConnectionSet::~ConnectionSet() {
  onClosed = nullptr;
  conns_.clear();
}

bool ConnectionSet::adopt(int fd) {
  bufferevent* bev = bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE);
  if (bev == nullptr) {
    ::close(fd);
    return false;
  }
  auto c = std::make_shared<Connection>(*this, bev);
  Connection* raw = c.get();
  conns_.emplace(raw, std::move(c));
  raw->start();
  return true;
}

void ConnectionSet::scheduleTrim() { trimTimer_.add(kTrimDelay); }  // re-armed: 1 s after the last one

void ConnectionSet::onTrim(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<ConnectionSet*>(arg);
  if (self->budget_.used() >= kTrimAfterBodyBytes) {
    self->trimTimer_.add(kTrimDelay);  // large bodies still arriving: they would refill the heap
    return;
  }
  // glibc keeps freed chains of large bodies (many small chunks, in several arenas) as heap;
  // malloc_trim(0) walks every arena and returns whole free pages with madvise.
  ::malloc_trim(0);
}

void ConnectionSet::remove(Connection* c) {
  // The caller holds a reference, so the connection outlives this erase.
  if (conns_.erase(c) > 0 && onClosed) onClosed();
}

}  // namespace ringserve::supervisor::http
