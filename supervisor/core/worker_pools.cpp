// ServerCore, job 1: worker pools and restarts (supervisor/core/README.md). A pool per pool key,
// a slot per worker position; spawn through the WorkerSpawner seam, ready/exit/heartbeat from the
// handle's events, restart backoff and the crash-loop rule (RestartPolicy), and retries outside
// the policy when the supervisor itself lacks resources. Main loop only.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "supervisor/core/server_core_parts.hpp"
#include "supervisor/environments/environment.hpp"

namespace ringserve::supervisor {

ServerCore::Pool& ServerCore::poolFor(const settings::ModelSettings& s,
                                      const std::optional<environments::PreparedEnvironment>& env) {
  std::string key = "default";
  std::string label = "default";
  const auto& p = s.parameters;
  if (env) {
    for (const auto& w : env->warnings) spdlog::warn("{}", w);
    key = environments::poolKey(env, p.inferencePoolGid);
    label = env->label;
    if (env->unpackedNow)
      metrics_.histogram("ringserve_environment_unpack_seconds", "Time to unpack an environment tarball.", {})
          .observe(env->unpackSeconds);
  } else if (p.inferencePoolGid) {
    key = "gid:" + *p.inferencePoolGid;
    label = "gid " + *p.inferencePoolGid;
  }
  auto it = pools_.find(key);
  if (it != pools_.end()) return *it->second;
  auto pool = std::make_unique<Pool>();
  pool->key = key;
  pool->label = label;
  pool->launch.executable = env && env->workerExecutable ? env->workerExecutable->string() : options_.workerExecutable;
  if (env) {
    pool->envLibDir = env->libDir.string();
    pool->envRoot = env->root.string();
    pool->envBytes = env->bytes;
    pool->launch.extraEnv.push_back(
        {"LD_LIBRARY_PATH", environments::workerLibraryPath(*env, std::getenv("LD_LIBRARY_PATH"))});
    for (auto& kv : environments::workerPythonEnvironment(*env, std::getenv("PATH")))
      pool->launch.extraEnv.push_back(std::move(kv));
    if (env->python) {
      const auto& py = *env->python;
      spdlog::info(
          "{}: Python {} ({}), {}", label, py.version.text(), py.abiTag,
          py.libpython ? "its own interpreter " + py.libpython->string() : std::string("on the worker's Python"));
      if (py.shadowsMlserver)
        spdlog::debug("{}: its mlserver package is shadowed by ringserve's own (MLServer-compatible) mlserver", label);
    }
  }
  pool->launch.poolLabel = label;
  pool->launch.segment =
      transport::SegmentConfig::fromShmSize(options_.settings.shmSize, static_cast<std::uint32_t>(httpLanes_.size()));
  pool->launch.logLevel = options_.settings.debug ? "debug" : "info";
  pool->launch.jsonLogs = options_.settings.useStructuredLogging;
  const int n = std::max(1, options_.settings.parallelWorkers);
  for (int i = 0; i < n; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->core = this;
    slot->policy = RestartPolicy(options_.restartPolicy);
    slot->pool = pool.get();
    slot->index = i;
    slot->id = (key == "default" ? std::string("default") : key) + "/" + std::to_string(i);
    pool->slots.push_back(std::move(slot));
  }
  auto& ref = *pool;
  pools_.emplace(key, std::move(pool));
  for (auto& slot : ref.slots) spawn(*slot);
  return ref;
}

void ServerCore::spawn(Slot& slot) {
  if (shuttingDown_) return;
  WorkerLaunch launch = slot.pool->launch;
  launch.workerId = slot.id;
  WorkerEvents ev;
  Slot* sp = &slot;
  ev.onReady = [this, sp](const WorkerHello&) { onReady(*sp); };
  ev.onExit = [this, sp](const WorkerExit& e) { onExit(*sp, e); };
  ev.onHeartbeat = [this, sp](const WorkerHeartbeat& hb) { onHeartbeat(*sp, hb); };
  ++spawns_;
  auto proc = options_.spawner->spawn(launch, std::move(ev));
  if (!proc && proc.error().ownResources) return spawnLater(slot, proc.error().message);
  if (!proc) {
    WorkerExit e;
    e.reason = proc.error().message;
    e.beforeReady = true;
    // Report from the loop, not from inside spawn's caller.
    main_.post([this, sp, e] { onExit(*sp, e); });
    return;
  }
  slot.proc = std::move(proc.value());
  auto link = std::make_shared<WorkerLink>();
  link->id = slot.id;
  link->pool = slot.pool->label;
  link->incarnation = ++slot.incarnation;
  link->shm = slot.proc->shm();
  slot.link = std::move(link);
  spdlog::info("worker {} (pool {}) started, pid {}", slot.id, slot.pool->label, slot.proc->pid());
}

// The supervisor itself is out of fds, memory or processes: not a crash of the worker, so the
// restart policy does not hear of it and the slot never gives up over it; it tries again every
// second (one log line when this starts, one when it ends) until the resources are back.
void ServerCore::spawnLater(Slot& slot, const std::string& why) {
  if (slot.resourceRetries++ == 0)
    spdlog::error("worker {} (pool {}) cannot start: {}; the supervisor is out of resources, retrying every {}",
                  slot.id, slot.pool->label, why, formatDuration(options_.resourceRetry));
  slot.lastReason = why;
  for (Instance* inst : slot.models) workersLost(*inst, "worker " + slot.id + " cannot start (" + why + "); retrying");
  scheduleRestart(slot, options_.resourceRetry);
  publish();
}

void ServerCore::onReady(Slot& slot) {
  if (slot.resourceRetries > 0)
    spdlog::info("worker {} (pool {}) started after {} attempts the supervisor's resources refused", slot.id,
                 slot.pool->label, std::exchange(slot.resourceRetries, 0));
  slot.ready = true;
  slot.policy.started(Clock::now());
  spdlog::info("worker {} ready", slot.id);
  for (Instance* inst : slot.models) {
    if (inst->gone()) continue;
    sendLoad(slot, *inst);
  }
}

void ServerCore::onHeartbeat(Slot& slot, const WorkerHeartbeat& hb) { slot.lastHeartbeat = hb; }

void ServerCore::onExit(Slot& slot, const WorkerExit& exit) {
  const bool wasReady = slot.ready;
  slot.ready = false;
  if (slot.link)
    dropLink(slot,
             "worker " + slot.id + " of pool " + slot.pool->label + " " + (exit.requested ? "was stopped" : "died") +
                 " (" + exit.reason + ") while serving this request; retry",
             exit.reason);
  // Let the process object go after this callback returns (it may be on our stack).
  if (slot.proc) main_.post([p = std::shared_ptr<WorkerHandle>(std::move(slot.proc))] {});
  slot.lastHeartbeat = {};
  for (Instance* inst : slot.models) {
    inst->loaded.erase(&slot);
    inst->pendingLoad.erase(&slot);
  }
  if (shuttingDown_) return finishShutdownIfDone();
  const bool hung = std::exchange(slot.killedAsHung, false);
  if (exit.requested && !hung) {
    for (Instance* inst : slot.models) settle(*inst);
    publish();
    return;
  }
  const std::string reason = hung ? "hung past request_timeout and was killed" : exit.reason;
  spdlog::error("worker {} (pool {}) {}: {}", slot.id, slot.pool->label, wasReady ? "died" : "failed to start", reason);
  slot.lastReason = reason;
  RestartPolicy::Decision d;
  if (exit.incompatible) {
    d.restart = false;
    d.reason = exit.reason;
  } else {
    d = slot.policy.died(Clock::now(), exit.reason);
  }
  if (d.restart) {
    const std::string why = "worker " + slot.id + " " + (wasReady ? "died" : "failed to start") + " (" + exit.reason +
                            "); restarting in " + formatDuration(d.delay);
    for (Instance* inst : slot.models) {
      workersLost(*inst, why);
      settle(*inst);
    }
    scheduleRestart(slot, d.delay);
  } else {
    giveUp(slot, d.reason);
  }
  publish();
}

// The crash-loop rule (or an incompatible worker): the slot stays down until an operator loads
// one of its models again (place() revives it).
void ServerCore::giveUp(Slot& slot, const std::string& why) {
  slot.gaveUp = true;
  slot.lastReason = why;
  spdlog::error("worker {} (pool {}): giving up: {}", slot.id, slot.pool->label, why);
  for (Instance* inst : slot.models) {
    // Other workers may still serve it; it is unavailable only when none does.
    if (inst->loaded.empty())
      inst->failed[&slot] = "worker " + slot.id + " of pool " + slot.pool->label + " is not running: " + why;
    settle(*inst);
  }
}

// The worker of this incarnation is gone: HTTP loops fail what they have in flight on it (each
// on its own thread, with `error`) and never route to the link again.
void ServerCore::dropLink(Slot& slot, const std::string& error, const std::string& deathReason) {
  auto link = std::move(slot.link);
  link->markDead(deathReason);
  const ApiError err = unavailable(error);
  for (auto* lanes : httpLanes_) lanes->loop().post([lanes, link, err] { lanes->drop(link.get(), err); });
}

void ServerCore::finishShutdownIfDone() {
  for (auto& [k, p] : pools_)
    for (auto& s : p->slots)
      if (s->proc) return;
  if (auto done = std::exchange(shutdownDone_, nullptr)) done();
}

void ServerCore::scheduleRestart(Slot& slot, std::chrono::milliseconds delay) {
  if (!slot.timer)
    slot.timer = Event::timer(
        main_.base(),
        [](evutil_socket_t, short, void* arg) {
          auto* s = static_cast<Slot*>(arg);
          s->core->spawn(*s);
        },
        &slot);
  slot.timer.add(delay);
}

bool ServerCore::poolUnused(const Pool& pool) const {
  if (pool.key == "default" || shuttingDown_) return false;
  for (const auto& slot : pool.slots)
    if (!slot->models.empty()) return false;
  for (const auto& i : instances_)
    if (i->pool == &pool && !i->gone()) return false;
  return true;
}

void ServerCore::stopPoolIfUnused(Pool& pool) {
  if (!poolUnused(pool)) return;
  // After the current turn, and only if nothing was placed on it meanwhile.
  main_.post([this, key = pool.key] {
    auto it = pools_.find(key);
    if (it == pools_.end() || !poolUnused(*it->second)) return;
    spdlog::info("pool {} has no models left: stopping its workers (the environment stays cached)", it->second->label);
    for (auto& slot : it->second->slots)
      if (slot->link) dropLink(*slot, "worker " + slot->id + " was stopped with its pool", "its pool was stopped");
    // Destroying the pool stops and reaps its workers: they hold no model and nothing is in flight.
    pools_.erase(it);
  });
}

}  // namespace ringserve::supervisor
