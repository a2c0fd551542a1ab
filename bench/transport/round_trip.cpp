// Small-message round trips across two processes, 64 bytes each way, in three placements:
//  ring:  SupervisorLane -> WorkerEndpoint and back, with the production wake-ups (the worker
//         spins up to --spin-us then sleeps on the futex; the lane sleeps on its eventfd);
//  futex: the floor for a sleeping hand-off: payload in shared memory, FUTEX_WAIT/WAKE each way;
//  uds:   a Unix stream socketpair, blocking read/write.
// Plus the worker's CPU use while idle, which must be ~0 (the spin is bounded).
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>

#include "bench_support.hpp"
#include "registry.hpp"
#include "transport/wake.hpp"

namespace ringserve::bench {
namespace {

using namespace transport;
constexpr std::size_t kPayload = 64;

std::int64_t iterationsFor(Placement p) { return p == Placement::same ? 100'000 : 20'000; }

void ringRoundTrip(benchmark::State& state, Placement p) {
  auto seg = benchSegment(1 << 20);
  const int efd = makeEventFd();
  const std::uint64_t spin = workerSpinNs();
  {
    Child worker(peerCpu(p), [&] { runBenchWorker(seg.fd(), efd, spin); });
    ScopedPin pin(callerCpu(p));
    LaneClient client(seg, efd);
    alignas(64) std::byte src[kPayload], dst[kPayload];
    std::memset(src, 0x5a, sizeof src);
    auto once = [&] {
      client.send(Op::echo, src, kPayload);
      client.flush();
      const Descriptor d = client.receive();
      std::memcpy(dst, client.payload(d).data(), kPayload);
      benchmark::DoNotOptimize(dst);
    };
    for (int i = 0; i < 2000; ++i) once();
    const std::uint64_t laneWakes0 = client.lane().wakeupsSent(), sleeps0 = client.sleeps();
    Samples lat(static_cast<std::size_t>(state.max_iterations));
    for (auto _ : state) {
      const std::uint64_t t0 = monotonicNs();
      once();
      lat.add(monotonicNs() - t0);
    }
    const double n = static_cast<double>(state.iterations());
    state.counters["futex_wakes_per_rt"] = static_cast<double>(client.lane().wakeupsSent() - laneWakes0) / n;
    state.counters["lane_sleeps_per_rt"] = static_cast<double>(client.sleeps() - sleeps0) / n;
    lat.report(state);
    client.quit();
    worker.wait();
  }
  ::close(efd);
}

struct alignas(64) PingPong {
  alignas(64) std::uint32_t ping;
  alignas(64) std::uint32_t pong;
  alignas(64) std::byte req[kPayload];
  alignas(64) std::byte resp[kPayload];
};

void futexWaitFor(std::uint32_t* word, std::uint32_t want) {
  std::uint32_t v;
  while ((v = std::atomic_ref(*word).load(std::memory_order_acquire)) != want)
    ::syscall(SYS_futex, word, FUTEX_WAIT, v, nullptr, nullptr, 0);
}

void futexPost(std::uint32_t* word, std::uint32_t value) {
  std::atomic_ref(*word).store(value, std::memory_order_release);
  ::syscall(SYS_futex, word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

void futexPingPong(benchmark::State& state, Placement p) {
  void* mem = ::mmap(nullptr, sizeof(PingPong), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  auto* sh = new (mem) PingPong{};
  const std::uint32_t total = static_cast<std::uint32_t>(state.max_iterations) + 2000;
  {
    Child peer(peerCpu(p), [&] {
      for (std::uint32_t i = 1; i <= total; ++i) {
        futexWaitFor(&sh->ping, i);
        std::memcpy(sh->resp, sh->req, kPayload);
        futexPost(&sh->pong, i);
      }
    });
    ScopedPin pin(callerCpu(p));
    alignas(64) std::byte buf[kPayload];
    std::memset(buf, 0x5a, sizeof buf);
    std::uint32_t i = 0;
    auto once = [&] {
      ++i;
      std::memcpy(sh->req, buf, kPayload);
      futexPost(&sh->ping, i);
      futexWaitFor(&sh->pong, i);
      std::memcpy(buf, sh->resp, kPayload);
      benchmark::DoNotOptimize(buf);
    };
    for (int k = 0; k < 2000; ++k) once();
    Samples lat(static_cast<std::size_t>(state.max_iterations));
    for (auto _ : state) {
      const std::uint64_t t0 = monotonicNs();
      once();
      lat.add(monotonicNs() - t0);
    }
    lat.report(state);
    while (i < total) once();
    peer.wait();
  }
  ::munmap(mem, sizeof(PingPong));
}

void readFully(int fd, void* p, std::size_t n) {
  auto* c = static_cast<char*>(p);
  while (n > 0) {
    const ssize_t r = ::read(fd, c, n);
    if (r <= 0) ::_exit(5);
    c += r;
    n -= static_cast<std::size_t>(r);
  }
}

void writeFully(int fd, const void* p, std::size_t n) {
  const auto* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t r = ::write(fd, c, n);
    if (r <= 0) ::_exit(5);
    c += r;
    n -= static_cast<std::size_t>(r);
  }
}

void unixSocketRoundTrip(benchmark::State& state, Placement p) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    state.SkipWithError("socketpair failed");
    return;
  }
  {
    Child peer(peerCpu(p), [&] {
      ::close(sv[0]);
      std::byte buf[kPayload];
      for (;;) {
        const ssize_t r = ::read(sv[1], buf, sizeof buf);
        if (r <= 0) return;
        writeFully(sv[1], buf, static_cast<std::size_t>(r));
      }
    });
    ::close(sv[1]);
    ScopedPin pin(callerCpu(p));
    std::byte buf[kPayload];
    std::memset(buf, 0x5a, sizeof buf);
    auto once = [&] {
      writeFully(sv[0], buf, kPayload);
      readFully(sv[0], buf, kPayload);
    };
    for (int k = 0; k < 2000; ++k) once();
    Samples lat(static_cast<std::size_t>(state.max_iterations));
    for (auto _ : state) {
      const std::uint64_t t0 = monotonicNs();
      once();
      lat.add(monotonicNs() - t0);
    }
    lat.report(state);
    ::close(sv[0]);
    peer.wait();
  }
}

// A worker with nothing to do for 300 ms after its last request: its CPU time over that time.
void workerIdleCpu(benchmark::State& state) {
  auto seg = benchSegment(1 << 20);
  const int efd = makeEventFd();
  for (auto _ : state) {
    Child worker(-1, [&] { runBenchWorker(seg.fd(), efd, workerSpinNs()); });
    LaneClient client(seg, efd);
    client.send(Op::ack, nullptr, 0);
    client.flush();
    client.receive();
    const std::uint64_t t0 = monotonicNs();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    client.quit();
    worker.wait();
    const double wall = static_cast<double>(monotonicNs() - t0) / 1e9;
    const auto& u = worker.usage();
    const double cpu = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                       static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
    state.counters["idle_cpu_pct"] = 100.0 * cpu / wall;
  }
  ::close(efd);
}

}  // namespace

void registerRoundTrip() {
  char n[96];
  for (Placement p : {Placement::same, Placement::split, Placement::unpinned}) {
    std::snprintf(n, sizeof n, "round_trip/ring/%s", name(p));
    benchmark::RegisterBenchmark(n, ringRoundTrip, p)->Iterations(iterationsFor(p))->UseRealTime()->Unit(benchmark::kMicrosecond);
    std::snprintf(n, sizeof n, "round_trip/futex/%s", name(p));
    benchmark::RegisterBenchmark(n, futexPingPong, p)->Iterations(iterationsFor(p))->UseRealTime()->Unit(benchmark::kMicrosecond);
    std::snprintf(n, sizeof n, "round_trip/uds/%s", name(p));
    benchmark::RegisterBenchmark(n, unixSocketRoundTrip, p)->Iterations(iterationsFor(p))->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("idle/worker_cpu", workerIdleCpu)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace ringserve::bench
