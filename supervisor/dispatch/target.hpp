#pragma once
// Target choice: which model version a request names and which of its workers gets it.
#include <atomic>
#include <memory>
#include <string>

#include "supervisor/core/loop_lanes.hpp"
#include "supervisor/core/routing.hpp"
#include "supervisor/error.hpp"
#include "transport/result.hpp"

namespace ringserve::supervisor::dispatch {

// The routed model version `name`/`version` ("" = default), or notFound.
BasicResult<std::shared_ptr<const ModelRoute>, Error> findModel(const RoutingTable& table, const std::string& name,
                                                                const std::string& version);

struct Target {
  const RouteTarget* route = nullptr;  // the worker and the model's handle on it
  LaneClient* lane = nullptr;          // this loop's lane to that worker
  int queued = 0;                      // requests already in flight on that worker
};

// The least loaded live worker holding `model`, reached through this loop's `lanes`:
// unavailable while the model restarts or when no worker runs, badInput while it is not ready.
BasicResult<Target, Error> chooseWorker(const ModelRoute& model, const std::string& version, LoopLanes& lanes);

// A request counts as in flight from the moment it holds its route, not only once it is
// submitted: the unload drain (core/server_core.cpp) unloads when the count is zero, and a request
// still decoding a large body under the old route would otherwise reach a worker whose model is
// gone. Ownership of the count passes to the completion with release().
class InFlightHold {
 public:
  explicit InFlightHold(std::atomic<int>& count) : count_(&count) { count_->fetch_add(1); }
  ~InFlightHold() {
    if (count_ != nullptr) count_->fetch_sub(1);
  }
  InFlightHold(const InFlightHold&) = delete;
  InFlightHold& operator=(const InFlightHold&) = delete;
  void release() { count_ = nullptr; }

 private:
  std::atomic<int>* count_;
};

}  // namespace ringserve::supervisor::dispatch
