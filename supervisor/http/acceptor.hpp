#pragma once
// Accepts connections on one HTTP loop from the shared listening socket. When the process or the
// system is out of descriptors (EMFILE/ENFILE, or the kernel's ENOBUFS/ENOMEM) it stops watching
// the socket for a short backoff instead of spinning on a readable listener, so the loop's other
// events (answers on open connections, the end-of-turn lane flush) keep running; it logs once
// per interval with the count of refusals. It also keeps a reserve of descriptors for the
// supervisor's own needs (worker respawns, the control socket, metrics): descriptors are
// allocated lowest first, so an accepted socket numbered at or above RLIMIT_NOFILE - reserve
// means fewer than `reserve` are left; it is closed at once and accepting backs off the same way.
// Loop thread only.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>

#include "supervisor/event.hpp"

namespace ringserve::supervisor::http {

class Acceptor {
 public:
  // `onSocket(fd)` takes ownership of each accepted non-blocking socket. The Acceptor owns
  // `listenFd` (a dup per loop) and closes it.
  Acceptor(event_base* base, int listenFd, std::function<void(int)> onSocket,
           std::chrono::milliseconds backoff = std::chrono::milliseconds(100));
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void start();
  std::uint64_t backoffs() const { return backoffs_; }
  // The descriptors kept for the supervisor: a quarter of the limit, at most 64.
  static long reserveFor(long limit) { return std::min<long>(64, limit / 4); }

 private:
  static void onReadable(evutil_socket_t, short, void* self);
  static void onBackoffOver(evutil_socket_t, short, void* self);
  void backOff(const char* why);

  int fd_;
  std::function<void(int)> onSocket_;
  std::chrono::milliseconds backoff_;
  long firstReserved_;  // accepted sockets numbered from here on are refused
  Event readable_;
  Event timer_;
  std::uint64_t backoffs_ = 0;      // since start
  std::uint64_t sinceLastLog_ = 0;  // refusals not logged yet
  std::chrono::steady_clock::time_point lastLog_{};
};

}  // namespace ringserve::supervisor::http
