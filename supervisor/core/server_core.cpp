#include "supervisor/core/server_core.hpp"

#include <event2/event.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "supervisor/codec/triton_bodies.hpp"
#include "supervisor/codec/v2_bodies.hpp"
#include "supervisor/event.hpp"
#include "transport/bug.hpp"
#include "supervisor/environments/environment.hpp"

namespace ringserve::supervisor {

using Clock = std::chrono::steady_clock;

const char* toString(ModelState s) {
  switch (s) {
    case ModelState::unknown: return "UNKNOWN";
    case ModelState::ready: return "READY";
    case ModelState::unavailable: return "UNAVAILABLE";
    case ModelState::loading: return "LOADING";
    case ModelState::unloading: return "UNLOADING";
  }
  return "UNKNOWN";
}

const ModelRoute* RoutingTable::find(const std::string& name, const std::string& version) const {
  auto it = models.find(name);
  if (it == models.end()) return nullptr;
  const auto& v = version.empty() ? it->second.defaultVersion : version;
  auto jt = it->second.byVersion.find(v);
  return jt == it->second.byVersion.end() ? nullptr : jt->second.get();
}

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
  bool killedAsHung = false;  // our kill() after request_timeout: a failure, so it restarts
  std::uint32_t resourceRetries = 0;  // spawns refused by the supervisor's own limits, in a row
  WorkerHeartbeat lastHeartbeat;
  std::set<Instance*> models;  // placed here
};

struct ServerCore::Pool {
  std::string envLibDir;   // the environment's lib/, searched for runtimes; empty for the default pool
  std::string envRoot;
  std::uint64_t envBytes = 0;
  std::string key;
  std::string label;
  WorkerLaunch launch;
  std::vector<std::unique_ptr<Slot>> slots;
};

struct ServerCore::Instance {
  std::shared_ptr<const settings::ModelSettings> settings;
  std::string name, version;
  Pool* pool = nullptr;
  ModelState state = ModelState::loading;
  std::string reason;
  std::uint32_t handle = 0;
  std::vector<Slot*> placement;
  std::set<Slot*> loaded;
  std::set<Slot*> pendingLoad;
  std::map<Slot*, std::string> failed;
  std::shared_ptr<ModelCounters> counters;
  std::optional<LoadedModel> reported;
  std::vector<Done> waiters;
  bool restarting = false;             // lost its workers to a crash; they are coming back
  std::shared_ptr<Instance> replaces;  // a reload: the copy that serves until this one is ready
  bool shadow = false;                 // a reload candidate, not routed yet
  bool removed = false;
  ServerCore* core = nullptr;
  Event loadTimer;                     // the load deadline; its argument is this instance
};

namespace {
std::string display(const std::string& name, const std::string& version) {
  return version.empty() ? name : name + " (version " + version + ")";
}
}  // namespace

ServerCore::ServerCore(Options options, EventLoop& main, std::vector<LoopLanes*> httpLanes, MetricsRegistry& metrics)
    : options_(std::move(options)), main_(main), httpLanes_(std::move(httpLanes)), metrics_(metrics) {
  mainGuard_->loop = &main_;
  if (!options_.spawner) options_.spawner = processSpawner(main_.base());
  metrics_.addCollector([](std::string& out) {
    out += "# HELP ringserve_bugs_total Broken invariants of the supervisor's own code, each logged as 'BUG in "
           "ringserve'; stays 0.\n# TYPE ringserve_bugs_total counter\nringserve_bugs_total " +
           std::to_string(transport::bugCount()) + "\n";
  });
  metrics_.addCollector([this](std::string& out) {
    // Runs on the main loop (the metrics server lives there), like everything it reads.
    out += "# HELP ringserve_worker_restarts_total Worker processes restarted after dying.\n"
           "# TYPE ringserve_worker_restarts_total counter\n";
    std::string shm = "# HELP ringserve_shm_bytes_in_use Request-arena bytes held by requests in flight.\n"
                      "# TYPE ringserve_shm_bytes_in_use gauge\n";
    std::string size = "# HELP ringserve_shm_segment_bytes Size of each worker's shared-memory segment.\n"
                       "# TYPE ringserve_shm_segment_bytes gauge\n";
    std::string ring = "# HELP ringserve_ring_occupancy Descriptors waiting in a worker's request rings.\n"
                       "# TYPE ringserve_ring_occupancy gauge\n";
    std::string inflight = "# HELP ringserve_worker_in_flight Requests sent to a worker and not answered yet.\n"
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
  });
}

