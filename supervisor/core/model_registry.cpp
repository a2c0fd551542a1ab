// ModelRegistry (model_registry.hpp): instances move through the phases of model_state.hpp only
// by transition(); settle() derives the event from the per-worker facts after every change.
#include "supervisor/core/model_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "supervisor/environments/environment.hpp"
#include "transport/bug.hpp"

namespace ringserve::supervisor {

using Clock = std::chrono::steady_clock;

// An unload draining its in-flight requests (beginUnload): owned by drains_, polled by its timer
// until the model's requests are done or the drain deadline passes.
struct ModelRegistry::UnloadDrain {
  ModelRegistry* registry;
  std::shared_ptr<ModelInstance> inst;
  ModelDone done;
  Clock::time_point deadline;
  Event timer;
};

ModelRegistry::ModelRegistry(const ManagerOptions& options, EventLoop& main, WorkerPools& pools,
                             RoutingPublication& publication, MetricsRegistry& metrics)
    : options_(options), main_(main), pools_(pools), publication_(publication), metrics_(metrics) {
  mainGuard_->loop = &main_;
}

ModelRegistry::~ModelRegistry() {
  // An environment still being prepared finds the registry gone and posts nothing.
  std::lock_guard lock(mainGuard_->mutex);
  mainGuard_->loop = nullptr;
}

void ModelRegistry::discovered(std::vector<settings::DiscoveredModel> models, bool loadNow) {
  for (auto& m : models) {
    for (const auto& w : m.warnings) spdlog::warn("{}", w);
    if (!m.ok()) {
      spdlog::error("model {} cannot be loaded: {}", m.nameHint, m.error);
      brokenModels_.push_back({m.nameHint, "", ModelState::unavailable, m.error});
      continue;
    }
    auto& inst = add(std::make_shared<const settings::ModelSettings>(std::move(*m.settings)));
    if (loadNow) {
      load(inst);
    } else {
      transition(inst, ModelEvent::discard, "not loaded (load_models_at_startup is false)");
      unloaded_[{inst.name, inst.version}] = inst.reason;
    }
  }
  instances_.erase(std::remove_if(instances_.begin(), instances_.end(), [](auto& i) { return i->gone(); }),
                   instances_.end());
  publish();
}

void ModelRegistry::load(std::vector<settings::ModelSettings> found, ModelDone done) {
  // Wait for every version; report the first failure.
  struct Join {
    std::size_t left;
    std::optional<Error> error;
    ModelDone done;
  };
  auto join = std::make_shared<Join>(Join{found.size(), std::nullopt, std::move(done)});
  for (auto& f : found) {
    auto s = std::make_shared<const settings::ModelSettings>(std::move(f));
    const std::string name = s->name;
    const std::string version = s->parameters.version.value_or("");
    std::shared_ptr<ModelInstance> old;
    for (auto& i : instances_)
      if (i->name == name && i->version == version && !i->candidate && i->phase != ModelPhase::draining && !i->gone())
        old = i;
    auto& inst = add(s);
    if (old) {
      inst.candidate = true;
      inst.replaces = old;
    }
    inst.waiters.push_back([join](Expected<std::string> r) {
      if (!r && !join->error) join->error = r.error();
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

void ModelRegistry::unload(const std::string& name, ModelDone done) {
  std::vector<std::shared_ptr<ModelInstance>> mine;
  for (auto& i : instances_)
    if (i->name == name && i->phase != ModelPhase::draining && !i->gone()) mine.push_back(i);
  if (mine.empty()) {
    done(notFound("Model " + name + " not found"));
    return;
  }
  auto left = std::make_shared<std::size_t>(mine.size());
  auto shared = std::make_shared<ModelDone>(std::move(done));
  for (auto& i : mine) {
    i->replaces.reset();  // a reload candidate stays hidden (candidate) while it drains
    beginUnload(*i, [left, shared, name](Expected<std::string>) {
      if (--*left == 0) (*shared)(std::string("model " + name + " unloaded"));
    });
  }
}

void ModelRegistry::publish() { publication_.publish(instances_, brokenModels_, unloaded_); }

std::shared_ptr<ModelInstance> ModelRegistry::shared(const ModelInstance& inst) const {
  for (const auto& i : instances_)
    if (i.get() == &inst) return i;
  return nullptr;
}

void ModelRegistry::erase(const ModelInstance& inst) {
  instances_.erase(std::remove_if(instances_.begin(), instances_.end(), [&](auto& i) { return i.get() == &inst; }),
                   instances_.end());
}

// PoolListener: what a slot's worker did, for the models placed on it.

void ModelRegistry::workerReady(WorkerSlot& slot) {
  for (ModelInstance* inst : slot.models) {
    if (inst->gone()) continue;
    sendLoad(slot, *inst);
  }
}

void ModelRegistry::workerExited(WorkerSlot& slot) {
  for (ModelInstance* inst : slot.models) {
    inst->loaded.erase(&slot);
    inst->pendingLoad.erase(&slot);
  }
}

void ModelRegistry::workerStopped(WorkerSlot& slot) {
  for (ModelInstance* inst : slot.models) settle(*inst);
}

void ModelRegistry::workerLost(WorkerSlot& slot, const std::string& why) {
  for (ModelInstance* inst : slot.models) {
    workersLost(*inst, why);
    settle(*inst);
  }
}

void ModelRegistry::workerGaveUp(WorkerSlot& slot, const std::string& why) {
  for (ModelInstance* inst : slot.models) {
    // Other workers may still serve it; it is unavailable only when none does.
    if (inst->loaded.empty())
      inst->failed[&slot] = "worker " + slot.id + " of pool " + slot.pool->label + " is not running: " + why;
    settle(*inst);
  }
}

void ModelRegistry::workerCannotStart(WorkerSlot& slot, const std::string& why) {
  for (ModelInstance* inst : slot.models) workersLost(*inst, why);
}

bool ModelRegistry::poolInUse(const WorkerPool& pool) const {
  for (const auto& i : instances_)
    if (i->pool == &pool && !i->gone()) return true;
  return false;
}

ModelInstance& ModelRegistry::add(std::shared_ptr<const settings::ModelSettings> s) {
  auto inst = std::make_shared<ModelInstance>();
  inst->name = s->name;
  inst->version = s->parameters.version.value_or("");
  inst->settings = std::move(s);
  inst->counters = std::make_shared<ModelCounters>();
  const Labels l{{"model_name", inst->name}, {"model_version", inst->version}};
  inst->counters->success = &metrics_.counter("model_infer_request_success_total", "Successful inference requests.", l);
  inst->counters->failure = &metrics_.counter("model_infer_request_failure_total", "Failed inference requests.", l);
  inst->counters->duration =
      &metrics_.histogram("model_infer_request_duration", "Inference request duration in seconds.", l);
  if (inst->settings->batching()) {
    auto& c = *inst->counters;
    c.batchQueue =
        &metrics_.histogram("batch_request_queue", "Requests waiting in the batch a request joins.", l, queueBuckets());
    c.batchSize = &metrics_.histogram("ringserve_batch_size", "Rows per batched predict call.", l, batchBuckets());
    c.batchWait = &metrics_.histogram("ringserve_batch_wait_seconds",
                                      "Time a request waited in the batcher before its batch was sent.", l);
  }
  instances_.push_back(inst);
  unloaded_.erase({inst->name, inst->version});
  return *inst;
}

void ModelRegistry::load(ModelInstance& inst) {
  const auto& p = inst.settings->parameters;
  if (!p.environmentTarball && !p.environmentPath) return place(inst, pools_.poolFor(*inst.settings, std::nullopt));
  transition(inst, ModelEvent::prepareEnvironment, "preparing its environment");
  std::weak_ptr<ModelInstance> weak = shared(inst);
  // A first unpack can take minutes: it runs on a thread of its own (environments/README.md),
  // and the main loop goes on serving control requests, heartbeats and worker exits. Concurrent
  // preparations of one environment are safe: the cache locks and the second finds it unpacked.
  std::thread([guard = mainGuard_, settings = inst.settings, dir = options_.settings.environmentsDir,
               limits = options_.environmentLimits, weak, this] {
    auto prepared = std::make_shared<environments::EnvResult<std::optional<environments::PreparedEnvironment>>>(
        environments::prepareForModel(settings->parameters, dir, limits,
                                      environments::logProgress("environment for " + settings->displayName())));
    std::lock_guard lock(guard->mutex);
    if (guard->loop == nullptr) return;  // the registry is gone: nobody waits for this any more
    guard->loop->post([guard, weak, prepared, this] {
      if (!guard->alive()) return;
      if (auto target = weak.lock(); target && target->phase == ModelPhase::preparing)
        environmentPrepared(*target, std::move(*prepared));
    });
  }).detach();
}

void ModelRegistry::environmentPrepared(
    ModelInstance& inst, environments::EnvResult<std::optional<environments::PreparedEnvironment>> prepared) {
  if (!prepared || pools_.shuttingDown()) {
    transition(inst, ModelEvent::environmentFailed,
               prepared ? "the server is shutting down" : prepared.error().message);
    finishWaiters(inst);
    return;
  }
  place(inst, pools_.poolFor(*inst.settings, prepared.value()));
}

void ModelRegistry::place(ModelInstance& inst, WorkerPool& pool) {
  inst.pool = &pool;
  inst.handle = nextHandle_++;
  const int n = static_cast<int>(pool.slots.size());
  int want = inst.settings->parallelWorkers.value_or(n);
  want = std::clamp(want, 1, n);
  std::vector<WorkerSlot*> order;
  for (auto& s : pool.slots) order.push_back(s.get());
  std::stable_sort(order.begin(), order.end(),
                   [](WorkerSlot* a, WorkerSlot* b) { return a->models.size() < b->models.size(); });
  inst.placement.assign(order.begin(), order.begin() + want);
  transition(inst, ModelEvent::place, "loading");
  armLoadDeadline(inst);
  for (WorkerSlot* s : inst.placement) {
    s->models.insert(&inst);
    if (s->gaveUp) {
      pools_.revive(*s);  // an operator asked for it again: give the worker another chance
    } else if (s->ready) {
      sendLoad(*s, inst);
    }
  }
  settle(inst);
}

void ModelRegistry::armLoadDeadline(ModelInstance& inst) {
  inst.registry = this;
  if (!inst.loadTimer)
    inst.loadTimer = Event::timer(
        main_.base(),
        [](evutil_socket_t, short, void* arg) {
          auto& in = *static_cast<ModelInstance*>(arg);
          in.registry->loadDeadlinePassed(in);
        },
        &inst);
  inst.loadTimer.add(options_.loadDeadline);
}

// No model stays LOADING forever: a worker that never answers the load fails it.
void ModelRegistry::loadDeadlinePassed(ModelInstance& inst) {
  if (inst.phase != ModelPhase::loading && inst.phase != ModelPhase::restarting) return;
  for (WorkerSlot* s : inst.pendingLoad)
    inst.failed[s] = "did not finish loading on worker " + s->id + " within " + formatDuration(options_.loadDeadline);
  if (inst.failed.empty())
    inst.failed[nullptr] = "did not finish loading within " + formatDuration(options_.loadDeadline);
  inst.pendingLoad.clear();
  spdlog::error("model {} {}", display(inst.name, inst.version), inst.failed.begin()->second);
  settle(inst);
  publish();
}

void ModelRegistry::sendLoad(WorkerSlot& slot, ModelInstance& inst) {
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
  std::weak_ptr<ModelInstance> weak = shared(inst);
  const std::uint32_t handle = inst.handle;
  WorkerSlot* sp = &slot;
  const auto started = Clock::now();
  slot.proc->loadModel(spec, [this, weak, handle, sp, started](Expected<LoadedModel> r) {
    auto self = weak.lock();
    if (!self || self->gone() || self->phase == ModelPhase::draining || self->handle != handle) {
      if (r && sp->proc) unloadFrom(*sp, handle);  // loaded after it was no longer wanted
      return;
    }
    self->pendingLoad.erase(sp);
    if (r) {
      self->loaded.insert(sp);
      if (!self->reported) self->reported = r.value();
      const double secs = std::chrono::duration<double>(Clock::now() - started).count();
      metrics_
          .histogram("ringserve_model_load_seconds", "Time to load a model on a worker.",
                     {{"model_name", self->name}, {"model_version", self->version}})
          .observe(secs);
      spdlog::info("model {} loaded on worker {} in {:.1f} ms", display(self->name, self->version), sp->id,
                   secs * 1000);
    } else if (r.error().kind == ErrorKind::unavailable && !sp->ready) {
      // The worker died during the load; it is loaded again when the worker comes back.
    } else {
      self->failed[sp] = r.error().message;
      spdlog::error("model {} failed to load on worker {}: {}", display(self->name, self->version), sp->id,
                    r.error().message);
    }
    settle(*self);
    publish();
  });
}

void ModelRegistry::unloadFrom(WorkerSlot& slot, std::uint32_t handle) {
  if (!slot.proc || !slot.ready) return;
  const std::string id = slot.id;
  slot.proc->unloadModel(handle, [id, handle](Expected<std::uint32_t> r) {
    if (!r) spdlog::warn("worker {}: unloading model handle {} failed: {}", id, handle, r.error().message);
  });
}

// Applies `event` through the transition table (model_state.cpp); `reason` replaces the
// instance's reason when given. A transition the table lacks is a bug here: the phase stays.
void ModelRegistry::transition(ModelInstance& inst, ModelEvent event, std::optional<std::string> reason) {
  const auto next = nextPhase(inst.phase, event);
  RINGSERVE_BUG_IF(!next, "ModelRegistry::transition",
                   std::string("model ") + display(inst.name, inst.version) + ": no transition from " +
                       toString(inst.phase) + " on " + toString(event));
  if (!next) return;
  inst.phase = *next;
  if (reason) inst.reason = std::move(*reason);
}

// The per-worker facts changed: the phase they imply, and the answer to waiting operations once
// no load is pending (ready or failed).
void ModelRegistry::settle(ModelInstance& inst) {
  if (inst.phase == ModelPhase::draining || inst.phase == ModelPhase::gone) return;
  if (!inst.failed.empty()) {
    transition(inst, ModelEvent::loadFailed, inst.failed.begin()->second);
  } else if (!inst.loaded.empty()) {
    transition(inst, ModelEvent::loaded, std::string());
  } else {
    transition(inst, ModelEvent::waiting, inst.reason.empty() ? std::optional<std::string>("loading") : std::nullopt);
  }
  if (inst.pendingLoad.empty() && (inst.phase == ModelPhase::ready || inst.phase == ModelPhase::failed))
    finishWaiters(inst);
}

// Its workers died or cannot start: with nothing loaded elsewhere, it waits for them (requests
// are unavailable, retriable) unless it already failed.
void ModelRegistry::workersLost(ModelInstance& inst, const std::string& why) {
  if (!inst.loaded.empty() || inst.phase == ModelPhase::failed || inst.phase == ModelPhase::gone) return;
  transition(inst, ModelEvent::workersLost, why);
}

void ModelRegistry::finishWaiters(ModelInstance& inst) {
  // A reload candidate that made it replaces the old copy; one that failed goes away and the
  // old copy keeps serving.
  if (inst.candidate) {
    if (inst.phase == ModelPhase::ready) {
      inst.candidate = false;
      if (auto old = std::move(inst.replaces)) beginUnload(*old, nullptr);
    } else if (inst.phase == ModelPhase::failed) {
      transition(inst, ModelEvent::discard);
      for (WorkerSlot* s : inst.loaded) unloadFrom(*s, inst.handle);
      for (WorkerSlot* s : inst.placement) s->models.erase(&inst);
      inst.replaces.reset();
    }
  }
  // Callers may send requests the moment they hear back: route first, then answer.
  publish();
  auto waiters = std::move(inst.waiters);
  inst.waiters.clear();
  for (auto& w : waiters) {
    if (inst.phase == ModelPhase::ready)
      w("model " + display(inst.name, inst.version) + " loaded");
    else
      w(badRequest("Model " + display(inst.name, inst.version) + " failed to load: " + inst.reason));
  }
  if (inst.gone()) {
    erase(inst);
    publish();
  }
}

void ModelRegistry::beginUnload(ModelInstance& inst, ModelDone done) {
  transition(inst, ModelEvent::unload, "unloading");
  publish();  // new requests see no route at once
  auto owned = std::make_unique<UnloadDrain>(
      UnloadDrain{this, shared(inst), std::move(done), Clock::now() + std::chrono::seconds(60), {}});
  UnloadDrain* ctx = owned.get();
  drains_.emplace(ctx, std::move(owned));
  ctx->timer = Event::timer(
      main_.base(),
      [](evutil_socket_t, short, void* arg) {
        auto* c = static_cast<UnloadDrain*>(arg);
        c->registry->drainTick(*c);
      },
      ctx);
  ctx->timer.add(std::chrono::microseconds(0));
}

// Drain: in-flight requests keep their route and finish before the runtime unloads.
void ModelRegistry::drainTick(UnloadDrain& drain) {
  if (drain.inst->counters->inFlight.load() > 0 && Clock::now() < drain.deadline) {
    drain.timer.add(std::chrono::milliseconds(2));
    return;
  }
  // Freed at the end of this call, with its timer, inside that timer's callback (libevent allows it).
  auto node = drains_.extract(&drain);
  auto& in = *drain.inst;
  for (WorkerSlot* s : in.loaded) unloadFrom(*s, in.handle);
  for (WorkerSlot* s : in.placement) s->models.erase(&in);
  transition(in, ModelEvent::drained);
  unloaded_[{in.name, in.version}] = "unloaded";
  WorkerPool* pool = in.pool;
  erase(in);
  if (pool != nullptr) pools_.stopIfUnused(*pool);
  publish();
  spdlog::info("model {} unloaded", display(in.name, in.version));
  if (drain.done) drain.done(std::string("model " + display(in.name, in.version) + " unloaded"));
}

}  // namespace ringserve::supervisor
