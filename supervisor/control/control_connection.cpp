#include "supervisor/control/control_connection.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <cerrno>

namespace ringserve::supervisor::control {

namespace {
// A connection that sends nothing for this long between requests is closed: `ringserve ctl` sends
// its request at once, so this only frees slots held by stuck or idle clients.
constexpr timeval kIdleTimeout{120, 0};
}  // namespace

ControlConnection::ControlConnection(event_base* base, transport::UniqueFd fd, Peer peer, std::uint64_t id, Handler handler,
                                     Closed closed)
    : base_(base), fd_(std::move(fd)), peer_(peer), id_(id), handler_(std::move(handler)), closed_(std::move(closed)) {
  readEvent_ = Event(base_, fd_.get(), EV_READ | EV_PERSIST, &ControlConnection::onReadable, this);
  writeEvent_ = Event(base_, fd_.get(), EV_WRITE | EV_PERSIST, &ControlConnection::onWritable, this);
}

ControlConnection::~ControlConnection() = default;

void ControlConnection::start() { readEvent_.add(kIdleTimeout); }

void ControlConnection::onReadable(evutil_socket_t, short what, void* arg) {
  auto self = static_cast<ControlConnection*>(arg)->shared_from_this();  // survives close()
  if (what & EV_TIMEOUT) {
    if (self->decoder_.buffered() > 0)
      self->failAndClose("timed out waiting for the rest of a control request");
    else
      self->close();
    return;
  }
  self->readSome();
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
      failAndClose("truncated control request: the connection was closed after " +
                   std::to_string(decoder_.buffered()) + " bytes of an unfinished message");
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
    readEvent_.add(kIdleTimeout);
}

void ControlConnection::onReply(const Reply& r) {
  if (isClosed_ || !busy_) return;
  busy_ = false;
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
  fd_.reset();
  if (closed_) closed_(id_);
}

}  // namespace ringserve::supervisor::control