ServerCore::~ServerCore() {
  {
    // An environment still being prepared finds the core gone and posts nothing.
    std::lock_guard lock(mainGuard_->mutex);
    mainGuard_->loop = nullptr;
  }
  // Workers are killed and reaped by ~WorkerProcess; no callback runs.
  pools_.clear();
}

// ---------------------------------------------------------------------------------------------
// pools and workers

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
  pool->launch.executable =
      env && env->workerExecutable ? env->workerExecutable->string() : options_.workerExecutable;
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
      spdlog::info("{}: Python {} ({}), {}", label, py.version.text(), py.abiTag,
                   py.libpython ? "its own interpreter " + py.libpython->string() : std::string("on the worker's Python"));
      if (py.shadowsMlserver)
        spdlog::debug("{}: its mlserver package is shadowed by ringserve's own (MLServer-compatible) mlserver", label);
    }
  }
  pool->launch.poolLabel = label;
  pool->launch.segment = transport::SegmentConfig::fromShmSize(options_.settings.shmSize,
                                                               static_cast<std::uint32_t>(httpLanes_.size()));
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
    spdlog::error("worker {} (pool {}) cannot start: {}; the supervisor is out of resources, retrying every {}", slot.id,
                  slot.pool->label, why, formatDuration(options_.resourceRetry));
  slot.lastReason = why;
  for (Instance* inst : slot.models)
    if (inst->loaded.empty() && inst->state != ModelState::unavailable) {
      inst->restarting = true;
      inst->reason = "worker " + slot.id + " cannot start (" + why + "); retrying";
    }
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
    if (inst->removed) continue;
    sendLoad(slot, *inst);
  }
}

void ServerCore::onHeartbeat(Slot& slot, const WorkerHeartbeat& hb) { slot.lastHeartbeat = hb; }

void ServerCore::onExit(Slot& slot, const WorkerExit& exit) {
  const bool wasReady = slot.ready;
  slot.ready = false;
  if (slot.link) {
    auto link = slot.link;
    link->markDead(exit.reason);
    const ApiError err = unavailable("worker " + slot.id + " of pool " + slot.pool->label + " " +
                                     (exit.requested ? "was stopped" : "died") + " (" + exit.reason +
                                     ") while serving this request; retry");
    for (auto* lanes : httpLanes_) lanes->loop().post([lanes, link, err] { lanes->drop(link.get(), err); });
  }
  // Let the process object go after this callback returns (it may be on our stack).
  if (slot.proc) main_.post([p = std::shared_ptr<WorkerHandle>(std::move(slot.proc))] {});
  slot.link.reset();
  slot.lastHeartbeat = {};

  for (Instance* inst : slot.models) {
    inst->loaded.erase(&slot);
    inst->pendingLoad.erase(&slot);
  }
  if (shuttingDown_) {
    bool all = true;
    for (auto& [k, p] : pools_)
      for (auto& s : p->slots)
        if (s->proc) all = false;
    if (all && shutdownDone_) {
      auto done = std::move(shutdownDone_);
      shutdownDone_ = nullptr;
      done();
    }
    return;
  }
  const bool hung = std::exchange(slot.killedAsHung, false);
  if (exit.requested && !hung) {
    for (Instance* inst : slot.models) recompute(*inst);
    publish();
    return;
  }
  const std::string reason = hung ? "hung past request_timeout and was killed" : exit.reason;
  spdlog::error("worker {} (pool {}) {}: {}", slot.id, slot.pool->label, wasReady ? "died" : "failed to start",
                reason);
  slot.lastReason = reason;
  RestartPolicy::Decision d;
  if (exit.incompatible) {
    d.restart = false;
    d.reason = exit.reason;
  } else {
    d = slot.policy.died(Clock::now(), exit.reason);
  }
  if (d.restart) {
    for (Instance* inst : slot.models) {
      if (inst->loaded.empty() && inst->state != ModelState::unavailable) inst->restarting = true;
      if (inst->loaded.empty() && inst->state != ModelState::unavailable)
        inst->reason = "worker " + slot.id + " " + (wasReady ? "died" : "failed to start") + " (" + exit.reason +
                       "); restarting in " + formatDuration(d.delay);
      recompute(*inst);
    }
    scheduleRestart(slot, d.delay);
  } else {
    slot.gaveUp = true;
    slot.lastReason = d.reason;
    spdlog::error("worker {} (pool {}): giving up: {}", slot.id, slot.pool->label, d.reason);
    for (Instance* inst : slot.models) {
      // Other workers may still serve it; it is unavailable only when none does.
      if (inst->loaded.empty())
        inst->failed[&slot] = "worker " + slot.id + " of pool " + slot.pool->label + " is not running: " + d.reason;
      recompute(*inst);
    }
  }
  publish();
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
    if (i->pool == &pool && !i->removed) return false;
  return true;
}

