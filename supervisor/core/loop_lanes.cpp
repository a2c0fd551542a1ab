#include "supervisor/core/loop_lanes.hpp"

namespace ringserve::supervisor {

LaneClient* LoopLanes::get(const std::shared_ptr<WorkerLink>& link) {
  auto it = lanes_.find(link.get());
  if (it != lanes_.end()) return it->second.get();
  if (link->dead()) return nullptr;
  auto lane = std::make_shared<LaneClient>(loop_, link, laneIndex_);
  auto* raw = lane.get();
  lanes_.emplace(link.get(), std::move(lane));
  return raw;
}

void LoopLanes::drop(const WorkerLink* link, const Error& error) {
  auto it = lanes_.find(link);
  if (it == lanes_.end()) return;
  auto lane = std::move(it->second);
  lanes_.erase(it);
  lane->failAll(error);
}

void LoopLanes::dropAll(const Error& error) {
  auto lanes = std::move(lanes_);
  lanes_.clear();
  for (auto& [k, lane] : lanes) lane->failAll(error);
}

std::size_t LoopLanes::pendingRequests() const {
  std::size_t n = 0;
  for (const auto& [k, lane] : lanes_) n += lane->pending();
  return n;
}

std::uint64_t LoopLanes::requestArenaUsed(const WorkerLink* link) const {
  auto it = lanes_.find(link);
  return it == lanes_.end() ? 0 : it->second->requestArenaUsed();
}

}  // namespace ringserve::supervisor
