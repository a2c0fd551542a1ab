#include "supervisor/control/control_connection.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <cerrno>

namespace ringserve::supervisor::control {

ControlConnection::ControlConnection(event_base* base, transport::UniqueFd fd, Peer peer, std::uint64_t id,
                                     std::chrono::milliseconds idleTimeout, Handler handler, Closed closed)
    : base_(base), fd_(std::move(fd)), peer_(peer), id_(id), handler_(std::move(handler)), closed_(std::move(closed)) {
  readEvent_ = Event(base_, fd_.get(), EV_READ | EV_PERSIST, &ControlConnection::onReadable, this);
  writeEvent_ = Event(base_, fd_.get(), EV_WRITE | EV_PERSIST, &ControlConnection::onWritable, this);
  idleTimer_ = Event::timer(base_, &ControlConnection::onIdleTimeout, this);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(idleTimeout).count();
  idleTimeout_ = timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

ControlConnection::~ControlConnection() = default;

void ControlConnection::start() {
  readEvent_.add();
  armIdleTimer();
}

void ControlConnection::armIdleTimer() { idleTimer_.add(idleTimeout_); }

void ControlConnection::onReadable(evutil_socket_t, short, void* arg) {
  auto self = static_cast<ControlConnection*>(arg)->shared_from_this();  // survives close()
  self->readSome();
}

void ControlConnection::onIdleTimeout(evutil_socket_t, short, void* arg) {
  auto self = static_cast<ControlConnection*>(arg)->shared_from_this();
  if (self->closing_ || self->decoder_.buffered() == 0) {
    // Silent, or an error reply the peer never read: nothing more to say.
    spdlog::debug("control socket: closing the idle connection of pid {}", self->peer_.pid);
    self->close();
    return;
  }
  self->failAndClose("timed out waiting for the rest of a control request");
}

void ControlConnection::onWritable(evutil_socket_t, short, void* arg) {
  auto self = static_cast<ControlConnection*>(arg)->shared_from_this();
  self->flush();
}

void ControlConnection::readSome() {
  std::byte buf[16384];
  const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    close();
    return;
  }
  if (n == 0) {
    readEvent_.del();
    if (decoder_.buffered() > 0) {
      // The peer may have only shut down its sending side, so the error can still reach it.
      failAndClose("truncated control request: the connection was closed after " + std::to_string(decoder_.buffered()) +
                   " bytes of an unfinished message");
    } else if (outPos_ < out_.size()) {
      closing_ = true;
    } else {
      close();
    }
    return;
  }
  decoder_.feed(std::span<const std::byte>(buf, static_cast<std::size_t>(n)));
  runBufferedRequests();
}

void ControlConnection::runBufferedRequests() {
  if (running_) return;
  running_ = true;
  while (!busy_ && !closing_ && !isClosed_) {
    auto frame = decoder_.next();
    if (!frame) {
      failAndClose("control request rejected: " + frame.error().message);
      break;
    }
    if (!frame.value()) break;
    auto command = decodeCommand(std::move(*frame.value()));
    if (!command) {
      failAndClose(command.error().message);
      break;
    }
    busy_ = true;
    idleTimer_.del();  // a running command is not idle, however long it takes
    std::weak_ptr<ControlConnection> weak = weak_from_this();
    handler_(command.value(), peer_, [weak](Reply r) {
      if (auto c = weak.lock()) c->onReply(r);
    });
  }
  running_ = false;
  if (isClosed_ || closing_) return;
  if (busy_)
    readEvent_.del();
  else
    readEvent_.add();
}

void ControlConnection::onReply(const Reply& r) {
  if (isClosed_ || !busy_) return;
  busy_ = false;
  armIdleTimer();  // the next request must be complete within the timeout
  queueReply(r);
  if (!running_) runBufferedRequests();  // requests that arrived while this one ran
}

void ControlConnection::queueReply(const Reply& r) {
  if (isClosed_) return;
  capnp::MallocMessageBuilder message;
  buildReply(r, message);
  auto bytes = transport::encodeStreamFrame(message);
  if (bytes.size() - 4 > kMaxReplyFrame) {
    capnp::MallocMessageBuilder small;
    buildReply(Reply::error("the reply (" + std::to_string(bytes.size()) + " bytes) exceeds the limit of " +
                            std::to_string(kMaxReplyFrame) + " bytes"),
               small);
    bytes = transport::encodeStreamFrame(small);
  }
  out_.insert(out_.end(), bytes.begin(), bytes.end());
  flush();
}

void ControlConnection::failAndClose(const std::string& message) {
  spdlog::warn("control socket: closing the connection of pid {} (uid {}): {}", peer_.pid, peer_.uid, message);
  refuse(message);
}

void ControlConnection::refuse(const std::string& message) {
  if (isClosed_) return;
  closing_ = true;
  readEvent_.del();
  armIdleTimer();  // a peer that never reads the error cannot keep the connection
  queueReply(Reply::error(message));
}

void ControlConnection::flush() {
  while (!isClosed_ && outPos_ < out_.size()) {
    const ssize_t n = ::send(fd_.get(), out_.data() + outPos_, out_.size() - outPos_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        writeEvent_.add();
        return;
      }
      close();  // the peer is gone; nothing else to tell it
      return;
    }
    outPos_ += static_cast<std::size_t>(n);
  }
  if (isClosed_) return;
  out_.clear();
  outPos_ = 0;
  writeEvent_.del();
  if (closing_) close();
}

void ControlConnection::close() {
  if (isClosed_) return;
  isClosed_ = true;
  readEvent_.reset();
  writeEvent_.reset();
  idleTimer_.reset();
  fd_.reset();
  if (closed_) closed_(id_);
}

}  // namespace ringserve::supervisor::control
