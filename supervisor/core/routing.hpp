#pragma once
// The routing table HTTP loops read on every request: which models exist, their state, and the
// workers (with the model's handle on each) that serve them. The main loop builds a new immutable
// table on every change and publishes it; readers take a shared_ptr copy and never lock.
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "supervisor/core/metrics.hpp"
#include "supervisor/core/model_stats.hpp"
#include "supervisor/core/worker_link.hpp"
#include "supervisor/settings/model_settings.hpp"
#include "transport/model_state.hpp"

namespace ringserve::supervisor {

// The base library's (transport/model_state.hpp), shared with the control protocol.
using transport::ModelState;
using transport::toString;

struct RouteTarget {
  std::shared_ptr<WorkerLink> link;
  std::uint32_t handle = 0;
};

// Per model version; shared between tables so counters survive republishing.
struct ModelCounters {
  Counter* success = nullptr;
  Counter* failure = nullptr;
  Histogram* duration = nullptr;
  // Adaptive batching (supervisor/dispatch/batcher.hpp); null when the model does not batch.
  Histogram* batchQueue = nullptr;  // MLServer's batch_request_queue: requests in the batch a request joins
  Histogram* batchSize = nullptr;   // rows per batched predict
  Histogram* batchWait = nullptr;   // seconds a request waited in the batcher
  std::atomic<int> inFlight{0};     // requests routed to this model and not answered (drain on unload)
  ModelStats stats;                 // Triton's statistics extension
};

struct ModelRoute {
  std::string name;
  std::string version;  // "" when the model has none
  ModelState state = ModelState::unknown;
  std::string reason;
  bool restarting = false;           // not ready: its workers are coming back (unavailable, retriable)
  std::vector<RouteTarget> targets;  // only workers where the model is loaded
  std::shared_ptr<const settings::ModelSettings> settings;
  std::string metadataJson;  // body of GET /v2/models/{m}
  std::string configJson;    // body of GET /v2/models/{m}/config (Triton's model configuration)
  std::shared_ptr<ModelCounters> counters;
};

struct ModelVersions {
  std::map<std::string, std::shared_ptr<const ModelRoute>> byVersion;
  std::string defaultVersion;
};

struct RoutingTable {
  std::unordered_map<std::string, ModelVersions> models;
  bool allReady = true;

  // nullptr when unknown; `version` empty = the default version.
  const ModelRoute* find(const std::string& name, const std::string& version) const;
};

class RoutingPublisher {
 public:
  RoutingPublisher() : table_(std::make_shared<const RoutingTable>()) {}
  std::shared_ptr<const RoutingTable> current() const { return std::atomic_load(&table_); }
  void publish(std::shared_ptr<const RoutingTable> t) { std::atomic_store(&table_, std::move(t)); }

 private:
  std::shared_ptr<const RoutingTable> table_;
};

}  // namespace ringserve::supervisor
