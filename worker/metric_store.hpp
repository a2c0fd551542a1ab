#pragma once
// Runtimes' custom metrics, aggregated in the worker and sent as a full snapshot with every
// heartbeat. Keyed by (model name, model version, metric name) so a reloaded model (new handle)
// continues its series. Thread-safe: runtimes may report from any thread.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "ringserve/abi.h"

namespace ringserve::worker {

struct MetricValue {
  std::uint32_t kind = RINGSERVE_METRIC_COUNTER;
  std::string help;
  double value = 0;                      // counter/gauge value; histogram sum
  std::uint64_t count = 0;               // histogram observations
  std::vector<double> bounds;            // histogram upper bounds
  std::vector<std::uint64_t> buckets;    // cumulative counts, one per bound
};

class MetricStore {
 public:
  using Key = std::tuple<std::string, std::string, std::string>;  // model, version, metric

  // false (and nothing recorded) when the name is taken by a metric of another kind or is not a
  // valid Prometheus name.
  bool record(const std::string& model, const std::string& version, const ringserve_metric& m);
  std::vector<std::pair<Key, MetricValue>> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<Key, MetricValue> metrics_;
};

}  // namespace ringserve::worker
