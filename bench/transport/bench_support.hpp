#pragma once
// What every transport benchmark needs: CPU placement, a forked peer process, latency
// percentiles, and both ends of the transport driven the way the worker and a supervisor lane
// drive them (the lane sleeps on its eventfd as libevent would; the worker spins briefly, then
// sleeps on the futex).
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "transport/endpoint.hpp"

namespace ringserve::bench {

// Where the two processes run. `same`: both on CPU 0 (every wake-up is a context switch on one
// vCPU); `split`: caller on CPU 0, peer on CPU 1 (every sleeping wake-up is a cross-vCPU IPI);
// `unpinned`: the scheduler decides, as in production.
enum class Placement { same, split, unpinned };
const char* name(Placement p);
int callerCpu(Placement p);
int peerCpu(Placement p);

// Pins the calling thread for its lifetime and restores the previous affinity afterwards.
class ScopedPin {
 public:
  explicit ScopedPin(int cpu);
  ~ScopedPin();
  ScopedPin(const ScopedPin&) = delete;
  ScopedPin& operator=(const ScopedPin&) = delete;

 private:
  cpu_set_t saved_;
  bool pinned_ = false;
};

// `body` run in a forked child pinned to `cpu` (-1: unpinned). Move-only; the destructor reaps it
// (after SIGKILL if it is still running when the benchmark gave up on it).
class Child {
 public:
  Child(int cpu, const std::function<void()>& body);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // Waits for the exit; the child's CPU time is then in usage().
  int wait();
  const rusage& usage() const { return usage_; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  rusage usage_{};
};

// Per-iteration latencies; report() sets p50_us / p99_us / p999_us counters.
class Samples {
 public:
  explicit Samples(std::size_t expected) { ns_.reserve(expected); }
  void add(std::uint64_t ns) { ns_.push_back(ns); }
  void report(benchmark::State& state);

 private:
  std::vector<std::uint64_t> ns_;
};

// What a request asks the bench worker to do (Descriptor::reserved[0]).
enum class Op : std::uint64_t {
  echo = 1,  // copy the payload into a response block (freed on release)
  sum = 2,   // read the payload in place (sum its 64-bit words); answer with the sum, no block
  sink = 3,  // consume, no answer
  ack = 4,   // answer with an empty response
  quit = 5,  // answer with the worker's counters (wake-ups sent, sleeps) and exit
  touch = 6, // check the payload's bounds and read one word per 4 KiB page: the transport's own cost
};

// The worker's loop, as ringserve-worker runs it: opens the inherited segment fd, serves every
// lane until quit. `spinNs` is the worker's --spin-us.
void runBenchWorker(int segmentFd, int laneEventFd, std::uint64_t spinNs);

// The lane's side: allocates and fills request blocks, posts, flushes, sleeps on the eventfd when
// nothing has arrived (after armWait), frees request blocks on the answer and releases response
// blocks.
class LaneClient {
 public:
  LaneClient(const transport::Segment& segment, int eventFd);
  // Allocates `bytes`, copies `src` in (nullptr: leaves the block as it is), posts; no flush.
  void send(Op op, const void* src, std::uint64_t bytes);
  void flush() { lane_.flush(); }
  // The next answer, sleeping for it if needed. Its request block is freed and its response
  // block released (the release goes out with the next flush).
  transport::Descriptor receive();
  bool tryReceive(transport::Descriptor& out);
  // The block of an answer to `echo` (valid until the next flush).
  std::span<const std::byte> payload(const transport::Descriptor& d) const;
  // Quits the worker; returns its wake-ups sent and sleeps.
  std::pair<std::uint64_t, std::uint64_t> quit();
  transport::SupervisorLane& lane() { return lane_; }
  std::uint64_t sleeps() const { return sleeps_; }

 private:
  void settle(const transport::Descriptor& d);

  transport::SupervisorLane lane_;
  std::unordered_map<std::uint64_t, std::uint64_t> requestBlocks_;  // tag -> offset
  std::uint64_t nextTag_ = 1;
  std::uint64_t sleeps_ = 0;
};

// A segment for benchmarks: one lane, `arenaBytes` per arena.
transport::Segment benchSegment(std::uint64_t arenaBytes, std::uint32_t ringSlots = 1024);

// The worker's spin before sleeping, in ns: RINGSERVE_BENCH_SPIN_US, default the worker's 20 us.
std::uint64_t workerSpinNs();

}  // namespace ringserve::bench
