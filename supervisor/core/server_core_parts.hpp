#pragma once
// Internal to ServerCore's .cpp files (supervisor/core/README.md, "The model manager"): the
// worker slots and pools, and the registry's model instances. Main loop only.
//
// Ownership: ServerCore::pools_ owns Pools, a Pool owns its Slots, a Slot owns its worker's
// handle. ServerCore::instances_ owns Instances (shared: callbacks of loads and environment
// threads hold weak_ptrs, the drain of an unload a shared_ptr). Slots and Instances point at each
// other with raw pointers; both sides are cleared before either goes away (beginUnload,
// finishWaiters, ~ServerCore).
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "supervisor/core/model_state.hpp"
#include "supervisor/core/server_core.hpp"
#include "supervisor/event.hpp"

namespace ringserve::supervisor {

using Clock = std::chrono::steady_clock;

// One worker position of a pool ("default/0"): its current process (if any), the link HTTP loops
// see for that incarnation, and the restart policy across incarnations.
struct ServerCore::Slot {
  ServerCore* core = nullptr;
  Pool* pool = nullptr;
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
  std::set<Instance*> models;  // placed here
};

// The workers of one pool key (docs/environments.md#pools-and-workers).
struct ServerCore::Pool {
  std::string envLibDir;  // the environment's lib/, searched for runtimes; empty for the default pool
  std::string envRoot;
  std::uint64_t envBytes = 0;
  std::string key;
  std::string label;
  WorkerLaunch launch;
  std::vector<std::unique_ptr<Slot>> slots;
};

// One model version in the registry. Its phase moves only through ServerCore::transition (the
// table in model_state.cpp); the per-worker sets are the facts settle() reads.
struct ServerCore::Instance {
  std::shared_ptr<const settings::ModelSettings> settings;
  std::string name, version;
  Pool* pool = nullptr;
  ModelPhase phase = ModelPhase::loading;
  std::string reason;
  std::uint32_t handle = 0;
  std::vector<Slot*> placement;
  std::set<Slot*> loaded;
  std::set<Slot*> pendingLoad;
  std::map<Slot*, std::string> failed;  // nullptr key: failed before any worker answered
  std::shared_ptr<ModelCounters> counters;
  std::optional<LoadedModel> reported;
  std::vector<Done> waiters;
  // A reload candidate: not routed; the copy it replaces serves until this one is ready.
  std::shared_ptr<Instance> replaces;
  bool candidate = false;
  ServerCore* core = nullptr;
  Event loadTimer;  // the load deadline; its argument is this instance

  ModelState state() const { return publicState(phase); }
  bool gone() const { return phase == ModelPhase::gone; }
};

// An unload draining its in-flight requests (ServerCore::beginUnload): owned by drains_, polled by
// its timer until the model's requests are done or the drain deadline passes.
struct ServerCore::UnloadDrain {
  ServerCore* core;
  std::shared_ptr<Instance> inst;
  Done done;
  Clock::time_point deadline;
  Event timer;
};

inline std::string display(const std::string& name, const std::string& version) {
  return version.empty() ? name : name + " (version " + version + ")";
}

}  // namespace ringserve::supervisor
