#include "clients/loadgen/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringserve::loadgen {

bool Connection::open(std::string* error) {
  fd_.reset(::socket(ep_->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  const int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  parser_.reset();
  sendOffset_ = 0;
  if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&ep_->addr), ep_->addrLen) == 0) {
    connecting_ = false;
    return true;
  }
  if (errno == EINPROGRESS) {
    connecting_ = true;
    return true;
  }
  *error = std::string("connect: ") + std::strerror(errno);
  fd_.reset();
  return false;
}

void Connection::send(std::string_view bytes, std::uint64_t tag, std::uint64_t startNs) {
  unsent_.push_back(bytes);
  pending_.push_back({tag, startNs});
}

void Connection::fail(const std::string& why, std::vector<Exchange>& done) {
  fd_.reset();
  connecting_ = false;
  unsent_.clear();
  sendOffset_ = 0;
  parser_.reset();
  for (const Pending& p : pending_) {
    Exchange e;
    e.tag = p.tag;
    e.startNs = p.startNs;
    e.error = why;
    done.push_back(std::move(e));
  }
  pending_.clear();
}

bool Connection::flush(std::vector<Exchange>& done) {
  if (connecting_) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == EINPROGRESS || err == EALREADY) return true;
    if (err != 0) {
      fail(std::string("connect: ") + std::strerror(err), done);
      return false;
    }
    connecting_ = false;
  }
  while (!unsent_.empty()) {
    iovec iov[16];
    int n = 0;
    for (auto it = unsent_.begin(); it != unsent_.end() && n < 16; ++it, ++n) {
      const std::size_t skip = n == 0 ? sendOffset_ : 0;
      iov[n].iov_base = const_cast<char*>(it->data() + skip);
      iov[n].iov_len = it->size() - skip;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = std::size_t(n);
    const ssize_t w = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EINTR) continue;
      fail(std::string("send: ") + std::strerror(errno), done);
      return false;
    }
    auto left = std::size_t(w);
    while (left > 0) {
      const std::size_t rest = unsent_.front().size() - sendOffset_;
      if (left >= rest) {
        left -= rest;
        unsent_.pop_front();
        sendOffset_ = 0;
      } else {
        sendOffset_ += left;
        left = 0;
      }
    }
  }
  return true;
}

void Connection::finishResponse(std::vector<Exchange>& done) {
  Exchange e;
  e.status = parser_.status();
  if (!pending_.empty()) {
    e.tag = pending_.front().tag;
    e.startNs = pending_.front().startNs;
    pending_.pop_front();
  }
  if (keepBody_) {
    e.body = parser_.body();
    e.inferenceHeaderLength = std::string(parser_.header("inference-header-content-length"));
  }
  done.push_back(std::move(e));
}

bool Connection::onReadable(std::vector<Exchange>& done) {
  thread_local char buf[64 * 1024];
  for (;;) {
    const ssize_t r = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EINTR) continue;
      fail(std::string("recv: ") + std::strerror(errno), done);
      return false;
    }
    if (r == 0) {
      parser_.onEof();
      if (parser_.done() && !pending_.empty()) finishResponse(done);
      fail(pending_.empty() ? "closed" : parser_.failed() ? parser_.error() : "connection closed by the server", done);
      return false;
    }
    bytesIn_ += std::uint64_t(r);
    std::size_t pos = 0;
    while (pos < std::size_t(r)) {
      if (pending_.empty()) {
        fail("unexpected data from the server", done);
        return false;
      }
      pos += parser_.feed(buf + pos, std::size_t(r) - pos);
      if (parser_.failed()) {
        fail("bad response: " + parser_.error(), done);
        return false;
      }
      if (!parser_.done()) break;
      const bool keepAlive = parser_.keepAlive();
      finishResponse(done);
      parser_.reset();
      if (!keepAlive) {
        fail("connection closed by the server before the response", done);
        return false;
      }
    }
    if (std::size_t(r) < sizeof buf) return true;  // drained; avoid an extra EAGAIN recv
  }
}

}  // namespace ringserve::loadgen
