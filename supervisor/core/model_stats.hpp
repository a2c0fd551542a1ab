#pragma once
// Triton's per model version statistics (docs/rest-api.md#statistics, Triton's statistics
// extension): cumulative counts and nanoseconds per phase of a request. One ModelStats per model
// version lives in its ModelCounters (routing.hpp), so it survives republished routing tables and
// starts again at zero when the version is loaded again. Written by every HTTP loop with relaxed
// atomics (one request's fields are not updated together: a reader may see a request counted in
// `success` a moment before its phases), read by any thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "supervisor/codec/triton_bodies.hpp"
#include "supervisor/error.hpp"

namespace ringserve::supervisor {

struct RoutingTable;

class DurationStat {
 public:
  void add(std::uint64_t ns) {
    count_.fetch_add(1, std::memory_order_relaxed);
    ns_.fetch_add(ns, std::memory_order_relaxed);
  }
  codec::DurationValue value() const {
    return {count_.load(std::memory_order_relaxed), ns_.load(std::memory_order_relaxed)};
  }

 private:
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> ns_{0};
};

// What the inference path measured for one successful request, in nanoseconds
// (supervisor/dispatch/README.md says where each phase is measured).
struct PhaseTimes {
  std::uint64_t total = 0;  // arrival to the answer handed to the front end
  std::uint64_t queue = 0;
  std::uint64_t computeInput = 0;
  std::uint64_t computeInfer = 0;
  std::uint64_t computeOutput = 0;
  std::uint64_t batchSize = 1;   // inference_count's share: the first dimension when max_batch_size > 0
  std::uint64_t executions = 1;  // execution_count's share: 0 for all members of a batch but one
};

class ModelStats {
 public:
  void recordSuccess(const PhaseTimes& t);
  void recordFailure(std::uint64_t totalNs);
  codec::StatsValues values() const;

 private:
  void touch();  // last_inference = now (ms since the epoch)

  std::atomic<std::uint64_t> inferenceCount_{0};
  std::atomic<std::uint64_t> executionCount_{0};
  std::atomic<std::uint64_t> lastInferenceMs_{0};
  DurationStat success_, fail_, queue_, computeInput_, computeInfer_, computeOutput_;
};

std::uint64_t nanosBetween(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to);

// The statistics of `name` (every version, or `version` only), or of every model when `name` is
// empty, sorted by name and version. notFound for an unknown model or version, with REST's message.
Expected<std::vector<codec::ModelStatsRow>> collectStats(const RoutingTable& table, const std::string& name,
                                                         const std::string& version);

}  // namespace ringserve::supervisor