void ServerCore::stopPoolIfUnused(Pool& pool) {
  if (!poolUnused(pool)) return;
  // After the current turn, and only if nothing was placed on it meanwhile.
  main_.post([this, key = pool.key] {
    auto it = pools_.find(key);
    if (it == pools_.end() || !poolUnused(*it->second)) return;
    spdlog::info("pool {} has no models left: stopping its workers (the environment stays cached)",
                 it->second->label);
    for (auto& slot : it->second->slots) {
      if (!slot->link) continue;
      auto link = slot->link;
      link->markDead("its pool was stopped");
      const ApiError err = unavailable("worker " + slot->id + " was stopped with its pool");
      for (auto* lanes : httpLanes_) lanes->loop().post([lanes, link, err] { lanes->drop(link.get(), err); });
    }
    // Destroying the pool stops and reaps its workers: they hold no model and nothing is in flight.
    pools_.erase(it);
  });
}

// ---------------------------------------------------------------------------------------------
// models

ServerCore::Instance& ServerCore::addInstance(std::shared_ptr<const settings::ModelSettings> s) {
  auto inst = std::make_shared<Instance>();
  inst->name = s->name;
  inst->version = s->parameters.version.value_or("");
  inst->settings = std::move(s);
  inst->counters = std::make_shared<ModelCounters>();
  const Labels l{{"model_name", inst->name}, {"model_version", inst->version}};
  inst->counters->success = &metrics_.counter("model_infer_request_success_total", "Successful inference requests.", l);
  inst->counters->failure = &metrics_.counter("model_infer_request_failure_total", "Failed inference requests.", l);
  inst->counters->duration =
      &metrics_.histogram("model_infer_request_duration", "Inference request duration in seconds.", l);
  instances_.push_back(inst);
  unloaded_.erase({inst->name, inst->version});
  return *inst;
}

void ServerCore::start(std::vector<settings::DiscoveredModel> models) {
  // The default pool always runs, so the first model load does not wait for a worker to start.
  settings::ModelSettings none;
  poolFor(none, std::nullopt);
  for (auto& m : models) {
    for (const auto& w : m.warnings) spdlog::warn("{}", w);
    if (!m.ok()) {
      spdlog::error("model {} cannot be loaded: {}", m.nameHint, m.error);
      brokenModels_.push_back({m.nameHint, "", ModelState::unavailable, m.error});
      continue;
    }
    auto& inst = addInstance(std::make_shared<const settings::ModelSettings>(std::move(*m.settings)));
    if (options_.settings.loadModelsAtStartup) {
      load(inst);
    } else {
      inst.state = ModelState::unavailable;
      inst.reason = "not loaded (load_models_at_startup is false)";
      inst.removed = true;
      unloaded_[{inst.name, inst.version}] = inst.reason;
    }
  }
  instances_.erase(std::remove_if(instances_.begin(), instances_.end(), [](auto& i) { return i->removed; }),
                   instances_.end());
  publish();
}

