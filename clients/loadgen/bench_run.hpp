#pragma once
// One measured run of `ringserve bench`: threads, each with an epoll loop over its share of the
// connections, sending one prebuilt request over and over. Closed loop keeps `concurrency`
// requests in flight; open loop sends at a fixed rate and measures latency from each request's
// *scheduled* time, so a stalled server is charged for the requests it delayed (coordinated
// omission correction, as wrk2 does).
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "clients/loadgen/histogram.hpp"
#include "clients/loadgen/url.hpp"

namespace ringserve::loadgen {

struct RunSpec {
  const Endpoint* endpoint = nullptr;
  std::string request;       // the complete HTTP request, written as-is
  unsigned concurrency = 1;  // closed loop: requests in flight; open loop: cap on in-flight
  unsigned connections = 1;  // closed loop: may be < concurrency (then requests are pipelined)
  unsigned threads = 1;
  double rate = 0;             // requests/s; 0 = closed loop
  double durationS = 10;       // measured time, unless `requests` is set
  std::uint64_t requests = 0;  // measured requests (after warm-up); 0 = use durationS
  double warmupS = 0;          // not measured
  double timeoutS = 30;        // per request, and for the final drain
};

// What one interval (second) of the run saw, by completion time.
struct Interval {
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  Histogram latency;  // of the ok requests
};

struct RunResult {
  std::uint64_t sent = 0;                            // measured requests started
  std::uint64_t ok = 0;                              // 2xx
  std::map<int, std::uint64_t> httpErrors;           // status -> count (non-2xx)
  std::map<std::string, std::uint64_t> otherErrors;  // no HTTP response: reason -> count
  Histogram latency;                                 // ok requests only
  std::vector<Interval> timeline;                    // one per second of the measured phase
  double elapsedS = 0;                               // measured phase: start to last completion
  std::uint64_t bytesIn = 0;

  std::uint64_t errors() const;
  double rps() const { return elapsedS > 0 ? double(ok + errors()) / elapsedS : 0; }
};

// Live counters for the progress line; each written by its thread only.
struct LiveCounters {
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> errors{0};
};

using ProgressFn = std::function<void(double elapsed, std::uint64_t ok, std::uint64_t errors)>;

// One thread's share of a run, REST's (bench_run.cpp) or gRPC's (grpc_bench.cpp): run() on a thread
// of its own, result() and lastCompletionNs() once it has returned.
class LoadThread {
 public:
  virtual ~LoadThread() = default;
  virtual void run() = 0;
  virtual RunResult& result() = 0;
  virtual std::uint64_t lastCompletionNs() const = 0;
};

// Runs each of `workers` on a thread, calls `progress` (if set) about once a second with the totals
// of `live`, joins them, rethrows the first exception a thread threw, and sums their results over
// the measured phase that starts at `measureStart`.
RunResult runLoadThreads(const std::vector<std::unique_ptr<LoadThread>>& workers, const std::vector<LiveCounters>& live,
                         std::uint64_t runStart, std::uint64_t measureStart, const ProgressFn& progress);

// Runs the spec; `progress`, if set, is called about once a second from the calling thread with
// the seconds elapsed since the measured phase began (negative during warm-up) and the totals
// completed so far. Throws LoadgenError if a thread cannot set up its loop.
RunResult runBench(const RunSpec& spec, const ProgressFn& progress);

std::uint64_t monotonicNs();

}  // namespace ringserve::loadgen
