#pragma once
// The part of a worker that HTTP loops use: its segment and one eventfd per lane. Shared by
// std::shared_ptr<const WorkerShm>: the memory and the eventfds are released when the last holder
// (WorkerProcess or an HTTP loop still holding a lane) lets go, so a loop never touches unmapped
// memory after a worker dies. Immutable after construction, hence safe to read from any thread.
// A loop that registered a lane's eventfd in its event base deletes that event before dropping
// its reference (the fd is closed with the last one).
#include <cstdint>
#include <string>
#include <vector>

#include "transport/segment.hpp"

namespace ringserve::supervisor {

class WorkerShm {
 public:
  // Takes ownership of `segment` and of the eventfds.
  WorkerShm(std::string workerId, transport::Segment segment, std::vector<int> laneEventFds);
  ~WorkerShm();
  WorkerShm(const WorkerShm&) = delete;
  WorkerShm& operator=(const WorkerShm&) = delete;

  const std::string& workerId() const { return workerId_; }
  const transport::Segment& segment() const { return segment_; }
  std::uint32_t laneCount() const { return static_cast<std::uint32_t>(laneEventFds_.size()); }
  // Lane k's eventfd, for transport::SupervisorLane(segment(), k, laneEventFd(k)).
  int laneEventFd(std::uint32_t k) const { return laneEventFds_.at(k); }
  // The worker's served-request counter (SegmentHeader::worker_progress).
  std::uint64_t progress() const;

 private:
  std::string workerId_;
  transport::Segment segment_;
  std::vector<int> laneEventFds_;
};

}  // namespace ringserve::supervisor