void ServerCore::load(Instance& inst) {
  const auto& p = inst.settings->parameters;
  if (!p.environmentTarball && !p.environmentPath) return place(inst, poolFor(*inst.settings, std::nullopt));
  inst.state = ModelState::loading;
  inst.reason = "preparing its environment";
  std::weak_ptr<Instance> weak;
  for (auto& i : instances_)
    if (i.get() == &inst) weak = i;
  // A first unpack can take minutes: it runs on a thread of its own (environments/README.md),
  // and the main loop goes on serving control requests, heartbeats and worker exits. Concurrent
  // preparations of one environment are safe: the cache locks and the second finds it unpacked.
  std::thread([guard = mainGuard_, settings = inst.settings, dir = options_.settings.environmentsDir,
               limits = options_.environmentLimits, weak, this] {
    auto prepared = std::make_shared<Expected<std::optional<environments::PreparedEnvironment>>>(
        environments::prepareForModel(settings->parameters, dir, limits,
                                      environments::logProgress("environment for " + settings->displayName())));
    std::lock_guard lock(guard->mutex);
    if (guard->loop == nullptr) return;  // the core is gone: nobody waits for this any more
    guard->loop->post([guard, weak, prepared, this] {
      if (!guard->alive()) return;
      if (auto target = weak.lock(); target && !target->removed) environmentPrepared(*target, std::move(*prepared));
    });
  }).detach();
}

void ServerCore::environmentPrepared(Instance& inst,
                                     Expected<std::optional<environments::PreparedEnvironment>> prepared) {
  if (!prepared || shuttingDown_) {
    inst.state = ModelState::unavailable;
    inst.reason = prepared ? "the server is shutting down" : prepared.error().message;
    finishWaiters(inst);
    return;
  }
  place(inst, poolFor(*inst.settings, prepared.value()));
}

void ServerCore::place(Instance& inst, Pool& pool) {
  inst.pool = &pool;
  inst.handle = nextHandle_++;
  const int n = static_cast<int>(pool.slots.size());
  int want = inst.settings->parallelWorkers.value_or(n);
  want = std::clamp(want, 1, n);
  std::vector<Slot*> order;
  for (auto& s : pool.slots) order.push_back(s.get());
  std::stable_sort(order.begin(), order.end(), [](Slot* a, Slot* b) { return a->models.size() < b->models.size(); });
  inst.placement.assign(order.begin(), order.begin() + want);
  inst.state = ModelState::loading;
  inst.reason = "loading";
  armLoadDeadline(inst);
  for (Slot* s : inst.placement) {
    s->models.insert(&inst);
    if (s->gaveUp) {
      // An operator asked for it again: give the worker another chance.
      s->gaveUp = false;
      s->policy.reset();
      if (!s->proc) spawn(*s);
    } else if (s->ready) {
      sendLoad(*s, inst);
    }
  }
  recompute(inst);
}

void ServerCore::armLoadDeadline(Instance& inst) {
  inst.core = this;
  if (!inst.loadTimer)
    inst.loadTimer = Event::timer(
        main_.base(),
        [](evutil_socket_t, short, void* arg) {
          auto& in = *static_cast<Instance*>(arg);
          if (in.removed || in.state != ModelState::loading) return;
          // No model stays LOADING forever: a worker that never answers the load fails it.
          for (Slot* s : in.pendingLoad)
            in.failed[s] = "did not finish loading on worker " + s->id + " within " +
                           formatDuration(in.core->options_.loadDeadline);
          if (in.failed.empty())
            in.failed[nullptr] = "did not finish loading within " + formatDuration(in.core->options_.loadDeadline);
          in.pendingLoad.clear();
          spdlog::error("model {} {}", display(in.name, in.version), in.failed.begin()->second);
          in.core->recompute(in);
          in.core->publish();
        },
        &inst);
  inst.loadTimer.add(options_.loadDeadline);
}

