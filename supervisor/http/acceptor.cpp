#include "supervisor/http/acceptor.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

namespace ringserve::supervisor::http {

namespace {
// Connections taken per readable event: others' events get their turn between batches.
constexpr int kAcceptBatch = 32;
constexpr auto kLogInterval = std::chrono::seconds(5);
}  // namespace

Acceptor::Acceptor(event_base* base, int listenFd, std::function<void(int)> onSocket, std::chrono::milliseconds backoff)
    : fd_(listenFd),
      onSocket_(std::move(onSocket)),
      backoff_(backoff),
      firstReserved_(std::numeric_limits<long>::max()),
      readable_(base, listenFd, EV_READ | EV_PERSIST, &onReadable, this),
      timer_(Event::timer(base, &onBackoffOver, this)) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    const auto limit = static_cast<long>(rl.rlim_cur);
    firstReserved_ = limit - reserveFor(limit);
  }
}

Acceptor::~Acceptor() {
  readable_.reset();
  timer_.reset();
  if (fd_ >= 0) ::close(fd_);
}

void Acceptor::start() { readable_.add(); }

void Acceptor::onReadable(evutil_socket_t, short, void* self) {
  auto* a = static_cast<Acceptor*>(self);
  for (int i = 0; i < kAcceptBatch; ++i) {
    const int fd = ::accept4(a->fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= a->firstReserved_) {
      ::close(fd);
      a->backOff("the descriptors kept for workers and the control socket are all that is left");
      return;
    }
    if (fd >= 0) {
      a->onSocket_(fd);
      continue;
    }
    const int err = errno;
    if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) a->backOff(std::strerror(err));
    // EAGAIN: the backlog is empty (another loop may have taken the connection).
    return;
  }
}

void Acceptor::backOff(const char* why) {
  readable_.del();
  timer_.add(std::chrono::duration_cast<std::chrono::microseconds>(backoff_));
  ++backoffs_;
  ++sinceLastLog_;
  const auto now = std::chrono::steady_clock::now();
  if (now - lastLog_ >= kLogInterval) {
    spdlog::warn(
        "accept: {}; not accepting for {} ms at a time ({} time{} since the last report); open "
        "connections keep being served",
        why, backoff_.count(), sinceLastLog_, sinceLastLog_ == 1 ? "" : "s");
    lastLog_ = now;
    sinceLastLog_ = 0;
  }
}

void Acceptor::onBackoffOver(evutil_socket_t, short, void* self) { static_cast<Acceptor*>(self)->start(); }

}  // namespace ringserve::supervisor::http
