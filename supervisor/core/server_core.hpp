#pragma once
// The supervisor's model manager, on the main loop (supervisor/core/README.md): the facade the
// front ends and the control server talk to, over four parts with one job each: WorkerPools
// (worker_pools.hpp: pools and restarts, workers through the WorkerSpawner seam), ModelRegistry
// (model_registry.hpp: model states and their transition table, placement, loads, unloads),
// OpQueue (op_queue.hpp: operations on one model name one after another) and RoutingPublication
// (routing_publication.hpp: the routing table and index other threads read).
//
// Threads: every member runs on the main loop except the ones marked "any thread", which post
// to it. HTTP loops see only routing() snapshots and the LoopLanes the pools post deaths to.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "supervisor/core/event_loop.hpp"
#include "supervisor/core/loop_lanes.hpp"
#include "supervisor/core/manager_options.hpp"
#include "supervisor/core/metrics.hpp"
#include "supervisor/core/model_registry.hpp"
#include "supervisor/core/op_queue.hpp"
#include "supervisor/core/routing.hpp"
#include "supervisor/core/routing_publication.hpp"
#include "supervisor/core/worker_pools.hpp"
#include "supervisor/settings/repository.hpp"

namespace ringserve::supervisor {

class ServerCore {
 public:
  using Options = ManagerOptions;

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
  // Any thread. New requests find no route at once (notFound); in-flight ones finish; then the
  // workers unload it.
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
  std::shared_ptr<const RoutingTable> routing() const { return publication_.routing(); }
  std::vector<IndexEntry> index() const { return publication_.index(); }  // any thread
  std::uint64_t nextWorkerSpawnCount() const { return pools_.spawnCount(); }

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
  void repositoryLoadNow(const std::string& name, Done done);

  Options options_;  // first: the parts keep a reference
  EventLoop& main_;
  OpQueue ops_{main_};  // operations of one model name run one after another
  RoutingPublication publication_;
  // The registry is built before the pools it places models on (it only keeps the reference) and
  // outlives them: ~WorkerPools kills the workers without calling the listener back.
  ModelRegistry registry_;
  WorkerPools pools_;
};

}  // namespace ringserve::supervisor
