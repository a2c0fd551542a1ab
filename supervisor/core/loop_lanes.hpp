#pragma once
// One HTTP loop's lanes to every worker it has talked to, created on first use. Loop thread only;
// the main loop reaches it through EventLoop::post (drop() when a worker dies or stops).
#include <memory>
#include <unordered_map>

#include "supervisor/core/lane_client.hpp"

namespace ringserve::supervisor {

class LoopLanes {
 public:
  LoopLanes(EventLoop& loop, std::uint32_t laneIndex) : loop_(loop), laneIndex_(laneIndex) {}

  // The lane to `link`'s worker; nullptr if that worker is already dead.
  LaneClient* get(const std::shared_ptr<WorkerLink>& link);
  // Fails the worker's pending requests with `error` and forgets the lane (the segment stays
  // mapped while responses still reference it).
  void drop(const WorkerLink* link, const Error& error);
  void dropAll(const Error& error);

  EventLoop& loop() { return loop_; }
  std::uint32_t laneIndex() const { return laneIndex_; }
  std::size_t pendingRequests() const;
  std::uint64_t requestArenaUsed(const WorkerLink* link) const;

 private:
  EventLoop& loop_;
  std::uint32_t laneIndex_;
  std::unordered_map<const WorkerLink*, std::shared_ptr<LaneClient>> lanes_;
};

}  // namespace ringserve::supervisor
