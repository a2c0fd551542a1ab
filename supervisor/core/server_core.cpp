// ServerCore, the entry points (supervisor/core/README.md): construction, start, the operations
// other threads ask for (posted to the main loop, then queued per model name in ops_), shutdown,
// hung-worker reports and status. The jobs themselves live in worker_pools.cpp (pools and
// restarts), model_registry.cpp (model states), op_queue.cpp and routing_publication.cpp.
#include "supervisor/core/server_core.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "supervisor/core/server_core_parts.hpp"
#include "transport/bug.hpp"

namespace ringserve::supervisor {

ServerCore::ServerCore(Options options, EventLoop& main, std::vector<LoopLanes*> httpLanes, MetricsRegistry& metrics)
    : options_(std::move(options)), main_(main), httpLanes_(std::move(httpLanes)), metrics_(metrics) {
  mainGuard_->loop = &main_;
  if (!options_.spawner) options_.spawner = processSpawner(main_.base());
  metrics_.addCollector([](std::string& out) {
    out +=
        "# HELP ringserve_bugs_total Broken invariants of the supervisor's own code, each logged as 'BUG in "
        "ringserve'; stays 0.\n# TYPE ringserve_bugs_total counter\nringserve_bugs_total " +
        std::to_string(transport::bugCount()) + "\n";
  });
  metrics_.addCollector([this](std::string& out) { collectWorkerMetrics(out); });
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
      transition(inst, ModelEvent::discard, "not loaded (load_models_at_startup is false)");
      unloaded_[{inst.name, inst.version}] = inst.reason;
    }
  }
  instances_.erase(std::remove_if(instances_.begin(), instances_.end(), [](auto& i) { return i->gone(); }),
                   instances_.end());
  publish();
}

const settings::ModelSettings* ServerCore::findSettings(const std::string& name) const {
  for (const auto& i : instances_)
    if (i->name == name) return i->settings.get();
  return nullptr;
}

void ServerCore::repositoryLoad(std::string name, Done done) {
  main_.post([this, name = std::move(name), done = std::move(done)]() mutable {
    ops_.submit(
        name, [this, name](Done d) { repositoryLoadNow(name, std::move(d)); }, std::move(done));
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
    ops_.submit(
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
        if (i->name == name && i->version == version && !i->candidate && i->phase != ModelPhase::draining && !i->gone())
          old = i;
      auto& inst = addInstance(s);
      if (old) {
        inst.candidate = true;
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
    ops_.submit(
        name, [this, name](Done d) { repositoryUnloadNow(name, std::move(d)); }, std::move(done));
  });
}

void ServerCore::repositoryUnloadNow(const std::string& name, Done done) {
  {
    std::vector<std::shared_ptr<Instance>> mine;
    for (auto& i : instances_)
      if (i->name == name && i->phase != ModelPhase::draining && !i->gone()) mine.push_back(i);
    if (mine.empty()) {
      done(notFound("Model " + name + " not found"));
      return;
    }
    auto left = std::make_shared<std::size_t>(mine.size());
    auto shared = std::make_shared<Done>(std::move(done));
    for (auto& i : mine) {
      i->replaces.reset();  // a reload candidate stays hidden (candidate) while it drains
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
  if (!any) return done();
  shutdownDone_ = std::move(done);
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
