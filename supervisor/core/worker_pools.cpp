// WorkerPools (worker_pools.hpp): spawn through the WorkerSpawner seam, ready/exit/heartbeat
// from the handle's events, restart backoff and the crash-loop rule (RestartPolicy), and retries
// outside the policy when the supervisor itself lacks resources. Main loop only.
#include "supervisor/core/worker_pools.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "supervisor/environments/environment.hpp"

namespace ringserve::supervisor {

using Clock = std::chrono::steady_clock;

WorkerPools::WorkerPools(const ManagerOptions& options, EventLoop& main, std::vector<LoopLanes*> httpLanes,
                         MetricsRegistry& metrics, PoolListener& listener)
    : options_(options), main_(main), httpLanes_(std::move(httpLanes)), metrics_(metrics), listener_(listener) {}

WorkerPools::~WorkerPools() { pools_.clear(); }

WorkerPool& WorkerPools::poolFor(const settings::ModelSettings& s,
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
  auto pool = std::make_unique<WorkerPool>();
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
    auto slot = std::make_unique<WorkerSlot>();
    slot->pools = this;
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

void WorkerPools::spawn(WorkerSlot& slot) {
  if (shuttingDown_) return;
  WorkerLaunch launch = slot.pool->launch;
  launch.workerId = slot.id;
  WorkerEvents ev;
  WorkerSlot* sp = &slot;
  ev.onReady = [this, sp](const WorkerHello&) { onReady(*sp); };
  ev.onExit = [this, sp](const WorkerExit& e) { onExit(*sp, e); };
  ev.onHeartbeat = [sp](const WorkerHeartbeat& hb) { sp->lastHeartbeat = hb; };
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
void WorkerPools::spawnLater(WorkerSlot& slot, const std::string& why) {
  if (slot.resourceRetries++ == 0)
    spdlog::error("worker {} (pool {}) cannot start: {}; the supervisor is out of resources, retrying every {}",
                  slot.id, slot.pool->label, why, formatDuration(options_.resourceRetry));
  slot.lastReason = why;
  listener_.workerCannotStart(slot, "worker " + slot.id + " cannot start (" + why + "); retrying");
  scheduleRestart(slot, options_.resourceRetry);
  listener_.changed();
}

void WorkerPools::onReady(WorkerSlot& slot) {
  if (slot.resourceRetries > 0)
    spdlog::info("worker {} (pool {}) started after {} attempts the supervisor's resources refused", slot.id,
                 slot.pool->label, std::exchange(slot.resourceRetries, 0));
  slot.ready = true;
  slot.policy.started(Clock::now());
  spdlog::info("worker {} ready", slot.id);
  listener_.workerReady(slot);
}

void WorkerPools::onExit(WorkerSlot& slot, const WorkerExit& exit) {
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
  listener_.workerExited(slot);
  if (shuttingDown_) return finishShutdownIfDone();
  const bool hung = std::exchange(slot.killedAsHung, false);
  if (exit.requested && !hung) {
    listener_.workerStopped(slot);
    listener_.changed();
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
    listener_.workerLost(slot, why);
    scheduleRestart(slot, d.delay);
  } else {
    giveUp(slot, d.reason);
  }
  listener_.changed();
}

// The crash-loop rule (or an incompatible worker): the slot stays down until an operator loads
// one of its models again (revive()).
void WorkerPools::giveUp(WorkerSlot& slot, const std::string& why) {
  slot.gaveUp = true;
  slot.lastReason = why;
  spdlog::error("worker {} (pool {}): giving up: {}", slot.id, slot.pool->label, why);
  listener_.workerGaveUp(slot, why);
}

void WorkerPools::revive(WorkerSlot& slot) {
  slot.gaveUp = false;
  slot.policy.reset();
  if (!slot.proc) spawn(slot);
}

void WorkerPools::killIfHung(const std::shared_ptr<WorkerLink>& link, std::uint64_t progressAtSend) {
  for (auto& [k, pool] : pools_)
    for (auto& slot : pool->slots)
      if (slot->link == link && slot->proc && slot->proc->progress() == progressAtSend) {
        spdlog::error("worker {} made no progress within request_timeout; killing it", slot->id);
        slot->killedAsHung = true;
        slot->proc->kill();
      }
}

void WorkerPools::shutdown(std::function<void()> done) {
  shuttingDown_ = true;
  bool any = false;
  const auto grace = std::chrono::milliseconds(static_cast<long>(options_.settings.parallelWorkersTimeout * 1000));
  for (auto& [k, pool] : pools_)
    for (auto& slot : pool->slots) {
      slot->timer.del();
      if (slot->proc) {
        any = true;
        slot->proc->stop(grace);
      }
    }
  if (!any) return done();
  shutdownDone_ = std::move(done);
}

// The worker of this incarnation is gone: HTTP loops fail what they have in flight on it (each
// on its own thread, with `error`) and never route to the link again.
void WorkerPools::dropLink(WorkerSlot& slot, const std::string& error, const std::string& deathReason) {
  auto link = std::move(slot.link);
  link->markDead(deathReason);
  const Error err = unavailable(error);
  for (auto* lanes : httpLanes_) lanes->loop().post([lanes, link, err] { lanes->drop(link.get(), err); });
}

void WorkerPools::finishShutdownIfDone() {
  for (auto& [k, p] : pools_)
    for (auto& s : p->slots)
      if (s->proc) return;
  if (auto done = std::exchange(shutdownDone_, nullptr)) done();
}

void WorkerPools::scheduleRestart(WorkerSlot& slot, std::chrono::milliseconds delay) {
  if (!slot.timer)
    slot.timer = Event::timer(
        main_.base(),
        [](evutil_socket_t, short, void* arg) {
          auto* s = static_cast<WorkerSlot*>(arg);
          s->pools->spawn(*s);
        },
        &slot);
  slot.timer.add(delay);
}

bool WorkerPools::unused(const WorkerPool& pool) const {
  if (pool.key == "default" || shuttingDown_) return false;
  for (const auto& slot : pool.slots)
    if (!slot->models.empty()) return false;
  return !listener_.poolInUse(pool);
}

void WorkerPools::stopIfUnused(WorkerPool& pool) {
  if (!unused(pool)) return;
  // After the current turn, and only if nothing was placed on it meanwhile.
  main_.post([this, key = pool.key] {
    auto it = pools_.find(key);
    if (it == pools_.end() || !unused(*it->second)) return;
    spdlog::info("pool {} has no models left: stopping its workers (the environment stays cached)", it->second->label);
    for (auto& slot : it->second->slots)
      if (slot->link) dropLink(*slot, "worker " + slot->id + " was stopped with its pool", "its pool was stopped");
    // Destroying the pool stops and reaps its workers: they hold no model and nothing is in flight.
    pools_.erase(it);
  });
}

// Runs on the main loop (the metrics server lives there), like everything it reads.
void WorkerPools::collectMetrics(std::string& out) const {
  out +=
      "# HELP ringserve_worker_restarts_total Worker processes restarted after dying.\n"
      "# TYPE ringserve_worker_restarts_total counter\n";
  std::string shm =
      "# HELP ringserve_shm_bytes_in_use Request-arena bytes held by requests in flight.\n"
      "# TYPE ringserve_shm_bytes_in_use gauge\n";
  std::string size =
      "# HELP ringserve_shm_segment_bytes Size of each worker's shared-memory segment.\n"
      "# TYPE ringserve_shm_segment_bytes gauge\n";
  std::string ring =
      "# HELP ringserve_ring_occupancy Descriptors waiting in a worker's request rings.\n"
      "# TYPE ringserve_ring_occupancy gauge\n";
  std::string inflight =
      "# HELP ringserve_worker_in_flight Requests sent to a worker and not answered yet.\n"
      "# TYPE ringserve_worker_in_flight gauge\n";
  std::map<std::string, std::pair<std::string, std::string>> custom;  // name -> (header, samples)
  for (const auto& [key, pool] : pools_) {
    for (const auto& slot : pool->slots) {
      const Labels l{{"pool", pool->label}, {"worker", slot->id}};
      out += "ringserve_worker_restarts_total" + formatLabels(l) + " " + std::to_string(slot->policy.restarts()) + "\n";
      if (!slot->link || !slot->link->shm) continue;
      shm += "ringserve_shm_bytes_in_use" + formatLabels(l) + " " +
             std::to_string(slot->link->requestBytesInUse.load(std::memory_order_relaxed)) + "\n";
      const auto& seg = slot->link->shm->segment();
      size += "ringserve_shm_segment_bytes" + formatLabels(l) + " " + std::to_string(seg.size()) + "\n";
      std::uint64_t pending = 0;
      for (std::uint32_t k = 0; k < seg.geometry().lane_count; ++k) {
        auto& idx = seg.lane(k).request;
        pending += std::atomic_ref(idx.head).load(std::memory_order_relaxed) -
                   std::atomic_ref(idx.tail).load(std::memory_order_relaxed);
      }
      ring += "ringserve_ring_occupancy" + formatLabels(l) + " " + std::to_string(pending) + "\n";
      inflight += "ringserve_worker_in_flight" + formatLabels(l) + " " +
                  std::to_string(slot->link->inFlight.load(std::memory_order_relaxed)) + "\n";
      for (const auto& m : slot->lastHeartbeat.metrics) {
        auto& [header, samples] = custom[m.name];
        if (header.empty()) {
          const char* type = m.kind == MetricSample::Kind::counter ? "counter"
                             : m.kind == MetricSample::Kind::gauge ? "gauge"
                                                                   : "histogram";
          header = "# HELP " + m.name + " " + (m.help.empty() ? "Custom metric from a runtime." : m.help) +
                   "\n# TYPE " + m.name + " " + type + "\n";
        }
        Labels ml{{"model_name", m.modelName}, {"model_version", m.modelVersion}, {"worker", slot->id}};
        for (const auto& kv : m.labels) ml.push_back(kv);
        if (m.kind == MetricSample::Kind::histogram) {
          Histogram::Snapshot s;
          s.bounds = m.bucketBounds;
          s.cumulative = m.bucketCounts;
          s.cumulative.push_back(m.count);
          s.sum = m.value;
          s.count = m.count;
          if (s.cumulative.size() == s.bounds.size() + 1) appendHistogram(samples, m.name, ml, s);
        } else {
          samples += m.name + formatLabels(ml) + " " + formatDouble(m.value) + "\n";
        }
      }
    }
  }
  out += shm + size + ring + inflight;
  for (const auto& [name, hs] : custom) out += hs.first + hs.second;
}

}  // namespace ringserve::supervisor