void ServerCore::sendLoad(Slot& slot, Instance& inst) {
  ModelLoadSpec spec;
  spec.handle = inst.handle;
  spec.name = inst.name;
  spec.version = inst.version;
  spec.implementation = inst.settings->implementation;
  spec.settingsJson = inst.settings->effectiveJson;
  spec.modelDir = inst.settings->folder.string();
  spec.runtimeSearchPath = {inst.settings->folder.string()};
  if (!slot.pool->envLibDir.empty()) spec.runtimeSearchPath.push_back(slot.pool->envLibDir);
  spec.runtimeSearchPath.push_back(options_.builtinRuntimeDir);
  inst.pendingLoad.insert(&slot);
  inst.failed.erase(&slot);
  std::weak_ptr<Instance> weak;
  for (auto& i : instances_)
    if (i.get() == &inst) weak = i;
  const std::uint32_t handle = inst.handle;
  Slot* sp = &slot;
  const auto started = Clock::now();
  slot.proc->loadModel(spec, [this, weak, handle, sp, started](Expected<LoadedModel> r) {
    auto self = weak.lock();
    if (!self || self->removed || self->handle != handle) {
      if (r && sp->proc) unloadFrom(*sp, handle);  // loaded after it was no longer wanted
      return;
    }
    self->pendingLoad.erase(sp);
    if (r) {
      self->loaded.insert(sp);
      if (!self->reported) self->reported = r.value();
      const double secs = std::chrono::duration<double>(Clock::now() - started).count();
      metrics_.histogram("ringserve_model_load_seconds", "Time to load a model on a worker.",
                         {{"model_name", self->name}, {"model_version", self->version}})
          .observe(secs);
      spdlog::info("model {} loaded on worker {} in {:.1f} ms", display(self->name, self->version), sp->id,
                   secs * 1000);
    } else if (r.error().status == 503 && !sp->ready) {
      // The worker died during the load; it is loaded again when the worker comes back.
    } else {
      self->failed[sp] = r.error().message;
      spdlog::error("model {} failed to load on worker {}: {}", display(self->name, self->version), sp->id,
                    r.error().message);
    }
    recompute(*self);
    publish();
  });
}

void ServerCore::unloadFrom(Slot& slot, std::uint32_t handle) {
  if (!slot.proc || !slot.ready) return;
  const std::string id = slot.id;
  slot.proc->unloadModel(handle, [id, handle](Expected<std::uint32_t> r) {
    if (!r) spdlog::warn("worker {}: unloading model handle {} failed: {}", id, handle, r.error().message);
  });
}

void ServerCore::recompute(Instance& inst) {
  if (inst.state == ModelState::unloading) return;
  if (!inst.failed.empty()) {
    inst.restarting = false;
    inst.state = ModelState::unavailable;
    inst.reason = inst.failed.begin()->second;
  } else if (!inst.loaded.empty()) {
    inst.state = ModelState::ready;
    inst.reason.clear();
    inst.restarting = false;
  } else {
    inst.state = ModelState::loading;
    if (inst.reason.empty()) inst.reason = "loading";
  }
  if (inst.pendingLoad.empty() && (inst.state != ModelState::loading)) finishWaiters(inst);
}

void ServerCore::finishWaiters(Instance& inst) {
  // A reload candidate that made it replaces the old copy; one that failed goes away and the
  // old copy keeps serving.
  if (inst.shadow) {
    std::shared_ptr<Instance> self;
    for (auto& i : instances_)
      if (i.get() == &inst) self = i;
    if (inst.state == ModelState::ready) {
      inst.shadow = false;
      if (auto old = std::move(inst.replaces)) beginUnload(*old, nullptr);
    } else if (inst.state == ModelState::unavailable) {
      inst.removed = true;
      for (Slot* s : inst.loaded) unloadFrom(*s, inst.handle);
      for (Slot* s : inst.placement) s->models.erase(&inst);
      inst.replaces.reset();
    }
  }
  // Callers may send requests the moment they hear back: route first, then answer.
  publish();
  auto waiters = std::move(inst.waiters);
  inst.waiters.clear();
  for (auto& w : waiters) {
    if (inst.state == ModelState::ready)
      w("model " + display(inst.name, inst.version) + " loaded");
    else
      w(ApiError{400, "Model " + display(inst.name, inst.version) + " failed to load: " + inst.reason});
  }
  if (inst.removed) {
    instances_.erase(std::remove_if(instances_.begin(), instances_.end(), [&](auto& i) { return i.get() == &inst; }),
                     instances_.end());
    publish();
  }
}

