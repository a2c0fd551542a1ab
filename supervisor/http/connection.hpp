#pragma once
// One client's HTTP/1.1 connection on an HTTP loop: a libevent bufferevent, the RequestReader,
// the timers, and the response framing. The state machine is in README.md.
//
// Ownership and threads: a ConnectionSet (one per loop) owns its connections by shared_ptr;
// libevent callbacks hold a reference while they run, so a connection may close itself from
// any of them. A request's answer may come later (inference): the handler keeps a
// weak_ptr and answers through respond(), which is ignored once the connection is gone. Loop
// thread only.
#include <event2/bufferevent.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "supervisor/event.hpp"
#include "supervisor/http/request_reader.hpp"

namespace ringserve::supervisor::http {

struct ConnectionLimits {
  ReaderLimits reader;
  // header_timeout: first byte to end of header; also how long a body or an answer being written
  // may stall.
  std::chrono::milliseconds headerTimeout{30000};
  std::chrono::milliseconds idleTimeout{5000};    // idle_timeout: between requests, once the answer is out
  std::chrono::milliseconds lingerTimeout{2000};  // reading and discarding after an error reply
};

// Bytes of request bodies held by all loops together (max_inflight_body_bytes).
class BodyBudget {
 public:
  explicit BodyBudget(std::uint64_t limit) : limit_(limit) {}
  bool reserve(std::uint64_t n);
  void release(std::uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  std::uint64_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  const std::uint64_t limit_;
  std::atomic<std::uint64_t> used_{0};
};

class Connection;

// What a connection hands a whole request to. Called on the loop thread; the handler answers
// with Connection::respond exactly once, now or later. The body is valid until the call
// returns (the connection drains it then: whatever reads it, e.g. the decoder, reads it in the
// call).
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual void onRequest(const std::shared_ptr<Connection>& conn, ParsedRequest& request, evbuffer* body) = 0;
};

class ConnectionSet;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ConnectionSet& owner, bufferevent* bev);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // The answer to the request being handled. `headerLines` are complete "Name: value\r\n" lines
  // (build them in headerScratch()); Content-Length and Connection are added here. `body` is
  // moved out (by chain; referenced spans stay by reference); HEAD requests get the head only.
  void respond(int status, std::string_view headerLines, evbuffer* body);
  // A JSON {"error": message} answer, closing the connection when `close`.
  void respondError(int status, std::string_view message, bool close);
  std::string& headerScratch() { return scratch_; }
  bool open() const { return bev_ != nullptr; }

 private:
  enum class State { header, body, handling, closing, lingering };
  static void onRead(bufferevent*, void* self);
  static void onWrite(bufferevent*, void* self);
  static void onEvent(bufferevent*, short what, void* self);
  static void onTimer(evutil_socket_t, short, void* self);
  void process();
  bool step();
  void beginRequest();
  void dispatch();
  void failRequest(int status, std::string_view message);
  void writeHead(int status, std::string_view headerLines, std::size_t bodyBytes, bool close);
  void startLinger();
  void close();
  void arm(std::chrono::milliseconds after);
  bool reserveBody(std::uint64_t total);
  void releaseBody();
  void releaseBodyAndMaybeTrim();

  ConnectionSet& owner_;
  bufferevent* bev_;
  RequestReader reader_;
  Event timer_;
  State state_ = State::header;
  bool processing_ = false;
  bool closeAfter_ = false;
  bool headRequest_ = false;
  bool headerTimerArmed_ = false;
  bool writePaused_ = false;
  std::uint64_t reserved_ = 0;  // of the body budget
  std::uint64_t served_ = 0;    // requests answered on this connection
  std::string head_;            // the response head being written (capacity kept)
  std::string scratch_;         // header lines a handler builds (capacity kept)
};

// The connections of one HTTP loop.
class ConnectionSet {
 public:
  ConnectionSet(event_base* base, RequestHandler& handler, ConnectionLimits limits, BodyBudget& budget);
  ~ConnectionSet();
  ConnectionSet(const ConnectionSet&) = delete;
  ConnectionSet& operator=(const ConnectionSet&) = delete;

  // Takes a connected, non-blocking socket; false (fd closed) when libevent cannot set it up.
  bool adopt(int fd);
  std::size_t size() const { return conns_.size(); }
  // Called when a connection closes (the listener's count), with the set still consistent.
  std::function<void()> onClosed;

 private:
  friend class Connection;
  void remove(Connection* c);
  void scheduleTrim();
  static void onTrim(evutil_socket_t, short, void* self);

  event_base* base_;
  RequestHandler& handler_;
  ConnectionLimits limits_;
  BodyBudget& budget_;
  std::unordered_map<Connection*, std::shared_ptr<Connection>> conns_;
  // One-shot: malloc_trim once the loop has seen no large body for a while (README.md, "Memory").
  Event trimTimer_;
};

}  // namespace ringserve::supervisor::http
