// Tensor bytes through the arena: the lane copies a private buffer into its request arena (the one
// copy: the supervisor decoding a request body into shared memory) and the worker reads it in place
// and answers. About 1 MiB stays in flight (at least two requests, so the copy of one overlaps the
// read of the other): enough that small payloads are not bound by one wake-up each, little enough
// that the blocks cycled through stay in cache as the memcpy baseline's one buffer does.
//  ring/<placement>/<size>:  the worker sums every word in place (a runtime reading its input);
//                            compare with memcpy_then_sum, the same work in one process;
//  ring_touch/...:           the worker checks bounds and reads one word per 4 KiB page: what the
//                            transport itself costs; compare with memcpy.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench_support.hpp"
#include "registry.hpp"
#include "transport/wake.hpp"

namespace ringserve::bench {
namespace {

using namespace transport;
constexpr std::uint64_t kInFlightBytes = 1ULL << 20;
std::uint64_t windowFor(std::uint64_t size) { return std::clamp<std::uint64_t>(kInFlightBytes / size, 2, 64); }

std::uint64_t countFor(std::uint64_t size) {
  if (size <= 64) return 200'000;
  if (size <= (64 << 10)) return 40'000;
  if (size <= (1 << 20)) return 4'000;
  return 40;
}

std::byte* filledBuffer(std::uint64_t size) {
  auto* p = static_cast<std::byte*>(std::aligned_alloc(4096, (size + 4095) / 4096 * 4096));
  std::memset(p, 1, size);
  return p;
}

void throughArena(benchmark::State& state, Placement p, std::uint64_t size, Op op) {
  const std::uint64_t window = windowFor(size);
  // Room for the window plus the allocator's rounding; 256 slots hold the window and its releases.
  auto seg = benchSegment(window * (size + 4096) + (1 << 20), 256);
  const int efd = makeEventFd();
  std::byte* src = filledBuffer(size);
  {
    const std::uint64_t spin = workerSpinNs();
    Child worker(peerCpu(p), [&] { runBenchWorker(seg.fd(), efd, spin); });
    ScopedPin pin(callerCpu(p));
    LaneClient client(seg, efd);
    const std::uint64_t n = countFor(size);
    auto run = [&](std::uint64_t count) {
      std::uint64_t inflight = 0, sum = 0;
      for (std::uint64_t i = 0; i < count; ++i) {
        if (inflight >= window) {
          sum += client.receive().reserved[1];
          --inflight;
        }
        client.send(op, src, size);
        client.flush();
        ++inflight;
      }
      for (; inflight > 0; --inflight) sum += client.receive().reserved[1];
      return sum;
    };
    run(std::min<std::uint64_t>(n / 10 + 2, 1000));  // maps every arena page in both processes
    for (auto _ : state) {
      const std::uint64_t t0 = monotonicNs();
      benchmark::DoNotOptimize(run(n));
      const double secs = static_cast<double>(monotonicNs() - t0) / 1e9;
      state.counters["GBps"] = static_cast<double>(n * size) / secs / 1e9;
      state.counters["us_per_msg"] = secs * 1e6 / static_cast<double>(n);
      state.counters["window"] = static_cast<double>(window);
    }
    const double msgs = static_cast<double>(state.iterations() * countFor(size));
    state.counters["lane_sleeps_per_msg"] = static_cast<double>(client.sleeps()) / msgs;
    state.counters["worker_futex_wakes_per_msg"] = static_cast<double>(client.lane().wakeupsSent()) / msgs;
    client.quit();
    worker.wait();
  }
  std::free(src);
  ::close(efd);
}

void memcpyBaseline(benchmark::State& state, std::uint64_t size, bool thenSum) {
  ScopedPin pin(0);
  std::byte* src = filledBuffer(size);
  std::byte* dst = filledBuffer(size);
  const std::uint64_t n = countFor(size);
  for (auto _ : state) {
    const std::uint64_t t0 = monotonicNs();
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      std::memcpy(dst, src, size);
      benchmark::ClobberMemory();
      if (thenSum) {
        const auto* w = reinterpret_cast<const std::uint64_t*>(dst);
        for (std::size_t k = 0; k < size / 8; ++k) sum += w[k];
      }
    }
    benchmark::DoNotOptimize(sum);
    const double secs = static_cast<double>(monotonicNs() - t0) / 1e9;
    state.counters["GBps"] = static_cast<double>(n * size) / secs / 1e9;
    state.counters["us_per_msg"] = secs * 1e6 / static_cast<double>(n);
  }
  std::free(src);
  std::free(dst);
}

}  // namespace

void registerPayload() {
  for (std::uint64_t size : {std::uint64_t{64}, std::uint64_t{64} << 10, std::uint64_t{1} << 20, std::uint64_t{64} << 20}) {
    char n[96];
    for (Placement p : {Placement::split, Placement::same}) {
      std::snprintf(n, sizeof n, "payload/ring/%s/%llu", name(p), static_cast<unsigned long long>(size));
      benchmark::RegisterBenchmark(n, throughArena, p, size, Op::sum)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
      std::snprintf(n, sizeof n, "payload/ring_touch/%s/%llu", name(p), static_cast<unsigned long long>(size));
      benchmark::RegisterBenchmark(n, throughArena, p, size, Op::touch)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
    }
    std::snprintf(n, sizeof n, "payload/memcpy/%llu", static_cast<unsigned long long>(size));
    benchmark::RegisterBenchmark(n, memcpyBaseline, size, false)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
    std::snprintf(n, sizeof n, "payload/memcpy_then_sum/%llu", static_cast<unsigned long long>(size));
    benchmark::RegisterBenchmark(n, memcpyBaseline, size, true)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
  }
}

}  // namespace ringserve::bench
