#pragma once
// Sleeping and waking across processes. The worker sleeps on a futex word in the segment header
// (shared, not FUTEX_PRIVATE); a supervisor lane sleeps in its event loop on an eventfd the worker
// inherited. Either side wakes the other only if the other said it may be asleep, so a busy peer
// costs no syscall (see SupervisorLane / WorkerEndpoint for the protocol).
#include <cstdint>

namespace ringserve::transport {

// FUTEX_WAIT on a shared word: returns when *word != expected, on a wake, or after timeoutNs
// (negative = no timeout). Spurious returns are allowed; callers re-check their condition.
void futexWait(std::uint32_t* word, std::uint32_t expected, std::int64_t timeoutNs);
void futexWakeAll(std::uint32_t* word);

// eventfd helpers (EFD_NONBLOCK | EFD_CLOEXEC). notify() never blocks; drain() resets the counter.
int makeEventFd();
void eventFdNotify(int fd);
void eventFdDrain(int fd);

// `pause` on x86, a yield hint elsewhere.
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

std::uint64_t monotonicNs();

}  // namespace ringserve::transport