void ServerCore::beginUnload(Instance& inst, Done done) {
  inst.state = ModelState::unloading;
  inst.reason = "unloading";
  publish();  // new requests see no route at once
  std::shared_ptr<Instance> self;
  for (auto& i : instances_)
    if (i.get() == &inst) self = i;
  struct Ctx {
    ServerCore* core;
    std::shared_ptr<Instance> inst;
    Done done;
    Clock::time_point deadline;
    Event timer;  // polls the drain; freed with the Ctx, inside its own callback (libevent allows it)
  };
  auto* ctx = new Ctx{this, self, std::move(done), Clock::now() + std::chrono::seconds(60), {}};
  ctx->timer = Event::timer(
      main_.base(),
      [](evutil_socket_t, short, void* arg) {
        auto* c = static_cast<Ctx*>(arg);
        // Drain: in-flight requests keep their route and finish before the runtime unloads.
        if (c->inst->counters->inFlight.load() > 0 && Clock::now() < c->deadline) {
          c->timer.add(std::chrono::milliseconds(2));
          return;
        }
        std::unique_ptr<Ctx> owned(c);
        auto& in = *c->inst;
        for (Slot* s : in.loaded) c->core->unloadFrom(*s, in.handle);
        for (Slot* s : in.placement) s->models.erase(&in);
        in.removed = true;
        c->core->unloaded_[{in.name, in.version}] = "unloaded";
        auto& v = c->core->instances_;
        Pool* pool = in.pool;
        v.erase(std::remove_if(v.begin(), v.end(), [&](auto& i) { return i.get() == &in; }), v.end());
        if (pool != nullptr) c->core->stopPoolIfUnused(*pool);
        c->core->publish();
        spdlog::info("model {} unloaded", display(in.name, in.version));
        if (c->done) c->done(std::string("model " + display(in.name, in.version) + " unloaded"));
      },
      ctx);
  ctx->timer.add(std::chrono::microseconds(0));
}

const settings::ModelSettings* ServerCore::findSettings(const std::string& name) const {
  for (const auto& i : instances_)
    if (i->name == name) return i->settings.get();
  return nullptr;
}

void ServerCore::serialized(const std::string& name, std::function<void(Done)> op, Done done) {
  auto& q = opQueues_[name];
  q.push_back({std::move(op), std::move(done)});
  if (q.size() == 1) runNextOp(name);
}

void ServerCore::runNextOp(const std::string& name) {
  auto it = opQueues_.find(name);
  if (it == opQueues_.end() || it->second.empty()) return;
  auto op = it->second.front().op;
  op([this, name](Expected<std::string> r) {
    auto jt = opQueues_.find(name);
    if (jt == opQueues_.end() || jt->second.empty()) return;
    auto done = std::move(jt->second.front().done);
    jt->second.pop_front();
    if (jt->second.empty())
      opQueues_.erase(jt);
    else
      main_.post([this, name] { runNextOp(name); });
    done(std::move(r));
  });
}

void ServerCore::repositoryLoad(std::string name, Done done) {
  main_.post([this, name = std::move(name), done = std::move(done)]() mutable {
    serialized(name, [this, name](Done d) { repositoryLoadNow(name, std::move(d)); }, std::move(done));
  });
}

void ServerCore::repositoryLoadNow(const std::string& name, Done done) {
  {
    auto found = settings::discoverModels(options_.settings.modelRepositoryRoot, options_.env);
    std::vector<settings::DiscoveredModel> mine;
    for (auto& m : found)
      if (m.nameHint == name) mine.push_back(std::move(m));
    if (mine.empty()) {
      done(notFound("Model " + name + " not found"));
      return;
    }
    for (auto& m : mine)
      if (!m.ok()) {
        done(badRequest(m.error));
        return;
      }
    std::vector<settings::ModelSettings> settingsList;
    for (auto& m : mine) settingsList.push_back(std::move(*m.settings));
    loadSettings(std::move(settingsList), std::move(done));
  }
}

