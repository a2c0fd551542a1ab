#pragma once
// Job 1 of the model manager (supervisor/core/README.md): worker pools and restarts. One pool per
// pool key (docs/environments.md#pools-and-workers), one slot per worker position; workers start
// through the WorkerSpawner seam (process/worker_handle.hpp), and their ready, exit and heartbeat
// events drive the restart backoff and the crash-loop rule (process/restart_policy.hpp). What that
// means for the models placed on a slot is the registry's business: WorkerPools tells it through
// PoolListener and knows models only as the opaque pointers the registry files in a slot.
//
// Threads: main loop only, like the rest of the manager. Ownership: WorkerPools owns its pools, a
// pool its slots, a slot its worker's handle; the listener outlives WorkerPools.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "supervisor/core/event_loop.hpp"
#include "supervisor/core/loop_lanes.hpp"
#include "supervisor/core/manager_options.hpp"
#include "supervisor/core/metrics.hpp"
#include "supervisor/event.hpp"

namespace ringserve::supervisor {

struct ModelInstance;  // model_registry.hpp
class WorkerPools;
struct WorkerPool;

// One worker position of a pool ("default/0"): its current process (if any), the link HTTP loops
// see for that incarnation, and the restart policy across incarnations.
struct WorkerSlot {
  WorkerPools* pools = nullptr;
  WorkerPool* pool = nullptr;
  int index = 0;
  std::string id;
  std::unique_ptr<WorkerHandle> proc;
  std::shared_ptr<WorkerLink> link;
  RestartPolicy policy;
  bool ready = false;
  bool gaveUp = false;
  std::string lastReason;
  Event timer;  // the restart backoff
  std::uint64_t incarnation = 0;
  bool killedAsHung = false;          // our kill() after request_timeout: a failure, so it restarts
  std::uint32_t resourceRetries = 0;  // spawns refused by the supervisor's own limits, in a row
  WorkerHeartbeat lastHeartbeat;
  // The models placed here: filed and read by the registry only (place, unload, discard).
  std::set<ModelInstance*> models;
};

// The workers of one pool key.
struct WorkerPool {
  std::string envLibDir;  // the environment's lib/, searched for runtimes; empty for the default pool
  std::string envRoot;
  std::uint64_t envBytes = 0;
  std::string key;
  std::string label;
  WorkerLaunch launch;
  std::vector<std::unique_ptr<WorkerSlot>> slots;
};

// What a slot's worker did, for the models placed on it (implemented by ModelRegistry). Every
// call comes from the main loop, inside a worker event or a restart timer.
class PoolListener {
 public:
  virtual ~PoolListener() = default;
  virtual void workerReady(WorkerSlot& slot) = 0;  // its models may be loaded now
  // Before any of the three below: the worker of this incarnation is gone, with whatever it had
  // loaded or was loading.
  virtual void workerExited(WorkerSlot& slot) = 0;
  virtual void workerStopped(WorkerSlot& slot) = 0;                         // on request: not a failure
  virtual void workerLost(WorkerSlot& slot, const std::string& why) = 0;    // died; restarting
  virtual void workerGaveUp(WorkerSlot& slot, const std::string& why) = 0;  // crash loop or incompatible
  // A spawn the supervisor's own resources refused (no exit before it): retried later.
  virtual void workerCannotStart(WorkerSlot& slot, const std::string& why) = 0;
  virtual bool poolInUse(const WorkerPool& pool) const = 0;  // a model still uses it
  virtual void changed() = 0;                                // republish the routing table
};

class WorkerPools {
 public:
  // `options` and `listener` outlive this. `httpLanes` size the workers' lane count.
  WorkerPools(const ManagerOptions& options, EventLoop& main, std::vector<LoopLanes*> httpLanes,
              MetricsRegistry& metrics, PoolListener& listener);
  ~WorkerPools();  // kills and reaps every worker (~WorkerHandle); no listener call
  WorkerPools(const WorkerPools&) = delete;
  WorkerPools& operator=(const WorkerPools&) = delete;

  // The pool for a model with these settings and prepared environment, created (and its workers
  // spawned) on first use.
  WorkerPool& poolFor(const settings::ModelSettings& s, const std::optional<environments::PreparedEnvironment>& env);
  // An operator asked for a model on a slot that gave up: reset its policy and start it again.
  void revive(WorkerSlot& slot);
  // Stops the pool's workers on a later turn if neither a slot nor the listener still uses it.
  void stopIfUnused(WorkerPool& pool);
  // A request to `link` passed request_timeout: kill its worker if it made no progress since.
  void killIfHung(const std::shared_ptr<WorkerLink>& link, std::uint64_t progressAtSend);
  // Stops every worker; `done` runs when all have exited. No restarts from here on.
  void shutdown(std::function<void()> done);
  bool shuttingDown() const { return shuttingDown_; }

  const std::map<std::string, std::unique_ptr<WorkerPool>>& pools() const { return pools_; }
  std::uint64_t spawnCount() const { return spawns_; }
  // Prometheus text for every worker: restarts, shared memory, ring occupancy, in-flight count
  // and the runtimes' own metrics from the last heartbeat.
  void collectMetrics(std::string& out) const;

 private:
  void spawn(WorkerSlot& slot);
  void spawnLater(WorkerSlot& slot, const std::string& why);
  void onReady(WorkerSlot& slot);
  void onExit(WorkerSlot& slot, const WorkerExit& exit);
  void scheduleRestart(WorkerSlot& slot, std::chrono::milliseconds delay);
  bool unused(const WorkerPool& pool) const;
  void giveUp(WorkerSlot& slot, const std::string& why);
  void dropLink(WorkerSlot& slot, const std::string& error, const std::string& deathReason);
  void finishShutdownIfDone();

  const ManagerOptions& options_;
  EventLoop& main_;
  std::vector<LoopLanes*> httpLanes_;
  MetricsRegistry& metrics_;
  PoolListener& listener_;
  std::map<std::string, std::unique_ptr<WorkerPool>> pools_;
  std::uint64_t spawns_ = 0;
  bool shuttingDown_ = false;
  std::function<void()> shutdownDone_;
};

}  // namespace ringserve::supervisor
