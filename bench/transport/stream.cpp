// Many small requests through one lane:
//  pipelined: request/answer pairs with `window` in flight; the lane flushes once per turn of its
//             loop (when the window is full) and the worker once per batch it drained, so the
//             wake-ups per request fall far below one as the window grows.
//  one_way:   descriptors the worker consumes without answering, flushed every 64: the rings' raw
//             rate (the lane yields when the ring is full: only this benchmark fills it).
#include <cstdint>
#include <cstdio>

#include "bench_support.hpp"
#include "registry.hpp"
#include "transport/wake.hpp"

namespace ringserve::bench {
namespace {

using namespace transport;

void pipelined(benchmark::State& state, Placement p, std::uint32_t window, std::uint64_t requests) {
  auto seg = benchSegment(1 << 20, 1024);
  const int efd = makeEventFd();
  {
    const std::uint64_t spin = workerSpinNs();
    Child worker(peerCpu(p), [&] { runBenchWorker(seg.fd(), efd, spin); });
    ScopedPin pin(callerCpu(p));
    LaneClient client(seg, efd);
    for (auto _ : state) {
      std::uint64_t inflight = 0;
      Descriptor d{};
      const std::uint64_t t0 = monotonicNs();
      for (std::uint64_t i = 0; i < requests; ++i) {
        if (inflight >= window) {
          client.flush();
          client.receive();
          --inflight;
          while (client.tryReceive(d)) --inflight;
        }
        client.send(Op::ack, nullptr, 0);
        ++inflight;
      }
      client.flush();
      for (; inflight > 0; --inflight) client.receive();
      const double secs = static_cast<double>(monotonicNs() - t0) / 1e9;
      state.counters["requests_per_s"] = static_cast<double>(requests) / secs;
      state.counters["ns_per_request"] = secs * 1e9 / static_cast<double>(requests);
    }
    const auto [workerWakes, workerSleeps] = client.quit();
    const auto n = static_cast<double>(requests);
    state.counters["lane_wakes_worker_per_req"] = static_cast<double>(client.lane().wakeupsSent()) / n;
    state.counters["worker_wakes_lane_per_req"] = static_cast<double>(workerWakes) / n;
    state.counters["worker_sleeps_per_req"] = static_cast<double>(workerSleeps) / n;
    worker.wait();
  }
  ::close(efd);
}

void oneWay(benchmark::State& state, Placement p, std::uint64_t descriptors) {
  auto seg = benchSegment(1 << 20, 1024);
  const int efd = makeEventFd();
  {
    const std::uint64_t spin = workerSpinNs();
    Child worker(peerCpu(p), [&] { runBenchWorker(seg.fd(), efd, spin); });
    ScopedPin pin(callerCpu(p));
    LaneClient client(seg, efd);
    for (auto _ : state) {
      const std::uint64_t t0 = monotonicNs();
      for (std::uint64_t i = 1; i <= descriptors; ++i) {
        client.send(Op::sink, nullptr, 0);
        if (i % 64 == 0) client.flush();
      }
      client.send(Op::ack, nullptr, 0);  // answered once everything before it was consumed
      client.flush();
      client.receive();
      const double secs = static_cast<double>(monotonicNs() - t0) / 1e9;
      state.counters["descriptors_per_s"] = static_cast<double>(descriptors) / secs;
    }
    client.quit();
    worker.wait();
  }
  ::close(efd);
}

}  // namespace

void registerStream() {
  char n[96];
  for (Placement p : {Placement::same, Placement::split}) {
    for (std::uint32_t window : {1u, 4u, 16u, 64u, 256u}) {
      std::snprintf(n, sizeof n, "stream/pipelined/%s/window:%u", name(p), window);
      const std::uint64_t requests = window == 1 ? (p == Placement::same ? 100'000 : 20'000) : 1'000'000;
      benchmark::RegisterBenchmark(n, pipelined, p, window, requests)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
    }
    std::snprintf(n, sizeof n, "stream/one_way/%s", name(p));
    benchmark::RegisterBenchmark(n, oneWay, p, 4'000'000)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
  }
}

}  // namespace ringserve::bench