void ServerCore::loadPath(std::string folder, Done done) {
  main_.post([this, folder = std::move(folder), done = std::move(done)]() mutable {
    settings::Warnings warnings;
    auto file = std::filesystem::absolute(folder) / "model-settings.json";
    if (!std::filesystem::exists(file)) {
      done(notFound("no model-settings.json in " + std::filesystem::absolute(folder).string()));
      return;
    }
    auto s = settings::loadModelSettings(file, options_.env, warnings);
    for (const auto& w : warnings) spdlog::warn("{}", w);
    if (!s) {
      done(badRequest(s.error().message));
      return;
    }
    auto name = s->name;
    auto shared = std::make_shared<settings::ModelSettings>(std::move(s.value()));
    serialized(
        name,
        [this, shared](Done d) {
          std::vector<settings::ModelSettings> list;
          list.push_back(*shared);
          loadSettings(std::move(list), std::move(d));
        },
        std::move(done));
  });
}

void ServerCore::loadSettings(std::vector<settings::ModelSettings> found, Done done) {
  {
    // Wait for every version; report the first failure.
    struct Join {
      std::size_t left;
      std::optional<ApiError> error;
      std::vector<std::string> ok;
      Done done;
    };
    auto join = std::make_shared<Join>(Join{found.size(), std::nullopt, {}, std::move(done)});
    for (auto& f : found) {
      auto s = std::make_shared<const settings::ModelSettings>(std::move(f));
      const std::string name = s->name;
      const std::string version = s->parameters.version.value_or("");
      std::shared_ptr<Instance> old;
      for (auto& i : instances_)
        if (i->name == name && i->version == version && !i->shadow && i->state != ModelState::unloading) old = i;
      auto& inst = addInstance(s);
      if (old) {
        inst.shadow = true;
        inst.replaces = old;
      }
      inst.waiters.push_back([join](Expected<std::string> r) {
        if (!r && !join->error) join->error = r.error();
        if (r) join->ok.push_back(r.value());
        if (--join->left == 0) {
          if (join->error)
            join->done(*join->error);
          else
            join->done(std::string("loaded"));
        }
      });
      load(inst);
    }
    publish();
  }
}


void ServerCore::repositoryUnload(std::string name, Done done) {
  main_.post([this, name = std::move(name), done = std::move(done)]() mutable {
    serialized(name, [this, name](Done d) { repositoryUnloadNow(name, std::move(d)); }, std::move(done));
  });
}

void ServerCore::repositoryUnloadNow(const std::string& name, Done done) {
  {
    std::vector<std::shared_ptr<Instance>> mine;
    for (auto& i : instances_)
      if (i->name == name && i->state != ModelState::unloading) mine.push_back(i);
    if (mine.empty()) {
      done(notFound("Model " + name + " not found"));
      return;
    }
    auto left = std::make_shared<std::size_t>(mine.size());
    auto shared = std::make_shared<Done>(std::move(done));
    for (auto& i : mine) {
      if (i->shadow) {
        i->removed = true;
        i->shadow = false;
      }
      beginUnload(*i, [left, shared, name](Expected<std::string>) {
        if (--*left == 0) (*shared)(std::string("model " + name + " unloaded"));
      });
    }
  }
}

void ServerCore::reportTimeout(std::shared_ptr<WorkerLink> link, std::uint64_t progressAtSend) {
  main_.post([this, link, progressAtSend] {
    for (auto& [k, pool] : pools_)
      for (auto& slot : pool->slots)
        if (slot->link == link && slot->proc && slot->proc->progress() == progressAtSend) {
          spdlog::error("worker {} made no progress within request_timeout; killing it", slot->id);
          slot->killedAsHung = true;
          slot->proc->kill();
        }
  });
}

void ServerCore::shutdown(std::function<void()> done) {
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
  if (!any) {
    done();
    return;
  }
  shutdownDone_ = std::move(done);
}

// ---------------------------------------------------------------------------------------------
// publishing

namespace {
// Declared tensors win; what the runtime reported fills in when none are declared.
std::vector<codec::TensorEntry> tensorEntries(const std::vector<settings::TensorMetadata>& declared,
                                              const std::vector<TensorInfo>* reported) {
  std::vector<codec::TensorEntry> out;
  if (!declared.empty() || reported == nullptr) {
    for (const auto& t : declared) out.push_back({t.name, t.datatype, t.shape, t.contentType});
  } else {
    for (const auto& t : *reported) out.push_back({t.name, t.datatype, t.shape, t.contentType});
  }
  return out;
}
}  // namespace

