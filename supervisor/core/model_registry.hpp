#pragma once
// Job 2 of the model manager (supervisor/core/README.md): the model registry. Every model version
// is a ModelInstance whose phase moves only through the transition table (model_state.hpp);
// settle() derives the event from the per-worker facts (loaded on, load pending on, failed on)
// after every change. Reload candidates load beside the copy they replace and swap in when
// ready; an unload hides the model at once, drains its in-flight requests, then unloads it from
// its workers. Placement, loads and unloads go through WorkerPools; the registry hears back what
// the workers did as its PoolListener and republishes through RoutingPublication.
//
// Threads: main loop only. Environment preparation runs on a thread of its own and posts back
// only while the registry exists (MainGuard).
//
// Ownership: the registry owns its instances (shared: callbacks of loads and environment threads
// hold weak_ptrs, an unload's drain a shared_ptr). Slots and instances point at each other with
// raw pointers (WorkerSlot::models, ModelInstance::placement); both sides are cleared before an
// instance goes away (beginUnload, finishWaiters); at shutdown WorkerPools goes first.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "supervisor/core/manager_options.hpp"
#include "supervisor/core/model_state.hpp"
#include "supervisor/core/op_queue.hpp"
#include "supervisor/core/routing.hpp"
#include "supervisor/core/routing_publication.hpp"
#include "supervisor/core/worker_pools.hpp"

namespace ringserve::supervisor {

using ModelDone = OpQueue::Done;  // ok: a human summary

// One model version in the registry, one copy of it.
struct ModelInstance {
  std::shared_ptr<const settings::ModelSettings> settings;
  std::string name, version;
  WorkerPool* pool = nullptr;
  ModelPhase phase = ModelPhase::loading;
  std::string reason;
  std::uint32_t handle = 0;
  std::vector<WorkerSlot*> placement;
  std::set<WorkerSlot*> loaded;
  std::set<WorkerSlot*> pendingLoad;
  std::map<WorkerSlot*, std::string> failed;  // nullptr key: failed before any worker answered
  std::shared_ptr<ModelCounters> counters;
  std::optional<LoadedModel> reported;
  std::vector<ModelDone> waiters;
  // A reload candidate: not routed; the copy it replaces serves until this one is ready.
  std::shared_ptr<ModelInstance> replaces;
  bool candidate = false;
  class ModelRegistry* registry = nullptr;
  Event loadTimer;  // the load deadline; its argument is this instance

  ModelState state() const { return publicState(phase); }
  bool gone() const { return phase == ModelPhase::gone; }
};

class ModelRegistry final : public PoolListener {
 public:
  // Every reference outlives the registry; `pools` is only used after construction.
  ModelRegistry(const ManagerOptions& options, EventLoop& main, WorkerPools& pools, RoutingPublication& publication,
                MetricsRegistry& metrics);
  ~ModelRegistry() override;
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  // The repository at startup: each model registered and, if `loadNow`, loaded; a broken
  // model-settings.json is listed in the index as UNAVAILABLE with its error.
  void discovered(std::vector<settings::DiscoveredModel> models, bool loadNow);
  // Loads every version in `found` (a loaded copy of one is replaced: reload); `done` gets the
  // first failure, or "loaded" when all are ready.
  void load(std::vector<settings::ModelSettings> found, ModelDone done);
  // Hides every version of `name` at once, drains and unloads them; notFound if none is there.
  void unload(const std::string& name, ModelDone done);
  // Builds the routing table and index from the instances (RoutingPublication).
  void publish();

  // PoolListener
  void workerReady(WorkerSlot& slot) override;
  void workerExited(WorkerSlot& slot) override;
  void workerStopped(WorkerSlot& slot) override;
  void workerLost(WorkerSlot& slot, const std::string& why) override;
  void workerGaveUp(WorkerSlot& slot, const std::string& why) override;
  void workerCannotStart(WorkerSlot& slot, const std::string& why) override;
  bool poolInUse(const WorkerPool& pool) const override;
  void changed() override { publish(); }

 private:
  struct UnloadDrain;

  ModelInstance& add(std::shared_ptr<const settings::ModelSettings> s);
  std::shared_ptr<ModelInstance> shared(const ModelInstance& inst) const;
  void load(ModelInstance& inst);  // prepares the environment first (off the main loop) when it has one
  void environmentPrepared(ModelInstance& inst,
                           environments::EnvResult<std::optional<environments::PreparedEnvironment>> prepared);
  void place(ModelInstance& inst, WorkerPool& pool);
  void armLoadDeadline(ModelInstance& inst);
  void loadDeadlinePassed(ModelInstance& inst);
  void sendLoad(WorkerSlot& slot, ModelInstance& inst);
  void unloadFrom(WorkerSlot& slot, std::uint32_t handle);
  void transition(ModelInstance& inst, ModelEvent event, std::optional<std::string> reason = std::nullopt);
  void settle(ModelInstance& inst);
  void workersLost(ModelInstance& inst, const std::string& why);
  void finishWaiters(ModelInstance& inst);
  void beginUnload(ModelInstance& inst, ModelDone done);
  void drainTick(UnloadDrain& drain);
  void erase(const ModelInstance& inst);

  // Lets a thread preparing an environment post its result only while the registry exists.
  struct MainGuard {
    std::mutex mutex;
    EventLoop* loop = nullptr;  // cleared by ~ModelRegistry
    bool alive() {
      std::lock_guard lock(mutex);
      return loop != nullptr;
    }
  };

  const ManagerOptions& options_;
  EventLoop& main_;
  WorkerPools& pools_;
  RoutingPublication& publication_;
  MetricsRegistry& metrics_;
  std::shared_ptr<MainGuard> mainGuard_ = std::make_shared<MainGuard>();
  std::vector<std::shared_ptr<ModelInstance>> instances_;
  // Unloads waiting for their in-flight requests; each frees itself when done, the rest go with
  // the registry (a shutdown during a drain).
  std::map<UnloadDrain*, std::unique_ptr<UnloadDrain>> drains_;
  std::map<std::pair<std::string, std::string>, std::string> unloaded_;  // (name, version) -> reason
  std::vector<IndexEntry> brokenModels_;                                 // model-settings.json that failed to parse
  std::uint32_t nextHandle_ = 1;
};

inline std::string display(const std::string& name, const std::string& version) {
  return version.empty() ? name : name + " (version " + version + ")";
}

}  // namespace ringserve::supervisor
