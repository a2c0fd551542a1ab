// ServerCore, job 2: the model registry (supervisor/core/README.md). Instances move through the
// phases of model_state.hpp only by transition(); settle() derives the event from the per-worker
// facts after every change. Reload candidates load beside the copy they replace and swap in when
// ready; an unload hides the model at once, drains its in-flight requests, then unloads it from
// its workers. Main loop only (environment preparation runs on a thread of its own and posts
// back through MainGuard).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "supervisor/core/server_core_parts.hpp"
#include "supervisor/environments/environment.hpp"
#include "transport/bug.hpp"

namespace ringserve::supervisor {

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

void ServerCore::load(Instance& inst) {
  const auto& p = inst.settings->parameters;
  if (!p.environmentTarball && !p.environmentPath) return place(inst, poolFor(*inst.settings, std::nullopt));
  transition(inst, ModelEvent::prepareEnvironment, "preparing its environment");
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
      if (auto target = weak.lock(); target && target->phase == ModelPhase::preparing)
        environmentPrepared(*target, std::move(*prepared));
    });
  }).detach();
}

void ServerCore::environmentPrepared(Instance& inst,
                                     Expected<std::optional<environments::PreparedEnvironment>> prepared) {
  if (!prepared || shuttingDown_) {
    transition(inst, ModelEvent::environmentFailed,
               prepared ? "the server is shutting down" : prepared.error().message);
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
  transition(inst, ModelEvent::place, "loading");
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
  settle(inst);
}

void ServerCore::armLoadDeadline(Instance& inst) {
  inst.core = this;
  if (!inst.loadTimer)
    inst.loadTimer = Event::timer(
        main_.base(),
        [](evutil_socket_t, short, void* arg) {
          auto& in = *static_cast<Instance*>(arg);
          if (in.phase != ModelPhase::loading && in.phase != ModelPhase::restarting) return;
          // No model stays LOADING forever: a worker that never answers the load fails it.
          for (Slot* s : in.pendingLoad)
            in.failed[s] = "did not finish loading on worker " + s->id + " within " +
                           formatDuration(in.core->options_.loadDeadline);
          if (in.failed.empty())
            in.failed[nullptr] = "did not finish loading within " + formatDuration(in.core->options_.loadDeadline);
          in.pendingLoad.clear();
          spdlog::error("model {} {}", display(in.name, in.version), in.failed.begin()->second);
          in.core->settle(in);
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
    } else if (r.error().status == 503 && !sp->ready) {
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

void ServerCore::unloadFrom(Slot& slot, std::uint32_t handle) {
  if (!slot.proc || !slot.ready) return;
  const std::string id = slot.id;
  slot.proc->unloadModel(handle, [id, handle](Expected<std::uint32_t> r) {
    if (!r) spdlog::warn("worker {}: unloading model handle {} failed: {}", id, handle, r.error().message);
  });
}

// Applies `event` through the transition table (model_state.cpp); `reason` replaces the
// instance's reason when given. A transition the table lacks is a bug here: the phase stays.
void ServerCore::transition(Instance& inst, ModelEvent event, std::optional<std::string> reason) {
  const auto next = nextPhase(inst.phase, event);
  RINGSERVE_BUG_IF(!next, "ServerCore::transition",
                   std::string("model ") + display(inst.name, inst.version) + ": no transition from " +
                       toString(inst.phase) + " on " + toString(event));
  if (!next) return;
  inst.phase = *next;
  if (reason) inst.reason = std::move(*reason);
}

// The per-worker facts changed: the phase they imply, and the answer to waiting operations once
// no load is pending (ready or failed).
void ServerCore::settle(Instance& inst) {
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

// Its workers died or cannot start: with nothing loaded elsewhere, it waits for them (503,
// retriable) unless it already failed.
void ServerCore::workersLost(Instance& inst, const std::string& why) {
  if (!inst.loaded.empty() || inst.phase == ModelPhase::failed || inst.phase == ModelPhase::gone) return;
  transition(inst, ModelEvent::workersLost, why);
}

void ServerCore::finishWaiters(Instance& inst) {
  // A reload candidate that made it replaces the old copy; one that failed goes away and the
  // old copy keeps serving.
  if (inst.candidate) {
    if (inst.phase == ModelPhase::ready) {
      inst.candidate = false;
      if (auto old = std::move(inst.replaces)) beginUnload(*old, nullptr);
    } else if (inst.phase == ModelPhase::failed) {
      transition(inst, ModelEvent::discard);
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
    if (inst.phase == ModelPhase::ready)
      w("model " + display(inst.name, inst.version) + " loaded");
    else
      w(ApiError{400, "Model " + display(inst.name, inst.version) + " failed to load: " + inst.reason});
  }
  if (inst.gone()) {
    instances_.erase(std::remove_if(instances_.begin(), instances_.end(), [&](auto& i) { return i.get() == &inst; }),
                     instances_.end());
    publish();
  }
}

void ServerCore::beginUnload(Instance& inst, Done done) {
  transition(inst, ModelEvent::unload, "unloading");
  publish();  // new requests see no route at once
  std::shared_ptr<Instance> self;
  for (auto& i : instances_)
    if (i.get() == &inst) self = i;
  auto owned = std::make_unique<UnloadDrain>(
      UnloadDrain{this, self, std::move(done), Clock::now() + std::chrono::seconds(60), {}});
  UnloadDrain* ctx = owned.get();
  drains_.emplace(ctx, std::move(owned));
  ctx->timer = Event::timer(
      main_.base(),
      [](evutil_socket_t, short, void* arg) {
        auto* c = static_cast<UnloadDrain*>(arg);
        // Drain: in-flight requests keep their route and finish before the runtime unloads.
        if (c->inst->counters->inFlight.load() > 0 && Clock::now() < c->deadline) {
          c->timer.add(std::chrono::milliseconds(2));
          return;
        }
        // Freed at the end of this callback, with its timer (libevent allows it).
        auto node = c->core->drains_.extract(c);
        auto& in = *c->inst;
        for (Slot* s : in.loaded) c->core->unloadFrom(*s, in.handle);
        for (Slot* s : in.placement) s->models.erase(&in);
        c->core->transition(in, ModelEvent::drained);
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

}  // namespace ringserve::supervisor
