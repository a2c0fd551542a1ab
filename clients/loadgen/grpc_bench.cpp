#include "clients/loadgen/grpc_bench.hpp"

#include <algorithm>
#include <atomic>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

#include "clients/loadgen/grpc_calls.hpp"
#include "clients/loadgen/grpc_codec.hpp"

namespace ringserve::loadgen {
namespace {

constexpr std::uint64_t kSecond = 1'000'000'000ULL;
constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

std::chrono::system_clock::time_point inNs(std::uint64_t ns) {
  return std::chrono::system_clock::now() + std::chrono::nanoseconds(ns);
}

// One thread's share of the run; everything here is touched by that thread only, but `live`.
class GrpcBenchThread final : public LoadThread {
 public:
  GrpcBenchThread(const GrpcRunSpec& spec, unsigned concurrency, double intervalNs, std::uint64_t firstDue,
                  std::uint64_t quota, std::uint64_t runStart, LiveCounters& live)
      : spec_(spec),
        concurrency_(std::max(concurrency, 1u)),
        intervalNs_(intervalNs),
        quota_(quota),
        live_(live),
        calls_(grpcChannel(spec.target)),
        slice_(spec.request) {
    measureStart_ = runStart + std::uint64_t(spec.warmupS * 1e9);
    stopAt_ = spec.requests ? kNever : measureStart_ + std::uint64_t(spec.durationS * 1e9);
    nextDue_ = firstDue;
    runStart_ = runStart;
  }

  void run() override {
    while (monotonicNs() < runStart_) std::this_thread::yield();
    AsyncInferCalls::Finished f;
    for (;;) {
      std::uint64_t now = monotonicNs();
      issue(now);
      if (!mayIssue(now) && calls_.inFlight() == 0) break;
      std::uint64_t wait = 50'000'000;  // re-check the clock for the end of the phase
      if (intervalNs_ > 0 && nextDue_ > now) wait = std::min(wait, nextDue_ - now);
      if (calls_.next(inNs(wait), f)) {
        record(f, monotonicNs());
        while (calls_.next(std::chrono::system_clock::time_point{}, f)) record(f, monotonicNs());
      }
    }
  }

  RunResult& result() override { return result_; }
  std::uint64_t lastCompletionNs() const override { return lastCompletion_; }

 private:
  // Whether a request scheduled at `t` may still go out.
  bool mayIssue(std::uint64_t t) const {
    if (t < measureStart_) return true;  // warm-up
    if (quota_) return measuredSent_ < quota_;
    return t < stopAt_;
  }

  void issue(std::uint64_t now) {
    if (intervalNs_ <= 0) {
      while (calls_.inFlight() < concurrency_ && mayIssue(now)) send(now);
      return;
    }
    while (nextDue_ <= now && calls_.inFlight() < concurrency_ && mayIssue(nextDue_)) {
      send(nextDue_);
      nextDue_ += std::uint64_t(intervalNs_);
    }
  }

  void send(std::uint64_t scheduledNs) {
    if (scheduledNs >= measureStart_) ++measuredSent_;
    calls_.start(slice_, 0, scheduledNs, spec_.timeoutS, spec_.metadata);
  }

  void record(const AsyncInferCalls::Finished& f, std::uint64_t now) {
    if (f.startNs < measureStart_) return;  // warm-up
    ++result_.sent;
    const std::size_t idx = now > measureStart_ ? std::size_t((now - measureStart_) / kSecond) : 0;
    if (result_.timeline.size() <= idx) result_.timeline.resize(idx + 1);
    Interval& iv = result_.timeline[idx];
    lastCompletion_ = std::max(lastCompletion_, now);
    if (f.status.ok()) {
      const std::uint64_t lat = now > f.startNs ? now - f.startNs : 0;
      ++result_.ok;
      result_.latency.record(lat);
      ++iv.ok;
      iv.latency.record(lat);
      result_.bytesIn += f.reply.Length();
      live_.ok.store(result_.ok, std::memory_order_relaxed);
      return;
    }
    const GrpcOutcome o = outcomeOf(f.status, calls_.channel());
    ++result_.otherErrors[o.status == 0 ? o.error : codeName(f.status.error_code())];
    ++iv.errors;
    live_.errors.store(result_.errors(), std::memory_order_relaxed);
  }

  const GrpcRunSpec& spec_;
  const unsigned concurrency_;
  const double intervalNs_;
  const std::uint64_t quota_;
  LiveCounters& live_;
  AsyncInferCalls calls_;
  const grpc::Slice slice_;
  std::uint64_t runStart_ = 0;
  std::uint64_t measureStart_ = 0;
  std::uint64_t stopAt_ = 0;
  std::uint64_t nextDue_ = 0;
  std::uint64_t measuredSent_ = 0;
  std::uint64_t lastCompletion_ = 0;
  RunResult result_;
};

}  // namespace

RunResult runGrpcBench(const GrpcRunSpec& spec,
                       const std::function<void(double, std::uint64_t, std::uint64_t)>& progress) {
  const unsigned threads = std::max(1u, std::min(spec.threads, spec.concurrency));
  std::vector<LiveCounters> live(threads);
  std::vector<std::unique_ptr<LoadThread>> workers;
  const std::uint64_t runStart = monotonicNs() + 2'000'000;  // threads start together
  for (unsigned t = 0; t < threads; ++t) {
    const unsigned conc = spec.concurrency / threads + (t < spec.concurrency % threads ? 1 : 0);
    const double interval = spec.rate > 0 ? 1e9 * double(threads) / spec.rate : 0;
    const std::uint64_t firstDue = spec.rate > 0 ? runStart + std::uint64_t(1e9 * double(t) / spec.rate) : 0;
    const std::uint64_t quota = spec.requests ? spec.requests / threads + (t < spec.requests % threads ? 1 : 0) : 0;
    workers.push_back(std::make_unique<GrpcBenchThread>(spec, conc, interval, firstDue, quota, runStart, live[t]));
  }
  return runLoadThreads(workers, live, runStart, runStart + std::uint64_t(spec.warmupS * 1e9), progress);
}

}  // namespace ringserve::loadgen
