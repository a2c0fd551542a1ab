#pragma once
// The supervisor's model manager, on the main loop, split by job (supervisor/core/README.md):
// worker pools and restarts (worker_pools.cpp: one pool per pool key,
// docs/environments.md#pools-and-workers, workers through the WorkerSpawner seam), the model
// registry and its state table (model_registry.cpp, model_state.hpp), the per-name operation
// queue (op_queue.hpp) and routing publication and presentation (routing_publication.cpp).
//
// Threads: every member runs on the main loop except the ones marked "any thread", which post
// to it. HTTP loops see only routing() snapshots and the LoopLanes the core posts deaths to.
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

struct event;

#include "supervisor/core/event_loop.hpp"
#include "supervisor/core/loop_lanes.hpp"
#include "supervisor/core/metrics.hpp"
#include "supervisor/core/model_state.hpp"
#include "supervisor/core/op_queue.hpp"
#include "supervisor/core/routing.hpp"
#include "supervisor/environments/environment.hpp"
#include "supervisor/process/restart_policy.hpp"
#include "supervisor/process/worker_handle.hpp"
#include "supervisor/settings/repository.hpp"
#include "supervisor/settings/server_settings.hpp"

namespace ringserve::supervisor {

struct IndexEntry {
  std::string name;
  std::string version;
  ModelState state = ModelState::unknown;
  std::string reason;
};

class ServerCore {
 public:
  struct Options {
    settings::ServerSettings settings;
    std::string workerExecutable;            // the server's own ringserve-worker
    std::string builtinRuntimeDir;           // <install>/lib/ringserve/runtimes
    settings::EnvMap env;                    // for re-reading model-settings.json on load
    environments::Limits environmentLimits;  // of every unpack (tests: a writeHook holding one)
    // How workers start; null: real processes (processSpawner on the main loop). Tests pass a
    // double (tests/supervisor/core/fake_spawner.hpp) and drive the main loop themselves.
    std::shared_ptr<WorkerSpawner> spawner;
    RestartPolicyConfig restartPolicy;                // of every worker slot
    std::chrono::milliseconds loadDeadline{120'000};  // a load still pending after this fails the model
    std::chrono::milliseconds resourceRetry{1'000};   // respawn period while the supervisor lacks fds/memory
  };

  ServerCore(Options options, EventLoop& main, std::vector<LoopLanes*> httpLanes, MetricsRegistry& metrics);
  ~ServerCore();
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;

  // Registers the discovered models and, if load_models_at_startup, loads them.
  void start(std::vector<settings::DiscoveredModel> models);

  using Done = std::function<void(Expected<std::string>)>;  // ok: a human summary
  // Any thread; `done` runs on the main loop. Re-reads the repository for `name` and loads every
  // version found (a loaded model is replaced: new copy first, then the old one is unloaded).
  void repositoryLoad(std::string name, Done done);
  // Any thread. New requests get 404 at once; in-flight ones finish; then the workers unload it.
  void repositoryUnload(std::string name, Done done);
  // Any thread: the same as repositoryLoad for a loaded model (new copy, swap when it is ready,
  // then drain and unload the old; if the new copy fails the old one keeps serving).
  void reload(std::string name, Done done) { repositoryLoad(std::move(name), std::move(done)); }
  // Any thread: loads the model folder `folder` (its model-settings.json, re-read now), which
  // need not be inside the repository; replaces a loaded model of the same name and version.
  void loadPath(std::string folder, Done done);

  // Any thread: a request to `link` passed request_timeout. If the worker made no progress since
  // it was sent, it is hung: kill it (the restart policy brings it back).
  void reportTimeout(std::shared_ptr<WorkerLink> link, std::uint64_t progressAtSend);

  // Stops every worker (shutdown message, SIGKILL after parallel_workers_timeout); `done` runs on
  // the main loop when all have exited.
  void shutdown(std::function<void()> done);

  // Any thread.
  std::shared_ptr<const RoutingTable> routing() const { return routing_.current(); }
  std::vector<IndexEntry> index() const;  // any thread (copy of the last published index)
  std::uint64_t nextWorkerSpawnCount() const { return spawns_; }

  // For `ctl status` and tests (main loop).
  struct WorkerInfo {
    std::string id, pool, state;
    int pid = -1;
    std::uint32_t restarts = 0;
    int inFlight = 0;
    std::uint64_t shmBytes = 0;
    std::uint64_t shmUsedBytes = 0;  // request-arena bytes held by requests in flight
    std::string environment;         // the pool's unpacked environment, "" for the default pool
    std::uint64_t environmentBytes = 0;
    std::vector<std::string> models;
  };
  std::vector<WorkerInfo> workers() const;

 private:
  struct Pool;
  struct Slot;
  struct Instance;
  struct UnloadDrain;

  // pools and workers
  Pool& poolFor(const settings::ModelSettings& s, const std::optional<environments::PreparedEnvironment>& env);
  void spawn(Slot& slot);
  void spawnLater(Slot& slot, const std::string& why);
  void onReady(Slot& slot);
  void onExit(Slot& slot, const WorkerExit& exit);
  void onHeartbeat(Slot& slot, const WorkerHeartbeat& hb);
  void scheduleRestart(Slot& slot, std::chrono::milliseconds delay);
  void stopPoolIfUnused(Pool& pool);
  bool poolUnused(const Pool& pool) const;
  void giveUp(Slot& slot, const std::string& why);
  void dropLink(Slot& slot, const std::string& error, const std::string& deathReason);
  void finishShutdownIfDone();

  // entry points, queued per model name (ops_)
  void repositoryLoadNow(const std::string& name, Done done);
  void repositoryUnloadNow(const std::string& name, Done done);
  void armLoadDeadline(Instance& inst);

  // models
  void loadSettings(std::vector<settings::ModelSettings> found, Done done);
  Instance& addInstance(std::shared_ptr<const settings::ModelSettings> s);
  void load(Instance& inst);  // prepares the environment first (off the main loop) when it has one
  void environmentPrepared(Instance& inst, Expected<std::optional<environments::PreparedEnvironment>> prepared);
  void place(Instance& inst, Pool& pool);
  void sendLoad(Slot& slot, Instance& inst);
  void unloadFrom(Slot& slot, std::uint32_t handle);
  void transition(Instance& inst, ModelEvent event, std::optional<std::string> reason = std::nullopt);
  void settle(Instance& inst);
  void workersLost(Instance& inst, const std::string& why);
  void finishWaiters(Instance& inst);
  void beginUnload(Instance& inst, Done done);

  // publication and presentation
  void publish();
  std::string metadataJson(const Instance& inst) const;
  std::string configJson(const Instance& inst, std::size_t instances) const;  // Triton's model configuration
  void collectWorkerMetrics(std::string& out) const;
  settings::ModelSettings const* findSettings(const std::string& name) const;

  // Lets a thread preparing an environment post its result only while the core exists.
  struct MainGuard {
    std::mutex mutex;
    EventLoop* loop = nullptr;  // cleared by ~ServerCore
    bool alive() {
      std::lock_guard lock(mutex);
      return loop != nullptr;
    }
  };

  Options options_;
  EventLoop& main_;
  OpQueue ops_{main_};  // operations of one model name run one after another
  std::shared_ptr<MainGuard> mainGuard_ = std::make_shared<MainGuard>();
  std::vector<LoopLanes*> httpLanes_;
  MetricsRegistry& metrics_;
  RoutingPublisher routing_;
  mutable std::mutex indexMutex_;
  std::vector<IndexEntry> index_;

  std::map<std::string, std::unique_ptr<Pool>> pools_;
  std::vector<std::shared_ptr<Instance>> instances_;
  // Unloads waiting for their in-flight requests; each frees itself when done, the rest go with the
  // core (a shutdown during a drain).
  std::map<UnloadDrain*, std::unique_ptr<UnloadDrain>> drains_;
  std::map<std::pair<std::string, std::string>, std::string> unloaded_;  // (name, version) -> reason
  std::vector<IndexEntry> brokenModels_;                                 // model-settings.json that failed to parse
  std::uint32_t nextHandle_ = 1;
  std::uint64_t spawns_ = 0;
  bool shuttingDown_ = false;
  std::function<void()> shutdownDone_;
};

}  // namespace ringserve::supervisor
