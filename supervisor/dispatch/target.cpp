#include "supervisor/dispatch/target.hpp"

namespace ringserve::supervisor::dispatch {

namespace {
std::string display(const std::string& name, const std::string& version) {
  return version.empty() ? "Model " + name : "Model " + name + " with version " + version;
}
}  // namespace

BasicResult<std::shared_ptr<const ModelRoute>, Error> findModel(const RoutingTable& table, const std::string& name,
                                                                const std::string& version) {
  auto mv = table.models.find(name);
  if (mv != table.models.end()) {
    auto it = mv->second.byVersion.find(version.empty() ? mv->second.defaultVersion : version);
    if (it != mv->second.byVersion.end()) return it->second;
  }
  return Error{ErrorKind::notFound, display(name, version) + " not found"};
}

BasicResult<Target, Error> chooseWorker(const ModelRoute& model, const std::string& version, LoopLanes& lanes) {
  if (model.restarting)
    return Error{ErrorKind::unavailable, "Model " + model.name + " is restarting: " + model.reason + "; retry"};
  if (model.state != ModelState::ready || model.targets.empty())
    return Error{ErrorKind::badInput, display(model.name, version) + " is not ready yet."};
  // Least outstanding requests among the workers holding the model.
  Target best;
  for (const auto& t : model.targets) {
    if (t.link->dead()) continue;
    const int n = t.link->inFlight.load(std::memory_order_relaxed);
    if (best.route == nullptr || n < best.queued) best = {&t, nullptr, n};
  }
  best.lane = best.route != nullptr ? lanes.get(best.route->link) : nullptr;
  if (best.lane == nullptr)
    return Error{ErrorKind::unavailable, "no worker serving model " + model.name + " is running; retry"};
  return best;
}

}  // namespace ringserve::supervisor::dispatch