std::string ServerCore::metadataJson(const Instance& inst) const {
  const auto& s = *inst.settings;
  codec::ModelMetadata m{inst.name, s.versions, s.platform, {}, {}, std::nullopt};
  m.inputs = tensorEntries(s.inputs, inst.reported ? &inst.reported->inputs : nullptr);
  m.outputs = tensorEntries(s.outputs, inst.reported ? &inst.reported->outputs : nullptr);
  if (s.parameters.contentType) m.contentType = *s.parameters.contentType;
  return codec::modelMetadataBody(m);
}

std::string ServerCore::configJson(const Instance& inst, std::size_t instances) const {
  const auto& s = *inst.settings;
  codec::ModelConfigText c{inst.name, s.platform, s.implementation, s.maxBatchSize, {}, {}, instances};
  c.inputs = tensorEntries(s.inputs, inst.reported ? &inst.reported->inputs : nullptr);
  c.outputs = tensorEntries(s.outputs, inst.reported ? &inst.reported->outputs : nullptr);
  return codec::modelConfigBody(c);
}

void ServerCore::publish() {
  auto table = std::make_shared<RoutingTable>();
  std::vector<IndexEntry> index;
  std::map<std::string, std::vector<std::optional<std::string>>> versions;
  for (const auto& inst : instances_) {
    if (inst->removed) continue;
    if (inst->shadow) continue;  // not routed until it replaces the old copy
    index.push_back({inst->name, inst->version, inst->state, inst->reason});
    if (inst->state == ModelState::unloading) continue;
    auto route = std::make_shared<ModelRoute>();
    route->name = inst->name;
    route->version = inst->version;
    route->state = inst->state;
    route->reason = inst->reason;
    route->restarting = inst->restarting;
    route->settings = inst->settings;
    route->counters = inst->counters;
    route->metadataJson = metadataJson(*inst);
    if (inst->state == ModelState::ready)
      for (Slot* s : inst->loaded)
        if (s->link && !s->link->dead()) route->targets.push_back({s->link, inst->handle});
    route->configJson = configJson(*inst, route->targets.size());
    if (inst->state != ModelState::ready) table->allReady = false;
    auto& mv = table->models[inst->name];
    mv.byVersion[inst->version] = route;
    versions[inst->name].push_back(inst->version.empty() ? std::nullopt : std::optional<std::string>(inst->version));
  }
  for (auto& [name, list] : versions) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    auto i = settings::defaultVersionIndex(list);
    if (i) table->models[name].defaultVersion = list[*i].value_or("");
  }
  for (const auto& b : brokenModels_) index.push_back(b);
  for (const auto& [key, reason] : unloaded_) {
    bool present = false;
    for (const auto& e : index)
      if (e.name == key.first && e.version == key.second) present = true;
    if (!present) index.push_back({key.first, key.second, ModelState::unavailable, reason});
  }
  std::sort(index.begin(), index.end(),
            [](const IndexEntry& a, const IndexEntry& b) { return std::tie(a.name, a.version) < std::tie(b.name, b.version); });
  routing_.publish(std::move(table));
  std::lock_guard lock(indexMutex_);
  index_ = std::move(index);
}

std::vector<IndexEntry> ServerCore::index() const {
  std::lock_guard lock(indexMutex_);
  return index_;
}

std::vector<ServerCore::WorkerInfo> ServerCore::workers() const {
  std::vector<WorkerInfo> out;
  for (const auto& [k, pool] : pools_)
    for (const auto& slot : pool->slots) {
      WorkerInfo w;
      w.id = slot->id;
      w.pool = pool->label;
      w.state = slot->proc ? toString(slot->proc->state()) : (slot->gaveUp ? "failed" : "restarting");
      w.pid = slot->proc ? slot->proc->pid() : -1;
      w.restarts = slot->policy.restarts();
      if (slot->link && slot->link->shm) {
        w.inFlight = slot->link->inFlight.load();
        w.shmBytes = slot->link->shm->segment().size();
        w.shmUsedBytes = slot->link->requestBytesInUse.load();
      }
      w.environment = pool->envRoot;
      w.environmentBytes = pool->envBytes;
      for (Instance* i : slot->models) w.models.push_back(display(i->name, i->version));
      out.push_back(std::move(w));
    }
  return out;
}

}  // namespace ringserve::supervisor
