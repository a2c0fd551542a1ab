// ServerCore, the entry points (server_core.hpp): construction, start, the operations other
// threads ask for (posted to the main loop, then queued per model name in ops_), shutdown,
// hung-worker reports and status.
#include "supervisor/core/server_core.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "transport/bug.hpp"

namespace ringserve::supervisor {

ServerCore::ServerCore(Options options, EventLoop& main, std::vector<LoopLanes*> httpLanes, MetricsRegistry& metrics)
    : options_(std::move(options)),
      main_(main),
      registry_(options_, main_, pools_, publication_, metrics),
      pools_(options_, main_, std::move(httpLanes), metrics, registry_) {
  if (!options_.spawner) options_.spawner = processSpawner(main_.base());
  metrics.addCollector([](std::string& out) {
    out +=
        "# HELP ringserve_bugs_total Broken invariants of the supervisor's own code, each logged as 'BUG in "
        "ringserve'; stays 0.\n# TYPE ringserve_bugs_total counter\nringserve_bugs_total " +
        std::to_string(transport::bugCount()) + "\n";
  });
  metrics.addCollector([this](std::string& out) { pools_.collectMetrics(out); });
}

ServerCore::~ServerCore() = default;

void ServerCore::start(std::vector<settings::DiscoveredModel> models) {
  // The default pool always runs, so the first model load does not wait for a worker to start.
  settings::ModelSettings none;
  pools_.poolFor(none, std::nullopt);
  registry_.discovered(std::move(models), options_.settings.loadModelsAtStartup);
}

void ServerCore::repositoryLoad(std::string name, Done done) {
  main_.post([this, name = std::move(name), done = std::move(done)]() mutable {
    ops_.submit(
        name, [this, name](Done d) { repositoryLoadNow(name, std::move(d)); }, std::move(done));
  });
}

void ServerCore::repositoryLoadNow(const std::string& name, Done done) {
  auto found = settings::discoverModels(options_.settings.modelRepositoryRoot, options_.env);
  std::vector<settings::ModelSettings> mine;
  for (auto& m : found) {
    if (m.nameHint != name) continue;
    if (!m.ok()) return done(badRequest(m.error));
    mine.push_back(std::move(*m.settings));
  }
  if (mine.empty()) return done(notFound("Model " + name + " not found"));
  registry_.load(std::move(mine), std::move(done));
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
          registry_.load(std::move(list), std::move(d));
        },
        std::move(done));
  });
}

void ServerCore::repositoryUnload(std::string name, Done done) {
  main_.post([this, name = std::move(name), done = std::move(done)]() mutable {
    ops_.submit(
        name, [this, name](Done d) { registry_.unload(name, std::move(d)); }, std::move(done));
  });
}

void ServerCore::reportTimeout(std::shared_ptr<WorkerLink> link, std::uint64_t progressAtSend) {
  main_.post([this, link, progressAtSend] { pools_.killIfHung(link, progressAtSend); });
}

void ServerCore::shutdown(std::function<void()> done) { pools_.shutdown(std::move(done)); }

std::vector<ServerCore::WorkerInfo> ServerCore::workers() const {
  std::vector<WorkerInfo> out;
  for (const auto& [k, pool] : pools_.pools())
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
      for (const ModelInstance* i : slot->models) w.models.push_back(display(i->name, i->version));
      out.push_back(std::move(w));
    }
  return out;
}

}  // namespace ringserve::supervisor
