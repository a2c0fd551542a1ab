#pragma once
// One accepted control connection on the main loop: reads length-prefixed requests (at most
// kMaxRequestFrame each), runs them one at a time through the server's handler, writes replies in
// order. A malformed, oversized or truncated request gets an error reply, then the connection (and
// only it) is closed once the reply is written. While a command runs the socket is not read, so a
// client cannot make the server buffer more than one request ahead.
//
// Idle timeout: whenever no command runs (after accept, after each reply) a one-shot timer is armed
// and only a complete request disarms it; bytes of an unfinished request do not re-arm it, so a peer
// dribbling a frame cannot hold the connection. On expiry a connection with half a request gets an
// error reply, any other is closed without one.
//
// Ownership: the ControlServer holds the shared_ptr; replies arrive through weak_ptrs, so an
// operation that finishes after the connection (or the server) is gone is dropped.
#include <event2/event.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "protocol/control/control_protocol.hpp"
#include "supervisor/event.hpp"
#include "transport/frame.hpp"
#include "transport/unique_fd.hpp"

namespace ringserve::supervisor::control {

// The messages are the shared protocol target's (protocol/control), which names no server type.
using namespace ringserve::control;

struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
};

class ControlConnection : public std::enable_shared_from_this<ControlConnection> {
 public:
  using ReplyFn = std::function<void(Reply)>;
  // Runs one command; `reply` may be called at once or later on the main loop, exactly once.
  using Handler = std::function<void(const Command&, const Peer&, ReplyFn reply)>;
  using Closed = std::function<void(std::uint64_t id)>;

  ControlConnection(event_base* base, transport::UniqueFd fd, Peer peer, std::uint64_t id,
                    std::chrono::milliseconds idleTimeout, Handler handler, Closed closed);
  ~ControlConnection();
  ControlConnection(const ControlConnection&) = delete;
  ControlConnection& operator=(const ControlConnection&) = delete;

  // Starts reading. Call once, after the shared_ptr exists.
  void start();
  // Sends `message` as an error reply, then closes (refused peers, too many connections).
  void refuse(const std::string& message);
  // Closes at once without a reply (server shutdown).
  void close();

  const Peer& peer() const { return peer_; }
  // No command is running: closing it loses no operation (the server evicts such a connection to
  // make room for a new one).
  bool idle() const { return !busy_ && !isClosed_; }

 private:
  static void onReadable(evutil_socket_t, short what, void* self);
  static void onWritable(evutil_socket_t, short, void* self);
  static void onIdleTimeout(evutil_socket_t, short, void* self);
  void armIdleTimer();
  void readSome();
  void runBufferedRequests();
  void onReply(const Reply& r);
  void queueReply(const Reply& r);
  void failAndClose(const std::string& message);
  void flush();

  event_base* base_;
  transport::UniqueFd fd_;
  Peer peer_;
  std::uint64_t id_;
  Handler handler_;
  Closed closed_;
  Event readEvent_;
  Event writeEvent_;
  Event idleTimer_;
  timeval idleTimeout_{};
  transport::StreamFrameDecoder decoder_{kMaxRequestFrame};
  std::vector<std::byte> out_;
  std::size_t outPos_ = 0;
  bool busy_ = false;     // a command is running; further requests wait in the decoder
  bool running_ = false;  // inside runBufferedRequests (a reply given at once must not recurse)
  bool closing_ = false;  // close once out_ is written
  bool isClosed_ = false;
};

}  // namespace ringserve::supervisor::control
