#include "transport/wake.hpp"

#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace ringserve::transport {

void futexWait(std::uint32_t* word, std::uint32_t expected, std::int64_t timeoutNs) {
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeoutNs >= 0) {
    ts.tv_sec = timeoutNs / 1'000'000'000;
    ts.tv_nsec = timeoutNs % 1'000'000'000;
    tsp = &ts;
  }
  ::syscall(SYS_futex, word, FUTEX_WAIT, expected, tsp, nullptr, 0);
}

void futexWakeAll(std::uint32_t* word) { ::syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0); }

int makeEventFd() { return ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

void eventFdNotify(int fd) {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is saturated: the reader is already due to wake.
  while (::write(fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void eventFdDrain(int fd) {
  std::uint64_t v;
  while (::read(fd, &v, sizeof v) < 0 && errno == EINTR) {
  }
}

std::uint64_t monotonicNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace ringserve::transport
